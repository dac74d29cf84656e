"""One retry rule for the channels' HTTP clients (ModelScope, OpenRouter): what is retried, how long to wait.

A channel pull is a long run of small GETs against a service that rate-limits, has bad minutes and sometimes
stalls; one failed request must not cost the run. `get_with_retries` sends one logical GET and tries again:

- after HTTP 429, waiting what `Retry-After` asks (delta-seconds or an HTTP date, capped at
  `RetryPolicy.max_retry_after`), or the backoff wait when the header is missing or unreadable;
- after HTTP 5xx, a timeout (no answer within the client's timeout: a stall), a failed or dropped connection,
  or an answer the caller's `read` finds broken (`RetryableAnswer`, e.g. a 200 whose body is not JSON),
  waiting `first_wait`, then twice as long each time, capped at `max_wait` (jittered if asked, so clients
  retrying together spread out);

and gives up with `RetriesExhausted` once the policy's budget is spent. Any other answer (2xx, 3xx, 4xx) is
the caller's to read. `huggingface_hub.utils.http_backoff` is the model (same rule, same backoff shape); the
Hub snapshot keeps using that function itself (`pipelines.hub`, over the library's httpx2 session), while the
channels speak `requests`, hence this module.

Secrets: nothing here logs, and the error message names the URL without its query, passed through
`pipelines.runs.redact` (a token in the URL's userinfo or any credential variable's value never shows);
headers (the Bearer token) are never part of a message.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests

from pipelines.runs import redact

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How persistently one GET is retried; each client states its own (see its module)."""

    #: Retries after a 5xx, a timeout, a connection error or a RetryableAnswer (and after a 429 when
    #: `rate_limit_waits` is None).
    retries: int = 5
    #: 429 answers waited out on a budget of their own (waiting as asked is no failure); None: each 429
    #: spends one of `retries`.
    rate_limit_waits: int | None = None
    first_wait: float = 1.0  # seconds before the first retry of a kind, doubling with each further one
    max_wait: float = 16.0
    jitter: bool = False  # each backoff wait drawn from [wait / 2, wait]; Retry-After waits are exact
    max_retry_after: float = 120.0  # a longer Retry-After (or a bogus date far ahead) waits this long

    def backoff(self, retry: int) -> float:
        """The wait before retry number `retry` (1 for the first) of one kind, without a Retry-After."""
        wait = min(self.max_wait, self.first_wait * 2 ** (retry - 1))
        return wait * random.uniform(0.5, 1.0) if self.jitter else wait


@dataclass
class RetryStats:
    """What the requests of a run met, cumulative over every GET (recorded in the channel's provenance)."""

    requests: int = 0  # every attempt sent
    retries: int = 0  # attempts sent again after a wait (429 waits included)
    rate_limited: int = 0  # 429 answers
    server_errors: int = 0  # 5xx answers and RetryableAnswer
    timeouts: int = 0  # no answer within the timeout
    connection_errors: int = 0  # refused, reset or dropped connections
    waited_seconds: float = 0.0  # every wait before a retry
    rate_limit_waits: float = 0.0  # the part of waited_seconds spent on 429s

    def to_dict(self) -> dict[str, Any]:
        """The counts for a provenance record (seconds to the millisecond)."""
        return {**asdict(self), "waited_seconds": round(self.waited_seconds, 3),
                "rate_limit_waits": round(self.rate_limit_waits, 3)}


class RetryableAnswer(Exception):
    """Raised by a `read` function for an answer worth asking again (counted as a server error); its
    message says what was wrong and ends up in RetriesExhausted's."""


class RetriesExhausted(RuntimeError):
    """One GET still failing when its retry budget is spent; `problem` is the last failure, in words."""

    def __init__(self, url: str, attempts: int, problem: str):
        self.url, self.attempts, self.problem = url, attempts, problem
        super().__init__(f"GET {url} failed after {attempts} attempts: {problem}")


def retry_after_seconds(value: str | None, cap: float) -> float | None:
    """Seconds a `Retry-After` header asks to wait (delta-seconds or an HTTP date; at least 0, at most `cap`),
    None when there is no readable value."""
    if not value:
        return None
    try:
        seconds = float(value)
        if math.isnan(seconds):  # float() reads "nan": no wait length
            return None
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # an HTTP date is GMT; parsedate leaves "-0000" naive
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return min(max(seconds, 0.0), cap)


def bearer_session(user_agent: str, token: str | None) -> requests.Session:
    """A session sending `user_agent`, and `token` as a Bearer header when there is one (never elsewhere)."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


def shown_url(url: str) -> str:
    """`url` as error messages show it: no query, no credentials."""
    parts = urlsplit(url)
    return redact(urlunsplit(parts._replace(query="", fragment="")))


def get_with_retries(
    session: requests.Session,
    url: str,
    read: Callable[[requests.Response], T],
    *,
    params: Mapping[str, Any] | None = None,
    timeout: float,
    policy: RetryPolicy,
    stats: RetryStats,
    sleep: Callable[[float], None] = time.sleep,
    before_each: Callable[[], None] | None = None,
    allow_redirects: bool = True,
) -> T:
    """`read(response)` of one GET of `url`, retried by `policy` (see the module docstring).

    `read` gets every answer that is neither 429 nor 5xx; what it returns is returned, what it raises is
    raised (RetryableAnswer: retried). `before_each` runs before every attempt (a client's pacing).
    Raises RetriesExhausted when the budget is spent."""
    failures = limited = attempts = 0
    while True:
        if before_each is not None:
            before_each()
        attempts += 1
        stats.requests += 1
        retry_after: float | None = None
        is_rate_limit = False
        try:
            response = session.get(url, params=params, timeout=timeout, allow_redirects=allow_redirects)
        except requests.Timeout:  # before ConnectionError: a connect timeout is both
            stats.timeouts += 1
            problem = f"no answer within {timeout:g} s (timeout)"
        except requests.ConnectionError as error:
            stats.connection_errors += 1
            problem = f"connection failed ({type(error).__name__})"
        else:
            if response.status_code == 429:
                stats.rate_limited += 1
                is_rate_limit = True
                retry_after = retry_after_seconds(response.headers.get("Retry-After"), policy.max_retry_after)
                problem = "HTTP 429 (rate limited)"
            elif response.status_code >= 500:
                stats.server_errors += 1
                problem = f"HTTP {response.status_code} (server error)"
            else:
                try:
                    return read(response)
                except RetryableAnswer as answer:
                    stats.server_errors += 1
                    problem = f"HTTP {response.status_code}, {answer}"
        if is_rate_limit and policy.rate_limit_waits is not None:
            limited += 1
            count, budget, spent = limited, policy.rate_limit_waits, "waits for the rate limit"
        else:
            failures += 1
            count, budget, spent = failures, policy.retries, "retries"
        if count > budget:
            raise RetriesExhausted(shown_url(url), attempts, f"{problem}, still after {budget} {spent}")
        wait = retry_after if retry_after is not None else policy.backoff(count)
        stats.retries += 1
        stats.waited_seconds += wait
        if is_rate_limit:
            stats.rate_limit_waits += wait
        sleep(wait)
