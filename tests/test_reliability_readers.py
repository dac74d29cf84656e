"""Reliability: readers querying continuously while snapshots land never see an error or a mix of versions.

A writer thread takes five daily snapshots from the fake Hub, replaces a day with `force=True`, and refreshes
the warehouse after each. Every model's 30-day count is the same number within one snapshot and different
in each (`value_of[date]`), so any result mixing two versions of a day, or part of a day, shows up as a
total that is not rows x one of that day's values. Two kinds of reader run the whole time:
- the dashboard's query layer (`dashboards.query.Warehouse`, one instance shared like the app does);
- any engine reading the Hive layout directly (DuckDB over `snapshots/*/*.parquet`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

from dashboards.filters import Filters
from dashboards.query import Warehouse
from pipelines.registry import load_registry
from pipelines.store import Store
from pipelines.warehouse import refresh
from tests.fakehub import FakeHub, make_models
from tests.ops_support import take_small_snapshot

FIRST_DAY = dt.date(2026, 7, 1)
DAYS = 5


class Reader(threading.Thread):
    """Runs `check` in a loop until stopped; keeps every exception and failed check."""

    def __init__(self, name: str, check: Callable[[], None]):
        super().__init__(name=name, daemon=True)
        self.check = check
        self.stopping = threading.Event()
        self.reads = 0
        self.problems: list[str] = []

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.check()
                self.reads += 1
            except Exception as exc:  # an error seen by a reader is the finding
                self.problems.append(f"{type(exc).__name__}: {exc}")


def set_downloads(fake_hub: FakeHub, value: int) -> None:
    for model in fake_hub.models.values():
        model["downloads"] = value
        model["downloadsAllTime"] = (model.get("downloadsAllTime") or 0) + value


def test_readers_never_see_an_error_or_a_mix_while_snapshots_land(
    tmp_path: Path, fake_hub: FakeHub, hf_env: dict[str, str], no_sleep: object
) -> None:
    fake_hub.load(make_models(200, seed=3))
    store = Store(tmp_path / "store")
    registry = load_registry()
    value_of: dict[dt.date, set[int]] = {}

    def land(day: dt.date, value: int, force: bool = False) -> None:
        set_downloads(fake_hub, value)
        value_of.setdefault(day, set()).add(value)  # before it can be seen
        take_small_snapshot(store, day, fake_hub.url, force=force)
        refresh(store, registry)

    land(FIRST_DAY, 1_000)
    rows = store.provenance(FIRST_DAY)["rows"]
    warehouse = Warehouse(store)

    def query_layer_is_consistent() -> None:
        frame = warehouse.downloads_30d_by_country(Filters())
        totals = frame.groupby("date")["downloads_30d"].sum()
        for date, total in totals.items():
            day = pd.Timestamp(date).date()
            assert total in {rows * v for v in value_of[day]}, f"{day}: total {total} mixes versions"
        assert list(totals.index) == sorted(totals.index)

    def hive_layout_is_consistent() -> None:
        frame = duckdb.sql(
            "SELECT date, count(*) AS n, min(downloads_30d) AS low, max(downloads_30d) AS high "
            f"FROM read_parquet('{store.snapshots_dir}/*/*.parquet', hive_partitioning = true) GROUP BY date"
        ).df()
        for date, n, low, high in frame.itertuples(index=False):
            day = pd.Timestamp(date).date()
            assert n == rows and low == high and low in value_of[day], f"{day}: {n} rows, {low}..{high}"

    readers = [Reader("query layer", query_layer_is_consistent), Reader("hive", hive_layout_is_consistent)]
    for reader in readers:
        reader.start()
    try:
        for offset in range(1, DAYS):
            land(FIRST_DAY + dt.timedelta(days=offset), 1_000 + offset)
            if offset == 3:  # a re-take of the latest day replaces it whole (and the warehouse rebuilds)
                land(FIRST_DAY + dt.timedelta(days=offset), 2_000 + offset, force=True)
    finally:
        for reader in readers:
            reader.stopping.set()
            reader.join()

    assert {reader.name: reader.problems[:3] for reader in readers} == {r.name: [] for r in readers}
    assert all(reader.reads > 10 for reader in readers), {reader.name: reader.reads for reader in readers}
    final = warehouse.downloads_30d_by_country(Filters()).groupby("date")["downloads_30d"].sum()
    assert len(final) == DAYS and final.iloc[3] == rows * 2_003, "the replaced day reads as its new version"
