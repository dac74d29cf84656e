"""Reliability: the disk filling up during a snapshot gives a clear error, no corrupt file, and a re-run
that completes.

`python -m pipelines snapshot` runs in a subprocess whose file-size limit (RLIMIT_FSIZE, with SIGXFSZ
ignored) makes any write past N bytes fail with EFBIG, as a full disk fails with ENOSPC. The limits are
chosen (from the sizes of an unlimited run) so the failure hits a different write each time: the first
checkpoint (a JSON file written atomically, like provenance), a page's part file during the crawl, and the
published Parquet file. The other commands (demo, backfill, warehouse, verify, export) get the same treatment
below, one test per kind of write.
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
from pipelines.warehouse import current_version
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
    assert "different run" not in resumed.stderr, "a checkpoint that was never written is not another run"
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


# ------------------------------------------------------------------ every other command, per kind of write
# Each command runs in a subprocess under the same file-size limit; the limit is chosen so that a given kind
# of write fails (its real temporary names are what the leftovers check looks for). Each must end with an
# `error:` line and exit 1, leave nothing half-written, and succeed when run again without the limit.

DEMO_END = dt.date(2025, 3, 3)
DEMO_OPTIONS = ("--models", "60", "--days", "3", "--end", DEMO_END.isoformat())


def cli(module: str, *args: str, max_file_bytes: int | None = None) -> subprocess.CompletedProcess:
    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit_file_size if max_file_bytes else None,
    )


def half_written(root: Path) -> list[Path]:
    """Temporary files and directories of every writer: `.<name>.tmp-<pid>` (atomic JSON and bytes, the
    snapshot checkpoint), `.<name>.tmp` (facts compaction), `.v<N>.building` (warehouse versions) and
    staging directories of one-go snapshots (demo, backfill)."""
    return [
        path
        for path in root.rglob("*")
        if (path.name.startswith(".") and (".tmp" in path.name or path.name.endswith(".building")))
        or path.parent.name == "staging"
    ]


def assert_failed_cleanly(result: subprocess.CompletedProcess, root: Path) -> None:
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1].startswith("error:"), result.stderr[-2000:]
    assert "File too large" in result.stderr
    assert half_written(root) == []


def demo_store(root: Path) -> Store:
    assert cli("pipelines", "demo", "--store", str(root), *DEMO_OPTIONS).returncode == 0
    return Store(root)


def test_a_full_disk_during_demo_removes_the_staged_snapshot_and_a_rerun_completes(tmp_path: Path) -> None:
    args = ("demo", "--store", str(tmp_path / "store"), *DEMO_OPTIONS)
    assert_failed_cleanly(cli("pipelines", *args, max_file_bytes=2_000), tmp_path / "store")
    assert cli("pipelines", *args).returncode == 0
    assert len(Store(tmp_path / "store").dates()) == 3


def test_a_full_disk_during_backfill_removes_the_staged_snapshot_and_a_rerun_completes(
    tmp_path: Path,
) -> None:
    from tests.hubstats import dump_row, write_dump

    folder = tmp_path / "dumps"
    write_dump(folder / "models" / "2025-06-01" / "models.parquet", [dump_row("Qwen/Qwen3-8B", 10_000)])
    args = ("backfill", "--source", str(folder), "--store", str(tmp_path / "store"))
    assert_failed_cleanly(cli("pipelines", *args, max_file_bytes=2_000), tmp_path / "store")
    assert cli("pipelines", *args).returncode == 0
    assert Store(tmp_path / "store").dates() == [dt.date(2025, 6, 1)]


@pytest.mark.parametrize(
    "write",
    [
        "first build",  # a first build: the new DuckDB file
        "copy of the previous tables",  # an incremental refresh copies the previous version's DuckDB file
        "DuckDB checkpoint",  # ... which DuckDB then grows (a day of many more models): its write fails
    ],
)
def test_a_full_disk_during_a_warehouse_build_keeps_the_current_version(tmp_path: Path, write: str) -> None:
    store = demo_store(tmp_path / "store")
    args = ("warehouse", "--store", str(store.root))
    if write == "first build":
        limit = 100_000
    else:
        assert cli("pipelines", *args).returncode == 0
        tables = current_version(store).tables.stat().st_size
        limit = tables - 1 if write == "copy of the previous tables" else tables
        next_day = (DEMO_END + dt.timedelta(days=1)).isoformat()
        # The copy's size is bounded by the models, so only a day with many new ones makes DuckDB grow it.
        models = "60" if write == "copy of the previous tables" else "20000"
        demo = ("demo", "--store", str(store.root), "--models", models, "--days", "4", "--end", next_day)
        assert cli("pipelines", *demo).returncode == 0  # one new snapshot for an incremental refresh
    before = current_version(store)

    assert_failed_cleanly(cli("pipelines", *args, max_file_bytes=limit), store.root)
    after = current_version(store)
    assert (after.path.name if after else None) == (before.path.name if before else None)

    assert cli("pipelines", *args).returncode == 0
    assert len(current_version(store).manifest["snapshots"]) == len(store.dates())


def test_a_full_disk_when_verify_records_its_run_is_an_error_line(tmp_path: Path) -> None:
    store = demo_store(tmp_path / "store")
    assert cli("pipelines", "verify", "--store", str(store.root)).returncode == 0
    journal = store.root / "runs.jsonl"
    result = cli("pipelines", "verify", "--store", str(store.root), max_file_bytes=journal.stat().st_size)
    assert_failed_cleanly(result, store.root)
    assert cli("pipelines", "verify", "--store", str(store.root)).returncode == 0


def test_a_full_disk_during_an_export_leaves_no_truncated_file(tmp_path: Path) -> None:
    store = demo_store(tmp_path / "store")
    assert cli("pipelines", "warehouse", "--store", str(store.root)).returncode == 0
    out = tmp_path / "out" / "share.csv"
    args = ("export", "--store", str(store.root), "--chart", "share-by-country", "--format", "csv")
    result = cli("dashboards", *args, "--out", str(out), max_file_bytes=100)
    assert_failed_cleanly(result, tmp_path)
    assert not out.exists()
    assert cli("dashboards", *args, "--out", str(out)).returncode == 0
    assert out.read_text().startswith("period,")
