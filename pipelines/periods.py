"""Calendar periods, written once: days, weeks (ISO, from Monday, as SQL's `date_trunc('week', ...)`) and
calendar months. The warehouse and every dashboard query and chart take their month and period arithmetic
from here; the SQL that groups by period (`date_trunc`) is tested against `period_start` with hypothesis.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

Period = Literal["day", "week", "month"]


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` away from `day`'s month (negative: earlier)."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def next_month(day: dt.date) -> dt.date:
    """The first day of the month after `day`'s."""
    return add_months(day, 1)


def period_start(day: dt.date, period: Period) -> dt.date:
    """The first day of the period holding `day`."""
    if period == "day":
        return day
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown period {period!r}; expected day, week or month")


def period_end(start: dt.date, period: Period) -> dt.date:
    """The last day of the period holding `start`."""
    if period == "month":
        return next_month(start) - dt.timedelta(days=1)
    return period_start(start, period) + dt.timedelta(days=6 if period == "week" else 0)
