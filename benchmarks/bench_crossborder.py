"""The cross-border queries (dashboards/crossborder.py) on a given store, against the dashboard's existing
derivatives query (`Warehouse.derivatives_by_country`) timed the same way in the same run.

    python benchmarks/make_store.py --store /tmp/owt-bench --models 300000 --days 365
    python benchmarks/bench_crossborder.py --store /tmp/owt-bench --runs 5

Every query runs uncached (the pages keep results per warehouse version and view, so only a view's first
request pays this). Views: all dates, and the last --recent-days days. Medians of --runs runs after a
first one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboards import crossborder
from dashboards.filters import Filters
from dashboards.query import open_warehouse
from pipelines.store import resolve_store


def timed(function: Callable[[], object], runs: int) -> tuple[float, float]:
    """(first run, median of the next `runs`) in milliseconds."""
    times = []
    for _ in range(runs + 1):
        began = time.perf_counter()
        function()
        times.append((time.perf_counter() - began) * 1000)
    return times[0], statistics.median(times[1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", default=None, help="store (default: env OWT_STORE, else data/store)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs after the first (median reported)")
    parser.add_argument("--recent-days", type=int, default=90, help="the second view's days (default 90)")
    args = parser.parse_args(argv)
    warehouse = open_warehouse(resolve_store(args.store))
    last = max(warehouse.snapshots()["date"]).date()
    recent = f"last {args.recent_days} days"
    views = {
        "all dates": Filters(),
        recent: Filters(start=last - dt.timedelta(days=args.recent_days), end=last - dt.timedelta(days=1)),
    }
    cells, pair = crossborder._cells.__wrapped__, crossborder._pair_derivatives.__wrapped__
    namespaces = ("Qwen",)
    flows = crossborder.organisation_flows.__wrapped__
    print(f"store: {warehouse.store.root}  models: {len(warehouse.read('SELECT key FROM dims'))}")
    print(f"{'view':<14}{'query':<44}{'first ms':>10}{'median ms':>11}{'x base':>8}")
    for name, view in views.items():
        kept = crossborder._kept(view)
        base = timed(lambda view=view: warehouse.derivatives_by_country(view), args.runs)
        cases = {
            "baseline: derivatives_by_country": lambda: None,
            "matrix cells (count)": lambda kept=kept: cells(warehouse, kept, False),
            "matrix cells (count + downloads)": lambda kept=kept: cells(warehouse, kept, True),
            "pair by family (count)": lambda kept=kept: pair(warehouse, kept, False),
            "pair by family (count + downloads, facts)": lambda kept=kept: pair(warehouse, kept, True),
            "organisation_flows (Qwen)": lambda: flows(warehouse, namespaces),
        }
        for label, query in cases.items():
            first, median = base if label.startswith("baseline") else timed(query, args.runs)
            print(f"{name:<14}{label:<44}{first:>10.1f}{median:>11.1f}{median / base[1]:>8.1f}")
        # The charts' own work on a kept result (what every later request of the view costs).
        for measure in ("count", "downloads"):
            shown = replace(view, flow_measure=measure)
            crossborder.flow_matrix(warehouse, shown)  # fill the cache
            first, median = timed(lambda shown=shown: crossborder.flow_matrix(warehouse, shown), args.runs)
            label = f"flow_matrix ({measure}, cached rows)"
            print(f"{name:<14}{label:<44}{first:>10.1f}{median:>11.1f}{median / base[1]:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
