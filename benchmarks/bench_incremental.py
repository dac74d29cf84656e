"""One incremental warehouse refresh after 30, 90 and 365 days of history: time and bytes written, and the
warehouse's bytes per model-day all included.

    python benchmarks/bench_incremental.py                 # 100k models a day (the demo's shape)
    python benchmarks/bench_incremental.py --quick         # 20k models a day
    python benchmarks/bench_incremental.py --models 300k --histories 30,365

Snapshots come from `bench_rebuild_memory`'s generator (stable models growing at their own rate, 0.5%
replaced each day), generated once into --work. For each history length a store links that many days, is
built from scratch, then takes one new day at a time: --runs incremental refreshes (each one new snapshot),
timed in this process (`RefreshReport.seconds`), with the bytes the process wrote (/proc/self/io
write_bytes: the work database, the new Parquet files, the new tables.duckdb) and the bytes of the files the
new version holds that the previous one did not (every other file is a hard link). Medians of the runs,
ratios against the shortest history. Bytes per model-day: every file of the current version (facts, month
partitions, tables.duckdb, manifest) over the model-days built in.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_rebuild_memory import generate, linked_store, model_days  # noqa: E402

from pipelines.registry import load_registry  # noqa: E402
from pipelines.store import Store  # noqa: E402
from pipelines.warehouse import current_version, refresh  # noqa: E402
from pipelines.warehouse.schema import PARTS_DIR, TABLES_FILE  # noqa: E402


def written_bytes() -> int:
    """Bytes this process has caused to be written to storage so far (Linux task I/O accounting)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise SystemExit("/proc/self/io has no write_bytes: this benchmark needs Linux")


def files_of(version: Path) -> dict[int, int]:
    """inode -> size of every file of a version directory."""
    return {f.stat().st_ino: f.stat().st_size for f in version.rglob("*") if f.is_file()}


def sizes(version: Path) -> dict[str, int]:
    facts = sum(f.stat().st_size for f in (version / "facts").glob("*.parquet"))
    parts = sum(f.stat().st_size for f in (version / PARTS_DIR).rglob("*.parquet"))
    tables = (version / TABLES_FILE).stat().st_size
    total = sum(f.stat().st_size for f in version.rglob("*") if f.is_file())
    return {"facts": facts, "parts": parts, "tables": tables, "total": total}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=model_days, default=None, help="models a day (default 100k)")
    parser.add_argument("--quick", action="store_true", help="20k models a day (--models wins)")
    parser.add_argument("--histories", default="30,90,365", help="days of history before the refreshes")
    parser.add_argument("--runs", type=int, default=3, help="incremental refreshes measured per history")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "owt-bench-incremental",
                        help="where snapshots are generated and kept")  # fmt: skip
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    models = args.models or (20_000 if args.quick else 100_000)
    histories = [int(h) for h in args.histories.split(",")]
    registry = load_registry()
    source = Store(args.work / f"demo-{models}")
    total_days = max(histories) + args.runs
    print(f"generating {total_days} days of {models:,} models in {source.root}", file=sys.stderr)
    generate(source, models, total_days, args.seed)
    results = []
    for days in histories:
        store = linked_store(source, args.work / f"store-{days}d", days)
        built = refresh(store, registry)
        print(f"{days} days: built from scratch in {built.seconds:.0f} s", file=sys.stderr, flush=True)
        seconds, written, new_files = [], [], []
        for run in range(args.runs):
            date = source.dates()[days + run]
            folder = source.snapshot_dir(date)
            for file in folder.iterdir():  # hard links, as `linked_store` makes them
                (store.snapshots_dir / folder.name).mkdir(parents=True, exist_ok=True)
                os.link(file, store.snapshots_dir / folder.name / file.name)
            previous = files_of(current_version(store).path)
            before = written_bytes()
            report = refresh(store, registry)
            if report.mode != "incremental":
                raise SystemExit(f"expected an incremental refresh, got {report.mode}: {report.reason}")
            written.append(written_bytes() - before)
            seconds.append(report.seconds)
            now = files_of(current_version(store).path)
            new_files.append(sum(size for inode, size in now.items() if inode not in previous))
        version = current_version(store)
        model_days_built = sum(int(store.provenance(d)["rows"]) for d in store.dates())
        results.append(
            {
                "days": days,
                "seconds": statistics.median(seconds),
                "written": statistics.median(written),
                "new_files": statistics.median(new_files),
                "model_days": model_days_built,
                **sizes(version.path),
            }
        )
        print(results[-1], file=sys.stderr, flush=True)
    base = results[0]
    print(f"\none incremental refresh (one new day of {models:,} models), median of {args.runs}; "
          f"{os.cpu_count()} cores")  # fmt: skip
    print("| history | refresh | vs first | bytes written | vs first | new files in the version "
          "| B/model-day facts | parts | tables.duckdb | total |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        per = {key: r[key] / r["model_days"] for key in ("facts", "parts", "tables", "total")}
        print(
            f"| {r['days']} days ({r['model_days'] / 1e6:.1f} M model-days) | {r['seconds']:.1f} s "
            f"| {r['seconds'] / base['seconds']:.2f}x | {r['written'] / 2**20:.0f} MiB "
            f"| {r['written'] / base['written']:.2f}x | {r['new_files'] / 2**20:.1f} MiB "
            f"| {per['facts']:.2f} | {per['parts']:.2f} | {per['tables']:.2f} | {per['total']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
