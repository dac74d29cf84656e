"""The scheduler: cron parsing, config, retries, catch-up, the lock, and a fast schedule end to end.

The end-to-end test runs `python -m pipelines schedule` in a subprocess against the fake Hub with a fake clock
(one "day" every 3 seconds, env OWT_FAKE_CLOCK) and a 3-second cron, kills it with SIGKILL mid-run, restarts
it, stops it with SIGTERM, and checks that `status` and `verify` describe exactly what happened.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.lock import FileLock, holder
from pipelines.runs import RUN_LOCK_FILE, append_record, read_runs
from pipelines.schedule import ConfigError, Job, Scheduler, cron_trigger, load_jobs
from pipelines.status import SCHEDULER_LOCK_FILE
from pipelines.store import Store
from tests.fakehub import FakeHub, Fault, make_models
from tests.ops_support import PROJECT_ROOT, publish_small_snapshot, run_cli

UTC = dt.UTC


def test_cron_uses_crontab_weekdays_and_accepts_seconds() -> None:
    thursday = dt.datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    assert cron_trigger("30 2 * * *").get_next_fire_time(None, thursday) == dt.datetime(
        2026, 1, 2, 2, 30, tzinfo=UTC
    )
    sunday = dt.datetime(2026, 1, 4, 4, 0, tzinfo=UTC)
    assert cron_trigger("0 4 * * 0").get_next_fire_time(None, thursday) == sunday
    assert cron_trigger("0 4 * * 7").get_next_fire_time(None, thursday) == sunday
    assert cron_trigger("0 4 * * 1-5").get_next_fire_time(None, sunday) == sunday + dt.timedelta(days=1)
    assert cron_trigger("*/3 * * * * *").get_next_fire_time(None, thursday + dt.timedelta(seconds=1)) == (
        thursday + dt.timedelta(seconds=3)
    )
    with pytest.raises(ConfigError, match="5 fields"):
        cron_trigger("daily")


def test_config_adds_jobs_and_says_where_it_is_wrong(tmp_path: Path) -> None:
    config = tmp_path / "schedule.toml"
    config.write_text(
        '[[job]]\nname = "weekly-verify"\ncommand = "verify"\ncron = "0 5 * * sun"\n'
        '[[job]]\nname = "snapshot"\ncommand = "snapshot"\ncron = "0 1 * * *"\n'
        'args = ["--date", "{date}", "--full"]\n'
    )
    jobs = {job.name: job for job in load_jobs(config, "30 2 * * *")}
    assert jobs["weekly-verify"] == Job("weekly-verify", "verify", (), "0 5 * * sun")
    assert jobs["snapshot"].args == ("--date", "{date}", "--full") and jobs["snapshot"].cron == "0 1 * * *"

    config.write_text('[[job]]\nname = "x"\ncommand = "verify"\ncron = "0 5 * * *"\n[[job]]\nname = "y"\n')
    with pytest.raises(ConfigError, match=r"schedule.toml: \[\[job\]\] number 2: needs name, command, cron"):
        load_jobs(config, "30 2 * * *")
    config.write_text('[[job]]\nname = "x"\ncommand = "rm -rf"\ncron = "0 5 * * *"\n')
    with pytest.raises(ConfigError, match="unknown command 'rm -rf'"):
        load_jobs(config, "30 2 * * *")
    with pytest.raises(ConfigError, match="job 'snapshot'"):
        load_jobs(None, "61 2 * * *")


def test_retry_waits_double_with_jitter_up_to_the_cap(tmp_path: Path) -> None:
    scheduler = Scheduler(Store(tmp_path), [], retry_delay=10, retry_max_delay=30)
    waits = {attempt: [scheduler.retry_wait(attempt) for _ in range(200)] for attempt in (1, 2, 3, 6)}
    assert all(5 <= w <= 15 for w in waits[1]) and all(10 <= w <= 30 for w in waits[2])
    assert all(15 <= w <= 45 for w in waits[3] + waits[6]), "capped at 30 s before jitter"
    assert len({round(w, 6) for w in waits[1]}) > 100, "jittered"


def test_a_failing_job_is_retried_up_to_the_cap_and_each_attempt_recorded(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    publish_small_snapshot(store, dt.date(2026, 1, 1))
    store.data_files(dt.date(2026, 1, 1))[0].write_bytes(b"tampered")  # so `verify` fails every time
    scheduler = Scheduler(store, [], retries=1, retry_delay=0.01, retry_max_delay=0.02)
    outcome = scheduler.run_job(Job("integrity", "verify", (), "0 5 * * *"))
    assert outcome == "failed"
    runs = read_runs(store)
    assert [(r["job"], r["trigger"], r["attempt"], r["outcome"]) for r in runs] == [
        ("integrity", "schedule", attempt, "failed") for attempt in (1, 2)
    ]
    assert all("integrity problem" in r["error"] and r["counts"]["files"] == 1 for r in runs)


def test_a_job_waits_for_a_manual_run_holding_the_lock(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    publish_small_snapshot(store, dt.date(2026, 1, 1))
    scheduler = Scheduler(store, [])
    job = Job("integrity", "verify", (), "0 5 * * *")
    with FileLock(store.root / RUN_LOCK_FILE, command="snapshot"):
        assert scheduler.attempt(job, 1) == "failed"
    assert scheduler.attempt(job, 2) == "ok"
    first, second = read_runs(store)
    assert "another run holds" in first["error"] and "'snapshot'" in first["error"]
    assert second["outcome"] == "ok" and second["counts"]["files"] == 1


def test_catch_up_runs_a_job_whose_scheduled_time_passed_since_its_last_success(tmp_path: Path) -> None:
    store = Store(tmp_path)
    job = Job("snapshot", "snapshot", (), "30 2 * * *")
    scheduler = Scheduler(store, [job])
    morning = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert scheduler.missed(job, morning), "never ran: run now"
    ran = {"run_id": "r1", "job": "snapshot", "outcome": "ok", "started_at": "2026-03-02T02:30:00.100+00:00"}
    append_record(store, ran)
    assert not scheduler.missed(job, morning)
    assert scheduler.missed(job, morning + dt.timedelta(days=1))
    append_record(
        store, {**ran, "run_id": "r2", "outcome": "failed", "started_at": "2026-03-03T02:30:00+00:00"}
    )
    assert scheduler.missed(job, morning + dt.timedelta(days=1)), "a failed run does not count"


# ------------------------------------------------------------------------------------------ end to end

DAY_SECONDS = 3


def wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def start_scheduler(store: Store, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as log_file:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "pipelines", "schedule", "--store", str(store.root)),
                *("--cron", f"*/{DAY_SECONDS} * * * * *", "--retries", "2", "--retry-delay", "0.2"),
                *("--grace", "20", "--log-format", "json"),
                *("--skip-job", "snapshot-modelscope"),  # the Hub job only (ModelScope: test_modelscope)
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            start_new_session=True,  # its own process group: SIGKILL takes the running snapshot down too
        )


def events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_a_fast_schedule_survives_a_kill_and_a_restart_and_status_tells_it_all(
    tmp_path: Path, fake_hub: FakeHub, hf_env: dict[str, str]
) -> None:
    fake_hub.load(make_models(300, seed=5))
    fake_hub.max_page_size = 25
    store = Store(tmp_path / "store")
    start = (int(time.time()) // DAY_SECONDS) * DAY_SECONDS  # fake days turn exactly when the cron fires
    clock = {"OWT_FAKE_CLOCK": json.dumps({"start": "2026-02-01", "at": start, "day_seconds": DAY_SECONDS})}
    env = {**os.environ, **hf_env, **clock}
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"

    first = start_scheduler(store, env, first_log)
    try:
        wait_for(lambda: len(store.dates()) >= 2, 60, "two scheduled snapshots")
        # Hold the next run mid-crawl, so the kill cannot land between a publish and its end record.
        fake_hub.inject("list", Fault.stall(60), page=1, query={"author": None, "sort": "downloads"})
        wait_for(lambda: any(r.fault == "stall" for r in fake_hub.requests), 30, "a run held mid-crawl")
        assert any(store.staging_root.glob("date=*/checkpoint.json")), "the held run has a checkpoint"
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    wait_for(lambda: holder(store.root / RUN_LOCK_FILE) is None, 10, "the killed snapshot process to be gone")
    taken_before_kill = store.dates()
    [crashed] = [r for r in read_runs(store) if r["outcome"] == "crashed"]

    second = start_scheduler(store, env, second_log)
    try:
        wait_for(
            lambda: len(store.dates()) >= len(taken_before_kill) + 2, 60, "two more snapshots after restart"
        )
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0, "SIGTERM stops the scheduler cleanly"

    logged = events(first_log) + events(second_log)
    assert all({"ts", "level", "msg"} <= set(event) for event in logged), "every line is a JSON event"
    restarted = [e["msg"] for e in events(second_log)]
    assert restarted[0] == "took over the scheduler lock of a dead scheduler"
    assert "took over a run lock left by a dead process" in restarted
    [scheduled] = [e for e in events(second_log) if e["msg"] == "job scheduled" and e["job"] == "snapshot"]
    assert scheduled["catch_up"] is True, "the missed run is caught up at start"
    finished = [e for e in logged if e["msg"] == "run finished" and e["outcome"] == "ok"]
    assert finished and all(e["rows"] > 0 and e["pages"] > 0 and e["seconds"] > 0 for e in finished)
    assert restarted[-1] == "scheduler stopped"

    runs = read_runs(store)
    dates = store.dates()
    assert all(r["trigger"] == "schedule" and r["job"] == "snapshot" for r in runs)
    taken = {r["counts"]["date"] for r in runs if r["outcome"] == "ok"}
    last_date = re.search(r"--date (\S+)", runs[-1]["argv"]).group(1)  # the run the final SIGTERM stopped
    assert taken <= {d.isoformat() for d in dates} <= taken | {last_date}
    assert len(dates) >= 4

    fake_clock = {"OWT_FAKE_CLOCK": clock["OWT_FAKE_CLOCK"]}
    status = run_cli(
        "status", "--store", str(store.root), "--json", "--runs", "1000", "--max-age", "10d", env=fake_clock
    )
    facts = json.loads(status.stdout)
    assert status.returncode == 0 and facts["fresh"], "fresh: a fake day lasts 3 s"
    stale = run_cli("status", "--store", str(store.root), "--max-age", "1m", env=fake_clock)
    assert stale.returncode == 1 and "STALE" in stale.stdout.splitlines()[-1]
    assert facts["snapshots"] == len(dates) and facts["latest"] == dates[-1].isoformat()
    span = [dates[0] + dt.timedelta(days=i) for i in range((dates[-1] - dates[0]).days + 1)]
    assert facts["missing"] == [d.isoformat() for d in span if d not in dates]
    assert facts["scheduler"] is None and facts["run_lock"] is None
    assert [r["run_id"] for r in facts["runs"]] == [r["run_id"] for r in runs]
    assert [r["run_id"] for r in facts["runs"] if r["outcome"] == "crashed"] == [crashed["run_id"]]
    assert not (store.root / SCHEDULER_LOCK_FILE).read_text().strip(), "a clean stop clears the lock note"

    verified = run_cli("verify", "--store", str(store.root))
    assert verified.returncode == 0, verified.stdout
