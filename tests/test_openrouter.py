"""OpenRouter channel: backfill, daily pulls, vintages, attribution and faults against the fake Data API.

Expected numbers are worked out by hand from `tests/openrouter_data.py` (its docstring gives the per-day
totals); the pipeline runs as users run it, `python -m pipelines snapshot --channel openrouter`, in a child
process talking HTTP to the fake on loopback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.channels import channel_store
from pipelines.channels.http_retry import RetryStats
from pipelines.channels.openrouter import Client, OpenRouterError, pull, windows
from pipelines.channels.openrouter_attribution import catalogue_store, model_mapping, token_days
from pipelines.registry import load_registry
from pipelines.schedule import Scheduler, load_jobs
from pipelines.store import Store
from tests import openrouter_data as data
from tests.fakeopenrouter import STALL, FakeOpenRouter

ROOT = Path(__file__).resolve().parent.parent
D = dt.date


@pytest.fixture
def fake() -> Iterator[FakeOpenRouter]:
    with FakeOpenRouter(data.KEY, today=D(2026, 2, 1)) as server:
        data.load(server, D(2025, 1, 1), D(2026, 1, 31))
        yield server


def run_cli(store: Path, fake: FakeOpenRouter, *args: str, key: str | None = data.KEY, **env: str):
    child_env = {k: v for k, v in os.environ.items() if k != "OPENROUTER_API_KEY"}
    child_env.update(OWT_STORE=str(store), OPENROUTER_ENDPOINT=fake.url, **env)
    if key is not None:
        child_env["OPENROUTER_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "pipelines", "snapshot", "--channel", "openrouter", *args],
        cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=300,
    )


def rankings_requests(fake: FakeOpenRouter) -> list[tuple[str, str]]:
    return [(q.get("start_date", ""), q.get("end_date", "")) for p, q, _ in fake.requests if "rankings" in p]


def test_windows_never_exceed_366_days():
    cuts = windows(D(2025, 1, 1), D(2026, 1, 31))
    # 2025-01-01 + 365 days = 2026-01-01: the first window holds 366 days, the second the 30 left.
    assert cuts == [(D(2025, 1, 1), D(2026, 1, 1)), (D(2026, 1, 2), D(2026, 1, 31))]


def test_backfill_then_daily_pull_give_the_hand_computed_shares(tmp_path, fake):
    store = tmp_path / "store"
    first = run_cli(store, fake, "--date", "2026-02-01", "--backfill-from", "2025-01-01")
    assert first.returncode == 0, first.stderr
    # progress per window, the summary and the required citation
    assert "rankings-daily 2025-01-01 to 2026-01-01: 18666 rows (pulled; window 1/2)" in first.stderr
    assert "rankings-daily 2026-01-02 to 2026-01-31: 1530 rows (pulled; window 2/2)" in first.stderr
    assert "Source: OpenRouter (openrouter.ai/rankings), as of 2026-02-01T02:00:00Z." in first.stdout
    # 396 days x (50 + other) rows; two rankings requests and one /models page
    assert rankings_requests(fake) == [("2025-01-01", "2026-01-01"), ("2026-01-02", "2026-01-31")]
    rankings = channel_store(Store(store), "openrouter")
    assert rankings.provenance(D(2026, 2, 1))["rows"] == 396 * 51

    days = token_days(Store(store), load_registry())
    jan = days[days["day"] == D(2025, 1, 15)].set_index("model_permaslug")
    assert jan.loc["other", "tokens"] == 10 and jan.loc["other", "kind"] == "unknown"
    assert jan.loc[data.QWEN_FREE, "kind"] == "open" and jan.loc[data.QWEN_FREE, "country"] == "CN"
    assert jan.loc[data.STEALTH, "kind"] == "unknown" and jan.loc[data.DELISTED, "kind"] == "unknown"
    assert jan.loc[data.GPT, "kind"] == "closed" and jan.loc[data.LLAMA, "country"] == "US"
    by_kind = jan.groupby("kind")["tokens"].sum().to_dict()
    assert by_kind == {"open": 450, "closed": 586, "unknown": 100}  # the docstring's O, C, U
    july = days[days["day"] == D(2025, 7, 1)]
    assert july.groupby("country")["tokens"].sum().to_dict() == {"CN": 500, "US": 100, "FR": 50}

    # the next day: a new day, Qwen's 2026-01-20 restated, Llama delisted from /models
    fake.today = D(2026, 2, 2)
    fake.usage[D(2026, 2, 1)] = data.day_usage(D(2026, 2, 1))
    fake.restate(D(2026, 1, 20), data.QWEN, 1400, as_of="2026-02-02T02:00:00Z")
    fake.catalogue = [m for m in fake.catalogue if m["canonical_slug"] != data.LLAMA]
    second = run_cli(store, fake, "--date", "2026-02-02")
    assert second.returncode == 0, second.stderr
    # the daily window re-reads 30 days back: 2026-01-03 .. 2026-02-01
    assert rankings_requests(fake)[-1] == ("2026-01-03", "2026-02-01")
    assert rankings.dates() == [D(2026, 2, 1), D(2026, 2, 2)]
    assert catalogue_store(Store(store)).dates() == [D(2026, 2, 1), D(2026, 2, 2)]

    # both vintages keep their own figure for the restated day; the newest is the one used
    first, second = (data.qwen_tokens_on_jan_20(rankings, v) for v in (D(2026, 2, 1), D(2026, 2, 2)))
    assert (first, second) == (400, 1400)
    days = token_days(Store(store), load_registry())
    day20 = days[days["day"] == D(2026, 1, 20)]
    assert set(day20["vintage"]) == {D(2026, 2, 2)}
    assert day20.set_index("model_permaslug").loc[data.QWEN, "tokens"] == 1400
    # the delisted Llama keeps its last known Hub link (open, US); old days still come from the backfill
    assert day20.set_index("model_permaslug").loc[data.LLAMA, "country"] == "US"
    assert model_mapping(Store(store))[data.LLAMA] == data.HUB_IDS[data.LLAMA]
    assert set(days[days["day"] == D(2026, 1, 2)]["vintage"]) == {D(2026, 2, 1)}
    assert days["day"].max() == D(2026, 2, 1)

    # a second pull the same day changes nothing
    again = run_cli(store, fake, "--date", "2026-02-02")
    assert again.returncode == 0 and "already exists" in again.stdout
    assert len(rankings_requests(fake)) == 3


def test_the_key_appears_nowhere_on_disk_or_in_output(tmp_path, fake):
    store = tmp_path / "store"
    outputs = [run_cli(store, fake, "--date", "2026-02-01")]
    fake.today = D(2026, 2, 2)
    fake.faults["rankings"] = [503]
    outputs.append(run_cli(store, fake, "--date", "2026-02-02"))
    outputs.append(run_cli(store, fake, "--date", "2026-02-03", key=data.KEY[:-4] + "0000"))  # refused
    assert [o.returncode for o in outputs] == [0, 0, 1]
    assert "check that OPENROUTER_API_KEY holds a valid OpenRouter API key" in outputs[2].stderr
    # the fake saw the key, so the client did send it
    assert any(auth == f"Bearer {data.KEY}" for _, _, auth in fake.requests)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > 8
    for path in written:
        assert data.KEY.encode() not in path.read_bytes(), path
        assert data.KEY[:-4].encode() not in path.read_bytes(), path
    for output in outputs:
        assert data.KEY[:-4] not in output.stdout + output.stderr


def test_no_key_is_an_error_by_hand_and_a_skip_under_the_scheduler(tmp_path, fake):
    store = tmp_path / "store"
    manual = run_cli(store, fake, "--date", "2026-02-01", key=None)
    assert manual.returncode == 1
    assert "error: OPENROUTER_API_KEY is not set" in manual.stderr
    scheduled = run_cli(store, fake, "--date", "2026-02-01", key=None, OWT_RUN_TRIGGER="schedule")
    assert scheduled.returncode == 0
    assert "skipped: OPENROUTER_API_KEY is not set" in scheduled.stderr
    runs = [json.loads(line) for line in (store / "runs.jsonl").read_text().splitlines()]
    ends = [r for r in runs if "finished_at" in r]
    assert [r["outcome"] for r in ends] == ["failed", "skipped"]
    assert "OPENROUTER_API_KEY is not set" in ends[1]["error"]
    assert fake.requests == [] and not channel_store(Store(store), "openrouter").dates()


def test_a_killed_backfill_resumes_without_pulling_a_window_again(tmp_path, fake):
    store = tmp_path / "store"
    fake.faults["rankings"] = [0, 401]  # the key is refused after the first window
    failed = run_cli(store, fake, "--date", "2026-02-01")
    assert failed.returncode == 1 and "refused (401" in failed.stderr
    assert not channel_store(Store(store), "openrouter").dates()
    resumed = run_cli(store, fake, "--date", "2026-02-01")
    assert resumed.returncode == 0, resumed.stderr
    assert "window 1/2" in resumed.stderr and "resumed from the checkpoint" in resumed.stderr
    assert rankings_requests(fake) == [
        ("2025-01-01", "2026-01-01"), ("2026-01-02", "2026-01-31"), ("2026-01-02", "2026-01-31")
    ]
    assert channel_store(Store(store), "openrouter").provenance(D(2026, 2, 1))["rows"] == 396 * 51


def test_rate_limits_server_errors_and_stalls_are_retried(tmp_path, fake):
    waits: list[float] = []
    client = Client(data.KEY, fake.url, timeout=1.0, backoff=0.01, sleep=waits.append)
    fake.faults["rankings"] = [429, 500, STALL, 503]
    fake.faults["models"] = [502]
    result = pull(Store(tmp_path), D(2026, 2, 1), client, backfill_from=D(2026, 1, 1))
    assert result.published and result.rows == 31 * 51
    assert client.stats.to_dict() == RetryStats(  # 500, 503, 502: server errors; the stall: a timeout
        requests=7, retries=5, rate_limited=1, server_errors=3, timeouts=1,
        waited_seconds=round(sum(waits), 3), rate_limit_waits=0.0,
    ).to_dict()
    assert waits[0] == 0.0  # the 429's Retry-After: 0


def test_errors_that_retrying_cannot_fix_fail_at_once(tmp_path, fake):
    client = Client(data.KEY, fake.url, retries=2, backoff=0.0, sleep=lambda s: None)
    fake.faults["rankings"] = [500, 500, 500]
    gave_up = r"after 3 attempts: HTTP 500 \(server error\), still after 2 retries; nothing was published"
    with pytest.raises(OpenRouterError, match=gave_up):
        pull(Store(tmp_path), D(2026, 2, 1), client)
    with pytest.raises(OpenRouterError, match=r"refused \(400: the window exceeds 366 days\)"):
        client.get("/datasets/rankings-daily", {"start_date": "2025-01-01", "end_date": "2026-01-31"})
    assert not channel_store(Store(tmp_path), "openrouter").dates()


def test_the_scheduler_pulls_daily_with_a_key_and_skips_without(tmp_path, fake, monkeypatch, caplog):
    [job] = [job for job in load_jobs(None, "30 2 * * *") if job.name == "openrouter"]
    assert (job.command, job.cron) == ("snapshot", "0 3 * * *")
    assert job.args == ("--channel", "openrouter", "--date", "{date}")
    store = Store(tmp_path / "store")
    scheduler = Scheduler(store, [job], retries=0)
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    assert scheduler.run_job(job) == "skipped"
    assert "skipped: OPENROUTER_API_KEY is not set: the job needs it" in caplog.text
    assert fake.requests == []

    clock = {"start": "2026-02-01", "at": time.time(), "day_seconds": 10**9}  # today reads 2026-02-01
    monkeypatch.setenv("OWT_FAKE_CLOCK", json.dumps(clock))
    monkeypatch.setenv("OPENROUTER_API_KEY", data.KEY)
    monkeypatch.setenv("OPENROUTER_ENDPOINT", fake.url)
    assert scheduler.run_job(job) == "ok"
    assert channel_store(store, "openrouter").dates() == [D(2026, 2, 1)]
    assert data.KEY not in caplog.text


def test_backfill_from_is_refused_for_the_hub_and_bad_dates_are_usage_errors(tmp_path, fake):
    hub = subprocess.run(
        [sys.executable, "-m", "pipelines", "snapshot", "--backfill-from", "2025-01-01", "--store", tmp_path],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert hub.returncode == 2 and "--backfill-from is for --channel openrouter" in hub.stderr
    bad = run_cli(tmp_path / "store", fake, "--backfill-from", "2025-13-01")
    assert bad.returncode == 2 and "not a date in YYYY-MM-DD form" in bad.stderr
    early = run_cli(tmp_path / "store", fake, "--date", "2025-01-01")
    assert early.returncode == 1 and "nothing to pull for the vintage of 2025-01-01" in early.stderr
    assert fake.requests == []
