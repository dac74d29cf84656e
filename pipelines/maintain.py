"""Keep an Iceberg store fast after years of daily commits: expire old commits, merge manifests, and remove
orphan files. Run it weekly (the scheduler adds it for an Iceberg store) or by hand.

For each table of the store (snapshots and provenance, and each channel's pair, `channel_<name>` and
`channel_<name>_provenance`):
1. the table properties are (re)applied: `commit.manifest-merge.enabled=true` (every commit merges small
   manifests once there are `commit.manifest.min-count-to-merge`=100 of them, so scan planning reads a few
   manifests, not one per day), `write.metadata.delete-after-commit.enabled=true` and
   `write.metadata.previous-versions-max=10` (the catalog keeps the last 10 metadata.json files);
2. commits (Iceberg snapshots) older than --keep-days (default 90) are expired: time travel and rollback
   reach back that far; the current commit is always kept;
3. orphan files are removed: files under the table's location that no remaining commit, manifest or
   metadata file references (the rows of days replaced by --force, data files of a run killed before its
   commit, expired manifests and metadata), once older than --orphan-hours (default 72, so a commit in flight
   on another host never loses its files).
The provenance table (one small row per day, appended as one small file per day) is also rewritten as one
file before the expiry.

The published warehouse's tables (`warehouse_versions`, `warehouse_facts` and `warehouse_models`:
pipelines/warehouse/publish.py), where the store has them, get the same properties, expiry and orphan removal,
except that the published files under `warehouse_versions/objects/` are never orphans: the versions' rows list
them, not Iceberg's metadata, and the publish deletes those no kept version lists (`warehouse_facts` registers
the same files in place, so its expiry removes no data file either); and that the commits of the kept versions
in `warehouse_facts` and `warehouse_models` are tagged by the publish, which expiry never removes.

A store folder has nothing to maintain: the command says so and exits 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipelines.runs import record_run
from pipelines.store import StoreError, existing_store

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from pipelines.iceberg_store import IcebergStore

DEFAULT_KEEP_DAYS = 90
DEFAULT_ORPHAN_HOURS = 72


@dataclass
class Maintained:
    """What one table's maintenance did."""

    table: str
    snapshots_before: int
    snapshots_after: int
    orphans_removed: int
    orphan_bytes: int

    def line(self) -> str:
        return (
            f"{self.table}: commits {self.snapshots_before} -> {self.snapshots_after}, "
            f"{self.orphans_removed} orphan file(s) removed ({self.orphan_bytes:,} bytes)"
        )


def _path(location: str) -> str:
    """A file's path as its filesystem lists it (no scheme), to compare references with listings."""
    from pyiceberg.io.pyarrow import PyArrowFileIO

    return PyArrowFileIO.parse_location(location)[2]


def referenced_files(table: Table) -> set[str]:
    """Every file a remaining commit needs: metadata files, manifest lists, manifests, data files."""
    metadata = table.metadata
    found = {table.metadata_location, *(entry.metadata_file for entry in metadata.metadata_log)}
    found |= {snapshot.manifest_list for snapshot in metadata.snapshots}
    found |= set(table.inspect.all_manifests()["path"].to_pylist())
    found |= set(table.inspect.all_files()["file_path"].to_pylist())
    return {_path(location) for location in found}


def remove_orphans(table: Table, older_than: dt.datetime, spare: str | None = None) -> tuple[int, int]:
    """Delete files under the table's location that nothing references and that are older than
    `older_than`, except those under its folder `spare` (files the table's rows name, not its metadata);
    returns (files, bytes) removed."""
    from pyarrow.fs import FileSelector, FileType

    scheme, netloc, root = table.io.parse_location(table.location())
    filesystem = table.io.fs_by_scheme(scheme, netloc)
    keep = referenced_files(table)
    inside = root.rstrip("/") + "/"  # never a neighbour whose name starts alike (channel_x, channel_x_models)
    removed = size = 0
    for info in filesystem.get_file_info(FileSelector(root, recursive=True, allow_not_found=True)):
        if info.type != FileType.File or info.path in keep or not info.path.startswith(inside):
            continue
        if spare is not None and info.path.startswith(f"{root.rstrip('/')}/{spare}/"):
            continue
        if info.mtime is not None and info.mtime.astimezone(dt.UTC) >= older_than:
            continue
        filesystem.delete_file(info.path)
        removed += 1
        size += info.size or 0
    return removed, size


def compact(table: Table) -> None:
    """Rewrite a small table (the provenance table gains one tiny file per day) as one file, in one commit,
    so that listing the store's dates reads one file instead of one per day."""
    if len(table.inspect.data_files()) > 1:
        table.overwrite(table.scan().to_arrow())


def maintain_table(
    table: Table,
    now: dt.datetime,
    keep_days: int = DEFAULT_KEEP_DAYS,
    orphan_hours: int = DEFAULT_ORPHAN_HOURS,
    *,
    compact_rows: bool = False,
    spare: str | None = None,
) -> Maintained:
    """Properties, (compaction,) expiry and orphan removal for one table (see the module docstring)."""
    from pipelines.iceberg_store import TABLE_PROPERTIES

    before = len(table.metadata.snapshots)
    settable = {k: v for k, v in TABLE_PROPERTIES.items() if k != "format-version"}
    if any(table.properties.get(k) != v for k, v in settable.items()):
        with table.transaction() as tx:
            tx.set_properties(settable)
    table.refresh()
    if compact_rows:
        compact(table)
    if table.current_snapshot() is not None:
        table.maintenance.expire_snapshots().older_than(now - dt.timedelta(days=keep_days)).commit()
    table.refresh()
    removed, size = remove_orphans(table, now - dt.timedelta(hours=orphan_hours), spare)
    return Maintained(table.name()[-1], before, len(table.metadata.snapshots), removed, size)


def maintain(
    store: IcebergStore,
    *,
    keep_days: int = DEFAULT_KEEP_DAYS,
    orphan_hours: int = DEFAULT_ORPHAN_HOURS,
    now: dt.datetime | None = None,
) -> list[Maintained]:
    """Maintain both tables of `store` (the Hub's), then those of each channel it holds."""
    from pipelines.channels import channel_parts

    now = now or dt.datetime.now(dt.UTC)
    done = []
    for held in [store, *(store.part_store(part) for part in channel_parts())]:
        if held.exists():
            done += [
                maintain_table(held.data_table(), now, keep_days, orphan_hours),
                maintain_table(held.provenance_table(), now, keep_days, orphan_hours, compact_rows=True),
            ]
    return done


def maintain_published(
    store: IcebergStore,
    *,
    keep_days: int = DEFAULT_KEEP_DAYS,
    orphan_hours: int = DEFAULT_ORPHAN_HOURS,
    now: dt.datetime | None = None,
) -> list[Maintained]:
    """Maintain the published warehouse's tables of `store`, those it has (none before a first publish)."""
    from pipelines.warehouse.publish import FACTS_TABLE, MODELS_TABLE, OBJECTS_DIR, VERSIONS_TABLE

    now = now or dt.datetime.now(dt.UTC)
    done = []
    for name, spare in ((VERSIONS_TABLE, OBJECTS_DIR), (FACTS_TABLE, None), (MODELS_TABLE, None)):
        if store.catalog.table_exists(store._identifier(name)):
            table = store.catalog.load_table(store._identifier(name))
            done.append(maintain_table(table, now, keep_days, orphan_hours, spare=spare))
    return done


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="Iceberg store URL (default: env OWT_STORE)")
    parser.add_argument(
        "--keep-days",
        type=int,
        default=DEFAULT_KEEP_DAYS,
        help=f"keep commits (time travel, rollback) this many days (default {DEFAULT_KEEP_DAYS})",
    )
    parser.add_argument(
        "--orphan-hours",
        type=int,
        default=DEFAULT_ORPHAN_HOURS,
        help=f"remove unreferenced files only once this old (default {DEFAULT_ORPHAN_HOURS})",
    )


def run(args: argparse.Namespace) -> int:
    from pipelines.iceberg_store import IcebergStore

    if args.keep_days < 0 or args.orphan_hours < 1:
        print("error: --keep-days must be >= 0 and --orphan-hours >= 1", file=sys.stderr)
        return 2
    try:
        store = existing_store(args.store)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not isinstance(store, IcebergStore):
        print(f"maintain: {store.root} is a folder store: nothing to maintain")
        return 0
    with record_run(store, "maintain") as recorded:
        done = maintain(store, keep_days=args.keep_days, orphan_hours=args.orphan_hours)
        done += maintain_published(store, keep_days=args.keep_days, orphan_hours=args.orphan_hours)
        recorded.counts.update(
            expired=sum(m.snapshots_before - m.snapshots_after for m in done),
            orphans=sum(m.orphans_removed for m in done),
        )
    for item in done:
        print(f"maintain: {item.line()}")
    return 0
