"""`python -m pipelines verify`: every byte of every snapshot is checked against its provenance."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pipelines.runs import read_runs
from pipelines.store import PROVENANCE_FILE, Store
from pipelines.verify import verify_store
from tests.ops_support import publish_small_snapshot, run_cli

DAY1, DAY2, DAY3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)


def make_store(root: Path) -> Store:
    store = Store(root)
    for day in (DAY1, DAY2, DAY3):
        publish_small_snapshot(store, day, n_models=20, parts=2)
    return store


def test_an_intact_store_verifies_clean(tmp_path: Path) -> None:
    store = make_store(tmp_path / "store")
    result = run_cli("verify", "--store", str(store.root))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 snapshots, 6 files" in result.stdout and "all match their provenance" in result.stdout
    assert read_runs(store)[-1]["counts"]["files"] == 6


def test_tampered_truncated_missing_and_unlisted_files_are_each_reported(tmp_path: Path) -> None:
    store = make_store(tmp_path / "store")
    tampered, truncated = store.data_files(DAY1)
    flipped = bytearray(tampered.read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF  # same size, one byte changed
    tampered.write_bytes(bytes(flipped))
    truncated.write_bytes(truncated.read_bytes()[:-100])
    missing = store.data_files(DAY2)[0]
    missing.unlink()
    unlisted = store.snapshot_dir(DAY3) / "part-99999.parquet"
    unlisted.write_bytes(store.data_files(DAY3)[0].read_bytes())

    result = run_cli("verify", "--store", str(store.root))

    assert result.returncode == 1
    reported = {line.split()[0]: line for line in result.stdout.splitlines() if line.split()[0].isupper()}
    assert str(tampered) in reported["TAMPERED"]
    assert str(truncated) in reported["TRUNCATED"]
    assert str(missing) in reported["MISSING"]
    assert str(unlisted) in reported["UNLISTED"]
    assert "4 PROBLEM(S)" in result.stdout.splitlines()[-1]
    assert read_runs(store)[-1]["outcome"] == "failed"


def test_a_broken_provenance_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    store = make_store(tmp_path / "store")
    (store.snapshot_dir(DAY2) / PROVENANCE_FILE).write_text("{not json")
    record = json.loads((store.snapshot_dir(DAY3) / PROVENANCE_FILE).read_text())
    del record["files"]
    (store.snapshot_dir(DAY3) / PROVENANCE_FILE).write_text(json.dumps(record))

    report = verify_store(store)

    assert sorted(p.kind for p in report.problems) == ["provenance", "provenance"]
    assert report.files == 2, "the intact snapshot is still checked"


def test_only_the_asked_dates_are_checked(tmp_path: Path) -> None:
    store = make_store(tmp_path / "store")
    store.data_files(DAY1)[0].write_bytes(b"garbage")
    result = run_cli("verify", "--store", str(store.root), "--date", DAY2.isoformat(), "--date", "2026-04-01")
    assert result.returncode == 1
    assert "2026-04-01" in result.stdout and "no such snapshot" in result.stdout
    assert "date=2026-03-01" not in result.stdout
