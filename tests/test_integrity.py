"""Integrity on the read path: a snapshot file whose bytes changed after publishing is never charted.

A single flipped bit in a `downloads_all_time` column chunk can leave the Parquet file readable with another
number in it; the warehouse checks every file against its provenance checksum before reading it, leaves the
date out (quarantine), and says so in the CLI, the run record, `status`, the app's banner and the charts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from app import create_app
from dashboards.charts import source_info
from dashboards.filters import Filters
from dashboards.query import open_warehouse
from pipelines.integrity import MEMO_FILE, check_snapshots
from pipelines.runs import read_runs
from pipelines.store import Store
from pipelines.verify import verify_store
from pipelines.warehouse import current_version
from tests.ops_support import run_cli
from tests.packages import package_table
from tests.snapshots import model, write_snapshot

D1, D2, D3 = dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 3, 3)
OLD = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
#: All-time counts per day (Qwen is CN, meta-llama US in data/orgs.csv).
COUNTS = {D1: (100, 1000), D2: (150, 1100), D3: (180, 1400)}
EVERYTHING = ("--max-age", "100000d")  # status: freshness is not what these tests are about


def rows(qwen: int, llama: int) -> list[dict]:
    return [
        model("Qwen/Qwen3-8B", downloads_all_time=qwen, created_at=OLD),
        model("meta-llama/Llama-3.1-8B", downloads_all_time=llama, created_at=OLD),
    ]


def flip_bit_in_all_time_counts(path: Path) -> bytes:
    """Flip bit 2 of the second byte of the first model's all-time count (150 -> 150 + 1024) inside the
    `downloads_all_time` column chunk; returns the original bytes."""
    meta = pq.read_metadata(path)
    names = [meta.schema.column(i).path for i in range(meta.num_columns)]
    chunk = meta.row_group(0).column(names.index("downloads_all_time"))
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    original = path.read_bytes()
    at = original.index((150).to_bytes(8, "little"), start, start + chunk.total_compressed_size)
    flipped = bytearray(original)
    flipped[at + 1] ^= 0b100
    path.write_bytes(bytes(flipped))
    return original


def downloads_csv(client, country: str) -> dict[str, int]:
    """The daily downloads the chart plots, as the app's CSV download gives them."""
    response = client.get("/download/chart/downloads-by-country.csv?period=day&countries=CN,US")
    assert response.status_code == 200
    frame = package_table(response.data)
    frame = frame[frame["country"] == country]
    return {str(p)[:10]: int(d) for p, d in zip(frame["period"], frame["downloads"], strict=True)}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "store")
    for date, (qwen, llama) in COUNTS.items():
        write_snapshot(store, date, rows(qwen, llama))
    return store


def test_a_flipped_bit_quarantines_its_date_everywhere_and_a_restored_file_comes_back(store: Store) -> None:
    built = run_cli("warehouse", "--store", str(store.root))
    assert built.returncode == 0, built.stderr
    assert (store.root / "warehouse" / MEMO_FILE).is_file(), "files found good are remembered"

    part = store.data_files(D2)[0]
    original = flip_bit_in_all_time_counts(part)
    read_back = pq.read_table(part, columns=["downloads_all_time"]).column(0).to_pylist()
    assert read_back == [150 + 1024, 1100], "the damaged file still parses, with another number in it"

    rebuilt = run_cli("warehouse", "--store", str(store.root), "--rebuild")

    assert rebuilt.returncode == 1, "documented: exit 1 when snapshots were left out"
    assert "error: 1 snapshot(s) failed their checksum and are left out of the charts: 2025-03-02" in (
        rebuilt.stderr
    )
    assert "TAMPERED" in rebuilt.stderr and str(part) in rebuilt.stderr
    assert current_version(store).manifest["quarantined"].keys() == {"2025-03-02"}
    assert "2025-03-02" not in current_version(store).manifest["snapshots"]
    [*_, run] = [r for r in read_runs(store) if r["command"] == "warehouse"]
    assert run["counts"]["quarantined"] == ["2025-03-02"] and "2025-03-02" in run["error"]

    # Hand computation without day 2: day 3's growth over day 1 spread over its 2 days (gap rule), the days
    # 1 and 2 (day-label rule: a snapshot dated D counts downloads up to the end of D - 1):
    # CN (180 - 100) / 2 = 40 and 40; US (1400 - 1000) / 2 = 200 and 200. With the damaged file it would be
    # CN 1174 - 100 = 1074 on day 2 and a clamped decrease on day 3.
    client = create_app(store).server.test_client()
    assert downloads_csv(client, "CN") == {"2025-03-01": 40, "2025-03-02": 40}
    assert downloads_csv(client, "US") == {"2025-03-01": 200, "2025-03-02": 200}
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "banner-quarantined" in layout and "2025-03-02" in layout
    source = source_info(open_warehouse(store), Filters()).line("publisher")
    assert "Missing: the snapshot(s) of 2025-03-02 failed their checksum and are left out." in source
    outside = source_info(open_warehouse(store), Filters(start=D3)).line("publisher")
    assert "Missing" not in outside, "a date outside the view is not named"

    status = run_cli("status", "--store", str(store.root), *EVERYTHING)
    assert status.returncode == 1
    assert "integrity    QUARANTINED: 1 snapshot(s) failed their checksum" in status.stdout
    assert json.loads(run_cli("status", "--store", str(store.root), "--json").stdout)["quarantined"]

    part.write_bytes(original)  # restored from a backup: a new mtime, so it is checked again
    restored = run_cli("warehouse", "--store", str(store.root))
    assert restored.returncode == 0, restored.stderr
    assert "full (1 snapshot(s) older than the latest built one" in restored.stdout
    assert current_version(store).manifest["quarantined"] == {}
    assert run_cli("status", "--store", str(store.root), *EVERYTHING).returncode == 0


def test_a_refresh_that_only_appends_also_catches_a_file_damaged_since_the_last_build(store: Store) -> None:
    warehouse = open_warehouse(store)
    assert warehouse.version.manifest["quarantined"] == {}
    flip_bit_in_all_time_counts(store.data_files(D2)[0])

    refreshed = run_cli("warehouse", "--store", str(store.root))

    assert refreshed.returncode == 1
    assert "full (a snapshot built in failed its checksum)" in refreshed.stdout
    frame = warehouse.downloads_by_country(Filters(period="day", countries=("CN", "US")))
    cn = frame[frame["country"] == "CN"]
    assert dict(zip(pd.to_datetime(cn["period"]).dt.date, cn["downloads"], strict=True)) == {D1: 40, D2: 40}


def test_every_snapshot_damaged_is_an_error_not_an_empty_warehouse(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    write_snapshot(store, D2, rows(150, 1100))
    flip_bit_in_all_time_counts(store.data_files(D2)[0])
    result = run_cli("warehouse", "--store", str(store.root))
    assert result.returncode == 2
    assert "nothing to build" in result.stderr and "2025-03-02" in result.stderr
    assert current_version(store) is None


def test_status_exits_one_after_a_failed_verify_and_zero_once_it_passes(store: Store) -> None:
    assert run_cli("verify", "--store", str(store.root)).returncode == 0
    clean = run_cli("status", "--store", str(store.root), *EVERYTHING)
    assert clean.returncode == 0 and "verify       ok" in clean.stdout
    assert clean.stdout.splitlines()[-1].endswith("last verify ok")

    original = flip_bit_in_all_time_counts(store.data_files(D2)[0])
    assert run_cli("verify", "--store", str(store.root)).returncode == 1
    failed = run_cli("status", "--store", str(store.root), *EVERYTHING)
    assert failed.returncode == 1
    assert "verify       FAILED" in failed.stdout and "1 integrity problem(s)" in failed.stdout
    assert failed.stdout.splitlines()[-1].endswith("last verify FAILED")

    store.data_files(D2)[0].write_bytes(original)
    assert run_cli("verify", "--store", str(store.root)).returncode == 0
    assert run_cli("status", "--store", str(store.root), *EVERYTHING).returncode == 0


def test_a_store_never_verified_says_so_and_stays_healthy(store: Store) -> None:
    result = run_cli("status", "--store", str(store.root), *EVERYTHING)
    assert result.returncode == 0
    assert "verify       never run" in result.stdout


def test_a_file_is_hashed_once_per_version_of_it_and_verify_reads_every_byte(store: Store) -> None:
    """The memo keys a file by (size, mtime, checksum): damage that keeps both (bit rot on the medium) is not
    re-hashed by refreshes, which is why the full `verify` exists; any rewrite of the file is noticed."""
    (store.root / "warehouse").mkdir()
    assert check_snapshots(store).quarantined == {}
    memo = json.loads((store.root / "warehouse" / MEMO_FILE).read_text())
    assert sorted(memo) == [f"date={d.isoformat()}/part-00000.parquet" for d in (D1, D2, D3)]

    part = store.data_files(D2)[0]
    before = part.stat()
    flip_bit_in_all_time_counts(part)
    os.utime(part, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert check_snapshots(store).quarantined == {}, "same size and mtime: the memo answers, no hashing"
    assert [p.kind for p in verify_store(store).problems] == ["tampered"]

    os.utime(part)  # any write gives the file a new mtime
    assert list(check_snapshots(store).quarantined) == ["2025-03-02"]
