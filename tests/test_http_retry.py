"""The channels' one retry rule (pipelines/channels/http_retry.py) against a real HTTP server on loopback: the
fake ModelScope (tests/fakemodelscope.py) answering 429 with Retry-After in seconds and as an HTTP date, 503,
a stall beyond the client's timeout and a dropped connection, then the real answer. Waits go to a list
instead of sleeping, so the expected waits are stated by hand below."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from email.utils import format_datetime
from typing import Any

import pytest
import requests

from pipelines.channels.http_retry import (
    RetriesExhausted,
    RetryableAnswer,
    RetryPolicy,
    RetryStats,
    bearer_session,
    get_with_retries,
    retry_after_seconds,
)
from tests.fakemodelscope import FakeModelScope, MSFault, ms_model

TOKEN = "ms-secret-token-for-retry-tests-0123"
#: 3 models of one owner: the listing's total_count is 3, by construction.
MODELS = [ms_model(f"Qwen/m-{i}", 10 + i, minute=i) for i in range(3)]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeModelScope]:
    started = FakeModelScope(MODELS).start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def fake(server: FakeModelScope) -> FakeModelScope:
    """The module's server with no fault queued and nothing recorded (one server: its stop takes 0.5 s)."""
    server.faults.clear()
    server.requests.clear()
    server.authorizations.clear()
    return server


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with bearer_session("owt tests", TOKEN) as opened:
        yield opened


def listing_total(response: requests.Response) -> int:
    return int(response.json()["data"]["total_count"])


def listing_url(fake: FakeModelScope) -> str:
    return f"{fake.url}/openapi/v1/models?owner=Qwen&page_size=50"


def get(
    session: requests.Session,
    fake: FakeModelScope,
    policy: RetryPolicy,
    stats: RetryStats,
    waits: list[float],
    read: Any = listing_total,
) -> Any:
    return get_with_retries(session, listing_url(fake), read, timeout=0.5, policy=policy, stats=stats,
                            sleep=waits.append)


def test_every_fault_is_waited_out_then_the_answer_is_read(
    fake: FakeModelScope, session: requests.Session
) -> None:
    in_30_s = format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), usegmt=True)
    fake.faults.extend([
        MSFault("429", 2), MSFault("429", retry_after=in_30_s), MSFault("5xx"), MSFault("stall", 10),
        MSFault("drop"),
    ])
    stats, waits = RetryStats(), []
    policy = RetryPolicy(retries=5, rate_limit_waits=30, first_wait=1.0, max_wait=16.0)

    assert get(session, fake, policy, stats, waits) == 3

    # by hand: the 429s wait 2 s and the date's ~30 s (1 s resolution, a little time passes); then the
    # 503, the stall and the drop are failures 1, 2, 3 of their own budget: 1, 2, 4 s
    assert waits[0] == 2.0 and 28.0 <= waits[1] <= 30.0 and waits[2:] == [1.0, 2.0, 4.0]
    assert (stats.requests, stats.retries, stats.rate_limited, stats.server_errors, stats.timeouts,
            stats.connection_errors) == (6, 5, 2, 1, 1, 1)
    assert stats.rate_limit_waits == waits[0] + waits[1] and stats.waited_seconds == sum(waits)
    assert len(fake.requests) == 6 and set(fake.authorizations) == {f"Bearer {TOKEN}"}


def test_a_failure_that_persists_ends_in_a_clear_error_after_the_budget(
    fake: FakeModelScope, session: requests.Session
) -> None:
    fake.faults.extend([MSFault("5xx")] * 10)
    stats, waits = RetryStats(), []
    with pytest.raises(RetriesExhausted) as raised:
        get(session, fake, RetryPolicy(retries=3, first_wait=1.0, max_wait=3.0), stats, waits)
    # 1 attempt + 3 retries, waiting 1, 2, then 4 capped to 3 s
    assert str(raised.value) == (
        f"GET {fake.url}/openapi/v1/models failed after 4 attempts: "
        "HTTP 503 (server error), still after 3 retries"
    )
    assert len(fake.requests) == 4 and waits == [1.0, 2.0, 3.0] and stats.server_errors == 4


def test_rate_limits_spend_their_own_budget_or_the_shared_one(
    fake: FakeModelScope, session: requests.Session
) -> None:
    faults = [MSFault("429", 0)] * 3 + [MSFault("5xx")] * 2
    fake.faults.extend(faults)
    own, waits = RetryStats(), []
    # 3 waits of 0 s on their own budget of 3, 2 failures on a budget of 2 (1 s, 2 s): it gets through
    assert get(session, fake, RetryPolicy(retries=2, rate_limit_waits=3), own, waits) == 3
    assert waits == [0.0, 0.0, 0.0, 1.0, 2.0] and (own.requests, own.retries) == (6, 5)

    fake.faults.extend(faults)
    shared, waits = RetryStats(), []
    # one budget of 4 for all: the 5th failure (the second 503) is one too many
    gave_up = r"after 5 attempts: HTTP 503 \(server error\), still after 4 retries"
    with pytest.raises(RetriesExhausted, match=gave_up):
        get(session, fake, RetryPolicy(retries=4, rate_limit_waits=None), shared, waits)
    # the 429 waits are Retry-After's 0 s; the 503 waits the backoff of the 4th failure: 8 s
    assert waits == [0.0, 0.0, 0.0, 8.0] and (shared.requests, shared.rate_limited) == (5, 3)

    fake.faults.extend([MSFault("429", 0)] * 3)
    still_limited = r"after 3 attempts: HTTP 429 \(rate limited\), still after 2 waits for the rate limit"
    with pytest.raises(RetriesExhausted, match=still_limited):
        get(session, fake, RetryPolicy(retries=9, rate_limit_waits=2), RetryStats(), [])


def test_answers_that_are_not_faults_are_the_callers_and_a_broken_one_is_asked_again(
    fake: FakeModelScope, session: requests.Session
) -> None:
    stats, waits = RetryStats(), []
    missing = f"{fake.url}/openapi/v1/models/Qwen/none"
    assert get_with_retries(session, missing, lambda r: r.status_code, timeout=5, policy=RetryPolicy(),
                            stats=stats, sleep=waits.append) == 404
    assert (stats.requests, stats.retries, waits) == (1, 0, [])

    answers = iter([True, False])

    def read_once_broken(response: requests.Response) -> int:
        if next(answers):
            raise RetryableAnswer("the body was cut short")
        return listing_total(response)

    assert get(session, fake, RetryPolicy(), stats, waits, read=read_once_broken) == 3
    assert (stats.requests, stats.server_errors, waits) == (3, 1, [1.0])

    def always_broken(response: requests.Response) -> int:
        raise RetryableAnswer("the body was cut short")

    with pytest.raises(RetriesExhausted, match=r"HTTP 200, the body was cut short, still after 0 retries"):
        get(session, fake, RetryPolicy(retries=0), RetryStats(), [], read=always_broken)


def test_no_secret_reaches_the_error_message(fake: FakeModelScope, session: requests.Session) -> None:
    fake.faults.extend([MSFault("5xx")] * 2)
    password = "url-password-0123456789"
    with_credentials = fake.url.replace("http://", f"http://reader:{password}@")
    url = f"{with_credentials}/openapi/v1/models?owner=Qwen&api_key={TOKEN}"
    with pytest.raises(RetriesExhausted) as raised:
        get_with_retries(session, url, listing_total, timeout=5, policy=RetryPolicy(retries=1),
                         stats=RetryStats(), sleep=lambda s: None)
    message = str(raised.value)
    assert all(a.startswith("Basic ") for a in fake.authorizations), "the URL's password was sent"
    assert all(TOKEN in r for r in fake.requests), "and the key in the query"
    assert TOKEN not in message and password not in message and "api_key" not in message
    assert message.startswith("GET http://[redacted]@127.0.0.1:")


def test_backoff_doubles_up_to_its_cap_and_jitter_keeps_within_half() -> None:
    policy = RetryPolicy(first_wait=0.5, max_wait=3.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    jittered = RetryPolicy(first_wait=0.5, max_wait=3.0, jitter=True)
    for n, plain in enumerate([0.5, 1.0, 2.0, 3.0, 3.0], start=1):
        assert all(plain / 2 <= jittered.backoff(n) <= plain for _ in range(50))


def test_retry_after_in_seconds_or_as_an_http_date_is_capped() -> None:
    in_a_minute = format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60), usegmt=True)
    assert 55 <= retry_after_seconds(in_a_minute, 120) <= 60
    an_hour_ago = format_datetime(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), usegmt=True)
    assert retry_after_seconds(an_hour_ago, 120) == 0.0
    assert [retry_after_seconds(v, 120) for v in ("2", "0.5", "-3", "soon", "", None, "nan", "inf")] == [
        2.0, 0.5, 0.0, None, None, None, None, 120
    ]
    assert retry_after_seconds("86400", 120) == 120 and retry_after_seconds(in_a_minute, 10) == 10
