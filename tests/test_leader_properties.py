"""The leading organisation vs the next N (`dashboards.comparison.leader_vs_next`: ranked among the top-N
candidates where the bound on the other organisations proves it, among every organisation elsewhere) against
the rule applied plainly in Python to every organisation's daily rows (`ns_day`), on generated stores
(hypothesis) built with one or two candidate organisations, so that periods led by organisations outside
the candidates, ties and empty periods all occur; every period length, N, scope, task and date range is
checked."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pipelines.warehouse
from dashboards.comparison import leader_vs_next
from dashboards.filters import PERIODS, Filters
from dashboards.query import Warehouse, open_warehouse
from pipelines.periods import period_start
from pipelines.registry import load_registry
from pipelines.store import Store
from tests.attribution_data import write_registry
from tests.snapshots import model, write_snapshot

OLD = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
FIRST = dt.date(2025, 1, 27)
BEFORE, AFTER = dt.date(2025, 1, 1), dt.date(2026, 1, 1)  # around every generated snapshot
#: Models of registered organisations (THUDM and zai-org are one), individuals and an unregistered one.
MODEL_IDS = (
    "Qwen/a", "Qwen/b", "meta-llama/c", "deepseek-ai/d", "THUDM/e", "zai-org/f", "mistralai/g", "alice/h",
    "acme-labs/i",
)  # fmt: skip
TASKS = ("text-generation", "image-text-to-text")
#: Few distinct steps, so periods hold ties; large ones, so organisations outside the candidates lead.
steps = st.sampled_from([0, 0, 1, 5, 5, 40, 300, 2000])


@st.composite
def stores(draw):
    """(snapshot dates, {model id: (task, all-time counts per date)}, candidates kept)."""
    gaps = draw(st.lists(st.integers(1, 12), min_size=1, max_size=5))
    dates = [FIRST]
    for gap in gaps:
        dates.append(dates[-1] + dt.timedelta(days=gap))
    ids = draw(st.lists(st.sampled_from(MODEL_IDS), min_size=2, max_size=len(MODEL_IDS), unique=True))
    models = {}
    for model_id in ids:
        counts = [draw(st.integers(0, 100))]
        for _ in gaps:
            counts.append(counts[-1] + draw(steps) * draw(st.integers(1, 3)))
        models[model_id] = (draw(st.sampled_from(TASKS)), counts)
    return dates, models, draw(st.integers(1, 2))


def build(root: Path, dates: list[dt.date], models: dict[str, tuple[str, list[int]]]) -> Warehouse:
    store = Store(root / "store")
    for index, date in enumerate(dates):
        rows = [model(model_id, downloads_all_time=counts[index], created_at=OLD, pipeline_tag=task)
                for model_id, (task, counts) in models.items()]  # fmt: skip
        write_snapshot(store, date, rows)
    return open_warehouse(store, load_registry(write_registry(root / "orgs.csv"), override=None))


def reference(groups: pd.DataFrame, days: pd.DataFrame, f: Filters) -> dict[tuple[dt.date, str], tuple]:
    """{(period, series): (names, downloads)} by the rule, in Python over every organisation's daily rows
    (`days`: day, grp, downloads) of its groups (`groups`: rows of `ns_groups`): an organisation is its
    registry name, else its namespace (case-insensitive); periods rank the organisations with downloads by
    downloads, ties by that key; each is named after its lowest group's registry name, else namespace."""
    groups = groups.assign(key=[
        f"organization:{org.lower()}" if isinstance(org, str) else f"namespace:{namespace.lower()}"
        for namespace, org in zip(groups["namespace"], groups["organization"], strict=True)
    ])  # fmt: skip
    named = groups.sort_values("grp").drop_duplicates("key")
    names = dict(zip(named["key"], named["organization"].fillna(named["namespace"]), strict=True))
    kept = groups[groups["first_party"]] if f.scope == "first-party" else groups
    kept = kept[kept["task"] == f.task] if f.task else kept
    days = days.merge(kept[["grp", "key"]], on="grp")
    days = days[days["day"].between(pd.Timestamp(f.start or BEFORE), pd.Timestamp(f.end or AFTER))]
    days = days.assign(period=[period_start(day, f.period) for day in days["day"].dt.date])
    sums = days.groupby(["period", "key"])["downloads"].sum()
    result = {}
    for period, per in sums[sums > 0].groupby(level="period"):
        ranked = sorted((-int(n), key) for (_, key), n in per.items())[: 1 + f.leader_next]
        result[(period, "leader")] = (names[ranked[0][1]], -ranked[0][0])
        if len(ranked) > 1:
            result[(period, "next")] = ("; ".join(names[key] for _, key in ranked[1:]),
                                        -sum(n for n, _ in ranked[1:]))  # fmt: skip
    return result


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stores(), st.data())
def test_leader_vs_next_equals_the_rule_over_every_organisation(store, data):
    dates, models, candidates = store
    middle = dates[0] + (dates[-1] - dates[0]) / 2
    ranges = st.sampled_from([(None, None), (dates[0] + dt.timedelta(days=3), middle)])
    filters = st.sampled_from([("all", None), ("first-party", None), ("all", TASKS[0])])
    views = st.builds(
        lambda period, leader_next, scope_task, dates: Filters(
            period=period, leader_next=leader_next, scope=scope_task[0], task=scope_task[1], start=dates[0],
            end=dates[1],
        ),
        st.sampled_from(PERIODS), st.integers(1, 3), filters, ranges,
    )
    with tempfile.TemporaryDirectory() as root, pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipelines.warehouse, "TOP_CANDIDATES", candidates)
        warehouse = build(Path(root), dates, models)
        try:
            groups = warehouse.read("SELECT grp, namespace, organization, first_party, task FROM ns_groups")
            days = warehouse.read("SELECT day, grp, downloads FROM ns_day")
            for view in data.draw(st.lists(views, min_size=4, max_size=4)):
                frame = leader_vs_next(warehouse, view)
                got = {(pd.Timestamp(row.period).date(), row.series): (row.organisations, row.downloads)
                       for row in frame.itertuples()}  # fmt: skip
                assert got == reference(groups, days, view), view
        finally:
            warehouse.close()
