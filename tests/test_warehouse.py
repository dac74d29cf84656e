"""The series rules on small hand-made snapshot sequences with known answers, end to end:
snapshots in a real store -> `pipelines.warehouse.refresh` -> `dashboards.query` results."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from dashboards.filters import Filters
from dashboards.query import Warehouse, open_warehouse
from pipelines.definitions import spread
from pipelines.registry import load_registry
from pipelines.store import Store
from pipelines.warehouse import KEEP_VERSIONS, current_version, plan, refresh
from tests.attribution_data import QWEN_META_ROWS, write_registry
from tests.snapshots import counts, model, write_snapshot

D1 = dt.date(2025, 3, 1)


def day(n: int) -> dt.date:
    """The n-th day of the sequence (day(1) == D1)."""
    return D1 + dt.timedelta(days=n - 1)


@pytest.fixture
def registry(tmp_path: Path):
    rows = (*QWEN_META_ROWS, "mistralai,Mistral AI,FR,eu,company,https://mistral.ai,")
    return load_registry(write_registry(tmp_path / "orgs.csv", rows), override=None)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def daily(warehouse: Warehouse, country: str = "CN", **view) -> dict[dt.date, int]:
    frame = warehouse.downloads_by_country(Filters(period="day", countries=("CN", "US"), **view))
    rows = frame[frame["country"] == country]
    return {pd.Timestamp(p).date(): int(d) for p, d in zip(rows["period"], rows["downloads"], strict=True)}


def cumulative(warehouse: Warehouse, country: str = "CN") -> dict[dt.date, int]:
    frame = warehouse.cumulative_by_country(Filters(countries=("CN", "US")))
    rows = frame[frame["country"] == country]
    return {
        pd.Timestamp(d).date(): int(v) for d, v in zip(rows["date"], rows["downloads_all_time"], strict=True)
    }


def test_downloads_in_a_day_are_differences_of_all_time_counts_and_the_first_count_is_history(
    store, registry
):
    for n, all_time in [(1, 100), (2, 150), (3, 180)]:
        write_snapshot(store, day(n), [counts("Qwen/Qwen3-8B", all_time)])
    warehouse = open_warehouse(store, registry)
    # Day-label rule: a snapshot holds the downloads up to the end of the day before its date, so the
    # growth 150 - 100 seen at day 2 is day 1's and 180 - 150 is day 2's; the cumulative count at each
    # snapshot is the count it reported.
    assert daily(warehouse) == {day(1): 50, day(2): 30}
    assert cumulative(warehouse) == {day(1): 100, day(2): 150, day(3): 180}


def test_a_gap_between_snapshots_is_spread_evenly_over_its_days_in_whole_downloads(store, registry):
    write_snapshot(store, day(1), [counts("Qwen/Qwen3-8B", 100)])
    write_snapshot(store, day(4), [counts("Qwen/Qwen3-8B", 200)])
    warehouse = open_warehouse(store, registry)
    assert spread(100, 3) == [33, 33, 34]
    # The snapshots of day 1 and day 4 hold the counts up to the ends of days 0 and 3: days 1, 2, 3 grew.
    assert daily(warehouse) == {day(1): 33, day(2): 33, day(3): 34}
    # Monthly periods add the spread days up again: nothing invented, nothing lost.
    monthly = warehouse.downloads_by_country(Filters(period="month"))
    assert monthly[monthly["country"] == "CN"]["downloads"].tolist() == [100]


def test_the_gap_rule_spreads_each_model_on_its_own_then_adds_them_up(store, registry):
    models = ("Qwen/a", "Qwen/b", "Qwen/c")
    write_snapshot(store, day(1), [counts(m, 100) for m in models])
    write_snapshot(store, day(4), [counts(m, 102) for m in models])
    # Each model grew by 2 over 3 days: spread(2, 3) = [0, 1, 1] (floor(2/3)=0, floor(4/3)-0=1, 2-1=1), so
    # CN gets 3 * [0, 1, 1] = [0, 3, 3] on days 1..3. Spreading the sum 6 instead would give [2, 2, 2].
    assert daily(open_warehouse(store, registry)) == {day(2): 3, day(3): 3}  # day 1: none


def test_a_decrease_is_clamped_to_zero_flagged_and_the_lower_count_becomes_the_reference(store, registry):
    for n, all_time in [(1, 100), (2, 150), (3, 120), (4, 170)]:
        write_snapshot(store, day(n), [counts("Qwen/Qwen3-8B", all_time)])
    warehouse = open_warehouse(store, registry)
    assert daily(warehouse) == {day(1): 50, day(3): 50}  # 150-100 on day 1, 170-120 on day 3
    assert cumulative(warehouse) == {day(1): 100, day(2): 150, day(3): 150, day(4): 200}
    flags = warehouse.flags(Filters())
    assert flags.set_index("date")["clamped"].to_dict() == {
        pd.Timestamp(day(1)): 0,
        pd.Timestamp(day(2)): 0,
        pd.Timestamp(day(3)): 1,
        pd.Timestamp(day(4)): 0,
    }
    history = warehouse.model_history("Qwen/Qwen3-8B")
    clamped = history[history["flag"] == "clamped"]
    assert clamped["reported"].tolist() == [120]
    assert history["downloads_all_time"].tolist() == [100, 150, 150, 200]


def test_a_model_created_after_the_previous_snapshot_counts_its_first_count_from_its_creation_day(
    store, registry
):
    write_snapshot(store, day(1), [counts("Qwen/Qwen3-8B", 100)])
    write_snapshot(store, day(2), [counts("Qwen/Qwen3-8B", 100)])
    created = dt.datetime.combine(day(3), dt.time(9), tzinfo=dt.UTC)
    write_snapshot(
        store,
        day(4),
        [
            counts("Qwen/Qwen3-8B", 100),
            model("Qwen/Qwen3-New", downloads=1, downloads_all_time=40, created_at=created),
            counts("Qwen/Qwen2-Old", 500),  # old model seen late: a baseline, in no period
        ],
    )
    warehouse = open_warehouse(store, registry)
    # Created on day 3, after the snapshot of day 2: its 40 downloads are the days from its creation to the
    # last day the snapshot of day 4 holds, day 3 (day-label rule): one day.
    assert daily(warehouse) == {day(3): 40}
    assert cumulative(warehouse)[day(4)] == 100 + 40 + 500


def test_a_model_missing_from_snapshots_keeps_its_count_and_its_growth_is_spread_over_the_absence(
    store, registry
):
    write_snapshot(store, day(1), [counts("Qwen/Qwen3-8B", 100), counts("meta-llama/Llama-3-8B", 10)])
    write_snapshot(store, day(2), [counts("meta-llama/Llama-3-8B", 10)])
    write_snapshot(store, day(3), [counts("Qwen/Qwen3-8B", 160), counts("meta-llama/Llama-3-8B", 10)])
    warehouse = open_warehouse(store, registry)
    assert daily(warehouse) == {day(1): 30, day(2): 30}
    # The cumulative series is the running sum of the daily one, so the spread growth shows in the snapshot
    # of day 2 too (it holds day 1).
    assert cumulative(warehouse) == {day(1): 100, day(2): 130, day(3): 160}


def test_a_missing_all_time_count_is_skipped_and_counted_as_missing(store, registry):
    for n, all_time in [(1, 100), (2, None), (3, 130)]:
        write_snapshot(store, day(n), [counts("Qwen/Qwen3-8B", all_time)])
    warehouse = open_warehouse(store, registry)
    assert daily(warehouse) == {day(1): 15, day(2): 15}
    assert warehouse.flags(Filters())["missing"].tolist() == [0, 1, 0]


def test_a_registry_correction_moves_past_downloads_to_the_corrected_country(store, registry, tmp_path):
    for n, all_time in [(1, 0), (2, 70)]:
        write_snapshot(store, day(n), [counts("mistralai/Mistral-7B", all_time)])
    warehouse = open_warehouse(store, registry)
    before = warehouse.downloads_by_country(Filters(countries=("FR", "US")))
    assert before.set_index("country")["downloads"].to_dict() == {"FR": 70}

    override = write_registry(
        tmp_path / "override.csv", ("mistralai,Mistral AI,US,us,company,https://x.test,",)
    )
    corrected = load_registry(tmp_path / "orgs.csv", override=override)
    assert plan(store, corrected)[0] == "rollups"
    warehouse = open_warehouse(store, corrected)
    after = warehouse.downloads_by_country(Filters(countries=("FR", "US")))
    assert after.set_index("country")["downloads"].to_dict() == {"US": 70}


def test_new_snapshots_are_appended_incrementally_with_the_same_results_as_a_rebuild(store, registry):
    rows = lambda n: [  # noqa: E731
        counts("Qwen/Qwen3-8B", 100 * n * n),
        counts("meta-llama/Llama-3-8B", 1000 + 7 * n),
        counts("mistralai/Mistral-7B", None if n == 3 else 50 * n),
    ]
    for n in (1, 2, 4):
        write_snapshot(store, day(n), rows(n))
    first = refresh(store, registry)
    # The new snapshot re-tags a model (its past downloads move to the new task) and adds a new organisation.
    retagged = [{**r, "pipeline_tag": "image-text-to-text"} if r["author"] == "Qwen" else r for r in rows(6)]
    write_snapshot(store, day(6), [*retagged, counts("mistralai/Magistral", 5)])
    assert plan(store, registry) == ("incremental", "1 new snapshot(s)")
    incremental = refresh(store, registry)
    assert incremental.mode == "incremental"
    warehouse = Warehouse(store)
    view = Filters(period="day", countries=("CN", "US", "FR"))

    def results() -> list[pd.DataFrame]:
        return [
            warehouse.downloads_by_country(view),
            warehouse.cumulative_by_country(view),
            warehouse.task_by_country(view),
            warehouse.top_organisations(Filters(), n=5),
            warehouse.downloads_by_country(Filters(task="image-text-to-text", countries=("CN",))),
        ]

    appended = results()
    assert appended[4]["downloads"].sum() == 100 * 36 - 100  # all of Qwen's downloads, moved to the new task
    refresh(store, registry, rebuild=True)
    rebuilt = results()
    assert current_version(store).path.name != first.version
    for left, right in zip(appended, rebuilt, strict=True):
        pd.testing.assert_frame_equal(left, right)


def test_a_backfilled_older_snapshot_triggers_a_full_rebuild(store, registry):
    write_snapshot(store, day(1), [counts("Qwen/Qwen3-8B", 100)])
    write_snapshot(store, day(3), [counts("Qwen/Qwen3-8B", 300)])
    warehouse = open_warehouse(store, registry)
    assert daily(warehouse) == {day(1): 100, day(2): 100}
    write_snapshot(store, day(2), [counts("Qwen/Qwen3-8B", 110)])
    assert plan(store, registry)[0] == "full"
    warehouse = open_warehouse(store, registry)
    assert daily(warehouse) == {day(1): 10, day(2): 190}  # 110 - 100 on day 1, 300 - 110 on day 2


def test_readers_keep_working_while_versions_are_swapped_and_old_ones_pruned(store, registry):
    write_snapshot(store, day(1), [counts("Qwen/Qwen3-8B", 100)])
    warehouse = open_warehouse(store, registry)
    first = warehouse.version.path
    for n in range(2, 3 + KEEP_VERSIONS):
        write_snapshot(store, day(n), [counts("Qwen/Qwen3-8B", 100 + n)])
        refresh(store, registry)
        assert warehouse.version.path == current_version(store).path
    assert not first.exists()
    assert len(list((store.root / "warehouse").glob("v*"))) == KEEP_VERSIONS
    assert (
        json.loads((store.root / "warehouse" / "CURRENT").read_text())["version"]
        == warehouse.version.path.name
    )
    assert sum(daily(warehouse).values()) == 2 + KEEP_VERSIONS


def test_many_small_facts_files_are_compacted_into_one_without_changing_results(store, registry, monkeypatch):
    for n in (1, 2, 3):
        write_snapshot(
            store, day(n), [counts("Qwen/Qwen3-8B", 100 * n), counts("meta-llama/Llama-3-8B", 7 * n)]
        )
        refresh(store, registry)
    warehouse = Warehouse(store)
    before = warehouse.downloads_by_country(Filters(period="day")), warehouse.model_history("Qwen/Qwen3-8B")
    assert len(warehouse.version.facts_files()) == 3
    monkeypatch.setattr("pipelines.warehouse.COMPACT_AFTER_FILES", 2)
    monkeypatch.setattr("pipelines.warehouse.COMPACT_CHUNK_ROWS", 2)  # several streamed chunks
    write_snapshot(store, day(4), [counts("Qwen/Qwen3-8B", 400), counts("meta-llama/Llama-3-8B", 28)])
    refresh(store, registry)
    assert len(warehouse.version.facts_files()) == 2  # the largest file is kept, the rest merged into one
    refresh(store, registry, rebuild=True)
    assert len(warehouse.version.facts_files()) == 1  # a build from scratch merges everything
    after = warehouse.downloads_by_country(Filters(period="day")), warehouse.model_history("Qwen/Qwen3-8B")
    pd.testing.assert_frame_equal(before[0], after[0].iloc[: len(before[0])])
    pd.testing.assert_frame_equal(before[1], after[1].iloc[:3])


def test_a_changed_base_model_re_attributes_its_descendants_on_an_incremental_refresh(store, registry):
    chain = lambda n, mid_parents: [  # noqa: E731
        counts("Qwen/Qwen3-8B", 1000),
        counts("someone/mid", 10 * n, parents=mid_parents),
        counts("another/ft", 100 * n, parents=["someone/mid"]),
    ]
    write_snapshot(store, day(1), chain(1, []))
    refresh(store, registry)
    write_snapshot(store, day(2), chain(2, ["Qwen/Qwen3-8B"]))  # mid now declares a Qwen base
    assert refresh(store, registry).mode == "incremental"
    warehouse = Warehouse(store)
    lineage = Filters(attribution="lineage", countries=("CN",))
    assert warehouse.downloads_by_country(lineage).set_index("country")["downloads"].to_dict() == {"CN": 110}
    assert warehouse.model_search("another/ft")["lineage_country"].tolist() == ["CN"]
