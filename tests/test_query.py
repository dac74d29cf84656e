"""Query results against a straightforward pandas computation over the same small demo store.

The pandas side reads every snapshot, differences each model's all-time counts day by day (decreases count
as zero; a first count is history unless the model was created after the previous snapshot; a daily
snapshot's growth is the previous day's) and groups by the attributed country: the obvious way, which the
warehouse must agree with.
"""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

import pipelines.warehouse
from dashboards import metrics
from dashboards.filters import INDIVIDUAL, REST_OF_WORLD, UNATTRIBUTED, UNATTRIBUTED_ORG, Filters
from dashboards.query import open_warehouse
from pipelines.attribution import attribute
from pipelines.definitions import size_class
from pipelines.demo import generate_demo_store
from pipelines.registry import load_registry
from pipelines.store import Store

END = dt.date(2026, 7, 10)  # the window holds the June 2026 recount, so some counts decrease
COUNTRIES = ("CN", "US")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("query") / "store")
    generate_demo_store(store, models=150, days=45, seed=11, end=END)
    registry = load_registry()
    return open_warehouse(store, registry), expected_downloads(store, registry)


def expected_downloads(store: Store, registry) -> pd.DataFrame:
    """One row per model and day with downloads > 0 or a first count: the obvious pandas computation."""
    frames = [store.read_snapshot(d).assign(date=pd.Timestamp(d)) for d in store.dates()]
    rows = pd.concat(frames, ignore_index=True).sort_values(["model_id", "date"])
    previous_date = {
        pd.Timestamp(b): pd.Timestamp(a) for a, b in zip(store.dates(), store.dates()[1:], strict=False)
    }
    diff = rows.groupby("model_id")["downloads_all_time"].diff()
    first = diff.isna()
    created = rows["created_at"].dt.tz_localize(None).dt.normalize()
    new = first & (created > rows["date"].map(previous_date))
    rows["downloads"] = np.where(first, np.where(new, rows["downloads_all_time"], 0), diff.clip(lower=0))
    rows["baseline"] = np.where(first & ~new, rows["downloads_all_time"], 0)
    # Day-label rule: the demo's snapshots are daily, so what a snapshot adds is the day before its date's.
    rows["day"] = rows["date"] - pd.Timedelta(days=1)
    latest = rows.drop_duplicates("model_id", keep="last").reset_index(drop=True)
    attributed = attribute(latest, registry).set_index("model_id")
    rows["country"] = rows["model_id"].map(attributed["publisher_country"])
    rows["namespace"] = rows["model_id"].map(attributed["namespace"])
    # Organisations: the registry's `organization` (renamed namespaces share it), else the namespace alone.
    organization = rows["model_id"].map(attributed["organization"])
    rows["organisation"] = np.where(
        organization.notna(),
        "organization:" + organization.str.lower(),
        "namespace:" + rows["namespace"].str.lower(),
    )
    rows["size_class"] = rows["model_id"].map(attributed["params_total"]).map(size_class)
    return rows


def organisation_of(rows: pd.DataFrame) -> pd.Series:
    """namespace -> its organisation key in `rows`."""
    return rows.drop_duplicates("namespace").set_index("namespace")["organisation"]


def display(country: str) -> str:
    if country in COUNTRIES:
        return country
    return UNATTRIBUTED if country in (UNATTRIBUTED_ORG, INDIVIDUAL) else REST_OF_WORLD


def test_monthly_downloads_by_country_match_the_pandas_computation(demo):
    warehouse, rows = demo
    got = warehouse.downloads_by_country(Filters(period="month"))
    rows = rows.assign(
        period=rows["day"].dt.to_period("M").dt.start_time, group=rows["country"].map(display)
    )
    want = rows.groupby(["period", "group"])["downloads"].sum()
    want = want[want > 0]
    got_series = got.set_index([pd.to_datetime(got["period"]), "country"])["downloads"]
    assert got_series.to_dict() == {k: int(v) for k, v in want.items()}


def test_cumulative_downloads_are_first_counts_plus_every_download_since(demo):
    warehouse, rows = demo
    got = warehouse.cumulative_by_country(Filters())
    last = got[pd.to_datetime(got["date"]) == rows["date"].max()].set_index("country")["downloads_all_time"]
    totals = (rows["downloads"] + rows["baseline"]).groupby(rows["country"].map(display)).sum()
    assert last.to_dict() == totals.astype(int).to_dict()


def test_decreases_in_the_demo_are_clamped_and_counted(demo):
    warehouse, rows = demo
    raw_drops = int((rows.groupby("model_id")["downloads_all_time"].diff() < 0).sum())
    assert raw_drops > 0
    assert warehouse.flags(Filters())["clamped"].sum() == raw_drops


@pytest.mark.parametrize(
    ("start", "end"),
    [(dt.date(2026, 6, 1), dt.date(2026, 6, 30)), (dt.date(2026, 6, 10), dt.date(2026, 7, 4))],
    ids=["a whole month", "parts of two months"],
)
def test_top_organisations_for_a_period_match_the_pandas_computation(demo, start, end):
    warehouse, rows = demo
    got = warehouse.top_organisations(Filters(start=start, end=end), n=10)
    window = rows[(rows["day"] >= pd.Timestamp(start)) & (rows["day"] <= pd.Timestamp(end))]
    per_namespace = window.groupby("organisation")["downloads"].sum()
    per_namespace = per_namespace.sort_values(ascending=False, kind="stable")
    assert got["downloads"].tolist() == per_namespace.head(10).astype(int).tolist()
    assert set(got["namespace"].map(organisation_of(rows))) <= set(
        per_namespace.index[per_namespace >= got["downloads"].min()]
    )
    assert got["share"].iloc[0] == pytest.approx(per_namespace.iloc[0] / per_namespace.sum())


@pytest.fixture(scope="module")
def few_candidates(demo, tmp_path_factory):
    """The demo's snapshots in a warehouse that keeps daily rows for only 5 candidate organisations, chosen
    when it was built without the last three snapshots (added since by an incremental refresh)."""
    warehouse, _ = demo
    store = Store(tmp_path_factory.mktemp("few") / "store")
    snapshots = sorted((warehouse.store.root / "snapshots").iterdir())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipelines.warehouse, "TOP_CANDIDATES", 5)
        for part in (snapshots[:-3], snapshots[-3:]):
            for snapshot in part:
                shutil.copytree(snapshot, store.root / "snapshots" / snapshot.name)
            report = pipelines.warehouse.refresh(store, load_registry())
        assert report.mode == "incremental"
        return open_warehouse(store, load_registry())


@pytest.mark.parametrize("n", [1, 3, 10])
@pytest.mark.parametrize(
    ("start", "end"),
    [(None, None), (dt.date(2026, 6, 10), dt.date(2026, 7, 4)), (dt.date(2026, 7, 1), END)],
    ids=["all", "a range", "the latest part-month"],
)
@pytest.mark.parametrize("size", [None, "7-9B"], ids=["every size", "one size class"])
def test_top_organisations_are_exact_when_only_some_organisations_are_candidates(
    demo, few_candidates, n, start, end, size
):
    # The leader over all dates beats every non-candidate's store total (answered from candidates);
    # ten organisations are more than the five candidates (answered from every organisation).
    warehouse, rows = demo
    view = Filters(start=start, end=end, size_class=size)
    got = few_candidates.top_organisations(view, n=n)
    assert not got.empty
    pd.testing.assert_frame_equal(got, warehouse.top_organisations(view, n=n))
    window = rows[
        (rows["day"] >= pd.Timestamp(start or rows["day"].min()))
        & (rows["day"] <= pd.Timestamp(end or END))
        & (rows["size_class"] == size if size else True)
    ]
    per_namespace = window.groupby("organisation")["downloads"].sum()
    per_namespace = per_namespace.sort_values(ascending=False, kind="stable")
    assert got["downloads"].tolist() == per_namespace.head(n).astype(int).tolist()
    assert got["share"].tolist() == pytest.approx((per_namespace.head(n) / per_namespace.sum()).tolist())


def test_top_organisations_with_others_fold_the_rest_into_one_last_row(demo):
    warehouse, rows = demo
    got = warehouse.top_organisations(Filters(), n=3, others=True)
    per_namespace = rows.groupby("organisation")["downloads"].sum()
    per_namespace = per_namespace[per_namespace > 0].sort_values(ascending=False, kind="stable")
    assert got["namespace"].iloc[:3].map(organisation_of(rows)).tolist() == [*per_namespace.index[:3]]
    assert got["namespace"].iloc[-1] == "Others"
    assert got["downloads"].iloc[-1] == per_namespace.iloc[3:].sum()
    assert got["organization"].iloc[-1] == f"{len(per_namespace) - 3} other organisations"
    assert got["share"].sum() == pytest.approx(1.0)
    assert got["n_models"].sum() == rows[rows["organisation"].isin(per_namespace.index)]["model_id"].nunique()


@pytest.mark.parametrize(
    ("start", "end", "previous_start"),
    [
        (dt.date(2026, 7, 1), END, dt.date(2026, 6, 21)),  # the month so far: as many days before
        (dt.date(2026, 6, 20), dt.date(2026, 6, 29), dt.date(2026, 6, 10)),
        (dt.date(2026, 7, 1), dt.date(2026, 7, 31), dt.date(2026, 6, 1)),  # a whole month: the month before
    ],
    ids=["month so far", "ten days", "whole month"],
)
def test_organisation_growth_compares_with_the_same_span_just_before(demo, start, end, previous_start):
    warehouse, rows = demo
    got = warehouse.top_organisations(Filters(start=start, end=end), n=5)
    got = got.set_index(got["namespace"].map(organisation_of(rows)))
    before = rows[(rows["day"] >= pd.Timestamp(previous_start)) & (rows["day"] < pd.Timestamp(start))]
    previous = before.groupby("organisation")["downloads"].sum()
    current = rows[(rows["day"] >= pd.Timestamp(start)) & (rows["day"] <= pd.Timestamp(end))]
    current = current.groupby("organisation")["downloads"].sum()
    want = (current / previous - 1).reindex(got.index)
    assert len(got) == 5 and got["growth"].notna().all()
    assert got["growth"].tolist() == pytest.approx(want.tolist())


def test_the_bound_on_other_organisations_is_their_largest_month(demo, few_candidates):
    # Top-N is answered from the candidates when the N-th of them beats this bound summed over the months
    # the range touches: a short range needs only its own months' bound, not the whole store's.
    _, rows = demo
    with duckdb.connect(str(few_candidates.version.tables), read_only=True) as con:
        candidates = {key for (key,) in con.execute("SELECT org_key FROM ns_rank WHERE candidate").fetchall()}
        bounds = dict(con.execute("SELECT month, bound FROM ns_month_bound").fetchall())
    others = rows[~rows["organisation"].isin(candidates)]
    month = others["day"].dt.to_period("M").dt.start_time
    monthly = others.groupby([month, "organisation"])["downloads"].sum()
    largest = monthly[monthly > 0].groupby(level=0).max()
    assert len(candidates) == 5
    assert bounds == {month.date(): int(value) for month, value in largest.items()}


def test_size_classes_by_country_match_the_pandas_computation(demo):
    warehouse, rows = demo
    got = warehouse.size_by_country(Filters())
    rows = rows.assign(size_class=rows["size_class"].fillna("unknown"), group=rows["country"].map(display))
    want = rows.groupby(["size_class", "group"])["downloads"].sum()
    assert got.set_index(["size_class", "country"])["downloads"].to_dict() == {
        k: int(v) for k, v in want[want > 0].items()
    }
    assert got.groupby("size_class")["share"].sum().round(9).eq(1).all()


def test_concentration_matches_hhi_and_gini_of_organisations(demo):
    warehouse, rows = demo
    got = warehouse.concentration(Filters(period="month"))
    got = got.set_index(pd.to_datetime(got["period"]))
    rows = rows.assign(period=rows["day"].dt.to_period("M").dt.start_time)
    for period, month in rows.groupby("period"):
        per_namespace = month.groupby("organisation")["downloads"].sum()
        per_namespace = per_namespace[per_namespace > 0]
        assert got.loc[period, "hhi"] == pytest.approx(metrics.hhi(per_namespace))
        assert got.loc[period, "gini"] == pytest.approx(metrics.gini(per_namespace))


def test_a_models_history_is_its_cleaned_all_time_count_at_every_snapshot(demo):
    warehouse, rows = demo
    clamped = rows[rows.groupby("model_id")["downloads_all_time"].diff() < 0]["model_id"].iloc[0]
    mine = rows[rows["model_id"] == clamped]
    history = warehouse.model_history(clamped)
    assert pd.to_datetime(history["date"]).tolist() == mine["date"].tolist()
    assert history["downloads_all_time"].tolist() == (mine["downloads"] + mine["baseline"]).cumsum().tolist()
    assert (
        history["reported"].dropna().tolist()
        == mine["downloads_all_time"][history["flag"].eq("clamped").to_numpy()].tolist()
    )


def test_filters_are_bound_not_formatted_into_sql(demo):
    warehouse, _ = demo
    hostile = Filters(task="x' OR 1=1 --", countries=("CN'; DROP TABLE dims; --",))
    assert warehouse.downloads_by_country(hostile).empty
    assert warehouse.model_search("'; DROP TABLE dims; --").empty
    assert not warehouse.model_search("Qwen", limit=3).empty
    with pytest.raises(ValueError, match="unknown period"):
        warehouse.downloads_by_country(Filters(period="year; DROP TABLE dims"))  # type: ignore[arg-type]
