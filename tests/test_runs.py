"""Run history: every run leaves a start and an end record; crashes and failures are visible, tokens never."""

from __future__ import annotations

import base64
import datetime as dt
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.lock import LockHeld
from pipelines.runs import append_record, read_runs, record_run, redact, runs_path, utc_today
from pipelines.store import Store
from tests.ops_support import PROJECT_ROOT


def test_a_successful_run_records_its_counts_and_outcome(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with record_run(store, "snapshot") as run:
        run.counts.update(rows=42, pages=3)
    [recorded] = read_runs(store)
    assert recorded["run_id"] == run.run_id
    assert recorded["command"] == "snapshot" and recorded["trigger"] == "manual"
    assert recorded["outcome"] == "ok" and recorded["counts"] == {"rows": 42, "pages": 3}
    assert recorded["started_at"] <= recorded["finished_at"]
    assert len(runs_path(store).read_text().splitlines()) == 2, "one start and one end record"


def test_a_failed_run_records_the_error_and_reraises(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with pytest.raises(ValueError, match="page 7"), record_run(store, "snapshot"):
        raise ValueError("invalid JSON on page 7")
    [recorded] = read_runs(store)
    assert recorded["outcome"] == "failed"
    assert recorded["error"] == "ValueError: invalid JSON on page 7"


def test_runs_started_in_the_same_millisecond_keep_the_order_they_were_recorded_in(tmp_path: Path) -> None:
    store = Store(tmp_path)
    same_moment = "2026-03-06T12:00:00.000+00:00"
    for run_id, outcome in (("20260306T120000Z-ffffff", "ok"), ("20260306T120000Z-000000", "failed")):
        append_record(store, {"run_id": run_id, "started_at": same_moment, "outcome": "running"})
        append_record(store, {"run_id": run_id, "finished_at": same_moment, "outcome": outcome})
    assert [run["outcome"] for run in read_runs(store)] == ["ok", "failed"], "not sorted by the random id"


def test_two_writing_runs_never_overlap(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with (
        record_run(store, "snapshot"),
        pytest.raises(LockHeld, match="snapshot"),
        record_run(store, "backfill"),
    ):
        pass
    assert [r["command"] for r in read_runs(store)] == ["snapshot"], "a refused run is not recorded as a run"


def test_the_token_never_reaches_the_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "hf_FAKEtokenForTests0123456789"
    monkeypatch.setenv("HF_TOKEN", token)
    store = Store(tmp_path)
    with pytest.raises(RuntimeError), record_run(store, "snapshot") as run:
        run.counts["note"] = f"header was Bearer {token}"
        raise RuntimeError(f"401 for token {token}")
    text = runs_path(store).read_text()
    assert token not in text
    assert "[redacted]" in read_runs(store)[0]["error"]


def test_redact_hides_tokens_that_are_not_in_the_environment() -> None:
    assert redact("auth hf_abcdefghijklmnopqrstu ok") == "auth [redacted] ok"
    assert redact("{'authorization': 'Bearer s3cr3t-value-123'}") == "{'authorization': 'Bearer [redacted]'}"
    assert redact("nothing secret here") == "nothing secret here"


def test_a_killed_run_shows_as_crashed_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    store = Store(tmp_path)
    script = (
        "import sys, time; from pathlib import Path; from pipelines.store import Store;"
        "from pipelines.runs import record_run\n"
        "with record_run(Store(Path(sys.argv[1])), 'snapshot'):\n"
        "    print('started', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "started"
    assert read_runs(store)[0]["outcome"] == "running"
    child.send_signal(signal.SIGKILL)
    child.wait()
    with open(runs_path(store), "a") as history:
        history.write('{"run_id": "torn-by-a-crash", "outc')  # what a crash in mid-write leaves
    with record_run(store, "snapshot"):
        pass
    runs = read_runs(store)
    assert [r["outcome"] for r in runs] == ["crashed", "ok"], (
        "the torn line is skipped, the next run is intact"
    )
    assert "killed" in runs[0]["error"]


def test_sigterm_ends_a_run_as_interrupted(tmp_path: Path) -> None:
    store = Store(tmp_path)
    script = (
        "import sys, time; from pathlib import Path; from pipelines.store import Store;"
        "from pipelines.runs import record_run\n"
        "with record_run(Store(Path(sys.argv[1])), 'snapshot'):\n"
        "    print('started', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "started"
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=20) != 0
    [recorded] = read_runs(store)
    assert recorded["outcome"] == "interrupted"
    assert "SIGTERM" in recorded["error"]


def test_the_fake_clock_runs_one_day_per_configured_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = {"start": "2030-05-01", "at": time.time() - 25, "day_seconds": 10}
    monkeypatch.setenv("OWT_FAKE_CLOCK", json.dumps(clock))
    assert utc_today().isoformat() == "2030-05-03"
    monkeypatch.setenv("OWT_FAKE_CLOCK", "tomorrow")
    with pytest.raises(ValueError, match="OWT_FAKE_CLOCK must be JSON"):
        utc_today()
    monkeypatch.delenv("OWT_FAKE_CLOCK")
    assert utc_today() == dt.datetime.now(dt.UTC).date()


def test_redact_hides_url_credentials_and_any_key_or_password_variable(monkeypatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "https://me:p%40ss-word@proxy.example")
    monkeypatch.setenv("OWT_SOME_API_KEY", "k3y-value-123")
    basic = base64.b64encode(b"me:p@ss-word").decode()
    assert redact("GET https://me:p%40ss-word@proxy.example/api") == "GET https://[redacted]@proxy.example/api"
    assert redact("password p@ss-word, encoded p%40ss-word") == "password [redacted], encoded [redacted]"
    assert redact(f"echo: Basic {basic}") == "echo: Basic [redacted]"
    assert redact("key=k3y-value-123") == "key=[redacted]"
    assert redact("ftp://token123@other.example/x") == "ftp://[redacted]@other.example/x"
    assert redact("mail me@example.org at https://example.org/a@b") == "mail me@example.org at https://example.org/a@b"
    monkeypatch.setenv("SORT_KEY", "date")
    assert redact("sorted by date") == "sorted by date", "a short value of a *_KEY variable is no credential"
