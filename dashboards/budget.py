"""A time budget for the work of one web request (exports, the view's data): set by the web app per
download (`dashboards.limits`), checked before each chart is queried and while the browser is awaited or
draws, so a request that runs long ends with `BudgetExceeded` (503) instead of holding a worker. Outside a
request (the command line) there is no budget and the checks cost nothing.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

#: When the current context's work must be done (`time.monotonic()`), None for no limit.
_deadline: ContextVar[float | None] = ContextVar("owt_deadline", default=None)


class BudgetExceeded(RuntimeError):
    """The request's time budget is spent (the web app answers 503 with Retry-After)."""


def set_time_budget(seconds: float | None) -> None:
    """Give the current context (a web request) `seconds` from now, or no limit with None."""
    _deadline.set(None if seconds is None else time.monotonic() + seconds)


def seconds_left() -> float | None:
    """What is left of the budget (None: no budget); BudgetExceeded when nothing is."""
    deadline = _deadline.get()
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise BudgetExceeded("the export took longer than this server allows; try again, or a smaller report")
    return left
