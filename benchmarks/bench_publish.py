"""What a replica saves by fetching the published warehouse instead of building its own, in one run.

    python benchmarks/bench_publish.py --work /tmp/owt-publish-bench [--models 1000 --days 365 --runs 3]

1. A demo store (--models x --days) is generated and its warehouse built from scratch (`refresh`, rebuild):
   what every replica did at start before the warehouse was published. Median of --runs rebuilds.
2. The version is published into an Iceberg store (SQLite catalog + a local warehouse directory: the file
   transfers are local copies, so this measures the project's own work, not a network).
3. A replica with an empty cache fetches it (`fetch`), --runs times from scratch: median, and the ratio to
   the build.
4. One more day: an incremental build, its publish, and the replica's fetch from its previous version: files
   and bytes downloaded against the version's total (unchanged facts files are hard-linked, not fetched).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.demo import generate_demo_store  # noqa: E402
from pipelines.migrate import copy_snapshot  # noqa: E402
from pipelines.registry import load_registry  # noqa: E402
from pipelines.store import Store, resolve_store  # noqa: E402
from pipelines.warehouse import refresh, warehouse_root  # noqa: E402
from pipelines.warehouse.publish import fetch, publish  # noqa: E402

END = dt.date(2025, 9, 30)


def timed(action):  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, required=True, help="scratch directory (emptied first)")
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    registry = load_registry()

    folder = Store(args.work / "store")
    generate_demo_store(folder, models=args.models, days=args.days, seed=7, end=END)
    builds = [timed(lambda: refresh(folder, registry, rebuild=True))[0] for _ in range(args.runs)]
    build_s = statistics.median(builds)

    iceberg = resolve_store(
        f"iceberg+sqlite:///{args.work}/catalog.db?warehouse={args.work}/lake&local={args.work}/scheduler"
    )
    publish_s, published = timed(lambda: publish(iceberg, folder))  # type: ignore[arg-type]
    fetches = []
    for _ in range(args.runs):
        replica = Store(args.work / "replica")
        shutil.rmtree(replica.root, ignore_errors=True)
        fetches.append(timed(lambda: fetch(iceberg, replica))[0])  # type: ignore[arg-type]  # noqa: B023
    fetch_s = statistics.median(fetches)
    print(f"store: {args.models} models x {args.days} days; version {published.version}: "
          f"{len(published.files)} files, {published.bytes / 1e6:.1f} MB")
    print(f"build from scratch (each replica's start before), median of {args.runs}: {build_s:.1f} s")
    print(f"publish (upload + commit): {publish_s:.1f} s")
    print(f"fetch into an empty cache, median of {args.runs}: {fetch_s:.2f} s; "
          f"build / fetch = {build_s / fetch_s:.0f}x")

    extra = Store(args.work / "extra")
    next_day = END + dt.timedelta(days=1)
    generate_demo_store(extra, models=args.models, days=2, seed=8, end=next_day)
    copy_snapshot(extra, folder, next_day)
    incremental_s, report = timed(lambda: refresh(folder, registry))
    publish2_s, second = timed(lambda: publish(iceberg, folder))  # type: ignore[arg-type]
    fetch2_s, fetched = timed(lambda: fetch(iceberg, Store(args.work / "replica")))  # type: ignore[arg-type]
    print(f"one more day: {report.mode} build {incremental_s:.1f} s, publish {publish2_s:.1f} s, "
          f"replica fetch {fetch2_s:.2f} s: {fetched.downloaded} of {len(second.files)} files downloaded "
          f"({fetched.downloaded_bytes / 1e6:.2f} of {second.bytes / 1e6:.1f} MB), {fetched.reused} reused")
    assert warehouse_root(Store(args.work / "replica")).is_dir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
