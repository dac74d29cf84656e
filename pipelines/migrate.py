"""Copy every snapshot of one store into another: a folder store into an Iceberg store, or back.

    python -m pipelines migrate --from data/store \\
        --to 'iceberg+postgresql://owt@db:5432/owt?warehouse=s3://bucket/owt'
    python -m pipelines migrate --to ./store \
        --from 'iceberg+sqlite:////srv/owt/catalog.db?warehouse=/srv/owt/wh'

Each date is published in the target like any snapshot (atomic per date, one Iceberg commit per date), with
its provenance record kept as it was (only the list of data files, which name the target's own files,
differs). After each date the logical checksum of its rows (SHA-256 of the rows sorted by model_id, see
`pipelines.store.logical_checksum`) is compared between source and target; any difference stops the run with
an error. Dates the target already holds are skipped unless --force replaces them. A stopped run is resumed by
running the same command again.

The other channels' snapshots (`pipelines.channels.channel_parts`: ModelScope, the OpenRouter vintages and its
/models catalogue) are carried the same way, date by date and checked, after the Hub's: folders under
`<store>/channels/` on one side, tables `channel_*` on the other.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

import pyarrow.parquet as pq

from pipelines.store import HUB_ROWS, Rows, Store, StoreError, existing_store, logical_checksum, resolve_store

_DERIVED = ("files", "rows", "date")  # recomputed by the target's publish


def copy_snapshot(
    source: Store,
    target: Store,
    date: dt.date,
    *,
    replace: bool = False,
    extra: dict[str, Any] | None = None,
    rows: Rows = HUB_ROWS,
) -> None:
    """Publish `source`'s snapshot of `date` in `target`, rows and provenance unchanged (+ `extra` keys);
    `rows` says what the snapshot holds (the Hub's rows, or a channel's)."""
    order = [(name, "ascending") for name in rows.order]
    table = source.read_table(date).select(rows.schema.names).cast(rows.schema).sort_by(order)
    record = {k: v for k, v in source.provenance(date).items() if k not in _DERIVED}
    with target.fresh_staging(date) as staged:
        pq.write_table(table, staged / "part-00000.parquet", compression="zstd", row_group_size=32_768)
        target.publish(staged, date, {**record, **(extra or {})}, replace=replace)


def migrate(source: Store, target: Store, *, force: bool = False, log: Any = print) -> int:
    """Copy every date of `source` missing from `target` (all with `force`), the Hub's snapshots then each
    channel's, checking each; returns how many were copied. Raises StoreError on a checksum difference."""
    from pipelines.channels import channel_parts

    copied = _migrate_snapshots(source, target, HUB_ROWS, force=force, log=log)
    for part in channel_parts():
        held = source.part_store(part)
        if held.exists():
            target_part = target.part_store(part)
            copied += _migrate_snapshots(held, target_part, part.rows, force=force, log=log, label=part.path)
    return copied


def _migrate_snapshots(
    source: Store, target: Store, rows: Rows, *, force: bool, log: Any, label: str = ""
) -> int:
    """`migrate` for one store's snapshots (the Hub's, or one channel's: `label` names it in the log)."""
    have = set(target.dates())
    copied = 0
    for date in source.dates():
        day = f"{label} {date}".lstrip()
        if date in have and not force:
            log(f"{day}: already in the target, skipped")
            continue
        copy_snapshot(source, target, date, replace=date in have, rows=rows)
        expected = logical_checksum(source.read_table(date), rows)
        found = logical_checksum(target.read_table(date), rows)
        if expected != found:
            raise StoreError(
                f"{day}: the copy's rows differ from the source's "
                f"(logical sha256 {found[:16]}... vs {expected[:16]}...)"
            )
        log(f"{day}: copied, logical sha256 {found[:16]}... matches")
        copied += 1
    return copied


def describe(store: Store) -> str:
    """How messages name a store: its directory, or its URL without password."""
    return str(store) if type(store) is not Store else str(store.root)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="source", required=True, help="store to copy (path or Iceberg URL)")
    parser.add_argument("--to", dest="target", required=True, help="the store to fill (path or Iceberg URL)")
    parser.add_argument("--force", action="store_true", help="replace dates the target already holds")


def run(args: argparse.Namespace) -> int:
    try:
        source = existing_store(args.source)
        target = resolve_store(args.target)
        if describe(source) == describe(target) or source.root == target.root:
            raise StoreError("--from and --to name the same store")
        copied = migrate(source, target, force=args.force)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"migrate: {copied} snapshot(s) copied from {describe(source)} to {describe(target)}")
    return 0
