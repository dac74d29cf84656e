"""Tables growing with history as month-partitioned Parquet (`pipelines.warehouse.partitions`): an incremental
refresh writes only the months it changes and hard-links the others, `tables.duckdb` holds none of their rows,
readers keep reading their version while a refresh builds the next, and daily refreshes across a month
boundary answer every query as a rebuild does."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest

from dashboards.filters import Filters
from dashboards.query import Warehouse
from pipelines.demo import generate_demo_store
from pipelines.registry import load_registry
from pipelines.store import Store
from pipelines.warehouse import current_version, refresh
from pipelines.warehouse.partitions import STORED, connect, partition_files
from pipelines.warehouse.schema import PARTITIONED, PARTS_DIR
from tests.attribution_data import QWEN_META_ROWS, write_registry
from tests.snapshots import counts, write_snapshot


@pytest.fixture
def registry(tmp_path: Path):
    return load_registry(write_registry(tmp_path / "orgs.csv", QWEN_META_ROWS), override=None)


def monthly(warehouse: Warehouse) -> dict[tuple[str, str], int]:
    frame = warehouse.downloads_by_country(Filters(period="month", countries=("CN", "US")))
    return {
        (f"{pd.Timestamp(p):%Y-%m}", c): int(d)
        for p, c, d in zip(frame["period"], frame["country"], frame["downloads"], strict=True)
    }


def months_of(version: Path) -> dict[str, dict[str, int]]:
    """Per partitioned table, month -> inode of its file."""
    return {t: {f.stem: f.stat().st_ino for f in partition_files(version, t)} for t in PARTITIONED}


def test_an_incremental_refresh_hard_links_every_unchanged_month_and_writes_only_the_ones_it_touches(
    tmp_path, registry
):
    store = Store(tmp_path / "store")
    qwen = lambda n: counts("Qwen/Qwen3-8B", n)  # noqa: E731
    llama = lambda n: counts("meta-llama/Llama-3-8B", n)  # noqa: E731
    write_snapshot(store, dt.date(2026, 1, 10), [qwen(100), llama(1000)])
    write_snapshot(store, dt.date(2026, 1, 20), [qwen(200), llama(1100)])
    refresh(store, registry)
    write_snapshot(store, dt.date(2026, 2, 5), [qwen(360), llama(1260)])
    refresh(store, registry)
    february = current_version(store)
    write_snapshot(store, dt.date(2026, 2, 6), [qwen(370), llama(1261)])
    assert refresh(store, registry).mode == "incremental"
    latest = current_version(store)
    assert latest.path != february.path

    before, after = months_of(february.path), months_of(latest.path)
    # Every table has its January rows (the January snapshots' days and months) and February's; the running
    # totals before each month (`*_before`) run to the month after the last one.
    for table in PARTITIONED:
        if table == "anomalies":  # no count ever fell: no rows, no file
            assert before[table] == after[table] == {}
            continue
        months = {"2026-01", "2026-02", *(["2026-03"] if table.endswith("_before") else [])}
        assert set(before[table]) == set(after[table]) == months, table
        assert after[table]["2026-01"] == before[table]["2026-01"], f"{table}: January not hard-linked"
        for month in months - {"2026-01"}:
            assert after[table][month] != before[table][month], f"{table}: {month} not rewritten"
    # `tables.duckdb` holds none of those rows: its size follows the models, not the days.
    with connect(latest.path) as con:
        for table in PARTITIONED:
            assert con.execute(f"SELECT count(*) FROM {STORED}.main.{table}").fetchone() == (0,), table
    # Hand computation (day-label rule: a snapshot's growth ends the day before its date; the first count is
    # history). Qwen: 100 over Jan 10-19 (10 a day); 160 over Jan 20 - Feb 4 (16 days, 10 a day): January
    # 100 + 12 * 10 = 220, February 4 * 10 = 40; then 10 on Feb 5: February 50. Llama: 100 a day... 100 over
    # Jan 10-19 (10 a day), 160 over Jan 20 - Feb 4 (10 a day), 1 on Feb 5: January 220, February 41.
    assert monthly(Warehouse(store)) == {
        ("2026-01", "CN"): 220, ("2026-01", "US"): 220, ("2026-02", "CN"): 50, ("2026-02", "US"): 41,
    }  # fmt: skip


def test_a_reader_open_during_a_refresh_keeps_reading_its_own_version(tmp_path, registry):
    store = Store(tmp_path / "store")
    write_snapshot(store, dt.date(2026, 1, 10), [counts("Qwen/Qwen3-8B", 100)])
    write_snapshot(store, dt.date(2026, 1, 11), [counts("Qwen/Qwen3-8B", 130)])
    refresh(store, registry)
    first = current_version(store)
    total = "SELECT sum(downloads) FROM roll_day"
    with connect(first.path) as reader:
        assert reader.execute(total).fetchone() == (30,)
        write_snapshot(store, dt.date(2026, 1, 12), [counts("Qwen/Qwen3-8B", 200)])
        building = threading.Thread(target=refresh, args=(store, registry))
        building.start()
        seen = []
        while building.is_alive():  # reads while the next version is built, swapped in and pointed to
            seen.append(reader.execute(total).fetchone())
        building.join()
        seen.append(reader.execute(total).fetchone())
        assert set(seen) == {(30,)}
    second = current_version(store)
    assert second.path != first.path and (first.path / PARTS_DIR).is_dir()
    with connect(second.path) as con:
        assert con.execute(total).fetchone() == (100,)  # 130 - 100 on Jan 10, 200 - 130 on Jan 11


def answers(warehouse: Warehouse, end: dt.date) -> list[pd.DataFrame]:
    """What the dashboard asks, over the whole store and over its last days."""
    last_days = Filters(start=end - dt.timedelta(days=9), end=end - dt.timedelta(days=1))
    return [
        warehouse.downloads_by_country(Filters(period="day")),
        warehouse.downloads_by_country(Filters(period="month")),
        warehouse.cumulative_by_country(Filters()),
        warehouse.task_by_country(Filters()),
        warehouse.size_by_country(last_days),
        warehouse.flags(Filters()),
        warehouse.concentration(Filters(period="month")),
        warehouse.top_organisations(Filters(), n=10),
        warehouse.top_organisations(last_days, n=10, others=True),
        warehouse.downloads_by_country(Filters(period="day", task="text-generation", countries=("CN",))),
    ]


def test_daily_refreshes_across_a_month_boundary_answer_as_a_rebuild_does(tmp_path):
    end = dt.date(2026, 2, 8)
    demo = Store(tmp_path / "demo")
    generate_demo_store(demo, models=150, days=40, end=end)
    registry = load_registry()
    store = Store(tmp_path / "store")
    days = sorted(demo.snapshots_dir.iterdir())
    for snapshot in days[:28]:  # up to Jan 26
        shutil.copytree(snapshot, store.snapshots_dir / snapshot.name)
    refresh(store, registry)
    for snapshot in days[28:]:  # one refresh a day through Feb 8, across the turn of the month
        shutil.copytree(snapshot, store.snapshots_dir / snapshot.name)
        assert refresh(store, registry).mode == "incremental"
    incremental = answers(Warehouse(store), end)
    assert refresh(store, registry, rebuild=True).mode == "full"
    rebuilt = answers(Warehouse(store), end)
    assert not incremental[1].empty and incremental[1]["downloads"].sum() > 0
    for left, right in zip(incremental, rebuilt, strict=True):
        pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True))
