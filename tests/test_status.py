"""`python -m pipelines status`: freshness with a monitoring exit code, gaps, size, runs, lock holders."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from pipelines.lock import FileLock
from pipelines.runs import record_run
from pipelines.status import SCHEDULER_LOCK_FILE, date_ranges, parse_age, snapshot_health
from pipelines.store import Store
from tests.ops_support import publish_small_snapshot, run_cli

DATES = [dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 5), dt.date(2026, 3, 6)]


def clock_at(moment: dt.datetime) -> dict[str, str]:
    """Env for a subprocess whose UTC clock reads `moment` (and runs at normal speed)."""
    start = dt.datetime.combine(moment.date(), dt.time(), dt.UTC)
    at = time.time() - (moment - start).total_seconds()
    clock = {"start": moment.date().isoformat(), "at": at, "day_seconds": 86400}
    return {"OWT_FAKE_CLOCK": json.dumps(clock)}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "store")
    for date in DATES:
        publish_small_snapshot(store, date)
    with record_run(store, "snapshot") as run:
        run.counts.update(rows=5)
    with pytest.raises(RuntimeError), record_run(store, "snapshot"):
        raise RuntimeError("the Hub answered 503 six times")
    return store


def test_a_fresh_store_exits_zero_and_reports_gaps_size_and_runs(store: Store) -> None:
    now = dt.datetime(2026, 3, 6, 20, 0, tzinfo=dt.UTC)  # backfill-style snapshots: age counts from midnight
    for staged in (dt.date(2026, 3, 4), now.date() + dt.timedelta(days=1)):  # an abandoned run, one to resume
        store.staging_dir(staged).mkdir(parents=True)
        (store.staging_dir(staged) / "checkpoint.json").write_text("{}")
    result = run_cli("status", "--store", str(store.root), "--max-age", "36h", env=clock_at(now))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "latest       2026-03-06" in out and "20.0 h old): FRESH" in out
    assert "4 dates, 2 missing: 2026-03-03..2026-03-04" in out
    assert "2 recorded, 1 failed or crashed" in out
    assert "the Hub answered 503 six times" in out and "rows=5" in out
    assert "scheduler    not running" in out and "run lock     free" in out
    assert "in progress  2026-03-04: 2 B staged; abandoned: its day has passed" in out
    assert "in progress  2026-03-07: 2 B staged; the next run resumes it" in out
    assert out.splitlines()[-1] == (
        "status: FRESH, latest 2026-03-06, 2 missing dates, last run failed, last verify none"
    )


def test_a_stale_store_exits_one_for_monitoring(store: Store) -> None:
    now = dt.datetime(2026, 3, 8, 13, 0, tzinfo=dt.UTC)
    result = run_cli("status", "--store", str(store.root), "--max-age", "2d", "--json", env=clock_at(now))
    assert result.returncode == 1
    facts = json.loads(result.stdout)
    assert facts["fresh"] is False and facts["age_hours"] == pytest.approx(61.0, abs=0.1)
    assert facts["missing"] == ["2026-03-03", "2026-03-04"]
    assert facts["snapshots"] == 4 and facts["snapshot_bytes"] > 0
    assert [run["outcome"] for run in facts["runs"]] == ["ok", "failed"]


def test_an_empty_store_is_stale(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()  # a store that does not exist at all is an error (tests/test_store_paths.py)
    result = run_cli("status", "--store", str(tmp_path / "empty"))
    assert result.returncode == 1
    assert "no snapshot yet" in result.stdout


def test_a_running_scheduler_and_run_are_named(store: Store) -> None:
    with FileLock(store.root / SCHEDULER_LOCK_FILE, command="schedule"), record_run(store, "snapshot"):
        result = run_cli("status", "--store", str(store.root))
    assert "scheduler    running: pid" in result.stdout and "'schedule'" in result.stdout
    assert "run lock     held: pid" in result.stdout
    assert " running " in result.stdout.splitlines()[-2]


def test_age_uses_the_finish_time_when_taken_on_its_labelled_day(store: Store) -> None:
    provenance_path = store.snapshot_dir(DATES[-1]) / "provenance.json"
    provenance = json.loads(provenance_path.read_text())
    provenance["finished_at"] = "2026-03-06T02:45:00+00:00"
    provenance_path.write_text(json.dumps(provenance))
    health = snapshot_health(store, now=dt.datetime(2026, 3, 7, 2, 45, tzinfo=dt.UTC))
    assert health.age == dt.timedelta(hours=24)
    assert health.is_fresh(parse_age("24h")) and not health.is_fresh(parse_age("23h"))


def test_ages_and_ranges_parse_as_documented() -> None:
    assert parse_age("90m") == dt.timedelta(minutes=90)
    assert parse_age("2d") == parse_age("48") == dt.timedelta(hours=48)
    d = dt.date(2026, 1, 1)
    days = [d, d + dt.timedelta(1), d + dt.timedelta(3)]
    assert date_ranges(days) == [(d, d + dt.timedelta(1)), (d + dt.timedelta(3), d + dt.timedelta(3))]
