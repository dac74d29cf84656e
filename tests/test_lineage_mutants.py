"""Lineage and attribution rules that `make mutation` found unpinned (README, "Mutation testing").

Each test pins one behaviour of `pipelines.lineage` / `pipelines.attribution` that the rule tests left open:
which parents are looked up (and how often), a cycle among parents outside the snapshot, the table the walk
returns, a failed lookup in the middle of a bounded round, and optional columns absent from a snapshot.
Expectations are worked out by hand in each test.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Mapping
from pathlib import Path

import pandas as pd
import pytest

from pipelines.attribution import INPUT_COLUMNS, PASSTHROUGH_COLUMNS, attribute
from pipelines.hub import HubClient
from pipelines.lineage import ParentCache, Parents, hub_fetch, resolve_lineage, trace_lineage
from pipelines.registry import Registry, load_registry
from pipelines.store import Store
from tests.attribution_data import write_registry
from tests.fakehub import FakeHub, Fault, make_model
from tests.snapshots import model, write_snapshot


class AnsweringLookup:
    """A ParentLookup answering from a dict, recording each round of ids it is asked and refusing an id
    asked twice (the rule looks every outside parent up once)."""

    def __init__(self, answers: Mapping[str, Parents]) -> None:
        self.answers = answers
        self.rounds: list[set[str]] = []

    def parents(self, model_ids: Collection[str]) -> Mapping[str, Parents]:
        asked = set(model_ids)
        again = asked & set().union(*self.rounds)
        assert not again, f"looked up twice: {sorted(again)}"
        self.rounds.append(asked)
        return {m: self.answers[m] for m in asked if m in self.answers}


def walk(ids: list[str], bases: list[list[str] | None], lookup: AnsweringLookup) -> pd.DataFrame:
    return trace_lineage(pd.Series(ids), pd.Series(bases, dtype=object), lookup).table.set_index("model_id")


def test_lineage_rule_looks_up_only_parents_outside_the_snapshot() -> None:
    # a/x -> b/out (outside) -> c/y (in the snapshot, a root). Only b/out is asked; c/y is known already.
    lookup = AnsweringLookup({"b/out": Parents(relation="finetune", models=("c/y",))})
    table = walk(["a/x", "c/y"], [["b/out"], None], lookup)
    assert lookup.rounds == [{"b/out"}]
    # a/x: a/x -> b/out -> c/y = 2 steps; c/y is its own root.
    assert table.loc["a/x", ["lineage_root", "lineage_depth"]].tolist() == ["c/y", 2]
    assert table.loc["c/y", ["lineage_root", "lineage_depth"]].tolist() == ["c/y", 0]


def test_lineage_rule_stops_a_cycle_among_outside_parents_and_asks_each_once() -> None:
    # a/x -> o/1 -> o/2 -> o/3 -> o/2 (the Hub's answers loop between o/2 and o/3).
    lookup = AnsweringLookup(
        {
            "o/1": Parents(relation="finetune", models=("o/2",)),
            "o/2": Parents(relation="finetune", models=("o/3",)),
            "o/3": Parents(relation="merge", models=("o/2", "o/1")),  # first listed parent: o/2
        }
    )
    table = walk(["a/x"], [["o/1"]], lookup)
    assert lookup.rounds == [{"o/1"}, {"o/2"}, {"o/3"}]
    # Walk: a/x (0) -> o/1 (1) -> o/2 (2) -> o/3 (3) -> o/2 already visited: stop, root o/3 at depth 3.
    row = table.loc["a/x"]
    assert (row["lineage_root"], row["lineage_depth"], row["lineage_cycle"]) == ("o/3", 3, True)


def test_lineage_rule_without_a_lookup_leaves_outside_parents_unresolved_roots() -> None:
    # a/x -> p/out and b/y -> p/out, nothing to ask: p/out is the root of both, reported once as unresolved.
    lineage = trace_lineage(pd.Series(["a/x", "b/y"]), pd.Series([["p/out"], ("p/out", "q/z")], dtype=object))
    assert lineage.unresolved == frozenset({"p/out"})
    assert lineage.table["lineage_root"].tolist() == ["p/out", "p/out"]
    assert lineage.table["lineage_depth"].tolist() == [1, 1]


def test_lineage_table_keeps_the_input_index_with_whole_depths_and_boolean_cycle_flags() -> None:
    # Rows 7 and 3 of a bigger frame: b/y is the parent of a/x; c/z and d/w name each other (a cycle).
    ids = pd.Series(["a/x", "b/y", "c/z", "d/w"], index=[7, 3, 12, 5])
    bases = pd.Series([["b/y"], None, ["d/w"], ["c/z"]], index=[7, 3, 12, 5], dtype=object)
    table = trace_lineage(ids, bases).table
    assert table.index.tolist() == [7, 3, 12, 5]
    assert table["model_id"].tolist() == ["a/x", "b/y", "c/z", "d/w"]
    assert [None if pd.isna(b) else b for b in table["base_model"]] == ["b/y", None, "d/w", "c/z"]
    # c/z -> d/w -> c/z: stop before the repeat, root d/w at depth 1; likewise d/w -> c/z, root c/z.
    assert table["lineage_root"].tolist() == ["b/y", "b/y", "d/w", "c/z"]
    assert table["lineage_depth"].tolist() == [1, 0, 1, 1]
    assert table["lineage_depth"].dtype == "int64"  # a count of steps, stored as an integer column
    assert table["lineage_cycle"].tolist() == [False, False, True, True]
    assert table["lineage_cycle"].dtype == bool


def test_lineage_resolver_goes_on_with_the_round_after_a_failed_lookup_and_counts_progress(
    tmp_path: Path, fake_hub: FakeHub, hf_env: dict[str, str], no_sleep: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Three outside roots, budget 3: the most downloaded (janedoe/flaky, 900) fails, the two others in the
    # same round are still fetched: fetched 2, failed 1, unresolved 1 (flaky), progress 1 + 1.
    fake_hub.load([make_model("janedoe/flaky"), make_model("janedoe/b"), make_model("janedoe/c")])
    fake_hub.inject("model", [Fault.status_code(500)] * 6, model_id="janedoe/flaky")  # 1 try + 5 retries
    store = Store(tmp_path / "store")
    day = dt.date(2025, 3, 1)
    rows = [
        {**model("x/1", parents=["janedoe/flaky"]), "downloads_30d": 900},
        {**model("x/2", parents=["janedoe/b"]), "downloads_30d": 50},
        {**model("x/3", parents=["janedoe/c"]), "downloads_30d": 10},
    ]
    write_snapshot(store, day, rows)
    steps: list[int] = []
    cache = ParentCache.of(store)
    with caplog.at_level(logging.WARNING, logger="pipelines.lineage"):
        report = resolve_lineage(store.read_snapshot(day), cache, hub_fetch(HubClient()), 3, steps.append)
    assert (report.fetched, report.not_found, report.unresolved) == (2, 0, 1)
    assert report.failed == ("janedoe/flaky",)
    assert steps == [1, 1]
    # The warning is the failure's own message, nothing around it.
    warnings = [r.getMessage() for r in caplog.records if r.name == "pipelines.lineage"]
    assert [w.startswith("could not fetch the parents of janedoe/flaky: ") for w in warnings] == [True]


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return load_registry(write_registry(tmp_path / "orgs.csv"))


def test_attribution_rule_leaves_optional_columns_empty_when_a_snapshot_lacks_them(
    registry: Registry,
) -> None:
    row = {"model_id": "janedoe/m", "author": "janedoe", "base_models": None, "base_relation": None,
           "downloads_30d": 4, "downloads_all_time": 9}
    assert set(row) == set(INPUT_COLUMNS)  # only the required columns
    table = attribute(pd.DataFrame([row]), registry)
    for column in PASSTHROUGH_COLUMNS:
        assert table[column].tolist() == [None], column
    assert table["downloads_30d"].tolist() == [4]
