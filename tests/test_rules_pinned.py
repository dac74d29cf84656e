"""One test per rule that a hand-seeded mutation once got past the whole relevant test files.

Each test is named after the rule it protects and fails on that mutation (README, "Mutation testing"):
the gap remainder put on the last day; the incremental re-attribution following the last parent instead of
the first; snapshot dedupe keeping the last sighting instead of the first; the top-N exactness bound removed;
the first-seen boundary `created >` turned into `>=`. (Coverage counting INTL as known:
tests/test_coverage.py; every page's layout raising: tests/test_app.py.) Expected values are computed by hand
in each test.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import pipelines.warehouse
from dashboards.filters import Filters
from dashboards.query import Warehouse, open_warehouse
from pipelines.definitions import spread
from pipelines.registry import Registry, load_registry
from pipelines.snapshot import Scope, take_snapshot
from pipelines.store import Store
from pipelines.warehouse import refresh
from tests.attribution_data import write_registry
from tests.fakehub import FakeHub, FakeRequest, FakeResponse, make_model
from tests.snapshots import model, write_snapshot


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    rows = (
        "Qwen,Alibaba Cloud (Qwen team),CN,china,company,https://qwenlm.github.io,",
        "meta-llama,Meta,US,us,company,https://ai.meta.com,",
    )
    return load_registry(write_registry(tmp_path / "orgs.csv", rows), override=None)


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(8), tzinfo=dt.UTC)


def daily(warehouse: Warehouse, country: str) -> list[int]:
    """The country's downloads on each day that has any, in day order."""
    days = warehouse.downloads_by_country(Filters(period="day", countries=(country,)))
    return days[days["country"] == country]["downloads"].astype(int).tolist()


# -- gap rule -------------------------------------------------------------------------------------------


def test_gap_rule_gives_day_i_floor_i_d_over_n_not_the_remainder_on_the_last_day(
    tmp_path: Path, registry: Registry
) -> None:
    # 7 downloads over a 4-day gap: day i gets floor(7i/4) - floor(7(i-1)/4) = 1, 3-1, 5-3, 7-5.
    assert spread(7, 4) == [1, 2, 2, 2]  # the remainder on the last day would give [1, 1, 1, 4]
    assert spread(10, 3) == [3, 3, 4] and spread(3, 3) == [1, 1, 1] and spread(0, 2) == [0, 0]
    store = Store(tmp_path / "store")
    first = dt.date(2025, 3, 1)
    write_snapshot(store, first, [model("Qwen/a", downloads_all_time=100)])
    write_snapshot(store, first + dt.timedelta(days=4), [model("Qwen/a", downloads_all_time=107)])
    assert daily(open_warehouse(store, registry), "CN") == [1, 2, 2, 2]


# -- lineage: first parent ------------------------------------------------------------------------------


def test_lineage_rule_incremental_reattribution_follows_the_first_parent(
    tmp_path: Path, registry: Registry
) -> None:
    """A merge's lineage follows its first listed parent; when that parent gains a base model in a later
    snapshot, the incremental refresh must re-attribute the merge (found through its first parent)."""
    store = Store(tmp_path / "store")
    merge = model("johnsmith/merge", parents=["janedoe/base", "meta-llama/Llama"], relation="merge")
    write_snapshot(store, dt.date(2025, 3, 1), [model("janedoe/base"), model("meta-llama/Llama"), merge])
    warehouse = open_warehouse(store, registry)
    assert warehouse.model_row("johnsmith/merge")["lineage_country"] == "INDIVIDUAL"  # janedoe's
    adopted = model("janedoe/base", parents=["Qwen/Qwen3-8B"], relation="finetune")
    rows = [adopted, model("Qwen/Qwen3-8B"), model("meta-llama/Llama"), merge]
    write_snapshot(store, dt.date(2025, 3, 2), rows)
    assert refresh(store, registry).mode == "incremental"
    warehouse = open_warehouse(store, registry)
    # merge -> janedoe/base (first parent) -> Qwen/Qwen3-8B: CN, not the US of its last parent.
    assert warehouse.model_row("johnsmith/merge")["lineage_country"] == "CN"
    chain = warehouse.lineage_chain("johnsmith/merge")["model_id"].tolist()
    assert chain == ["johnsmith/merge", "janedoe/base", "Qwen/Qwen3-8B"]


# -- snapshot dedupe: first sighting --------------------------------------------------------------------


def test_snapshot_dedupe_rule_keeps_the_first_sighting_of_a_model_listed_twice(
    fake_hub: FakeHub, hf_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Qwen/a is listed by its namespace (first) and again by the hub-wide top listing, after its counters
    moved on: the snapshot holds the namespace listing's copy, the one seen first."""
    listed = [make_model("Qwen/a", downloads=500, downloads_all_time=5000), make_model("x/b", downloads=9)]
    fake_hub.load(listed)
    list_models = fake_hub._list_models

    def counters_move_before_the_top_listing(request: FakeRequest) -> FakeResponse:
        if request.param("author") is None:
            fake_hub.add_models([make_model("Qwen/a", downloads=510, downloads_all_time=5010)])
        return list_models(request)

    fake_hub.add_route("GET", r"^/api/models$", counters_move_before_the_top_listing, name="list")
    for bucket_rows in (1_000_000, 1):  # one id range in memory, and one range per model (spilled)
        monkeypatch.setattr("pipelines.snapshot._BUCKET_ROWS", bucket_rows)
        store = Store(tmp_path / f"store-{bucket_rows}")
        take_snapshot(store, dt.date(2026, 11, 28), Scope(("Qwen",), min_downloads=0), page_size=25)
        rows = [r for f in store.data_files(dt.date(2026, 11, 28)) for r in pq.read_table(f).to_pylist()]
        counts = {r["model_id"]: (r["downloads_30d"], r["downloads_all_time"]) for r in rows}
        assert counts == {"Qwen/a": (500, 5000), "x/b": (9, 1000)}, bucket_rows
        fake_hub.add_models([make_model("Qwen/a", downloads=500, downloads_all_time=5000)])


# -- top N: exact whatever the candidates ---------------------------------------------------------------


def test_top_n_rule_is_exact_when_an_organisation_outside_the_candidates_leads_the_range(
    tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Qwen has the most downloads in the store (the one candidate kept with daily rows), Meta the most in
    February: February's leader is Meta, which only the bound on non-candidates' downloads reveals."""
    store = Store(tmp_path / "store")
    counts = {dt.date(2025, 1, 1): (0, 0), dt.date(2025, 2, 1): (3100, 31), dt.date(2025, 3, 1): (3128, 311)}
    for day, (qwen, meta) in counts.items():
        rows = [model("Qwen/a", downloads_all_time=qwen), model("meta-llama/b", downloads_all_time=meta)]
        write_snapshot(store, day, rows)
    monkeypatch.setattr(pipelines.warehouse, "TOP_CANDIDATES", 1)
    warehouse = open_warehouse(store, registry)
    # The February gap (1 Feb -> 1 Mar, 28 days) gives Qwen 28 and Meta 280; whichever day the January gap
    # (31 days) ends on, it adds at most 100 (Qwen) and 1 (Meta) to 1 February.
    for view in (Filters(start=dt.date(2025, 2, 2), end=dt.date(2025, 3, 1)),
                 Filters(start=dt.date(2025, 2, 2), end=dt.date(2025, 3, 1), task="text-generation")):
        top = warehouse.top_organisations(view, n=1)
        assert top["namespace"].tolist() == ["meta-llama"], view
    top = warehouse.top_organisations(Filters(), n=2)  # over the whole store Qwen leads: 3128 vs 311
    assert top[["namespace", "downloads"]].values.tolist() == [["Qwen", 3128], ["meta-llama", 311]]


# -- first-seen rule ------------------------------------------------------------------------------------


def test_first_seen_rule_counts_a_first_count_only_if_created_after_the_previous_snapshot(
    tmp_path: Path, registry: Registry
) -> None:
    """Three models first seen on 5 March, whose previous snapshot is 1 March: created on 2 March (after:
    its 40 downloads count), on 1 March itself (not after: a baseline) and long before (a baseline)."""
    store = Store(tmp_path / "store")
    previous, latest = dt.date(2025, 3, 1), dt.date(2025, 3, 5)
    old = model("meta-llama/old", downloads_all_time=1000, created_at=at(previous))
    write_snapshot(store, previous, [old])
    write_snapshot(
        store,
        latest,
        [
            old,
            model("Qwen/after", downloads_all_time=40, created_at=at(dt.date(2025, 3, 2))),
            model("Qwen/same-day", downloads_all_time=700, created_at=at(previous)),
            model("Qwen/older", downloads_all_time=9000, created_at=at(dt.date(2024, 1, 1))),
        ],
    )
    warehouse = open_warehouse(store, registry)
    assert sum(daily(warehouse, "CN")) == 40  # `created >=` would add the same-day model's 700
    cumulative = warehouse.cumulative_by_country(Filters(countries=("CN",)))
    latest_cn = cumulative[(cumulative["country"] == "CN") & (cumulative["date"] == pd.Timestamp(latest))]
    assert latest_cn["downloads_all_time"].tolist() == [40 + 700 + 9000]  # baselines count in cumulative
