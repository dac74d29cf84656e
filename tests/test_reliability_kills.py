"""Reliability: snapshot runs killed with SIGKILL at random points lose nothing and show nothing partial.

Runs are real processes (forked from a forkserver with the pipeline preloaded, so each starts in
milliseconds). With a fixed seed, each run is killed after a random number of its page requests (plus up to
30 ms, so kills land while a page is parsed, its part file or the checkpoint written) or during the final
deduplication and publish; the same command is then run again, and again, until one run finishes. Meanwhile
a reader thread keeps reading every published snapshot. The long variant (1,000 kill points) is
`benchmarks/kill_soak.py`.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from pipelines.runs import read_runs
from pipelines.store import Store
from pipelines.verify import verify_store
from tests.fakehub import FakeHub, Fault, make_models
from tests.ops_support import (
    PROJECT_ROOT,
    SnapshotProcesses,
    kill_until_done,
    pages_checkpointed,
    run_cli,
    snapshot_frame,
    take_small_snapshot,
)

SEED = 20261128
KILL_POINTS = 24
FIRST_DAY = dt.date(2026, 5, 1)


class SnapshotReader(threading.Thread):
    """Reads every published snapshot in a loop; records anything that is not exactly the reference."""

    def __init__(self, store: Store, reference: pd.DataFrame):
        super().__init__(daemon=True)
        self.store, self.reference = store, reference
        self.reads, self.problems = 0, []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            for date in self.store.dates():
                try:
                    frame = snapshot_frame(self.store, date)
                    if not frame.equals(self.reference):
                        self.problems.append(f"{date}: {len(frame)} rows differ from the reference")
                    self.reads += 1
                except Exception as exc:  # any error is a finding, reported by the test
                    self.problems.append(f"{date}: {type(exc).__name__}: {exc}")
            time.sleep(0.005)


def uninterrupted_run(processes: SnapshotProcesses, fake_hub: FakeHub, store: Store, hf_home: Path):
    """The reference snapshot, its page count, and how long its process ran after its last request."""
    process = processes.start(store, FIRST_DAY, fake_hub.url, hf_home)
    seen, last_request = len(fake_hub.requests), time.monotonic()
    while process.is_alive():
        if len(fake_hub.requests) != seen:
            seen, last_request = len(fake_hub.requests), time.monotonic()
        time.sleep(0.001)
    finalize_seconds = time.monotonic() - last_request
    assert process.exitcode == 0
    return snapshot_frame(store, FIRST_DAY), store.provenance(FIRST_DAY)["pages"], finalize_seconds


def test_runs_killed_at_random_points_resume_to_exactly_an_uninterrupted_run(
    tmp_path: Path, fake_hub: FakeHub, hf_env: dict[str, str]
) -> None:
    fake_hub.load(make_models(200, seed=3))
    hf_home = Path(hf_env["HF_HOME"])
    processes = SnapshotProcesses()
    reference, pages, finalize_seconds = uninterrupted_run(
        processes, fake_hub, Store(tmp_path / "ref"), hf_home
    )
    store = Store(tmp_path / "store")
    reader = SnapshotReader(store, reference)
    reader.start()
    rng = random.Random(SEED)

    def nothing_partial_is_visible() -> None:
        assert verify_store(store).problems == []
        for date in store.dates():
            pd.testing.assert_frame_equal(snapshot_frame(store, date), reference)

    kills = []
    chain = 0
    try:
        while len(kills) < KILL_POINTS:
            date = FIRST_DAY + dt.timedelta(days=chain)
            kills += kill_until_done(
                processes,
                fake_hub,
                store,
                date,
                hf_home,
                rng,
                pages=pages,
                finalize_seconds=finalize_seconds,
                chain=chain,
                after_kill=nothing_partial_is_visible,
            )
            pd.testing.assert_frame_equal(snapshot_frame(store, date), reference)
            assert not store.staging_dir(date).exists(), f"{date}: staging left behind after the run finished"
            chain += 1
    finally:
        reader.stopping.set()
        reader.join()

    assert len({(k.requests, round(k.delay, 4)) for k in kills}) >= 20, "at least 20 different kill points"
    assert any(k.in_finalize for k in kills) and any(not k.in_finalize for k in kills)
    assert reader.problems == [] and reader.reads > 0
    assert store.dates() == [FIRST_DAY + dt.timedelta(days=i) for i in range(chain)]


def test_a_run_that_died_right_after_publishing_leaves_no_staging_behind(
    tmp_path: Path, fake_hub: FakeHub, hf_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the kill soak: a kill between the publish rename and the staging cleanup left the staging
    directory of a published date forever (the next run saw the date taken and did nothing)."""
    import pipelines.snapshot

    fake_hub.load(make_models(200, seed=3))
    store = Store(tmp_path / "store")
    real_rmtree = shutil.rmtree

    def die_before_cleanup(path: object, *args: object, **kwargs: object) -> None:
        if Path(str(path)) == store.staging_dir(FIRST_DAY):
            raise SystemExit("killed between publishing and cleaning up")
        real_rmtree(path, *args, **kwargs)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(pipelines.snapshot.shutil, "rmtree", die_before_cleanup)
        with pytest.raises(SystemExit):
            take_small_snapshot(store, FIRST_DAY, fake_hub.url)
    assert store.has_snapshot(FIRST_DAY) and store.staging_dir(FIRST_DAY).exists()

    again = take_small_snapshot(store, FIRST_DAY, fake_hub.url)

    assert again.path is None, "the date is taken: nothing is fetched again"
    assert not store.staging_dir(FIRST_DAY).exists()


def test_sigterm_mid_run_stops_cleanly_with_the_checkpoint_kept_and_a_rerun_completes(
    tmp_path: Path, fake_hub: FakeHub, hf_env: dict[str, str]
) -> None:
    fake_hub.load(make_models(200, seed=3))
    fake_hub.max_page_size = 20
    reference = Store(tmp_path / "reference")
    assert (
        run_cli("snapshot", "--store", str(reference.root), "--date", FIRST_DAY.isoformat()).returncode == 0
    )
    fake_hub.inject("list", Fault.stall(30), page=2, author="Qwen")  # holds the run mid-crawl
    store = Store(tmp_path / "store")
    served = len(fake_hub.requests)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines",
            "snapshot",
            "--store",
            str(store.root),
            "--date",
            FIRST_DAY.isoformat(),
        ],
        cwd=PROJECT_ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    while not any(r.param("author") == "Qwen" and r.fault for r in fake_hub.requests[served:]):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        time.sleep(0.01)

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 143
    assert "checkpoint is kept" in process.stderr.read() if process.stderr else False
    [stopped] = read_runs(store)
    assert stopped["outcome"] == "interrupted" and "SIGTERM" in stopped["error"]
    assert store.dates() == [] and pages_checkpointed(store, FIRST_DAY) > 0
    assert run_cli("snapshot", "--store", str(store.root), "--date", FIRST_DAY.isoformat()).returncode == 0
    pd.testing.assert_frame_equal(snapshot_frame(store, FIRST_DAY), snapshot_frame(reference, FIRST_DAY))
