"""Tests that kill mutants `make mutation` found alive in the rule modules (README, "Mutation testing").

Each pins a behaviour a rule's tests left open: a boundary, an error message a user reads, a file the rule
reads. Equivalent mutants (that change nothing observable) are listed in the README instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pandas as pd
import pytest

import pipelines.definitions
from dashboards.filters import Filters
from dashboards.query import open_warehouse
from pipelines.attribution import attribute, coverage, namespace_of
from pipelines.definitions import atom_dir, atom_tracked_ids, measure, size_class, spread
from pipelines.hub import HubClient
from pipelines.lineage import ParentCache, Parents, hub_fetch, parse_base_models, resolve_lineage
from pipelines.registry import Registry, load_registry
from pipelines.store import Store
from tests.attribution_data import write_registry
from tests.fakehub import FakeHub, Fault, make_model
from tests.snapshots import model, write_snapshot


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    rows = (
        "Qwen,Alibaba Cloud (Qwen team),CN,china,company,https://qwenlm.github.io,",
        "bigcode,BigCode,,unknown,lab,https://www.bigcode-project.org,international open collaboration",
    )
    return load_registry(write_registry(tmp_path / "orgs.csv", rows), override=None)


def test_size_class_rule_counts_every_positive_parameter_count() -> None:
    # The lower bound of "<1B" is 0 exclusive: a one-parameter (test) model has a class, zero has none.
    assert [size_class(p) for p in (1, 0.5, 0, -3)] == ["<1B", "<1B", None, None]


def test_gap_rule_refuses_an_empty_gap_in_words() -> None:
    with pytest.raises(ValueError, match=r"^a gap spans at least one day$"):
        spread(5, 0)


def test_measure_lookup_names_every_known_measure() -> None:
    with pytest.raises(KeyError) as raised:
        measure("nope")
    assert "known: downloads_30d, downloads_all_time, downloads_period, cumulative," in str(raised.value)


def test_atom_scope_rule_reads_both_tracked_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = set(atom_tracked_ids())
    assert "AI-MO/Kimina-Prover-72B" in shipped  # listed in extra_models.csv only
    folder = tmp_path / "atom"
    folder.mkdir()
    (folder / "models.csv").write_text("org,model,modelId\nQwen,a,Qwen/a\nQwen,b,\n", encoding="utf-8")
    extra = "org,model,modelId\nx,c, x/c \nQwen,a,Qwen/a\n"
    (folder / "extra_models.csv").write_text(extra, encoding="utf-8")
    monkeypatch.setattr(pipelines.definitions, "ATOM_DIR", folder)
    assert atom_dir() == folder
    assert atom_tracked_ids() == ["Qwen/a", "x/c"]  # stripped, de-duplicated, sorted; empty ids skipped
    (folder / "models.csv").unlink()
    assert atom_dir() is None and atom_tracked_ids() == []  # no copy of ATOM's list: an empty scope


# -- coverage --------------------------------------------------------------------------------------------


def test_coverage_rule_skips_a_missing_30_day_count_and_is_zero_without_downloads(registry: Registry) -> None:
    rows = [model("Qwen/Qwen3-8B", downloads=300), model("janedoe/x", downloads=100)]
    rows.append({**model("bigcode/sc"), "downloads_30d": None})  # not reported: counts as 0, not as 1
    cover = coverage(attribute(pd.DataFrame(rows), registry))
    assert (cover.downloads_30d, cover.publisher_known) == (400, 300 / 400)
    nothing = coverage(attribute(pd.DataFrame([model("Qwen/a", downloads=0)]), registry))
    assert (nothing.registered, nothing.publisher_known, nothing.lineage_known) == (0.0, 0.0, 0.0)


def test_coverage_rule_reads_the_latest_snapshot_within_the_view(tmp_path: Path, registry: Registry) -> None:
    store = Store(tmp_path / "store")
    first, second = dt.date(2025, 3, 1), dt.date(2025, 3, 9)
    write_snapshot(store, first, [model("Qwen/a", downloads=100), model("janedoe/x", downloads=300)])
    write_snapshot(store, second, [model("Qwen/a", downloads=900), model("janedoe/x", downloads=100)])
    warehouse = open_warehouse(store, registry)
    assert warehouse.coverage(Filters()) == pytest.approx(900 / 1000)  # the latest snapshot: 9 March
    assert warehouse.coverage(Filters(end=dt.date(2025, 3, 8))) == pytest.approx(100 / 400)  # 1 March
    assert warehouse.coverage(Filters(start=dt.date(2025, 3, 2))) == pytest.approx(900 / 1000)
    assert warehouse.coverage(Filters(end=dt.date(2025, 2, 1))) == 0.0  # before the first snapshot


# -- lineage ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"relation": "merge", "models": [{"id": "a/b"}, "c/d"]}, Parents("merge", ("a/b", "c/d"))),
        ({"relation": "finetune"}, Parents("finetune", ())),
        (["a/b", "c/d"], Parents(None, ("a/b", "c/d"))),
        (None, Parents(None, ())),
        ({}, Parents(None, ())),
    ],
)
def test_lineage_rule_reads_every_shape_of_base_models(value: object, expected: Parents) -> None:
    assert parse_base_models(value) == expected


def test_lineage_rule_refuses_a_base_models_value_it_cannot_read() -> None:
    with pytest.raises(ValueError, match=r"^unexpected baseModels value: 42$"):
        parse_base_models(42)


@pytest.mark.parametrize(
    ("downloads", "first"),
    [
        ({"janedoe/aa": 5, "janedoe/zz": 900}, "janedoe/zz"),  # most downloaded, whatever its name
        ({"janedoe/aa": 0, "janedoe/zz": None}, "janedoe/aa"),  # a missing count is 0: a tie, by name
    ],
)
def test_lineage_rule_resolves_the_most_downloaded_chain_first(
    tmp_path: Path, fake_hub: FakeHub, hf_env: dict[str, str], no_sleep: object,
    downloads: dict[str, int | None], first: str,
) -> None:
    fake_hub.load([make_model("janedoe/aa"), make_model("janedoe/zz")])
    store = Store(tmp_path / "store")
    rows = [{**model(f"x/{root[-2:]}", parents=[root]), "downloads_30d": n} for root, n in downloads.items()]
    write_snapshot(store, dt.date(2025, 3, 1), rows)
    cache = ParentCache.of(store)
    report = resolve_lineage(store.read_snapshot(dt.date(2025, 3, 1)), cache, hub_fetch(HubClient()), 1)
    assert (report.fetched, report.unresolved) == (1, 1)
    assert [r.path.split("?")[0] for r in fake_hub.requests_to("model")] == [f"/api/models/{first}"]


def test_lineage_lookup_failure_names_the_model_in_the_log(
    tmp_path: Path, fake_hub: FakeHub, hf_env: dict[str, str], no_sleep: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_hub.load([make_model("janedoe/flaky")])
    fake_hub.inject("model", [Fault.status_code(500)] * 6, model_id="janedoe/flaky")  # 1 try + 5 retries
    store = Store(tmp_path / "new" / "store")  # nothing written yet: the resolver makes its folders
    write_snapshot(store, dt.date(2025, 3, 1), [model("x/a", parents=["janedoe/flaky"])])
    cache = ParentCache.of(store)
    with caplog.at_level(logging.WARNING, logger="pipelines.lineage"):
        report = resolve_lineage(store.read_snapshot(dt.date(2025, 3, 1)), cache, hub_fetch(HubClient()), 5)
    assert report.failed == ("janedoe/flaky",)
    assert "could not fetch the parents of janedoe/flaky: " in caplog.text


def test_lineage_resolver_lock_is_a_file_beside_the_cache(tmp_path: Path) -> None:
    cache = ParentCache.of(Store(tmp_path / "never-written" / "store"))
    with cache.lock():  # creates <store>/lineage/ however much of the path is missing
        assert cache.path.with_name("parents.parquet.lock").is_file()


# -- top N -----------------------------------------------------------------------------------------------


def test_top_n_rule_over_a_range_starting_before_the_first_snapshot(
    tmp_path: Path, registry: Registry
) -> None:
    store = Store(tmp_path / "store")
    for day, (qwen, other) in {dt.date(2025, 1, 1): (0, 0), dt.date(2025, 2, 1): (3100, 31),
                               dt.date(2025, 3, 1): (3128, 311)}.items():
        write_snapshot(store, day, [model("Qwen/a", downloads_all_time=qwen),
                                    model("acme-ai/b", downloads_all_time=other)])
    warehouse = open_warehouse(store, registry)
    # Nothing is counted before the first snapshot: the range's downloads are the growth since 1 January.
    top = warehouse.top_organisations(Filters(start=dt.date(2024, 12, 1), end=dt.date(2025, 3, 1)), n=2)
    assert top[["namespace", "downloads"]].values.tolist() == [["Qwen", 3128], ["acme-ai", 311]]
    # Ending mid-February: the same as the sum of each group's daily downloads up to 15 February.
    days = warehouse.downloads_by_country(Filters(period="day", end=dt.date(2025, 2, 15)))
    by_group = days.groupby("country")["downloads"].sum()
    top = warehouse.top_organisations(Filters(start=dt.date(2024, 12, 1), end=dt.date(2025, 2, 15)), n=2)
    assert top["downloads"].tolist() == [by_group["CN"], by_group["Unattributed"]]
    assert 3100 < by_group["CN"] < 3128 and 31 < by_group["Unattributed"] < 311


def test_top_n_rule_lists_organisations_with_downloads_in_the_range_ties_by_name(
    tmp_path: Path, registry: Registry
) -> None:
    store = Store(tmp_path / "store")
    counts = {  # all-time counts on 1 Jan, 1 Feb, 1 Mar
        "Qwen/a": (0, 1, 2),  # 1 download in February
        "acme-ai/b": (0, 50, 50),  # none in February
        "zeta-lab/c": (0, 5, 10),  # 5, tied with Meta
        "meta-llama/d": (0, 5, 10),
    }
    for index, day in enumerate((dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1))):
        write_snapshot(store, day, [model(m, downloads_all_time=c[index]) for m, c in counts.items()])
    warehouse = open_warehouse(store, registry)
    top = warehouse.top_organisations(Filters(start=dt.date(2025, 2, 2), end=dt.date(2025, 3, 1)), n=4)
    expected = [["meta-llama", 5], ["zeta-lab", 5], ["Qwen", 1]]  # acme-ai: no downloads in the range
    assert top[["namespace", "downloads"]].values.tolist() == expected


# -- attribution -----------------------------------------------------------------------------------------


def test_attribution_rule_legacy_ids_have_no_namespace_and_missing_columns_are_named(
    registry: Registry,
) -> None:
    assert [namespace_of(i) for i in ("gpt2", "Qwen/Qwen3-8B", "")] == ["", "Qwen", ""]
    bare = pd.DataFrame([model("gpt2")]).drop(columns=["downloads_30d", "downloads_all_time"])
    with pytest.raises(ValueError, match=r"^snapshot lacks column\(s\) downloads_30d, downloads_all_time$"):
        attribute(bare, registry)


def test_top_n_rule_is_empty_for_a_range_without_downloads(tmp_path: Path, registry: Registry) -> None:
    store = Store(tmp_path / "store")
    # All-time counts 0 on 1 Jan, 7 on 1 Feb and still 7 on 1 Mar: nothing downloaded in February.
    for day, count in ((dt.date(2025, 1, 1), 0), (dt.date(2025, 2, 1), 7), (dt.date(2025, 3, 1), 7)):
        write_snapshot(store, day, [model("Qwen/a", downloads_all_time=count)])
    warehouse = open_warehouse(store, registry)
    top = warehouse.top_organisations(Filters(start=dt.date(2025, 2, 2), end=dt.date(2025, 3, 1)), n=3)
    assert top["namespace"].tolist() == []
