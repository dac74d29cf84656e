"""What a refresh must do and why: nothing, append new snapshots, re-attribute from the existing facts, or
rebuild from the snapshots; decided from the current version's manifest and the store's checksums."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

import duckdb

from pipelines.attribution import RULES_VERSION
from pipelines.definitions import atom_tracked_ids
from pipelines.integrity import Checked, check_snapshots, describe
from pipelines.lineage import ParentCache
from pipelines.registry import Registry
from pipelines.store import Store
from pipelines.warehouse.schema import WarehouseError
from pipelines.warehouse.versions import Version, current_version

#: Bump when the build below changes meaning, so existing warehouses are rebuilt.
#: 10: the gap rule spreads each model's growth on its own (9 spread a group's sum); a snapshot's growth
#: ends on the day before its date (day-label rule; 9 ended it on the date).
#: 11: top organisations, concentration and candidates group namespaces by registry organisation.
#: 12: tables growing with history are month-partitioned Parquet (`partitions`), no longer in tables.duckdb.
BUILD_VERSION = 12


def _snapshot_checksums(store: Store, dates: Iterable[dt.date]) -> dict[str, str]:
    """date -> sha256 over the snapshot's recorded file checksums (cheap: provenance only)."""
    out = {}
    for date in dates:
        files = store.provenance(date).get("files") or []
        out[date.isoformat()] = ",".join(sorted(f"{f['name']}:{f['sha256']}" for f in files))
    return out


def _checked_snapshots(store: Store) -> Checked:
    """The snapshots a build may read (see `pipelines.integrity`); an error when none is left."""
    checked = check_snapshots(store)
    if not checked.dates:
        raise WarehouseError(f"nothing to build in {store.root}: {describe(checked.quarantined)}")
    return checked


def _inputs_key(registry: Registry, parents: ParentCache) -> dict[str, Any]:
    return {
        "build_version": BUILD_VERSION,
        "rules_version": RULES_VERSION,
        "registry_digest": registry.digest,
        "parents_digest": parents.digest,
        "atom_digest": hashlib.sha256("\n".join(atom_tracked_ids()).encode("utf-8")).hexdigest(),
    }


def untyped_columns(version: Version) -> list[str]:
    """`table.column` of every column of this version typed NULL (left by builds that inferred types from a
    first snapshot holding only nulls there; no later value can be stored in such a column)."""
    con = duckdb.connect(str(version.tables), read_only=True)
    try:
        rows = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'main' AND data_type = '\"NULL\"' ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()
    return [f"{table}.{column}" for table, column in rows]


def plan(store: Store, registry: Registry, parents: ParentCache | None = None) -> tuple[str, str]:
    """What a refresh would do and why: ("unchanged"|"incremental"|"rollups"|"full", reason)."""
    parents = parents if parents is not None else ParentCache.of(store)
    if not store.dates():
        raise WarehouseError(
            f"no snapshots in {store.root}: take one (`python -m pipelines snapshot`) or backfill "
            "(`python -m pipelines backfill`)"
        )
    checked = _checked_snapshots(store)  # quarantined snapshots count as absent
    dates = checked.dates
    version = current_version(store)
    if version is None:
        return "full", "no warehouse yet"
    built = version.manifest.get("snapshots", {})
    if version.manifest.get("build_version") != BUILD_VERSION:
        return "full", "the warehouse build rules changed"
    if set(built) & set(checked.quarantined):
        return "full", "a snapshot built in failed its checksum"
    untyped = untyped_columns(version)
    if untyped:
        return "full", "repairing columns an older build left without a type: " + ", ".join(untyped)
    checksums = _snapshot_checksums(store, [d for d in dates if d.isoformat() in built])
    if set(built) - set(checksums):
        return "full", "a snapshot built in was removed"
    if any(built[k] != v for k, v in checksums.items()):
        return "full", "a snapshot built in was replaced"
    new = [d for d in dates if d.isoformat() not in built]
    if new and built and min(new).isoformat() < max(built):
        return "full", f"{len(new)} snapshot(s) older than the latest built one (backfill)"
    inputs_changed = {k: v for k, v in _inputs_key(registry, parents).items() if version.manifest.get(k) != v}
    if inputs_changed:
        return "rollups", "changed: " + ", ".join(sorted(inputs_changed))
    if new:
        return "incremental", f"{len(new)} new snapshot(s)"
    return "unchanged", "up to date"
