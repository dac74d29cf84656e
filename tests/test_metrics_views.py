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
from tests.attribution_data import write_registry
from tests.snapshots import model, write_snapshot


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(8), tzinfo=dt.UTC)


@pytest.fixture
def registry(tmp_path: Path):
    rows = (
        "Qwen,Alibaba Cloud (Qwen team),CN,china,company,https://qwenlm.github.io,",
        "meta-llama,Meta,US,us,company,https://ai.meta.com,",
    )
    return load_registry(write_registry(tmp_path / "orgs.csv", rows), override=None)


def row(model_id: str, all_time: int, created: dt.date, **columns) -> dict:
    return model(model_id, downloads=all_time, downloads_all_time=all_time, created_at=at(created), **columns)


def test_ram_is_downloads_at_an_age_over_the_tenth_best_of_the_size_class_at_that_age(tmp_path, registry):
    store = Store(tmp_path / "store")
    start = dt.date(2025, 3, 1)
    eleven = [f"Qwen/M{i:02d}-8B" for i in range(1, 12)]
    for n, day in enumerate(start + dt.timedelta(days=k) for k in range(3)):
        rows = [row(m, 10 * (i + 1) * n, start, params_total=8_000_000_000) for i, m in enumerate(eleven)]
        rows.append(row("Qwen/Small-0.5B", 5, start, params_total=500_000_000))
        write_snapshot(store, day, rows)
    ram = open_warehouse(store, registry).ram(Filters()).set_index("model_id")
    # At age 2 the counts are 20, 40, ..., 220: the 10th best is 40.
    assert ram.loc["Qwen/M11-8B", "downloads_all_time"] == 220
    assert ram.loc["Qwen/M11-8B", "reference"] == 40
    assert ram.loc["Qwen/M11-8B", "ram"] == pytest.approx(5.5)
    assert ram.loc["Qwen/M01-8B", "ram"] == pytest.approx(0.5)
    assert pd.isna(ram.loc["Qwen/Small-0.5B", "ram"])  # alone in its size class: undefined


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
    assert (march_cn["downloads"], march_cn["new_release_downloads"]) == (70 + 30, 30)
    assert march_cn["momentum"] == pytest.approx(0.3)

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
    assert crossing["downloads_period"] == dt.date(2025, 4, 1)  # US led in March only
    # Cumulative: tied on 1 March, US ahead on 31 March, tied again on 30 April (Llama's drop is clamped,
    # so its cumulative count stays at 1200), CN ahead on 31 May.
    assert crossing["cumulative"] == dt.date(2025, 5, 31)
