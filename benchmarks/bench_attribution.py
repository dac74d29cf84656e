"""Benchmark attribution on a snapshot-sized table: the lineage walk and the whole `attribute`, with the
shipped registry.

Target (issue 3): a 300k-model snapshot attributed in a few seconds. The synthetic table has the Hub's shape:
namespaces from the registry plus many individual users, 35% derivatives (chains up to depth ~10), 5% with a
parent outside the snapshot, 2% merges, a few cycles. Prints the median of several runs of each step, and the
ratio against a baseline measured in the same run (reading the same table back from Parquet), so numbers
from different machines compare.

    .venv/bin/python -m benchmarks.bench_attribution --models 300000 --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.attribution import attribute
from pipelines.lineage import trace_lineage
from pipelines.registry import load_registry


def synthetic_snapshot(count: int, namespaces: list[str], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    users = [f"user{i}" for i in range(count // 20)]
    owners = np.where(rng.random(count) < 0.3, rng.choice(namespaces, count), rng.choice(users, count))
    model_ids = np.array([f"{owner}/model-{i}" for i, owner in enumerate(owners)], dtype=object)
    parents: list[list[str]] = [[] for _ in range(count)]
    kind = rng.random(count)
    earlier = (rng.random(count) * np.arange(count)).astype(int)
    for i in np.flatnonzero(kind < 0.35)[1:]:
        parents[i] = [model_ids[earlier[i]]]
    for i in np.flatnonzero((kind >= 0.35) & (kind < 0.40)):
        parents[i] = [f"{rng.choice(namespaces)}/outside-{i}"]
    for i in np.flatnonzero((kind >= 0.40) & (kind < 0.42))[1:]:
        parents[i] = [model_ids[earlier[i]], model_ids[rng.integers(count)]]
    for i in range(0, count, count // 10):  # a few two-model cycles
        parents[i], parents[i + 1] = [model_ids[i + 1]], [model_ids[i]]
    relations = rng.choice(["finetune", "quantized", "adapter", "merge"], count)
    return pd.DataFrame(
        {
            "model_id": model_ids,
            "author": owners,
            "base_models": parents,
            "base_relation": [r if p else None for r, p in zip(relations, parents, strict=True)],
            "downloads_30d": rng.pareto(0.8, count).astype(np.int64),
            "downloads_all_time": rng.pareto(0.8, count).astype(np.int64) * 10,
        }
    )


def median_seconds(step: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        step()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=int, default=300_000, help="models in the snapshot (default 300000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per step (default 5)")
    args = parser.parse_args(argv)

    registry = load_registry()
    snapshot = synthetic_snapshot(args.models, [org.namespace for org in registry.orgs.values()])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "snapshot.parquet"
        snapshot.to_parquet(path)
        baseline = median_seconds(lambda: pd.read_parquet(path), args.runs)
    walk = median_seconds(lambda: trace_lineage(snapshot["model_id"], snapshot["base_models"]), args.runs)
    whole = median_seconds(lambda: attribute(snapshot, registry), args.runs)
    table = attribute(snapshot, registry)
    print(f"{args.models:,} models, {len(registry)} registry rows, median of {args.runs} runs:")
    print(f"  baseline: read the snapshot from Parquet  {baseline:7.3f} s")
    print(f"  trace_lineage                            {walk:7.3f} s  ({walk / baseline:5.1f}x baseline)")
    print(f"  attribute (whole table)                  {whole:7.3f} s  ({whole / baseline:5.1f}x baseline)")
    print(
        f"  max depth {table['lineage_depth'].max()}, cycles {int(table['lineage_cycle'].sum())}, "
        f"derivatives {int(table['base_model'].notna().sum()):,}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
