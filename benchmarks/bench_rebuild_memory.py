"""Full warehouse rebuilds at increasing history: peak RSS, time and bytes per model-day, in two shapes.

    python benchmarks/bench_rebuild_memory.py --quick                  # 1M, 3M, 10M model-days
    python benchmarks/bench_rebuild_memory.py                          # 30M, 100M, 300M model-days
    python benchmarks/bench_rebuild_memory.py --sizes 30M --shapes hub --memory-limit 1GB

Shapes: `demo` (the demo's: --demo-models models a day, many days) and `hub` (the full Hub's: --hub-models
models a day, few days). For each shape the largest size's snapshots are generated once (a fast vectorised
generator: stable models growing at their own rate, 0.5% replaced by new ones each day, 15% derivatives of
another model, namespaces from the registry and made-up users); each size is a store whose snapshot folders
are hard links to its first days. Each rebuild runs `python -m pipelines warehouse --rebuild` in a fresh
process, whose RSS (with its children) is sampled every 0.1 s. Bytes per model-day come from the built
version's manifest (facts files, month partitions, tables.duckdb). Stores stay in --work for re-runs
(generation is skipped).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.registry import load_registry  # noqa: E402
from pipelines.schema import SNAPSHOT_SCHEMA  # noqa: E402
from pipelines.store import Store  # noqa: E402

FULL_SIZES = "30M,100M,300M"
QUICK_SIZES = "1M,3M,10M"
FIRST_DAY = dt.date(2025, 1, 1)
CHURN = 0.005
DERIVED = 0.15
TASKS = ("text-generation", "image-text-to-text", "feature-extraction", "text-to-image", None)
LIBRARIES = ("transformers", "gguf", "diffusers", "sentence-transformers", None)


def model_days(text: str) -> int:
    """"30M" -> 30_000_000, "1.5M" -> 1_500_000, "500k" -> 500_000, "1000" -> 1000."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a count such as 30M, 500k or 1000")
    factor = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    return int(float(match.group(1)) * factor)


class Catalogue:
    """The models of one synthetic day: ids, namespaces, first parents, growth rates; churns day by day."""

    def __init__(self, models: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        registry = load_registry().to_frame()["namespace"].tolist()
        self.namespaces = np.array(registry + [f"user{i}" for i in range(max(1000, models // 50))])
        self.next_id = 0
        self.ids = self._new_ids(models)
        self.namespace = self.namespaces[self.rng.zipf(1.6, models) % len(self.namespaces)]
        self.rate = self.rng.pareto(1.2, models) * 20
        self.count = (self.rate * self.rng.integers(1, 400, models)).astype(np.int64)
        self.created = self.rng.integers(0, 700, models)
        self.task = self.rng.integers(0, len(TASKS), models)
        self.library = self.rng.integers(0, len(LIBRARIES), models)
        self.params = (10 ** self.rng.uniform(7, 11, models)).astype(np.int64)
        self.parent = self._parents(models)

    def _new_ids(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_id, self.next_id + n)
        self.next_id += n
        return ids

    def _parents(self, n: int) -> np.ndarray:
        derived = self.rng.random(n) < DERIVED
        return np.where(derived, self.rng.integers(0, len(self.ids), n), -1)

    def step(self) -> None:
        """One day: counts grow; CHURN of the models leave and as many new ones arrive."""
        self.count += self.rng.poisson(self.rate).astype(np.int64)
        gone = np.flatnonzero(self.rng.random(len(self.ids)) < CHURN)
        self.ids[gone] = self._new_ids(len(gone))
        self.count[gone] = 0
        self.created[gone] = self.created.max() + 1
        self.parent[gone] = self._parents(len(gone))

    def table(self, day: dt.date) -> pa.Table:
        """The day's rows, built with Arrow kernels (a Python loop over 2.3 M models took 9 s a day)."""
        names = pc.binary_join_element_wise(
            pa.array(self.namespace), "/model-", pc.cast(pa.array(self.ids), pa.string()), ""
        )
        derived = self.parent >= 0
        parent_names = names.take(pa.array(self.parent[derived]))
        offsets = np.concatenate([[0], np.cumsum(derived)]).astype(np.int32)
        base_models = pa.ListArray.from_arrays(pa.array(offsets), parent_names)
        created = np.datetime64(FIRST_DAY - dt.timedelta(days=700)) + self.created.astype("timedelta64[D]")
        return pa.table(
            {
                "model_id": names,
                "author": self.namespace,
                "downloads_30d": (self.rate * 30).astype(np.int64),
                "downloads_all_time": self.count,
                "likes": (self.count // 1000).astype(np.int64),
                "created_at": created.astype("datetime64[ms]"),
                "last_modified": created.astype("datetime64[ms]"),
                "pipeline_tag": np.array(TASKS, dtype=object)[self.task],
                "library_name": np.array(LIBRARIES, dtype=object)[self.library],
                "params_total": self.params,
                "gated": np.full(len(names), "false"),
                "tags": pa.array([[]] * len(names), pa.list_(pa.string())),
                "base_models": base_models,
                "base_relation": np.where(derived, "finetune", None),
                "hub_id": np.full(len(names), None),
            }
        ).cast(SNAPSHOT_SCHEMA)


def generate(store: Store, models: int, days: int, seed: int) -> None:
    """`days` daily snapshots of `models` models from FIRST_DAY (dates already there are kept)."""
    catalogue = Catalogue(models, seed)
    existing = set(store.dates())  # listed once: a re-run steps through a thousand days
    for n in range(days):
        date = FIRST_DAY + dt.timedelta(days=n)
        if n:
            catalogue.step()
        if date in existing:
            continue
        staged = store.staging_dir(date)
        staged.mkdir(parents=True, exist_ok=True)
        table = catalogue.table(date)
        pq.write_table(table, staged / "part-00000.parquet", compression="zstd")
        store.publish(staged, date, {"source": {"kind": "synthetic"}, "synthetic": True, "rows": len(table)})
        print(f"  generated {date} ({n + 1}/{days})", file=sys.stderr, flush=True)


def linked_store(source: Store, target: Path, days: int) -> Store:
    """A store whose snapshots are hard links to `source`'s first `days` snapshots (no warehouse yet)."""
    shutil.rmtree(target, ignore_errors=True)
    (target / "snapshots").mkdir(parents=True)
    for date in source.dates()[:days]:
        folder = source.snapshot_dir(date)
        shutil.copytree(folder, target / "snapshots" / folder.name, copy_function=os.link)
    return Store(target)


def measured(command: list[str]) -> tuple[float, float, str]:
    """Run `command` in a fresh process: seconds, peak RSS in MB (the process and its children, sampled every
    0.1 s) and its output; exits when it fails."""
    began = time.perf_counter()
    child = psutil.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = 0
    while child.poll() is None:
        try:
            processes = [child, *child.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in processes))
        except psutil.Error:
            pass
        time.sleep(0.1)
    seconds = time.perf_counter() - began
    output = child.stdout.read().decode() if child.stdout else ""
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({child.returncode}):\n{output}")
    return seconds, peak / 2**20, output


def warehouse_command(store: Store, memory_limit: str | None, *options: str) -> list[str]:
    command = [sys.executable, "-m", "pipelines", "warehouse", "--store", str(store.root), *options]
    return command + (["--memory-limit", memory_limit] if memory_limit else [])


def rebuild(store: Store, memory_limit: str | None) -> dict[str, float]:
    """Full rebuild in a fresh process: seconds, peak RSS and the built version's bytes."""
    seconds, peak_mb, _ = measured(warehouse_command(store, memory_limit, "--rebuild"))
    pointer = json.loads((store.root / "warehouse" / "CURRENT").read_text())["version"]
    manifest = json.loads((store.root / "warehouse" / pointer / "manifest.json").read_text())
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_mb,
        "fact_bytes": manifest["fact_bytes"],
        "tables_bytes": manifest["tables_bytes"],
        "parts_bytes": manifest.get("parts_bytes", 0),  # month-partitioned history tables (build version 12)
    }


#: The registry edit: the synthetic stores' most common namespace (zipf's most drawn value, 1, picks the
#: registry's second row) moves to another country and organisation, which changes the attribution of its
#: models and of their descendants.
EDITED_NAMESPACE = load_registry().to_frame()["namespace"].tolist()[1]


def current_facts(store: Store) -> dict[str, int]:
    """The current version's facts files: name -> inode (a hard link keeps it, a rewrite changes it)."""
    pointer = json.loads((store.root / "warehouse" / "CURRENT").read_text())["version"]
    return {f.name: f.stat().st_ino for f in (store.root / "warehouse" / pointer / "facts").glob("*.parquet")}


def registry_edit(store: Store, memory_limit: str | None) -> dict[str, float]:
    """Refresh after a registry edit (an override moving EDITED_NAMESPACE to another country): seconds, peak
    RSS, and a check that it re-attributed over the same facts files (hard links of the rebuild's)."""
    facts = current_facts(store)
    header = (ROOT / "data" / "orgs.csv").read_text(encoding="utf-8").splitlines()[0]
    override = store.root / "registry-edit.csv"
    override.write_text(f"{header}\n{EDITED_NAMESPACE},Edited,JP,other,company,https://example.org,\n")
    seconds, peak_mb, output = measured(warehouse_command(store, memory_limit, "--registry", str(override)))
    if "warehouse: rollups" not in output:
        raise SystemExit(f"a registry edit should re-attribute over the facts, got: {output}")
    if current_facts(store) != facts:
        raise SystemExit("the registry edit rewrote facts files")
    return {"edit_seconds": seconds, "edit_peak_rss_mb": peak_mb}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default=None, help=f"model-days per store (default {FULL_SIZES})")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} (--sizes wins)")
    parser.add_argument("--shapes", default="demo,hub", help="demo and/or hub (default both)")
    parser.add_argument("--demo-models", type=model_days, default=None,
                        help="models a day, demo shape (default 300k; 100k with --quick)")  # fmt: skip
    parser.add_argument("--hub-models", type=model_days, default=None,
                        help="models a day, Hub shape (default 2.3M; 1M with --quick)")  # fmt: skip
    parser.add_argument(
        "--memory-limit", default=None, help="--memory-limit of the rebuilds (default: the command's)"
    )
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "owt-bench-rebuild",
                        help="where stores are generated and kept")  # fmt: skip
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--registry-edit",
        action="store_true",
        help="after each rebuild, also time the refresh after a registry edit (re-attributes, keeps facts)",
    )
    args = parser.parse_args()
    sizes = [model_days(s) for s in (args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)).split(",")]
    per_day = {
        "demo": args.demo_models or (100_000 if args.quick else 300_000),
        "hub": args.hub_models or (1_000_000 if args.quick else 2_300_000),
    }
    shapes = [s.strip() for s in args.shapes.split(",")]
    if unknown := set(shapes) - set(per_day):
        parser.error(f"--shapes: unknown {sorted(unknown)}; expected demo and/or hub")
    results = []
    for shape in shapes:
        models = per_day[shape]
        days = [max(1, round(size / models)) for size in sizes]
        source = Store(args.work / f"{shape}-{models}")
        print(f"{shape}: generating {max(days)} days of {models} models in {source.root}", file=sys.stderr)
        generate(source, models, max(days), args.seed)
        for size, n_days in zip(sizes, days, strict=True):
            store = linked_store(source, args.work / f"{shape}-{models}-{n_days}d", n_days)
            rows = sum(int(store.provenance(d)["rows"]) for d in store.dates())
            shape_of = {"shape": shape, "size": size, "models": models, "days": n_days, "model_days": rows}
            measured = rebuild(store, args.memory_limit)
            print(json.dumps({**shape_of, **measured}), file=sys.stderr, flush=True)  # kept if the edit fails
            if args.registry_edit:
                try:
                    measured |= registry_edit(store, args.memory_limit)
                except SystemExit as failure:  # reported in the table, the other sizes still run
                    lines = str(failure).splitlines()
                    error = next((line for line in lines if line.startswith("error:")), lines[0])[:160]
                    print(error, file=sys.stderr, flush=True)
                    measured = {**measured, "edit_error": error}
            results.append({**shape_of, **measured})
            shutil.rmtree(store.root)
    print(f"\nfull rebuilds, memory limit {args.memory_limit or 'default'}; {os.cpu_count()} cores")
    print("| shape | model-days | models/day x days | time | peak RSS | RSS vs smallest | s per M model-days "
          "| B/model-day facts | parts | tables | total |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for shape in shapes:
        rows = [r for r in results if r["shape"] == shape]
        for r in rows:
            total = r["fact_bytes"] + r["parts_bytes"] + r["tables_bytes"]
            print(
                f"| {shape} | {r['model_days'] / 1e6:.1f} M | {r['models']:,} x {r['days']} "
                f"| {r['seconds']:.0f} s "
                f"| {r['peak_rss_mb']:.0f} MB | {r['peak_rss_mb'] / rows[0]['peak_rss_mb']:.2f}x "
                f"| {r['seconds'] / (r['model_days'] / 1e6):.1f} | {r['fact_bytes'] / r['model_days']:.2f} "
                f"| {r['parts_bytes'] / r['model_days']:.2f} | {r['tables_bytes'] / r['model_days']:.2f} "
                f"| {total / r['model_days']:.2f} |"
            )
    if args.registry_edit:
        print(f"\nregistry edit ({EDITED_NAMESPACE} moved): re-attribution over the same facts vs rebuild")
        print("| shape | model-days | edit refresh | peak RSS | vs rebuild time |")
        print("|---|---|---|---|---|")
        for r in results:
            head = f"| {r['shape']} | {r['model_days'] / 1e6:.1f} M "
            if "edit_error" in r:
                print(f"{head}| failed: {r['edit_error']} | | |")
                continue
            print(
                f"{head}| {r['edit_seconds']:.0f} s "
                f"| {r['edit_peak_rss_mb']:.0f} MB | {r['edit_seconds'] / r['seconds']:.2f}x |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
