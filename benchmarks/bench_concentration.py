"""Benchmark the `concentration` chart's query (HHI and Gini of organisations per period) in the views that
cost most: default, daily and weekly over the last 12 months, monthly over all dates.

Each run opens the warehouse afresh, so the first answer is computed, not the one kept per version; a second
call in another view differing only in countries and scale shows the kept answer. Prints medians of several
runs and the ratio against a baseline measured in the same run (downloads per country, same view), so numbers
from different machines and loads can be compared.

    .venv/bin/python -m benchmarks.bench_concentration --store /path/to/largest/store --runs 3
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

from dashboards.filters import Filters
from dashboards.query import open_warehouse
from dashboards.timeview import last_counted, resolve_preset
from pipelines.store import resolve_store

VIEWS = {
    "default": Filters(),
    "period=day&range=12m": Filters(period="day", preset="12m"),
    "period=week&range=12m": Filters(period="week", preset="12m"),
    "period=month&range=all": Filters(period="month", preset="all"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", help="store to benchmark (default: env OWT_STORE, else data/store)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per view (default 3)")
    args = parser.parse_args(argv)
    store = resolve_store(args.store)
    if not store.dates():
        parser.error(f"no snapshots in {store.root}")
    last = last_counted(open_warehouse(store, refresh_if_stale=False))
    print(f"{'view':24} {'first s':>8} {'kept ms':>8} {'baseline s':>10} {'x baseline':>10}")
    for name, preset_view in VIEWS.items():
        view = resolve_preset(preset_view, last)
        other = dataclasses.replace(view, countries=("CN", "US", "FR"), log_scale=True)
        first, kept, baseline = [], [], []
        for _ in range(args.runs):
            warehouse = open_warehouse(store, refresh_if_stale=False)
            warehouse.downloads_by_country(Filters())  # opened and its date span read: not timed below
            began = time.perf_counter()
            warehouse.downloads_by_country(view)
            baseline.append(time.perf_counter() - began)
            began = time.perf_counter()
            warehouse.concentration(view)
            first.append(time.perf_counter() - began)
            began = time.perf_counter()
            warehouse.concentration(other)
            kept.append(time.perf_counter() - began)
            warehouse.close()
        computed, reused, base = (statistics.median(v) for v in (first, kept, baseline))
        ratio = computed / base
        print(f"{name:24} {computed:8.2f} {reused * 1000:8.1f} {base:10.2f} {ratio:10.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
