"""Iceberg store upkeep over years of daily commits, and query latency Iceberg vs folder, in one run.

    python benchmarks/bench_iceberg_maintenance.py --work /tmp/owt-ice-bench [--commits 730 --rows 1000]

1. --commits simulated daily snapshots of --rows small rows go into an Iceberg store (SQLite catalog +
   local warehouse) with PyIceberg's default table properties (no manifest merging, every metadata.json
   kept): the table as it grows without maintenance. The timed commits (the windows below) go through
   `IcebergStore.publish` (data file, delete+add commit, provenance commit); the days between them are
   simulated with the same shape of metadata but less work: one plain append to each table per day (a full
   publish also re-reads every manifest for its delete and its checks, which on a busy 2-core machine made
   730 of them take hours). The same days go to the folder store through its publish.
2. Append time (one publish) and scan-planning time (all files; one day) are the medians of the first 10
   commits ("start") and of the last 10 ("end, no maintenance").
3. `pipelines.maintain.maintain` runs (properties set, commits expired, orphans removed: keep 0 days, orphans
   of any age, as a weekly job after the retention would), then 10 more commits are timed ("after").
4. Query latency, medians of --runs: the dashboard's kinds of reads (a country-by-month style aggregate over
   every day, one whole day, one model's history) from the Iceberg store (PyIceberg scan -> Arrow -> DuckDB)
   and from the folder store (DuckDB over the Parquet files), same data, same machine, same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from pyiceberg.io.pyarrow import schema_to_pyarrow  # noqa: E402
from pyiceberg.table import Table  # noqa: E402

from pipelines.iceberg_store import IcebergStore, _date_filter  # noqa: E402
from pipelines.maintain import maintain  # noqa: E402
from pipelines.schema import SNAPSHOT_SCHEMA  # noqa: E402
from pipelines.store import Store, resolve_store  # noqa: E402

FIRST = dt.date(2024, 1, 1)
WINDOW = 10  # commits per timing window
#: PyIceberg's defaults: what the table looks like before anyone maintains it.
UNMAINTAINED = {
    "commit.manifest-merge.enabled": "false",
    "write.metadata.delete-after-commit.enabled": "false",
    "write.metadata.previous-versions-max": "100",
}


def day_table(rng: np.random.Generator, rows: int, day: int) -> pa.Table:
    """One simulated day: `rows` models of 50 namespaces, random 30-day downloads, other columns null."""
    ids = [f"org{i % 50:02d}/model-{i:05d}" for i in range(rows)]
    given = {
        "model_id": pa.array(ids),
        "author": pa.array([m.split("/")[0] for m in ids]),
        "downloads_30d": pa.array(rng.integers(0, 100_000, rows) + day),
    }
    columns = [given.get(f.name, pa.nulls(rows, f.type)) for f in SNAPSHOT_SCHEMA]
    return pa.Table.from_arrays(columns, schema=SNAPSHOT_SCHEMA).sort_by("model_id")


def publish(store: Store, date: dt.date, table: pa.Table) -> float:
    began = time.perf_counter()
    with store.fresh_staging(date) as staged:
        pq.write_table(table, staged / "part-00000.parquet")
        store.publish(staged, date, {"source": {"kind": "synthetic"}, "synthetic": True})
    return time.perf_counter() - began


def simulate_commit(data: Table, provenance: Table, date: dt.date, table: pa.Table) -> float:
    """One day as a plain append to each table (the metadata a publish leaves, for less work)."""
    began = time.perf_counter()
    schema = schema_to_pyarrow(data.schema())
    dated = table.add_column(0, "snapshot_date", pa.array([date] * table.num_rows, pa.date32()))
    data.append(dated.cast(schema), snapshot_properties={"owt.date": date.isoformat()})
    record = json.dumps({"date": date.isoformat(), "rows": table.num_rows, "source": {"kind": "synthetic"}})
    snapshot_id = data.current_snapshot().snapshot_id
    row = {"snapshot_date": [date], "data_snapshot_id": [snapshot_id], "record": [record]}
    provenance.append(pa.table(row, schema=schema_to_pyarrow(provenance.schema())))
    return time.perf_counter() - began


def plan_times(store: IcebergStore, date: dt.date) -> tuple[float, float]:
    table = store.data_table()
    began = time.perf_counter()
    files = sum(1 for _ in table.scan().plan_files())
    everything = time.perf_counter() - began
    began = time.perf_counter()
    sum(1 for _ in table.scan(row_filter=_date_filter(date)).plan_files())
    one_day = time.perf_counter() - began
    assert files >= 1
    return everything, one_day


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def timed(function: Callable[[], object], runs: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return median_ms(times)


def window(store: IcebergStore, folder: Store, rng: np.random.Generator, start: int, rows: int) -> dict:
    appends, plans_all, plans_day = [], [], []
    for day in range(start, start + WINDOW):
        date = FIRST + dt.timedelta(days=day)
        table = day_table(rng, rows, day)
        appends.append(publish(store, date, table))
        publish(folder, date, table)
        everything, one_day = plan_times(store, date)
        plans_all.append(everything)
        plans_day.append(one_day)
    data = store.data_table()
    current = data.current_snapshot()
    manifests = len(current.manifests(data.io)) if current else 0
    return {
        "append_ms": median_ms(appends),
        "plan_all_ms": median_ms(plans_all),
        "plan_day_ms": median_ms(plans_day),
        "manifests": manifests,
        "metadata_json_kB": store.table_status()["metadata_json_bytes"] / 1000,
    }


def queries(store: IcebergStore, folder: Store, runs: int, last: dt.date) -> list[tuple[str, float, float]]:
    """(query, iceberg ms, folder ms): the dashboard's kinds of reads."""
    files = [str(f) for d in folder.dates() for f in folder.data_files(d)]
    parquet = f"read_parquet({files!r}, hive_partitioning = true)"
    model = "org07/model-00007"

    def ice(sql: str, **scan: object) -> Callable[[], object]:
        def run() -> object:
            con = duckdb.connect()
            con.register("t", store.data_table().scan(**scan).to_arrow_batch_reader())
            return con.execute(sql).fetchall()

        return run

    def flat(sql: str) -> Callable[[], object]:
        def run() -> object:
            con = duckdb.connect()
            con.execute(f"CREATE VIEW t AS SELECT *, date AS snapshot_date FROM {parquet}")
            return con.execute(sql).fetchall()

        return run

    month = "SELECT date_trunc('month', snapshot_date) m, author, sum(downloads_30d) FROM t GROUP BY ALL"
    one_day = f"SELECT count(*), sum(downloads_30d) FROM t WHERE snapshot_date = DATE '{last}'"
    history = f"SELECT snapshot_date, downloads_30d FROM t WHERE model_id = '{model}' ORDER BY 1"
    cols = ("snapshot_date", "author", "downloads_30d")
    return [
        (
            "author x month, every day",
            timed(ice(month, selected_fields=cols), runs),
            timed(flat(month), runs),
        ),
        (
            "one whole day",
            timed(ice(one_day, row_filter=_date_filter(last)), runs),
            timed(flat(one_day), runs),
        ),
        (
            "one model's history",
            timed(ice(history, row_filter=f"model_id = '{model}'"), runs),
            timed(flat(history), runs),
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, required=True, help="scratch directory (emptied first)")
    parser.add_argument("--commits", type=int, default=730)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.commits < 3 * WINDOW:
        parser.error(f"--commits must be at least {3 * WINDOW}")
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    url = f"iceberg+sqlite:///{args.work}/catalog.db?warehouse={args.work}/warehouse&local={args.work}/local"
    store = resolve_store(url)
    assert isinstance(store, IcebergStore)
    folder = Store(args.work / "folder")
    for table in (store.data_table(), store.provenance_table()):
        with table.transaction() as tx:
            tx.set_properties(UNMAINTAINED)
    rng = np.random.default_rng(7)
    began = time.perf_counter()
    start = window(store, folder, rng, 0, args.rows)
    data, provenance = store.data_table(), store.provenance_table()
    for day in range(WINDOW, args.commits - WINDOW):
        date = FIRST + dt.timedelta(days=day)
        table = day_table(rng, args.rows, day)
        seconds = simulate_commit(data, provenance, date, table)
        publish(folder, date, table)
        if day % 50 == 0:  # progress, and the growth on the way
            plan_all, _ = plan_times(store, date)
            print(
                f"  {day} commits, {time.perf_counter() - began:.0f} s: append {seconds * 1000:.0f} ms, "
                f"plan all {plan_all * 1000:.0f} ms",
                file=sys.stderr,
                flush=True,
            )
    end = window(store, folder, rng, args.commits - WINDOW, args.rows)
    total = time.perf_counter() - began
    last = FIRST + dt.timedelta(days=args.commits - 1)
    latency = queries(store, folder, args.runs, last)
    status_before = store.table_status()
    began = time.perf_counter()
    maintain(store, keep_days=0, orphan_hours=1, now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    maintenance_s = time.perf_counter() - began
    after = window(store, folder, rng, args.commits, args.rows)
    status_after = store.table_status()
    latency_after = queries(store, folder, args.runs, last)

    print(f"{args.commits} daily commits of {args.rows} rows (SQLite catalog + local folder), {total:.0f} s")
    print("| window | append (publish) ms | plan all ms | plan one day ms | manifests | metadata.json kB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, w in (("first 10 commits", start), (f"last 10 of {args.commits}, no maintenance", end),
                    ("10 commits after maintenance", after)):  # fmt: skip
        print(
            f"| {name} | {w['append_ms']:.0f} | {w['plan_all_ms']:.0f} | {w['plan_day_ms']:.0f} | "
            f"{w['manifests']} | {w['metadata_json_kB']:.0f} |"
        )
    print(
        f"maintenance {maintenance_s:.1f} s: commits {status_before['iceberg_snapshots']} -> "
        f"{status_after['iceberg_snapshots']}, metadata {status_before['metadata_bytes'] / 1e6:.1f} MB -> "
        f"{status_after['metadata_bytes'] / 1e6:.2f} MB (current metadata + manifest lists + manifests)"
    )
    shape = f"{args.commits} days x {args.rows} rows, median of {args.runs}"
    print(f"\n| query ({shape}) | Iceberg ms | folder ms | ratio |")
    print("| --- | --- | --- | --- |")
    for (name, ice_ms, flat_ms), (_, ice_after, _) in zip(latency, latency_after, strict=True):
        ratio = ice_ms / flat_ms
        print(f"| {name} | {ice_ms:.0f} (after maintenance {ice_after:.0f}) | {flat_ms:.0f} | {ratio:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
