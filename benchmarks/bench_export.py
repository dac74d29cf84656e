"""Benchmark chart export: one chart's PNG/SVG/PDF warm, and a full report (PDF and HTML), on a store.

Targets (issue 5): one export <= 0.5 s warm, full report <= 15 s. Prints the median of several runs of each
step, and ratios against a baseline measured in the same run (building the figure without exporting it), so
numbers from different machines can be compared.

    .venv/bin/python -m benchmarks.bench_export --store /path/to/largest/store --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

from dashboards.charts import chart_ids, describe_view, render_chart, source_info
from dashboards.export import export_chart, export_report
from dashboards.filters import Filters
from dashboards.query import open_warehouse
from pipelines.store import resolve_store

TARGETS = {"png": 0.5, "svg": 0.5, "pdf": 0.5, "report-pdf": 15.0, "report-html": 15.0}


def _median_seconds(step: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and maximum wall time of `runs` calls."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        step()
        times.append(time.perf_counter() - began)
    return statistics.median(times), max(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", help="store to benchmark (default: env OWT_STORE, else data/store)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per step (default 5)")
    parser.add_argument(
        "--chart",
        default="share-by-country",
        help="chart for the single-export steps (default share-by-country)",
    )
    parser.add_argument(
        "--no-refresh",
        action="store_true",
        help="use the store's current warehouse as it is (never write into a store you do not own)",
    )
    args = parser.parse_args(argv)

    store = resolve_store(args.store)
    if not store.dates():
        parser.error(f"no snapshots in {store.root}")
    filters = Filters()
    began = time.perf_counter()
    warehouse = open_warehouse(store, refresh_if_stale=not args.no_refresh)
    open_seconds = time.perf_counter() - began
    source = source_info(warehouse, filters)
    result = render_chart(args.chart, warehouse, filters, source=source)

    began = time.perf_counter()
    export_chart(result, "png")  # starts the browser
    cold = time.perf_counter() - began

    rows: list[tuple[str, float, float]] = []
    render = _median_seconds(lambda: render_chart(args.chart, warehouse, filters, source=source), args.runs)
    baseline = render[0]
    rows.append(("render (query + figure)", *render))
    for fmt in ("png", "svg", "pdf"):
        rows.append((fmt, *_median_seconds(lambda fmt=fmt: export_chart(result, fmt), args.runs)))

    def full_report(fmt: str) -> None:
        shared = source_info(warehouse, filters)
        results = [render_chart(chart, warehouse, filters, source=shared) for chart in chart_ids()]
        export_report(results, fmt, view=describe_view(filters))

    report_runs = max(1, args.runs // 2)
    for fmt in ("pdf", "html"):
        rows.append((f"report-{fmt}", *_median_seconds(lambda fmt=fmt: full_report(fmt), report_runs)))

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"store {store.root}: {len(store.dates())} snapshots; warehouse opened in {open_seconds:.2f} s")
    print(f"machine: {os.cpu_count()} cores, load average {load} (1, 5, 15 min)")
    print(f"first export (browser start): {cold:.2f} s; {len(chart_ids())} charts in a full report")
    print(f"{'step':<26}{'median s':>10}{'max s':>9}{'x render':>10}{'target s':>10}  ok")
    for name, median, worst in rows:
        target = TARGETS.get(name)
        ok = "" if target is None else ("yes" if median <= target else "NO")
        print(
            f"{name:<26}{median:>10.3f}{worst:>9.3f}{median / baseline:>10.1f}"
            f"{'' if target is None else f'{target:.1f}':>10}  {ok}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
