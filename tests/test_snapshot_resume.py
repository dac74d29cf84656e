"""A snapshot run killed with SIGKILL leaves nothing visible; the same command resumes to identical rows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.snapshot import CHECKPOINT_FILE, RAW_SUFFIX
from pipelines.store import Store, parse_date
from tests.fakehub import FakeHub, Fault, make_models

ROOT = Path(__file__).resolve().parent.parent
DATE = "2026-11-28"
TOP_LISTING = {"author": None, "sort": "downloads"}


def start_snapshot(store: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    args = ["--store", str(store), "--date", DATE, "--min-downloads", "20", "--quiet"]
    with open(log, "w") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "pipelines", "snapshot", *args],
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def run_snapshot(store: Path, env: dict[str, str], log: Path) -> None:
    process = start_snapshot(store, env, log)
    assert process.wait(timeout=60) == 0, log.read_text()


def kill_when_stalled(
    process: subprocess.Popen, hub: FakeHub, stalls_seen: int, staging: Path, saved: Callable[[dict], bool]
) -> None:
    """SIGKILL the run while it waits on the stalled page, once its checkpoint shows the pages before it
    (the run saves progress while it waits for a page)."""
    deadline = time.monotonic() + 30
    while sum(r.fault == "stall" for r in hub.requests) < stalls_seen or not saved(checkpoint_of(staging)):
        assert process.poll() is None, "the run ended before reaching the stalled page"
        assert time.monotonic() < deadline, "the run never reached the stalled page"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def checkpoint_of(staging: Path) -> dict:
    try:
        return json.loads((staging / CHECKPOINT_FILE).read_text())
    except (OSError, ValueError):
        return {}


def rows(store: Path) -> list[dict]:
    snapshot = Store(store)
    return [row for f in snapshot.data_files(parse_date(DATE)) for row in pq.read_table(f).to_pylist()]


@pytest.fixture
def hub(fake_hub, hf_env):
    fake_hub.load(make_models(400, seed=5))
    fake_hub.max_page_size = 20  # the CLI asks for 1000 a page; the fake serves 20, so there are many pages
    return fake_hub


def test_killed_twice_then_resumed_gives_the_rows_of_an_uninterrupted_run(hub, hf_env, tmp_path):
    run_snapshot(tmp_path / "baseline", hf_env, tmp_path / "baseline.log")
    baseline_requests = len(hub.requests_to("list"))

    store = tmp_path / "store"
    staging = Store(store).staging_dir(parse_date(DATE))
    hub.inject("list", Fault.stall(120), page=1, author="Qwen")  # kill point 1: inside the registry phase
    process = start_snapshot(store, hf_env, tmp_path / "a.log")
    kill_when_stalled(process, hub, 1, staging, lambda c: c.get("parts", 0) > 0)
    assert Store(store).dates() == [] and not (store / "snapshots").exists()
    checkpoint = checkpoint_of(staging)  # pages stored before Qwen's listing are kept
    # A part written after the last checkpoint (killed between the two writes) must not count twice.
    (staging / "raw" / f"part-{checkpoint['parts']:06d}{RAW_SUFFIX}").write_bytes(b"half a page")

    hub.inject("list", Fault.stall(120), page=3, query=TOP_LISTING)  # kill point 2: inside the top listing
    process = start_snapshot(store, hf_env, tmp_path / "b.log")
    in_top_listing = "sort=downloads"  # the checkpoint points inside the top listing, past its first page
    kill_when_stalled(process, hub, 2, staging, lambda c: in_top_listing in (c.get("next_url") or ""))
    assert Store(store).dates() == []
    assert checkpoint_of(staging)["scope"]["min_downloads"] == 20

    before_last = len(hub.requests_to("list"))
    run_snapshot(store, hf_env, tmp_path / "c.log")
    last_run = hub.requests_to("list")[before_last:]
    assert last_run[0].param("cursor") and last_run[0].param("sort") == "downloads"  # resumed at page 3

    assert rows(store) == rows(tmp_path / "baseline")
    assert len(rows(store)) == Store(store).provenance(parse_date(DATE))["rows"]
    assert len(hub.requests_to("list")) - baseline_requests < 1.2 * baseline_requests  # nothing re-crawled
    assert not staging.exists()
