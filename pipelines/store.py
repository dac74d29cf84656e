"""The snapshot store: immutable, dated, Hive-partitioned Parquet, each snapshot with its provenance.

Layout (the data contract, documented in README "Data layout")::

    <store>/snapshots/date=YYYY-MM-DD/part-*.parquet   one row per model (pipelines.schema.SNAPSHOT_SCHEMA)
    <store>/snapshots/date=YYYY-MM-DD/provenance.json  source, options, times, counts, file checksums
    <store>/staging/date=YYYY-MM-DD/                   a run in progress (never read by readers)

A snapshot becomes visible only by an atomic directory rename from staging, so a reader never sees a
partial one. Published snapshots are never modified; `publish(..., replace=True)` swaps a complete new
directory in place of the old one.

`Store` is also the interface every command uses: `dates`, `has_snapshot`, `provenance`, `read_table`,
`read_snapshot`, `fresh_staging`/`staging_dir` and `publish`; `part_store(StorePart)` is the store of a
channel's snapshots inside it (a folder under the root, or tables of their own in an Iceberg store).
`pipelines.iceberg_store.IcebergStore` implements it over Iceberg tables (`resolve_store` picks it for an
`iceberg+...` URL); readers of Parquet files get a folder store for either through `readable_store`.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import filelock
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.schema import SCHEMA_VERSION, SNAPSHOT_SCHEMA

if TYPE_CHECKING:  # pandas costs 0.7 s to import: only readers pay for it
    import pandas as pd

DEFAULT_STORE = Path(__file__).resolve().parent.parent / "data" / "store"
#: Where synthetic demo snapshots go (env `OWT_DEMO_STORE` overrides): never the real store, whose dates the
#: demo's would take.
DEMO_STORE = Path(__file__).resolve().parent.parent / "data" / "demo-store"
PROVENANCE_FILE = "provenance.json"
_PARTITION_PREFIX = "date="


class StoreError(RuntimeError):
    """A store operation that cannot go ahead (missing snapshot, date already taken, ...)."""


def resolve_store(path: str | os.PathLike[str] | None = None) -> Store:
    """The store to use: an explicit path or URL, else env `OWT_STORE`, else `data/store` in the project.
    A value starting `iceberg+` is an Iceberg store URL (pipelines/iceberg_store.py), anything else a
    folder."""
    chosen = path or os.environ.get("OWT_STORE") or DEFAULT_STORE
    if isinstance(chosen, str) and chosen.startswith("iceberg+"):
        from pipelines.iceberg_store import IcebergStore

        return IcebergStore.from_url(chosen)
    return Store(Path(chosen).expanduser().resolve())


def store_location(store: Store) -> str:
    """What `--store` / OWT_STORE must say to name `store` again (a child process, a config)."""
    from pipelines.iceberg_store import IcebergStore

    return store.location.url if isinstance(store, IcebergStore) else str(store.root)


def readable_store(store: Store) -> Store:
    """A folder store with the same snapshots, for readers of Parquet files (the warehouse build): the store
    itself, or an Iceberg store's local mirror brought up to date."""
    from pipelines.iceberg_store import IcebergStore

    return store.mirror() if isinstance(store, IcebergStore) else store


@dataclass(frozen=True)
class Rows:
    """What the snapshots of one store hold: their row schema, and the columns that put a day's rows in one
    canonical order (for checksums, copies and the Iceberg table's sort order)."""

    schema: pa.Schema
    order: tuple[str, ...]


@dataclass(frozen=True)
class StorePart:
    """A snapshot store kept inside a store (a channel's snapshots): its folder under the store's root, and
    the table that holds it in an Iceberg store (its provenance rows in `<table>_provenance`; the Hub's in
    `provenance`)."""

    path: str
    table: str
    rows: Rows


HUB_ROWS = Rows(SNAPSHOT_SCHEMA, ("model_id",))
#: The Hub's own snapshots: the store itself (`<store>/snapshots/`, Iceberg tables `snapshots`, `provenance`).
HUB_PART = StorePart("", "snapshots", HUB_ROWS)


def logical_checksum(table: pa.Table, rows: Rows = HUB_ROWS) -> str:
    """SHA-256 of a day's rows as data, whatever files or format hold them: the columns of `rows.schema` in
    schema order, rows sorted by `rows.order`, each row as one canonical JSON line. Equal for a folder
    snapshot and its Iceberg copy (what `migrate` checks)."""
    order = [(name, "ascending") for name in rows.order]
    ordered = table.select(rows.schema.names).cast(rows.schema).sort_by(order)
    digest = hashlib.sha256()
    for batch in ordered.to_batches(max_chunksize=10_000):
        for row in batch.to_pylist():
            line = json.dumps(list(row.values()), default=str, ensure_ascii=False, separators=(",", ":"))
            digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


def existing_store(path: str | os.PathLike[str] | None = None) -> Store:
    """`resolve_store` for commands that read a store: a path that does not exist is an error, not an empty
    store (a typo in --store would otherwise report "0 snapshots" and leave a new directory behind)."""
    from pipelines.iceberg_store import IcebergStore

    store = resolve_store(path)
    if isinstance(store, IcebergStore):
        from pipelines.channels import present_channel_stores

        if not store.exists() and not present_channel_stores(store):
            raise StoreError(f"no store at {store}: the catalog has no snapshot table (yet)")
        store.root.mkdir(parents=True, exist_ok=True)
        return store
    if not store.root.is_dir():
        named = "--store" if path else ("OWT_STORE" if os.environ.get("OWT_STORE") else "the default store")
        raise StoreError(f"no store at {store.root} ({named}): the directory does not exist")
    return store


def demo_store_path() -> Path:
    """The synthetic demo store's directory: env `OWT_DEMO_STORE`, else `data/demo-store`."""
    return Path(os.environ.get("OWT_DEMO_STORE") or DEMO_STORE).expanduser().resolve()


def is_synthetic(store: Store, date: dt.date) -> bool:
    """Whether the snapshot of `date` was generated (`pipelines demo`) rather than taken from the Hub."""
    return bool(store.provenance(date).get("synthetic"))


#: Dates any command or URL accepts: wide enough for any Hub history, narrow enough that date arithmetic
#: (a month after, a range before) never leaves what Python and DuckDB can represent.
DATE_MIN = dt.date(2000, 1, 1)
DATE_MAX = dt.date(2100, 12, 31)
_DATE_FORM = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def parse_date(value: str | dt.date) -> dt.date:
    """A date from exactly `YYYY-MM-DD` within DATE_MIN..DATE_MAX: the one date rule of every command line,
    URL parameter and dashboard control (`date.fromisoformat` alone also takes `20250101` and `2025-W01-1`).
    Raises ValueError with a message naming the accepted form and range."""
    if isinstance(value, dt.date):
        parsed = value
    else:
        try:
            if not _DATE_FORM.fullmatch(value):
                raise ValueError(value)
            parsed = dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValueError(f"not a date in YYYY-MM-DD form: {value!r}") from None
    if not DATE_MIN <= parsed <= DATE_MAX:
        raise ValueError(f"{parsed.isoformat()} is outside the supported dates {DATE_MIN} to {DATE_MAX}")
    return parsed


def date_argument(value: str) -> dt.date:
    """argparse type for date options: `parse_date`, its message as the usage error (exit status 2)."""
    try:
        return parse_date(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write a file so that readers see either the old or the new one, never a half-written one; a failed
    write (a full disk) leaves neither a partial file nor its temporary (`.<name>.tmp-<pid>`) behind.
    `durable=False` skips the fsync, for files whose loss in a machine crash is noticed and harmless."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON so that readers see either the old or the new file, never a half-written one."""
    text = json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where the platform cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


@dataclass(frozen=True)
class Store:
    """A snapshot store rooted at `root` (created on first write)."""

    root: Path

    @property
    def snapshots_dir(self) -> Path:
        return self.root / "snapshots"

    @property
    def staging_root(self) -> Path:
        return self.root / "staging"

    def snapshot_dir(self, date: dt.date) -> Path:
        return self.snapshots_dir / f"{_PARTITION_PREFIX}{date.isoformat()}"

    def staging_dir(self, date: dt.date) -> Path:
        return self.staging_root / f"{_PARTITION_PREFIX}{date.isoformat()}"

    def dates(self) -> list[dt.date]:
        """Published snapshot dates, oldest first."""
        if not self.snapshots_dir.is_dir():
            return []
        found = []
        for child in self.snapshots_dir.iterdir():
            if child.name.startswith(_PARTITION_PREFIX) and (child / PROVENANCE_FILE).is_file():
                try:
                    found.append(dt.date.fromisoformat(child.name[len(_PARTITION_PREFIX) :]))
                except ValueError:
                    continue
        return sorted(found)

    @contextmanager
    def fresh_staging(self, date: dt.date) -> Iterator[Path]:
        """An empty staging directory for a snapshot written in one go (demo, backfill), removed again if
        anything fails before it is published (a full disk leaves nothing half-written behind)."""
        staged = self.staging_dir(date)
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir(parents=True)
        try:
            yield staged
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise

    def lock_date(self, date: dt.date, writer: str) -> filelock.BaseFileLock:
        """The one-writer lock of `date` (`staging/.date=D.lock`), acquired: release it when the run ends.
        Raises StoreError naming `writer` ("ModelScope run") when another run holds it."""
        self.staging_root.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(self.staging_root / f".date={date.isoformat()}.lock"))
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            raise StoreError(f"another {writer} for {date} is in progress on {self.root}") from None
        return lock

    def has_snapshot(self, date: dt.date) -> bool:
        return (self.snapshot_dir(date) / PROVENANCE_FILE).is_file()

    def exists(self) -> bool:
        """Whether a snapshot run has created this store (for the parts a store may hold)."""
        return self.root.is_dir()

    def part_store(self, part: StorePart) -> Store:
        """The store of `part` (a channel's snapshots) inside this one: `<root>/<part.path>/`."""
        return Store(self.root / part.path)

    def data_files(self, date: dt.date) -> list[Path]:
        return sorted(self.snapshot_dir(date).glob("*.parquet"))

    def provenance(self, date: dt.date) -> dict[str, Any]:
        path = self.snapshot_dir(date) / PROVENANCE_FILE
        if not path.is_file():
            raise StoreError(f"no snapshot for {date.isoformat()} in {self.root}")
        return json.loads(path.read_text(encoding="utf-8"))

    def read_snapshot(self, date: dt.date, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """One snapshot as a DataFrame (all part files, in model_id order within each part)."""
        return self.read_table(date, columns).to_pandas()

    def read_table(self, date: dt.date, columns: Iterable[str] | None = None) -> pa.Table:
        """One snapshot as an Arrow table (all part files, in model_id order within each part)."""
        files = self.data_files(date)
        if not self.has_snapshot(date) or not files:
            raise StoreError(f"no snapshot for {date.isoformat()} in {self.root}")
        cols = list(columns) if columns is not None else None
        return pq.ParquetDataset([str(f) for f in files], partitioning=None).read(columns=cols)

    def publish(
        self, staged: Path, date: dt.date, provenance: dict[str, Any], *, replace: bool = False
    ) -> Path:
        """Make the complete snapshot in `staged` the snapshot of `date`, atomically.

        Checksums and row counts of the data files are added to the provenance here, so a published
        snapshot always describes exactly the bytes it holds. With `replace`, an existing snapshot of that
        date is swapped out only now that the new one is complete.
        """
        target = self.snapshot_dir(date)
        if target.exists() and not replace:
            raise StoreError(f"a snapshot for {date.isoformat()} already exists (use --force to replace it)")
        files = sorted(staged.glob("*.parquet"))
        if not files:
            raise StoreError(f"nothing to publish in {staged}")
        record = dict(provenance)
        record.setdefault("schema_version", SCHEMA_VERSION)
        record["date"] = date.isoformat()
        record["files"] = [
            {
                "name": f.name,
                "bytes": f.stat().st_size,
                "sha256": sha256_file(f),
                "rows": pq.read_metadata(f).num_rows,
            }
            for f in files
        ]
        record["rows"] = sum(entry["rows"] for entry in record["files"])
        for leftover in staged.iterdir():
            if leftover.suffix != ".parquet":
                leftover.unlink()
        write_json_atomic(staged / PROVENANCE_FILE, record)
        _fsync_dir(staged)
        self.snapshots_dir.mkdir(parents=True, exist_ok=True)
        if target.exists():
            if not _exchange(staged, target):
                retired = staged.with_name(staged.name + ".retired")
                os.rename(target, retired)
                os.rename(staged, target)
                staged = retired
            shutil.rmtree(staged)
        else:
            os.rename(staged, target)
        _fsync_dir(self.snapshots_dir)
        return target
