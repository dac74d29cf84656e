"""Write the per-model attribution of one snapshot to CSV, for auditing row by row.

Columns: model_id, namespace, publisher_country, lineage_country, lineage_root, lineage_depth,
base_relation, downloads_30d, downloads_all_time, then organization, base_model, first_party and
lineage_cycle; most 30-day downloads first. Countries are ISO 3166-1 alpha-2 codes, or INTL (registered,
no single country), UNATTRIBUTED_ORG / INDIVIDUAL (namespace not in the registry). The rules are in
pipelines/attribution.py and pipelines/lineage.py; README "Attribution and the org registry" explains them.

Parents outside the snapshot count by their namespace. With --resolve-lineage, their own parents are
fetched from the Hub (`model_info` with `baseModels`, retried) for up to --max-lookups models, the most
downloaded chains first, and kept in <store>/lineage/parents.parquet: later runs and every other snapshot
reuse them without fetching again. Needs network access to the Hub (HF_ENDPOINT, HF_TOKEN are honoured).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from pipelines.attribution import attributed_table, coverage, unknown_relations
from pipelines.hub import HubClient
from pipelines.lineage import ParentCache, hub_fetch, resolve_lineage
from pipelines.orgs import (
    add_registry_arguments,
    add_snapshot_arguments,
    positive_int,
    registry_from_args,
    snapshot_date,
)
from pipelines.registry import RegistryError
from pipelines.store import StoreError, existing_store

CSV_COLUMNS = (
    "model_id",
    "namespace",
    "publisher_country",
    "lineage_country",
    "lineage_root",
    "lineage_depth",
    "base_relation",
    "downloads_30d",
    "downloads_all_time",
    "organization",
    "base_model",
    "first_party",
    "lineage_cycle",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_snapshot_arguments(parser)
    add_registry_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.csv", help="the CSV to write")
    parser.add_argument(
        "--resolve-lineage",
        action="store_true",
        help="fetch the parents of models outside the snapshot from the Hub (cached in the store)",
    )
    parser.add_argument(
        "--max-lookups",
        type=positive_int,
        default=500,
        metavar="N",
        help="at most N Hub lookups per run with --resolve-lineage (default: 500)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        store = existing_store(args.store)
        registry = registry_from_args(args)
        date = snapshot_date(store, args.date)
    except (RegistryError, StoreError) as exc:
        print(exc, file=sys.stderr)
        return 1
    cache = ParentCache.of(store)
    resolved = ""
    if args.resolve_lineage:
        try:
            client = HubClient()
        except ValueError as exc:  # a malformed OWT_HUB_RETRIES
            print(f"error: {exc}", file=sys.stderr)
            return 1
        snapshot = store.read_snapshot(date, columns=["model_id", "base_models", "downloads_30d"])
        with tqdm(total=args.max_lookups, desc="parent lookups", disable=not sys.stderr.isatty()) as bar:
            fetch = hub_fetch(client)
            report = resolve_lineage(snapshot, cache, fetch, args.max_lookups, progress=bar.update)
        resolved = (
            f"; looked up {report.fetched} parents ({report.not_found} not found, "
            f"{len(report.failed)} failed), {report.unresolved} still unresolved"
        )
        for model_id in report.failed:
            print(f"could not look up {model_id} (kept as a root; retry later)", file=sys.stderr)
    table = attributed_table(store, date, registry, cache)
    table = table.sort_values(["downloads_30d", "model_id"], ascending=[False, True], na_position="last")
    table[list(CSV_COLUMNS)].to_csv(args.out, index=False)
    strange = unknown_relations(table)
    if len(strange):
        print("unknown relations (kept verbatim): " + ", ".join(f"{r} ({n})" for r, n in strange.items()))
    cover = coverage(table)
    print(
        f"attribution: {date.isoformat()}, {len(table):,} models -> {args.out}; publisher known "
        f"{cover.publisher_known:.1%}, lineage known {cover.lineage_known:.1%} of 30-day downloads{resolved}"
    )
    return 0
