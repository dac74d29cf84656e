"""RAM v2, momentum, derivatives, coverage and crossover through the query API, on hand-made snapshots."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from dashboards.filters import Filters
from dashboards.query import open_warehouse
from pipelines.registry import load_registry
from pipelines.store import Store
from pipelines.warehouse import refresh
from tests.attribution_data import QWEN_META_ROWS, write_registry
from tests.snapshots import model, write_snapshot


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(8), tzinfo=dt.UTC)


@pytest.fixture
def registry(tmp_path: Path):
    return load_registry(write_registry(tmp_path / "orgs.csv", QWEN_META_ROWS), override=None)


def row(model_id: str, all_time: int, created: dt.date, **columns) -> dict:
    return model(model_id, downloads=all_time, downloads_all_time=all_time, created_at=at(created), **columns)


def test_ram_curve_is_downloads_at_each_age_over_the_tenth_best_of_the_size_class(tmp_path, registry):
    store = Store(tmp_path / "store")
    released = dt.date(2025, 3, 1)
    eleven = [f"Qwen/M{i:02d}-8B" for i in range(1, 12)]

    def snapshot(age: int) -> None:
        big = 8_000_000_000
        rows = [row(m, 10 * (i + 1) * age, released, params_total=big) for i, m in enumerate(eleven)]
        rows.append(row("Qwen/Small-0.5B", 5, released, params_total=500_000_000))
        write_snapshot(store, released + dt.timedelta(days=age), rows)

    snapshot(0)
    snapshot(1)
    open_warehouse(store, registry)  # built on two snapshots, then refreshed incrementally twice
    snapshot(2)
    open_warehouse(store, registry)
    snapshot(6)  # a four-day gap: ages 3 to 5 take the age-2 counts
    warehouse = open_warehouse(store, registry)

    ram = warehouse.ram("Qwen/M11-8B")
    curve = ram.set_index("age_days")
    assert curve.index.tolist() == [0, 1, 2, 3, 4, 5, 6]
    # At age t the counts are 10t, 20t, ..., 110t: the 10th best is 20t; ages 3-5 repeat age 2.
    assert curve["downloads_all_time"].tolist() == [0, 110, 220, 220, 220, 220, 660]
    assert curve["reference"].tolist()[1:] == [20, 40, 40, 40, 40, 120]
    assert curve["ram"].tolist()[1:] == pytest.approx([5.5] * 6)
    assert pd.isna(curve.loc[0, "ram"])  # every count is 0 at release: undefined, not infinite
    assert curve.loc[6, "date"] == pd.Timestamp(released + dt.timedelta(days=6))
    assert warehouse.ram("Qwen/M01-8B")["ram"].tolist()[1:] == pytest.approx([0.5] * 6)
    assert warehouse.ram("Qwen/Small-0.5B")["reference"].isna().all()  # alone in its size class
    assert warehouse.ram("nobody/unknown").empty

    refresh(store, registry, rebuild=True)  # from scratch: the same references as built incrementally
    pd.testing.assert_frame_equal(warehouse.ram("Qwen/M11-8B"), ram)


def test_momentum_derivatives_coverage_and_crossover(tmp_path, registry):
    store = Store(tmp_path / "store")
    old, new = dt.date(2024, 1, 1), dt.date(2025, 3, 5)
    march = [dt.date(2025, 3, 1), dt.date(2025, 3, 31), dt.date(2025, 4, 30), dt.date(2025, 5, 31)]
    for n, day in enumerate(march):
        rows = [
            row("Qwen/Old", 1000 + 70 * n, old),
            row("meta-llama/Llama", 1000 + (200 if n == 1 else 10) * n, old),
            row("someuser/notes", 30, old),
        ]
        if day >= dt.date(2025, 3, 31):
            rows += [
                row("Qwen/New", 30 * n, new),
                row("janedoe/New-ft", 1, new, parents=["Qwen/New"], relation="finetune"),
                row("bartowski/New-GGUF", 1, new, parents=["Qwen/New"], relation="quantized"),
            ]
        write_snapshot(store, day, rows)
    warehouse = open_warehouse(store, registry)

    momentum = warehouse.momentum(Filters()).set_index(["period", "country"])
    march_cn = momentum.loc[(pd.Timestamp("2025-03-01"), "CN")]
    # Day-label rule: the snapshot of 31 March holds March 1..30, so March is Old's +70 and New's 30 up to
    # the 30th, plus 31 March, the first of the 30 days of the next gap: Old floor(70/30) = 2, New
    # floor(30/30) = 1.
    assert (march_cn["downloads"], march_cn["new_release_downloads"]) == (70 + 30 + 2 + 1, 30 + 1)
    assert march_cn["momentum"] == pytest.approx(31 / 103)

    derivatives = warehouse.derivatives_by_country(Filters(countries=("CN", "US")))
    assert derivatives[["country", "relation", "new_derivatives"]].values.tolist() == [
        ["CN", "finetune", 1],
        ["CN", "quantized", 1],
    ]
    assert warehouse.top_base_models(Filters()).values.tolist() == [["Qwen/New", "CN", 2]]

    # Latest snapshot, 30-day counts: Qwen 1210 + 90, Llama 1030, two individuals 30 + 1 + 1.
    known = 1210 + 90 + 1030
    assert warehouse.coverage(Filters()) == pytest.approx(known / (known + 32))

    crossing = warehouse.crossover(Filters(), "CN", "US").set_index("measure")["period"]
    # Monthly flows: US led in March, CN in April and May: a lead of two periods, under the three a
    # crossover needs (definitions: crossover), so none.
    assert crossing["downloads_period"] is None
    # Cumulative: tied on 1 March, US ahead on 31 March, tied again on 30 April (Llama's drop is clamped,
    # so its cumulative count stays at 1200), CN ahead on 31 May only: no crossover either.
    assert crossing["cumulative"] is None


def test_ram_reference_never_falls_when_the_tenth_best_drops_between_ages(tmp_path, registry):
    """Ten big models leave the snapshots after age 2: the raw 10th-best count drops from 2,000 (age 2) to
    30 (age 3), which made RAM jump from 0.05 to 5 overnight. The reference keeps its highest value."""
    store = Store(tmp_path / "store")
    released, big = dt.date(2025, 3, 1), 8_000_000_000
    for age in range(5):
        rows = [row(f"Qwen/Small{i:02d}-8B", 10 * age, released, params_total=big) for i in range(10)]
        rows.append(row("Qwen/Mid-8B", 50 * age, released, params_total=big))
        if age <= 2:
            rows += [row(f"Qwen/Big{i:02d}-8B", 1000 * age, released, params_total=big) for i in range(10)]
        write_snapshot(store, released + dt.timedelta(days=age), rows)
    curve = open_warehouse(store, registry).ram("Qwen/Mid-8B").set_index("age_days")
    # Raw 10th-best by age: 1,000, 2,000, then 30 and 40 (the ten small models and Mid left).
    assert curve["reference"].tolist()[1:] == [1000, 2000, 2000, 2000]
    # Mid: 50, 100, 150, 200 over 1,000, 2,000, 2,000, 2,000.
    assert curve["ram"].tolist()[1:] == pytest.approx([0.05, 0.05, 0.075, 0.1])


def test_headline_figures_come_from_complete_periods_only(tmp_path, registry):
    """Snapshots from 1 March to 4 June: June is 3 of 30 days and must not be the headline. Each month's
    downloads are the differences of the snapshots on its first day and the next month's (a snapshot dated D
    holds the downloads up to D - 1: Mar 1 -> Apr 1 is spread over 1-31 March)."""
    store = Store(tmp_path / "store")
    old = dt.date(2024, 1, 1)
    counts = {  # date: (Qwen/Old, meta-llama/Llama) all-time counts
        dt.date(2025, 3, 1): (1000, 1000),
        dt.date(2025, 4, 1): (1300, 1200),
        dt.date(2025, 5, 1): (1600, 1400),
        dt.date(2025, 6, 1): (2000, 1600),
        dt.date(2025, 6, 4): (2010, 1700),  # June so far (1-3 June): CN 10, US 100: only 3 days
    }
    for day, (qwen, llama) in counts.items():
        write_snapshot(store, day, [row("Qwen/Old", qwen, old), row("meta-llama/Llama", llama, old)])
    headline = open_warehouse(store, registry).headline(Filters())
    assert headline["period"] == dt.date(2025, 5, 1) and headline["previous"] == dt.date(2025, 4, 1)
    # May: CN 400, US 200; April: CN 300, US 200.
    assert headline["shares"] == pytest.approx({"CN": 400 / 600, "US": 200 / 600})
    assert headline["change"] == pytest.approx({"CN": 400 / 600 - 300 / 500, "US": 200 / 600 - 200 / 500})
    leader = headline["leader"]
    assert leader["namespace"] == "Qwen" and leader["share"] == pytest.approx(400 / 600)
    assert headline["crossover"] is None  # CN ahead from the first complete month: no crossover shown


def test_the_crossover_card_and_the_chart_mark_agree(tmp_path, registry):
    """CN behind in January and February (100 vs 150), ahead by far from March to June, July running:
    the crossover is March 2025, in the headline and as the mark on the downloads chart."""
    from dashboards import figures
    from dashboards.charts import render_chart

    store = Store(tmp_path / "store")
    old = dt.date(2024, 1, 1)
    ends = [dt.date(2025, 1, 1), *(dt.date(2025, m + 1, 1) - dt.timedelta(days=1) for m in range(1, 7))]
    cn_months, us_months = [100, 100, 200, 200, 200, 200], [150] * 6
    qwen, llama = [1000], [1000]
    for cn, us in zip(cn_months, us_months, strict=True):
        qwen.append(qwen[-1] + cn)
        llama.append(llama[-1] + us)
    for day, q, m in zip(ends, qwen, llama, strict=True):
        write_snapshot(store, day, [row("Qwen/Old", q, old), row("meta-llama/Llama", m, old)])
    running = [row("Qwen/Old", qwen[-1], old), row("meta-llama/Llama", 9999, old)]  # 2 July, US far ahead
    write_snapshot(store, dt.date(2025, 7, 2), running)
    warehouse = open_warehouse(store, registry)
    assert warehouse.headline(Filters())["crossover"] == dt.date(2025, 3, 1)
    result = render_chart("downloads-by-country", warehouse, Filters())
    marks = [a.text for a in result.figure.layout.annotations if a.name == figures.CROSSOVER_ANNOTATION]
    assert marks == ["Crossover: China passes United States, Mar 2025"]
    assert "Crossover marked:" in result.subtitle
    # From April the view starts with China ahead: no crossover in the selected dates, and no mark.
    later = render_chart("downloads-by-country", warehouse, Filters(start=dt.date(2025, 4, 1)))
    assert not [a for a in later.figure.layout.annotations if a.name == figures.CROSSOVER_ANNOTATION]
    assert warehouse.headline(Filters(start=dt.date(2025, 4, 1)))["crossover"] is None
