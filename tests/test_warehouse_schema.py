"""The warehouse's columns keep their declared types whatever the first build saw, a warehouse an older build
left with untyped columns is repaired by the next refresh, and the ATOM scope follows its id list."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboards.filters import Filters
from dashboards.query import Warehouse
from pipelines.__main__ import main
from pipelines.registry import load_registry
from pipelines.store import Store
from pipelines.warehouse import DIMS_SCHEMA, current_version, plan, refresh, untyped_columns
from tests.attribution_data import write_registry
from tests.snapshots import model, write_snapshot

JAN_1, JAN_11 = dt.date(2025, 1, 1), dt.date(2025, 1, 11)
OLD = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


def ids_and_counts(model_id: str, all_time: int) -> dict:
    """A row of an import that has ids and counts only: every other column null."""
    row = model(model_id, downloads=0, downloads_all_time=all_time)
    for column in ("downloads_30d", "created_at", "last_modified", "pipeline_tag", "library_name", "gated"):
        row[column] = None
    row.update(tags=None, base_models=None, base_relation=None)
    return row


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "store")
    rows = [ids_and_counts("acme-ai/base", 1000), ids_and_counts("acme-ai/tuned", 2000)]
    write_snapshot(store, JAN_1, rows)
    return store


def add_real_shaped_snapshot(store: Store) -> None:
    """Ten days later: task, library, a base model, a parameter count (what a Hub snapshot has)."""
    write_snapshot(
        store,
        JAN_11,
        [
            model("acme-ai/base", downloads_all_time=1500, created_at=OLD, params_total=7_000_000_000),
            model("acme-ai/tuned", downloads_all_time=2600, created_at=OLD, parents=["acme-ai/base"]),
        ],
    )


def override_registry(tmp_path: Path, country: str = "CN", region: str = "china") -> Path:
    row = f"acme-ai,Acme AI,{country},{region},company,https://acme.example,"
    return write_registry(tmp_path / f"override-{country}.csv", [row])


def january(warehouse: Warehouse, country: str = "CN", **view) -> int:
    frame = warehouse.downloads_by_country(Filters(period="month", countries=("CN", "US"), **view))
    month = pd.to_datetime(frame["period"]) == pd.Timestamp("2025-01-01")
    rows = frame[(frame["country"] == country) & month]
    return int(rows["downloads"].sum())


def test_a_first_build_from_an_all_null_import_then_real_snapshots_and_an_override_need_no_rebuild(
    store, tmp_path, monkeypatch, capsys
):
    assert main(["warehouse", "--store", str(store.root)]) == 0
    assert untyped_columns(current_version(store)) == []
    add_real_shaped_snapshot(store)
    assert main(["warehouse", "--store", str(store.root)]) == 0
    monkeypatch.setenv("OWT_REGISTRY", str(override_registry(tmp_path)))
    assert main(["warehouse", "--store", str(store.root)]) == 0
    modes = [line.split()[1] for line in capsys.readouterr().out.splitlines()]
    assert modes == ["full", "incremental", "rollups"]  # no rebuild was needed
    warehouse = Warehouse(store)
    # January: base grew 1500 - 1000 = 500, tuned 2600 - 2000 = 600 (first counts are history): 1100, all CN
    # through the override; both have the task now, and tuned's lineage root is base (CN too).
    assert january(warehouse) == 1100
    assert january(warehouse, task="text-generation") == 1100
    assert january(warehouse, attribution="lineage") == 1100
    assert january(warehouse, size_class="7-9B") == 500
    us = override_registry(tmp_path, "US", "us")
    assert main(["warehouse", "--store", str(store.root), "--registry", str(us)]) == 0
    assert "warehouse: rollups" in capsys.readouterr().out
    assert (january(warehouse), january(warehouse, "US")) == (0, 1100)


def break_like_an_older_build(store: Store) -> None:
    """Retype the columns an older build inferred from an all-null first snapshot as NULL, in place."""
    con = duckdb.connect(str(current_version(store).tables))
    try:
        for table, columns in {
            "dims": ("organization", "base_model", "task", "library"),
            "ns_groups": ("task",),
            "roll_day": ("task", "library"),
        }.items():
            nulls = ", ".join(f"NULL AS {c}" for c in columns)
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * REPLACE ({nulls}) FROM {table}")
    finally:
        con.close()


def test_a_warehouse_an_older_build_left_with_untyped_columns_is_repaired_by_the_next_refresh(
    store, tmp_path
):
    registry = load_registry(override=None)
    refresh(store, registry)
    break_like_an_older_build(store)
    assert untyped_columns(current_version(store)) == [
        "dims.base_model", "dims.library", "dims.organization", "dims.task", "ns_groups.task",
        "roll_day.library", "roll_day.task",
    ]  # fmt: skip
    add_real_shaped_snapshot(store)
    override = load_registry(override=override_registry(tmp_path))
    mode, reason = plan(store, override)
    assert mode == "full" and "repairing" in reason and "dims.task" in reason
    report = refresh(store, override)
    assert report.mode == "full"
    assert untyped_columns(current_version(store)) == []
    assert january(Warehouse(store), task="text-generation") == 1100
    con = duckdb.connect(str(current_version(store).tables), read_only=True)
    try:
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'dims'").fetchall())  # fmt: skip
    finally:
        con.close()
    assert types == DIMS_SCHEMA


def test_swapping_one_atom_tracked_id_for_another_moves_the_atom_scope_at_the_next_refresh(
    store, tmp_path, monkeypatch
):
    atom = tmp_path / "atom"
    atom.mkdir()
    monkeypatch.setattr("pipelines.definitions.ATOM_DIR", atom)
    registry = load_registry(override=override_registry(tmp_path))
    add_real_shaped_snapshot(store)
    (atom / "models.csv").write_text("modelId\nacme-ai/base\n", encoding="utf-8")
    refresh(store, registry)
    assert january(Warehouse(store), scope="atom") == 500  # base: 1500 - 1000
    (atom / "models.csv").write_text("modelId\nacme-ai/tuned\n", encoding="utf-8")  # same count, other id
    assert plan(store, registry) == ("rollups", "changed: atom_digest")
    refresh(store, registry)
    assert january(Warehouse(store), scope="atom") == 600  # tuned: 2600 - 2000
