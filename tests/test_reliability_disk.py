"""Reliability: the disk filling up during a snapshot gives a clear error, no corrupt file, and a re-run
that completes.

`python -m pipelines snapshot` runs in a subprocess whose file-size limit (RLIMIT_FSIZE, with SIGXFSZ
ignored) makes any write past N bytes fail with EFBIG, as a full disk fails with ENOSPC. The limits are
chosen (from the sizes of an unlimited run) so the failure hits a different write each time: the first
checkpoint (a JSON file written atomically, like provenance), a page's part file during the crawl, and the
published Parquet file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipelines.runs import read_runs
from pipelines.snapshot import CHECKPOINT_FILE
from pipelines.store import Store
from pipelines.verify import verify_store
from tests.fakehub import FakeHub, make_model, make_models
from tests.ops_support import PROJECT_ROOT, snapshot_frame

DAY = dt.date(2026, 6, 1)


def snapshot_cli(
    store: Store, env: dict[str, str], max_file_bytes: int | None = None
) -> subprocess.CompletedProcess:
    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines",
            "snapshot",
            "--store",
            str(store.root),
            "--date",
            DAY.isoformat(),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_file_size if max_file_bytes else None,
    )


def sizes(store: Store, pattern: str) -> list[int]:
    return [path.stat().st_size for path in store.root.glob(pattern)]


@pytest.fixture
def reference(
    tmp_path: Path, fake_hub: FakeHub, hf_env: dict[str, str]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """An unlimited run: its rows, and the sizes the limits are chosen from."""
    huge = make_model("bigcard-org/huge-card", downloads=10**9, extra_tags=[f"t{i:05d}" for i in range(1500)])
    fake_hub.load([*make_models(300, seed=3), huge])  # its page of the top listing makes a big part file
    fake_hub.max_page_size = 10  # raw parts (uncompressed) stay well under the published file
    store = Store(tmp_path / "reference")
    assert snapshot_cli(store, hf_env).returncode == 0
    snapshot = store.snapshot_dir(DAY)
    return snapshot_frame(store, DAY), {
        "parquet": (snapshot / "part-00000.parquet").stat().st_size,
    }


def fail_then_resume(store: Store, env: dict[str, str], limit: int, rows: pd.DataFrame) -> dict:
    """A run that hits the disk limit, then an unlimited re-run; returns the checkpoint the failure left."""
    failed = snapshot_cli(store, env, limit)

    assert failed.returncode == 1, failed.stderr[-500:]
    assert "Traceback" not in failed.stderr, "an error message, not a traceback"
    message = failed.stderr.strip()
    assert message.startswith("error:") and "File too large" in message and "run the same command" in message
    assert store.dates() == [] and verify_store(store).problems == [], "nothing is published"
    assert not list(store.root.rglob(".*.tmp-*")), "no half-written temporary file is left"
    [run] = read_runs(store)
    assert run["outcome"] == "failed" and "File too large" in run["error"]
    checkpoint_path = store.staging_dir(DAY) / CHECKPOINT_FILE
    checkpoint = json.loads(checkpoint_path.read_text()) if checkpoint_path.exists() else {}
    checkpoint["bytes"] = checkpoint_path.stat().st_size if checkpoint else 0

    resumed = snapshot_cli(store, env)

    assert resumed.returncode == 0, resumed.stderr
    pd.testing.assert_frame_equal(snapshot_frame(store, DAY), rows)
    assert not store.staging_dir(DAY).exists()
    return checkpoint


def test_a_full_disk_at_any_write_fails_clearly_keeps_the_checkpoint_and_a_rerun_completes(
    tmp_path: Path, hf_env: dict[str, str], reference: tuple[pd.DataFrame, dict[str, int]]
) -> None:
    rows, size = reference

    at_publish = fail_then_resume(Store(tmp_path / "parquet"), hf_env, size["parquet"] - 1, rows)
    assert at_publish["finalizing"], "the crawl was complete: the published Parquet file hit the limit"

    at_start = fail_then_resume(Store(tmp_path / "start"), hf_env, 1_000, rows)
    assert at_start == {"bytes": 0}, "the very first checkpoint could not be written: nothing to resume"

    mid_crawl = fail_then_resume(Store(tmp_path / "crawl"), hf_env, at_publish["bytes"] + 1_000, rows)
    assert mid_crawl["phase"] > 0 and not mid_crawl["finalizing"], "the big page's part file failed mid-crawl"
