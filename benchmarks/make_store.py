"""Generate the benchmark store: N models x D daily snapshots through the demo generator, then time it.

    python benchmarks/make_store.py --store /tmp/owt-bench --models 300000 --days 365

The store is an ordinary one (synthetic provenance), so the warehouse and the baseline read exactly what
they would read in production. Prints the generation time and the store's size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.demo import generate_demo_store
from pipelines.store import Store

END = dt.date(2026, 11, 27)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", required=True, help="directory for the benchmark store")
    parser.add_argument("--models", type=int, default=300_000, help="models (default 300000)")
    parser.add_argument("--days", type=int, default=365, help="daily snapshots (default 365)")
    parser.add_argument("--end", type=dt.date.fromisoformat, default=END, help=f"last date (default {END})")
    args = parser.parse_args()
    store = Store(Path(args.store))
    began = time.perf_counter()
    result = generate_demo_store(store, args.models, args.days, seed=2026, end=args.end, progress=True)
    seconds = time.perf_counter() - began
    size = sum(f.stat().st_size for f in store.snapshots_dir.rglob("*") if f.is_file())
    rows = sum(store.provenance(d)["rows"] for d in store.dates())
    print(
        f"generated {len(result.written)} snapshots ({len(result.skipped)} already there) of {args.models} "
        f"models in {seconds:.1f} s; store {size / 2**20:.0f} MiB, {rows} model-days "
        f"({size / max(rows, 1):.1f} B each)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
