"""Models that change groups in an incremental refresh (`pipelines.warehouse.corrections`): their past
downloads move to their new groups through one delta file per table, the month files the refresh does not
load stay hard-linked, and every query answers as a rebuild does, delta files folded or not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from dashboards.comparison import window_share
from dashboards.crossborder import rollup_cell_downloads
from dashboards.filters import Filters
from dashboards.query import Warehouse
from pipelines.demo import generate_demo_store
from pipelines.registry import load_registry
from pipelines.store import Store
from pipelines.warehouse import corrections, current_version, refresh, top
from pipelines.warehouse.partitions import connect, delta_files, partition_files
from pipelines.warehouse.schema import ORG_KEY_SQL, PARTITIONED
from tests.attribution_data import QWEN_META_ROWS, write_registry
from tests.snapshots import counts, write_snapshot
from tests.test_warehouse_partitions import answers


@pytest.fixture
def registry(tmp_path: Path):
    return load_registry(write_registry(tmp_path / "orgs.csv", QWEN_META_ROWS), override=None)


def files_of(version: Path) -> dict[str, dict[str, int]]:
    """Per partitioned table, file name -> inode."""
    return {t: {f.name: f.stat().st_ino for f in partition_files(version, t)} for t in PARTITIONED}


def lineage_by_month(store: Store) -> dict[tuple[str, str], int]:
    frame = Warehouse(store).downloads_by_country(Filters(period="month", attribution="lineage"))
    return {
        (f"{pd.Timestamp(p):%Y-%m}", c): int(d)
        for p, c, d in zip(frame["period"], frame["country"], frame["downloads"], strict=True)
    }


def test_a_new_base_model_moves_past_months_through_delta_files(tmp_path, registry):
    store = Store(tmp_path / "store")
    rows = lambda n, parents, task="summarization": [  # noqa: E731
        counts("Qwen/Qwen3-8B", 1000 * n),
        counts("meta-llama/Llama-3-8B", 1000 * n),
        counts("someone/ft", 100 * n, parents=parents, pipeline_tag=task),
    ]
    # At first someone/ft derives from a model of an organisation the registry does not know.
    for n, month in enumerate((dt.date(2025, 11, 1), dt.date(2025, 12, 1), dt.date(2026, 1, 1))):
        write_snapshot(store, month, rows(n + 1, ("mistralai/Mistral-7B",)))
    write_snapshot(store, dt.date(2026, 2, 1), rows(4, ("mistralai/Mistral-7B",)))
    refresh(store, registry)
    before = current_version(store)
    # someone/ft now declares a Qwen base (its past downloads count for China) and another task (which
    # moves it to another group of its organisation, `ns_groups`, and leaves `summarization` with no model).
    # The refresh loads January on (the new snapshot's growth is Feb 1's, and the month before the last day
    # built is recomputed too).
    write_snapshot(store, dt.date(2026, 2, 2), rows(5, ("Qwen/Qwen3-8B",), "image-text-to-text"))
    assert refresh(store, registry).mode == "incremental"
    after = current_version(store)

    old, new = files_of(before.path), files_of(after.path)
    delta = f"delta-{after.path.name}.parquet"
    for table in PARTITIONED:
        for name, inode in new[table].items():
            if name < "2026-01":  # December and January: not loaded, hard-linked
                assert inode == old[table][name], f"{table}/{name} rewritten"
        # Tables whose November/December rows moved take a delta file; `org_top_*` sum the groups of each
        # organisation, where the move cancels out; no count fell (`anomalies`).
        unmoved = {"org_top_day", "org_top_before", "anomalies"}
        assert (delta in new[table]) == (table not in unmoved), table
    # The delta files hold the move only: its rows out of its old groups and into the new ones.
    with connect(after.path) as con:
        rows_moved = con.execute(
            f"SELECT sum(downloads), count(*) FROM read_parquet('{after.path}/parts/ns_day/{delta}')"
        ).fetchone()
        before_december = con.execute(
            f"SELECT grp, downloads FROM read_parquet('{after.path}/parts/ns_before/{delta}') ORDER BY grp"
        ).fetchall()
    # ns_day per group: the model's growth out of its old group and into its new one over Nov 1 - Dec 31
    # (100 over each month, 3 or 4 a day), one row per day and sign: sums cancel, 2 x 61 rows.
    assert rows_moved == (0, 2 * 61)
    # Its old group's and its new group's (3 and 4) downloads before December move by its November growth;
    # January's running totals are in the rewritten January file.
    assert before_december == [(3, -100), (4, 100)]
    # Hand computation (a snapshot's growth ends the day before its date). Each month: Qwen 1000 (CN), Llama
    # 1000 (US), ft 100 (now CN; no lineage country before); February 1: the same.
    assert lineage_by_month(store) == {
        ("2025-11", "CN"): 1100, ("2025-11", "US"): 1000,
        ("2025-12", "CN"): 1100, ("2025-12", "US"): 1000,
        ("2026-01", "CN"): 1100, ("2026-01", "US"): 1000,
        ("2026-02", "CN"): 1100, ("2026-02", "US"): 1000,
    }  # fmt: skip
    # The task a model left: its month files' rows and the delta's sum to zero, which no reader shows.
    assert Warehouse(store).tasks() == ["text-generation", "image-text-to-text"]
    incremental = emptied_group_answers(Warehouse(store))
    refresh(store, registry, rebuild=True)
    for left, right in zip(incremental, emptied_group_answers(Warehouse(store)), strict=True):
        pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True))


def emptied_group_answers(warehouse: Warehouse) -> list[pd.DataFrame]:
    """What the dashboard asks, over the store, for the task no model has any more, and by lineage country
    (ft left its only other)."""
    left = Filters(task="summarization")
    return [
        *answers(warehouse, dt.date(2026, 2, 2)),
        pd.DataFrame({"task": warehouse.tasks()}),
        warehouse.downloads_30d_by_country(left),
        warehouse.cumulative_by_country(left),
        window_share(warehouse, Filters(attribution="lineage")),
        window_share(warehouse, Filters(attribution="lineage", end=dt.date(2025, 12, 15))),  # models of Dec 1
        rollup_cell_downloads(warehouse, left),
    ]



def test_a_model_changing_organisation_rewrites_every_month_and_leaves_no_delta(tmp_path, registry):
    # Per-organisation tables (the top-N candidates' running totals, the bound on the others) cannot take a
    # delta: a model whose `author` field changes organisation makes the refresh load every month.
    store = Store(tmp_path / "store")
    rows = lambda n, author: [  # noqa: E731
        counts("Qwen/Qwen3-8B", 1000 * n),
        counts("someone/ft", 100 * n, parents=("Qwen/Qwen3-8B",), author=author),
    ]
    for n, month in enumerate((dt.date(2025, 11, 1), dt.date(2025, 12, 1), dt.date(2026, 1, 1))):
        write_snapshot(store, month, rows(n + 1, "someone"))
    refresh(store, registry)
    before = files_of(current_version(store).path)
    write_snapshot(store, dt.date(2026, 1, 2), rows(4, "Qwen"))
    assert refresh(store, registry).mode == "incremental"
    after = files_of(current_version(store).path)
    assert set(before["roll_day"]) == {"2025-10.parquet", "2025-11.parquet", "2025-12.parquet"}
    for table in PARTITIONED:
        assert set(before[table]) <= set(after[table]), table
        assert not (set(after[table].items()) & set(before[table].items())), f"{table}: a month kept"
        assert not [name for name in after[table] if name.startswith("delta-")], table
    top = Warehouse(store).top_organisations(Filters(), n=2)
    # Hand computation: every download of ft (100 in each of November and December and 100 on Jan 1; its
    # first count is history) now counts for Qwen's organisation, with Qwen's 1000 in each: 3 x 1100.
    assert top[["organization", "downloads"]].values.tolist() == [["Alibaba Cloud (Qwen team)", 3300]]

def running_totals(store: Store) -> dict[str, tuple[dt.date, list[int]]]:
    """Each candidate organisation's running totals (`org_top_cum`), by namespace."""
    with connect(current_version(store).path) as con:
        rows = con.execute("SELECT namespace, first_day, cum FROM org_top_cum").fetchall()
    return {namespace: (first_day, cum) for namespace, first_day, cum in rows}


def unbounded_months(store: Store) -> list[tuple[dt.date, int, int]]:
    """(month, bound, most downloaded by one non-candidate organisation) wherever the bound is too low."""
    with connect(current_version(store).path) as con:
        return con.execute(
            f"""
            WITH per AS (
                SELECT m.month, {ORG_KEY_SQL} AS org_key, sum(m.downloads) AS downloads
                FROM ns_month m JOIN ns_groups USING (grp) GROUP BY ALL
            ), most AS (
                SELECT month, max(downloads) AS most FROM per
                WHERE org_key IN (SELECT org_key FROM ns_rank WHERE NOT candidate) GROUP BY month
            )
            SELECT month, coalesce(b.bound, 0), most FROM most LEFT JOIN ns_month_bound b USING (month)
            WHERE coalesce(b.bound, 0) < most
            """
        ).fetchall()


def candidates_astray(store: Store) -> list[tuple]:
    """Rows where the candidates' tables (`ns_top_day`, `ns_top_before`) differ from their groups' rows in
    `ns_day` and `ns_before`, summed (which is how readers take them)."""
    with connect(current_version(store).path) as con:
        out = []
        pairs = (("ns_top_day", "ns_day", "day"), ("ns_top_before", "ns_before", "month"))
        for table, source, column in pairs:
            summed = f"SELECT {column}, grp, sum(downloads) FROM {{}} GROUP BY ALL HAVING sum(downloads) <> 0"
            mine = summed.format(table)
            theirs = summed.format(f"{source} WHERE grp IN (SELECT grp FROM ns_top_groups)")
            out += con.execute(f"({mine} EXCEPT {theirs}) UNION ALL ({theirs} EXCEPT {mine})").fetchall()
        return out


def with_moves(rows: list[dict], day: int, rng: np.random.Generator, moves: dict[str, dict]) -> list[dict]:
    """A demo day's rows with the moves so far: from day 28 on, each day three models take a new base, one
    a new task and one a new creation date (kept in later days); one model is missing on days 30-35."""
    ids = sorted(r["model_id"] for r in rows)
    if day >= 28:
        for model_id in rng.choice(ids, 3, replace=False):
            moves.setdefault(model_id, {})["base_models"] = [str(rng.choice(ids))]
        moves.setdefault(str(rng.choice(ids)), {})["pipeline_tag"] = str(
            rng.choice(["text-generation", "image-text-to-text", "feature-extraction"])
        )
        created = dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=int(rng.integers(0, 300)))
        moves.setdefault(str(rng.choice(ids)), {})["created_at"] = created
    vanishing = ids[7]
    return [
        {**row, **moves.get(row["model_id"], {})}
        for row in rows
        if not (30 <= day <= 35 and row["model_id"] == vanishing)
    ]


@pytest.mark.parametrize("max_deltas", [corrections.MAX_DELTA_FILES, 2], ids=["deltas kept", "deltas folded"])
def test_daily_refreshes_with_moving_models_answer_as_a_rebuild_does(tmp_path, monkeypatch, max_deltas):
    monkeypatch.setattr(top, "TOP_CANDIDATES", 5)  # most organisations are not candidates: bounds matter
    monkeypatch.setattr(corrections, "MAX_DELTA_FILES", max_deltas)
    end = dt.date(2026, 2, 8)
    demo = Store(tmp_path / "demo")
    generate_demo_store(demo, models=150, days=40, end=end)
    registry = load_registry()
    store = Store(tmp_path / "store")
    rng, moves, deltas = np.random.default_rng(7), {}, []
    for day, date in enumerate(demo.dates()):
        rows = pq.read_table(demo.data_files(date)).to_pylist()
        write_snapshot(store, date, with_moves(rows, day, rng, moves))
        if day >= 27:  # built on Jan 27, then one refresh a day
            assert refresh(store, registry).mode == ("full" if day == 27 else "incremental")
            version = current_version(store).path
            deltas.append(max(len(delta_files(version, table)) for table in PARTITIONED))
    # Every refresh with moves adds a delta file (the demo starts on Dec 31: each refresh loads January on
    # and corrects a December day), until the refresh that finds MAX_DELTA_FILES of them folds them into
    # the month files. The Feb 5 refresh also loads January (a model back after six days) and keeps of
    # each delta its December rows.
    assert deltas == [n % (max_deltas + 1) for n in range(13)]
    assert unbounded_months(store) == []
    assert candidates_astray(store) == []
    warehouse = Warehouse(store)
    last_days = Filters(start=end - dt.timedelta(days=9), end=end - dt.timedelta(days=1))
    incremental = [
        *answers(warehouse, end),
        warehouse.top_organisations(Filters(), n=3),  # answered from the candidates' running totals
        warehouse.top_organisations(last_days, n=3),
        warehouse.top_organisations(Filters(task="text-generation"), n=3),  # the candidates' groups
        warehouse.momentum(Filters()),
    ]
    totals = running_totals(store)
    assert refresh(store, registry, rebuild=True).mode == "full"
    warehouse = Warehouse(store)
    rebuilt = [
        *answers(warehouse, end),
        warehouse.top_organisations(Filters(), n=3),
        warehouse.top_organisations(last_days, n=3),
        warehouse.top_organisations(Filters(task="text-generation"), n=3),  # the candidates' groups
        warehouse.momentum(Filters()),
    ]
    for left, right in zip(incremental, rebuilt, strict=True):
        pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True))
    both = totals.keys() & running_totals(store).keys()
    assert both and {n: totals[n] for n in both} == {n: running_totals(store)[n] for n in both}
