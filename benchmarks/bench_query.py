"""Dashboard queries on the warehouse vs a naive pandas baseline over the same snapshot store, in one run.

    python benchmarks/make_store.py --store /tmp/owt-bench --models 300000 --days 365
    python benchmarks/bench_query.py --store /tmp/owt-bench

Each side runs in its own fresh process (so peak RSS is its own): the warehouse side opens the current
version read-only and answers through `dashboards.query`; the baseline reads the snapshot Parquet files with
pandas (only the columns and the dates each answer needs: month-boundary snapshots for monthly series, two
snapshots for a period) and aggregates. Medians of --runs runs after one warm-up run, plus the first run.
Then it times an incremental refresh after one new snapshot lands and reports bytes per model-day.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = ("country_month", "share_by_country", "top20_orgs_month", "top20_orgs_year", "size_by_country",
           "model_history", "model_ram")  # fmt: skip


def _timed(function, runs: int) -> dict[str, float]:
    began = time.perf_counter()
    function()
    first = (time.perf_counter() - began) * 1000
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        function()
        times.append((time.perf_counter() - began) * 1000)
    return {"first_ms": first, "median_ms": statistics.median(times)}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def warehouse_side(store_path: str, runs: int) -> dict[str, Any]:
    began = time.perf_counter()
    from dashboards.filters import Filters
    from dashboards.query import Warehouse
    from pipelines.store import Store

    warehouse = Warehouse(Store(Path(store_path)))
    last = warehouse.snapshots()["date"].max().date()
    month = last.replace(day=1)
    popular = warehouse.model_search("Qwen", 1)["model_id"].iloc[0]
    opened = (time.perf_counter() - began) * 1000
    calls = {
        "country_month": lambda: warehouse.downloads_by_country(Filters(period="month")),
        "share_by_country": lambda: warehouse.share_by_country(Filters(period="month")),
        "top20_orgs_month": lambda: warehouse.top_organisations(Filters(start=month, end=last), n=20),
        "top20_orgs_year": lambda: warehouse.top_organisations(Filters(), n=20),
        "size_by_country": lambda: warehouse.size_by_country(Filters()),
        "model_history": lambda: warehouse.model_history(popular),
        "model_ram": lambda: warehouse.ram(popular),
    }
    results = {name: _timed(call, runs) for name, call in calls.items()}
    return {"open_ms": opened, "queries": results, "peak_rss_mb": _peak_rss_mb(), "model": popular}


def baseline_side(store_path: str, runs: int, model: str) -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    import pyarrow.dataset as ds

    from pipelines.definitions import SIZE_CLASS_BOUNDS
    from pipelines.registry import load_registry
    from pipelines.store import Store

    store = Store(Path(store_path))
    dates = store.dates()
    registry = load_registry()
    countries: dict[str, str] = {}

    def country(authors: pd.Series) -> pd.Series:
        for author in authors.unique():
            if author not in countries:
                org = registry.lookup(author)
                countries[author] = org.attributed_country if org else "UNATTRIBUTED"
        return authors.map(countries)

    def read(date: dt.date, columns: list[str]) -> pd.DataFrame:
        return store.read_snapshot(date, columns=columns)

    def period_downloads(a: dt.date, b: dt.date, extra: tuple[str, ...] = ()) -> pd.DataFrame:
        cols = ["model_id", "author", "downloads_all_time", *extra]
        before = read(a, ["model_id", "downloads_all_time"]).rename(columns={"downloads_all_time": "before"})
        after = read(b, cols).merge(before, on="model_id", how="left")
        after["downloads"] = (after["downloads_all_time"] - after["before"].fillna(0)).clip(lower=0)
        return after

    boundaries = [dates[0]] + [
        d for d, n in zip(dates, [*dates[1:], None], strict=True) if n is None or n.month != d.month
    ]

    def country_month() -> pd.DataFrame:
        frames = []
        for a, b in itertools.pairwise(boundaries):
            frame = period_downloads(a, b)
            frame["country"] = country(frame["author"])
            frames.append(frame.groupby("country")["downloads"].sum().rename(b.replace(day=1)))
        return pd.concat(frames, axis=1)

    def share() -> pd.DataFrame:
        wide = country_month()
        return wide / wide.sum()

    def top20(start: dt.date) -> pd.DataFrame:
        first = max(d for d in dates if d < start) if start > dates[0] else dates[0]
        frame = period_downloads(first, dates[-1])
        return frame.groupby("author")["downloads"].sum().nlargest(20)

    def size_country() -> pd.DataFrame:
        frame = period_downloads(dates[0], dates[-1], ("params_total",))
        bins = [b for _, b, _ in SIZE_CLASS_BOUNDS] + [np.inf]
        frame["size_class"] = pd.cut(
            frame["params_total"], bins=bins, labels=[lab for lab, _, _ in SIZE_CLASS_BOUNDS]
        )
        frame["country"] = country(frame["author"])
        return frame.groupby(["size_class", "country"], observed=True)["downloads"].sum()

    def history() -> pd.DataFrame:
        files = [str(f) for d in dates for f in store.data_files(d)]
        dataset = ds.dataset(files, format="parquet", partitioning=ds.partitioning(flavor="hive"))
        table = dataset.to_table(
            columns=["downloads_all_time", "downloads_30d"], filter=ds.field("model_id") == model
        )
        return table.to_pandas()

    month = dates[-1].replace(day=1)
    calls = {
        "country_month": country_month,
        "share_by_country": share,
        "top20_orgs_month": lambda: top20(month),
        "top20_orgs_year": lambda: top20(dates[0]),
        "size_by_country": size_country,
        "model_history": history,
    }
    results = {name: _timed(call, runs) for name, call in calls.items()}
    return {"queries": results, "peak_rss_mb": _peak_rss_mb()}


def _child(side: str, store: str, runs: int, model: str = "") -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", side, "--store", store, "--runs", str(runs), "--model", model],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _add_snapshot(store_path: str) -> dt.date:
    """One more daily snapshot: the last one with every count grown a little (like a real day)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.schema import SNAPSHOT_SCHEMA
    from pipelines.store import Store

    store = Store(Path(store_path))
    last = store.dates()[-1]
    table = pq.read_table(store.data_files(last)[0])
    grown = np.random.default_rng(1).integers(0, 50, len(table))
    table = table.set_column(
        table.schema.get_field_index("downloads_all_time"),
        "downloads_all_time",
        pa.array(table["downloads_all_time"].to_numpy(zero_copy_only=False) + grown),
    )
    date = last + dt.timedelta(days=1)
    staged = store.staging_dir(date)
    staged.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.cast(SNAPSHOT_SCHEMA), staged / "part-0.parquet", compression="zstd")
    store.publish(staged, date, {"source": {"kind": "synthetic"}, "synthetic": True})
    return date


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", required=True)
    parser.add_argument(
        "--runs", type=int, default=7, help="timed runs per query after one warm-up (default 7)"
    )
    parser.add_argument(
        "--baseline-runs", type=int, default=3, help="timed runs per baseline query (default 3)"
    )
    parser.add_argument("--child", choices=("warehouse", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--model", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "warehouse":
        print(json.dumps(warehouse_side(args.store, args.runs)))
        return 0
    if args.child == "baseline":
        print(json.dumps(baseline_side(args.store, args.runs, args.model)))
        return 0

    from pipelines.store import Store
    from pipelines.warehouse import current_version, refresh

    store = Store(Path(args.store))
    began = time.perf_counter()
    report = refresh(store)
    build_s = time.perf_counter() - began
    print(f"warehouse refresh ({report.mode}, {report.reason}): {build_s:.1f} s", flush=True)
    manifest = current_version(store).manifest
    fast = _child("warehouse", args.store, args.runs)
    slow = _child("baseline", args.store, args.baseline_runs, fast["model"])
    print(f"\n{manifest['models']} models, {manifest['fact_rows']} model-days; medians of {args.runs} runs "
          f"(baseline {args.baseline_runs}); first run in brackets\n")  # fmt: skip
    print("| query | warehouse median ms (first) | pandas baseline median ms (first) | speed-up |")
    print("|---|---:|---:|---:|")
    for name in QUERIES:
        w, b = fast["queries"][name], slow["queries"].get(name)
        cells = [
            f"{w['median_ms']:.1f} ({w['first_ms']:.0f})",
            f"{b['median_ms']:.0f} ({b['first_ms']:.0f})" if b else "not measured (see below)",
            f"{b['median_ms'] / w['median_ms']:.0f}x" if b else "",
        ]
        print(f"| {name} | {' | '.join(cells)} |")
    print(f"| open (import + connect + first lookups) | {fast['open_ms']:.0f} | | |")
    print(f"| peak RSS MB | {fast['peak_rss_mb']:.0f} | {slow['peak_rss_mb']:.0f} | |")
    print("model_ram has no pandas baseline: it needs every model's count at every age (all snapshots).")
    added = _add_snapshot(args.store)
    began = time.perf_counter()
    report = refresh(store)
    seconds = time.perf_counter() - began
    print(f"\nincremental refresh after one new snapshot ({added}, {report.mode}): {seconds:.1f} s")
    manifest = current_version(store).manifest
    rows = manifest["fact_rows"]
    snapshot_bytes = sum(f.stat().st_size for f in store.snapshots_dir.rglob("*.parquet"))
    print(
        f"facts {manifest['fact_bytes'] / 2**20:.0f} MiB = "
        f"{manifest['fact_bytes'] / rows:.2f} B per model-day; "
        f"tables (dims, rollups) {manifest['tables_bytes'] / 2**20:.0f} MiB = "
        f"{manifest['tables_bytes'] / rows:.2f} B per model-day; raw snapshots {snapshot_bytes / rows:.1f} B"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
