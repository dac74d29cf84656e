"""The snapshot store as Apache Iceberg tables: a SQL catalog (PostgreSQL, or SQLite on one machine) plus a
warehouse location (`s3://bucket/prefix`, or a local directory).

Store URL (`--store` / `OWT_STORE`; a plain path is still a folder store)::

    iceberg+postgresql://USER[:PASSWORD]@HOST:PORT/DB?warehouse=s3://BUCKET/PREFIX
    iceberg+sqlite:////abs/path/catalog.db?warehouse=/abs/path/warehouse

Query parameters: `warehouse` (required), `namespace` (default `owt`), `local` (this host's working directory
for staging, run history and locks; default `data/iceberg-local/<digest of the URL>`). S3 settings come from
the usual environment: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN, AWS_REGION or AWS_DEFAULT_REGION. A password in the URL is never printed or stored.

Tables (format v2), in the catalog's `iceberg_tables` (the schema Iceberg's JDBC catalog reads):

- `<namespace>.snapshots`: `snapshot_date` + the snapshot columns (pipelines.schema), identity-partitioned by
  `snapshot_date`. Each published snapshot is one atomic catalog commit: the day's data files are written
  first (invisible), then one transaction deletes that date's old rows (`--force`) and adds the new files.
  The commit's snapshot properties carry `owt.date`, `owt.rows`, `owt.source-kind` and the SHA-256 of the
  provenance record.
- `<namespace>.provenance`: one row per date, written right after its data commit: the full provenance
  record (JSON, with each data file's URI, size, rows and SHA-256) and the data commit's snapshot id. A date
  exists for readers once its provenance row does; a run killed between the two commits leaves a day that no
  command lists, and the next run of the same command replaces it.
- The other channels' snapshots (`pipelines.channels.channel_parts`), each a pair of tables of its own made
  the same way and with the same guarantees: `<namespace>.channel_modelscope` (+ `_provenance`),
  `channel_openrouter` (one vintage per date: a restated day stays in every vintage that holds it) and
  `channel_openrouter_models` (the /models catalogue), partitioned by `snapshot_date` like the Hub's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.schema import SCHEMA_VERSION
from pipelines.store import DEFAULT_STORE, HUB_PART, Store, StoreError, StorePart

if TYPE_CHECKING:
    import pandas as pd
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.table import Table

    from pipelines.verify import Report

URL_PREFIX = "iceberg+"
#: The catalog name PyIceberg records in each `iceberg_tables` row: other engines must use the same one.
CATALOG_NAME = "owt"
DEFAULT_NAMESPACE = "owt"
DATA_TABLE = HUB_PART.table
PROVENANCE_TABLE = "provenance"
DATE_COLUMN = "snapshot_date"
#: Rows per Parquet row group in the data files: per-model lookups read one group, not the whole day.
ROW_GROUP_ROWS = 32_768
LOCAL_ROOT = DEFAULT_STORE.parent / "iceberg-local"
_CATALOGS = {"postgresql": "postgresql+psycopg2", "sqlite": "sqlite"}
#: Environment -> PyIceberg FileIO property, the usual AWS names first.
_S3_ENV = (
    (("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"), "s3.endpoint"),
    (("AWS_ACCESS_KEY_ID",), "s3.access-key-id"),
    (("AWS_SECRET_ACCESS_KEY",), "s3.secret-access-key"),
    (("AWS_SESSION_TOKEN",), "s3.session-token"),
    (("AWS_REGION", "AWS_DEFAULT_REGION"), "s3.region"),
)
#: Table properties: merged manifests and bounded metadata history, so years of daily commits stay fast.
TABLE_PROPERTIES = {
    "format-version": "2",
    "commit.manifest-merge.enabled": "true",
    "commit.manifest.min-count-to-merge": "100",
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "10",
}


@dataclass(frozen=True)
class IcebergLocation:
    """A parsed store URL: catalog URI (SQLAlchemy form), warehouse, namespace, local working directory."""

    url: str
    catalog_uri: str
    warehouse: str
    namespace: str
    local: Path

    @classmethod
    def parse(cls, url: str) -> IcebergLocation:
        parts = urlsplit(url[len(URL_PREFIX) :])
        if parts.scheme not in _CATALOGS:
            raise StoreError(
                f"unsupported Iceberg catalog {parts.scheme!r} in the store URL: use "
                "iceberg+postgresql://... or iceberg+sqlite:///..."
            )
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        unknown = sorted(set(query) - {"warehouse", "namespace", "local"})
        if unknown:
            raise StoreError(
                f"unknown store URL parameter(s) {', '.join(unknown)}: use warehouse, namespace, local"
            )
        warehouse = query.get("warehouse")
        if not warehouse:
            raise StoreError("an Iceberg store URL needs ?warehouse=s3://bucket/prefix or ?warehouse=/a/path")
        if "://" not in warehouse:
            warehouse = Path(warehouse).expanduser().resolve().as_uri()
        path = parts.path
        if parts.scheme == "sqlite":
            if not path.strip("/"):
                raise StoreError("iceberg+sqlite:///PATH needs the catalog database's file path")
            path = "/" + str(Path(path[1:]).expanduser().resolve())  # sqlite:/// + absolute path
        catalog_uri = f"{_CATALOGS[parts.scheme]}://{parts.netloc}{path}"
        base = url.split("?", 1)[0]
        digest = hashlib.sha256(f"{base}|{warehouse}".encode()).hexdigest()[:12]
        local = Path(query["local"]).expanduser().resolve() if query.get("local") else LOCAL_ROOT / digest
        return cls(url, catalog_uri, warehouse, query.get("namespace", DEFAULT_NAMESPACE), local)

    def display(self) -> str:
        """The URL with any password removed: what messages and records show."""
        from pipelines.runs import redact

        return redact(self.url)


def file_io_properties() -> dict[str, str]:
    """PyIceberg FileIO settings from the usual AWS environment variables."""
    found: dict[str, str] = {}
    for names, key in _S3_ENV:
        value = next((os.environ[name] for name in names if os.environ.get(name)), None)
        if value:
            found[key] = value
    return found


def _iceberg_arrow_schema(rows: pa.Schema) -> pa.Schema:
    """A data table's Arrow schema before field ids: the date, then the columns of `rows` (Iceberg keeps
    timestamps in microseconds)."""
    fields = [pa.field(DATE_COLUMN, pa.date32(), nullable=False)]
    for f in rows:
        fields.append(f.with_type(pa.timestamp("us", tz="UTC")) if pa.types.is_timestamp(f.type) else f)
    return pa.schema(fields)


_PROVENANCE_SCHEMA = pa.schema(
    [
        pa.field(DATE_COLUMN, pa.date32(), nullable=False),
        pa.field("data_snapshot_id", pa.int64(), nullable=False),
        pa.field("record", pa.string(), nullable=False),
    ]
)


class _HashingWriter:
    """A write-only stream that hashes and counts what passes through to the FileIO output stream."""

    def __init__(self, target: Any) -> None:
        self.target, self.digest, self.size, self.closed = target, hashlib.sha256(), 0, False

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)

    def flush(self) -> None:
        self.target.flush()

    def close(self) -> None:
        if not self.closed:
            self.target.close()
            self.closed = True


@contextmanager
def _replacing() -> Iterator[None]:
    """A delete-then-add commit: PyIceberg warns when the date had no rows yet, which is the usual case."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Delete operation did not match any records")
        yield


def _check_data_file(table: Table, entry: dict[str, Any]) -> tuple[str, str] | None:
    """(kind, detail) of what is wrong with one listed data file, or None when its bytes match."""
    source = table.io.new_input(entry["name"])
    if not source.exists():
        return "missing", "listed in provenance but not in storage"
    size, expected = len(source), int(entry["bytes"])
    if size != expected:
        return ("truncated" if size < expected else "grown"), f"{size} bytes, provenance says {expected}"
    digest = hashlib.sha256()
    with source.open() as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != entry["sha256"]:
        found, expected_sha = digest.hexdigest()[:16], entry["sha256"][:16]
        return "tampered", f"sha256 {found}... but provenance says {expected_sha}..."
    return None


def _date_filter(date: dt.date) -> Any:
    from pyiceberg.expressions import EqualTo

    return EqualTo(DATE_COLUMN, date.isoformat())


@dataclass(frozen=True)
class IcebergStore(Store):
    """A snapshot store in Iceberg tables. `root` is this host's working directory (staging, run history,
    locks, the folder mirror the warehouse reads); the snapshots themselves live only in the tables. `part`
    says which snapshots: the Hub's (the store itself) or a channel's (`part_store`)."""

    location: IcebergLocation = field(kw_only=True)
    part: StorePart = field(kw_only=True, default=HUB_PART, repr=False)

    @classmethod
    def from_url(cls, url: str) -> IcebergStore:
        location = IcebergLocation.parse(url)
        return cls(location.local, location=location)

    def __str__(self) -> str:
        shown = self.location.display()
        return shown if self.part == HUB_PART else f"{shown} (table {self._identifier(self.part.table)})"

    def part_store(self, part: StorePart) -> IcebergStore:
        """The store of `part` (a channel's snapshots): its own tables in the same catalog and warehouse, its
        working directory `<local>/<part.path>/`."""
        held = IcebergStore(self.location.local / part.path, location=self.location, part=part)
        if "catalog" in self.__dict__:  # already connected: the part shares the connection
            held.__dict__["catalog"] = self.catalog
        return held

    @property
    def provenance_table_name(self) -> str:
        return PROVENANCE_TABLE if self.part == HUB_PART else f"{self.part.table}_{PROVENANCE_TABLE}"

    # ---------------------------------------------------------------------------------------- catalog

    @cached_property
    def catalog(self) -> SqlCatalog:
        from pyiceberg.catalog.sql import SqlCatalog

        loc = self.location
        try:
            catalog = SqlCatalog(
                CATALOG_NAME, uri=loc.catalog_uri, warehouse=loc.warehouse, **file_io_properties()
            )
            catalog.list_namespaces()  # connects now: a bad URL fails here, with the message below
        except Exception as error:  # the driver's own exception types: one clear message
            raise StoreError(
                f"cannot open the Iceberg catalog of {self}: {type(error).__name__}: {error}"
            ) from None
        return catalog

    def _identifier(self, name: str) -> str:
        return f"{self.location.namespace}.{name}"

    def exists(self) -> bool:
        """Whether the data table has been created (by a first publish or `migrate`)."""
        return self.catalog.table_exists(self._identifier(self.part.table))

    def data_table(self) -> Table:
        """The data table, created with its partition spec and properties on first use."""
        return self._table(self.part.table, _iceberg_arrow_schema(self.part.rows.schema), partitioned=True)

    def provenance_table(self) -> Table:
        return self._table(self.provenance_table_name, _PROVENANCE_SCHEMA, partitioned=False)

    def _table(self, name: str, schema: pa.Schema, *, partitioned: bool) -> Table:
        from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError

        identifier = self._identifier(name)
        try:
            return self.catalog.load_table(identifier)
        except NoSuchTableError:
            pass
        from pyiceberg.transforms import IdentityTransform

        self.catalog.create_namespace_if_not_exists(self.location.namespace)  # only writers get here
        try:  # created with its spec and sort order in one commit: no reader sees it half set up
            tx = self.catalog.create_table_transaction(identifier, schema=schema, properties=TABLE_PROPERTIES)
            if partitioned:
                with tx.update_spec() as spec:
                    spec.add_identity(DATE_COLUMN)
                with tx.update_sort_order() as order:
                    order.asc(self.part.rows.order[0], IdentityTransform())
            tx.commit_transaction()
        except TableAlreadyExistsError:  # another process created it first
            pass
        return self.catalog.load_table(identifier)

    # ---------------------------------------------------------------------------------------- reading

    def _records(self, date: dt.date | None = None) -> list[dict[str, Any]]:
        """Provenance rows (all, or of one date), as dicts with the record parsed; none before a first
        publish (readers create no table)."""
        from pyiceberg.exceptions import NoSuchTableError

        try:
            table = self.catalog.load_table(self._identifier(self.provenance_table_name))
        except NoSuchTableError:
            return []
        scan = table.scan(row_filter=_date_filter(date)) if date is not None else table.scan()
        rows = scan.to_arrow().to_pylist()
        return [{**row, "record": json.loads(row["record"])} for row in rows]

    def dates(self) -> list[dt.date]:
        return sorted({row[DATE_COLUMN] for row in self._records()})

    def has_snapshot(self, date: dt.date) -> bool:
        return bool(self._records(date))

    def provenance(self, date: dt.date) -> dict[str, Any]:
        rows = self._records(date)
        if not rows:
            raise StoreError(f"no snapshot for {date.isoformat()} in {self}")
        return rows[0]["record"]

    def read_table(self, date: dt.date, columns: Iterable[str] | None = None) -> pa.Table:
        if not self.has_snapshot(date):
            raise StoreError(f"no snapshot for {date.isoformat()} in {self}")
        rows = self.part.rows
        cols = tuple(columns) if columns is not None else tuple(rows.schema.names)
        table = self.data_table().scan(row_filter=_date_filter(date), selected_fields=cols).to_arrow()
        schema = pa.schema([rows.schema.field(name) for name in cols], metadata=rows.schema.metadata)
        order = [(name, "ascending") for name in rows.order if name in cols] or [(cols[0], "ascending")]
        return table.select(list(cols)).cast(schema).sort_by(order)

    def read_snapshot(self, date: dt.date, columns: Iterable[str] | None = None) -> pd.DataFrame:
        return self.read_table(date, columns).to_pandas()

    def data_files(self, date: dt.date) -> list[Path]:
        raise StoreError(
            f"{self} is an Iceberg store: its data files are read through scans (readable_store() gives a "
            "local folder mirror for readers that need Parquet files)"
        )

    # ---------------------------------------------------------------------------------------- writing

    def publish(
        self, staged: Path, date: dt.date, provenance: dict[str, Any], *, replace: bool = False
    ) -> Path:
        """Commit the complete snapshot in `staged` as the rows of `date`: one atomic Iceberg commit (the
        date's old rows out, the new files in), then its provenance row. `staged` is consumed."""
        from pyiceberg.exceptions import CommitFailedException, ValidationException

        if self.has_snapshot(date) and not replace:
            raise StoreError(f"a snapshot for {date.isoformat()} already exists (use --force to replace it)")
        parts = sorted(staged.glob("*.parquet"))
        if not parts:
            raise StoreError(f"nothing to publish in {staged}")
        table = self.data_table()
        record = dict(provenance)
        record.setdefault("schema_version", SCHEMA_VERSION)
        record["date"] = date.isoformat()
        record["files"] = [self._write_data_file(table, part, date) for part in parts]
        record["rows"] = sum(entry["rows"] for entry in record["files"])
        text = json.dumps(record, sort_keys=True, default=str)
        summary = {
            "owt.date": date.isoformat(),
            "owt.rows": str(record["rows"]),
            "owt.source-kind": str((record.get("source") or {}).get("kind")),
            "owt.provenance-sha256": hashlib.sha256(text.encode()).hexdigest(),
        }
        try:
            with _replacing(), table.transaction() as tx:
                tx.delete(_date_filter(date))
                uris = [entry["name"] for entry in record["files"]]  # new uuid names: no duplicate check
                tx.add_files(uris, snapshot_properties=summary, check_duplicate_files=False)
        except (CommitFailedException, ValidationException) as error:
            # Another run's commit of other dates is merged by PyIceberg's own retry; of this date, or
            # commits that kept coming, it is refused: this run's rows never become visible.
            raise StoreError(
                f"the snapshot of {date.isoformat()} was not committed: another run committed to the store "
                f"at the same moment ({type(error).__name__}: {error}); the store keeps what that run "
                f"committed, and this run's staged files stay in {staged}: see `status`, then run again "
                "(with --force to replace a snapshot of this date)"
            ) from error
        snapshot = self.data_table().current_snapshot()
        assert snapshot is not None  # just committed
        row = pa.table(
            {DATE_COLUMN: [date], "data_snapshot_id": [snapshot.snapshot_id], "record": [text]},
            schema=_PROVENANCE_SCHEMA,
        )
        with _replacing(), self.provenance_table().transaction() as tx:
            tx.delete(_date_filter(date))
            tx.append(row, snapshot_properties={"owt.date": date.isoformat()})
        shutil.rmtree(staged, ignore_errors=True)
        return self.snapshot_dir(date)

    def _write_data_file(self, table: Table, part: Path, date: dt.date) -> dict[str, Any]:
        """Copy one staged Parquet part into the table's data folder with the date column added, hashing the
        bytes as they are written (the checksum `verify` checks)."""
        from pyiceberg.io.pyarrow import schema_to_pyarrow

        schema = schema_to_pyarrow(table.schema())
        uri = f"{table.location()}/data/{DATE_COLUMN}={date.isoformat()}/{uuid.uuid4()}.parquet"
        stream = _HashingWriter(table.io.new_output(uri).create(overwrite=True))
        rows = 0
        try:
            with pq.ParquetWriter(stream, schema, compression="zstd") as writer:
                for batch in pq.ParquetFile(part).iter_batches(batch_size=ROW_GROUP_ROWS):
                    dates = pa.array([date] * batch.num_rows, pa.date32())
                    names = self.part.rows.schema.names
                    columns = [dates] + [batch.column(name) for name in names]
                    out = pa.Table.from_arrays(columns, names=[DATE_COLUMN, *names])
                    writer.write_table(out.cast(schema), row_group_size=ROW_GROUP_ROWS)
                    rows += batch.num_rows
        finally:
            stream.close()
        return {"name": uri, "bytes": stream.size, "sha256": stream.digest.hexdigest(), "rows": rows}

    # ---------------------------------------------------------------------------------------- readers

    def mirror(self) -> Store:
        """A local folder store holding the same snapshots (`<local>/mirror`, a channel's in
        `<local>/mirror/<part.path>`), brought up to date: a date is (re)materialised when its Iceberg commit
        changed, and dropped when it left the table; the Hub's mirror brings the channels' up to date too. For
        readers that read Parquet files (the warehouse build, the dashboard)."""
        from pipelines.migrate import copy_snapshot

        top = self.location.local / "mirror"
        if self.part == HUB_PART and (top / "channels").is_symlink():  # what a mirror held before channels
            (top / "channels").unlink()  # had tables: a link to local folder stores
        mirror = Store(top / self.part.path)
        wanted = {row[DATE_COLUMN]: row for row in self._records()}
        for date in mirror.dates():
            if date not in wanted:
                shutil.rmtree(mirror.snapshot_dir(date))
        for date, row in sorted(wanted.items()):
            marker = {"data_snapshot_id": row["data_snapshot_id"]}
            if mirror.has_snapshot(date) and mirror.provenance(date).get("mirrored_from") == marker:
                continue
            extra = {"mirrored_from": marker}
            copy_snapshot(self, mirror, date, replace=True, extra=extra, rows=self.part.rows)
        if self.part == HUB_PART:
            self.mirror_channels()
        return mirror

    def mirror_channels(self) -> None:
        """Bring the channels' mirrors (`<local>/mirror/channels/<name>/`) up to date: what a reader that
        mirrors no Hub snapshot (a stateless replica) still reads from files."""
        from pipelines.channels import channel_parts

        for part in channel_parts():
            self.part_store(part).mirror()

    # ---------------------------------------------------------------------------------------- verify

    def verify(self, dates: list[dt.date] | None = None) -> Report:
        """Every listed data file read again and hashed against its provenance row (missing, truncated,
        grown, tampered), and every data file in the table that no provenance row lists (unlisted: other
        engines would read it), like `verify` on a folder store."""
        from pipelines.verify import Problem, Report

        records = {row[DATE_COLUMN]: row["record"] for row in self._records()}
        in_table: dict[dt.date, set[str]] = {}
        if self.exists():  # (a store holding only channels has no Hub table: a reader creates none)
            table = self.data_table()
            for entry in table.inspect.data_files().to_pylist():
                in_table.setdefault(entry["partition"][DATE_COLUMN], set()).add(entry["file_path"])
        report = Report()
        for date in dates if dates is not None else sorted(set(records) | set(in_table)):
            record = records.get(date)
            if record is None:
                where = Path(f"{self}#{DATE_COLUMN}={date}")
                detail = "no provenance row" if date in in_table else "no such snapshot"
                report.problems.append(Problem("unlisted" if date in in_table else "missing", where, detail))
                continue
            report.snapshots += 1
            for entry in record["files"]:
                report.files += 1
                problem = _check_data_file(table, entry)
                if problem is None:
                    report.bytes += int(entry["bytes"])
                else:
                    report.problems.append(Problem(problem[0], Path(entry["name"]), problem[1]))
            listed = {entry["name"] for entry in record["files"]}
            for uri in sorted(in_table.get(date, set()) - listed):
                report.problems.append(Problem("unlisted", Path(uri), "data file not listed in provenance"))
        return report

    # ---------------------------------------------------------------------------------------- status

    def table_status(self) -> dict[str, Any]:
        """Snapshots (Iceberg commits) and metadata size of the data table, for `status` (zeros before its
        first commit: a reader creates no table)."""
        if not self.exists():
            return {"url": self.location.display(), "table": self._identifier(self.part.table),
                    "iceberg_snapshots": 0, "manifests": 0, "metadata_json_bytes": 0, "metadata_bytes": 0,
                    "data_files": 0}  # fmt: skip
        table = self.data_table()
        io = table.io
        metadata = table.metadata
        manifest_lists = [s.manifest_list for s in metadata.snapshots]
        current = table.current_snapshot()
        manifests = current.manifests(io) if current is not None else []
        sizes = [len(io.new_input(path)) for path in manifest_lists]
        sizes += [m.manifest_length for m in manifests]
        metadata_json = len(io.new_input(table.metadata_location))
        return {
            "url": self.location.display(),
            "table": self._identifier(self.part.table),
            "iceberg_snapshots": len(metadata.snapshots),
            "manifests": len(manifests),
            "metadata_json_bytes": metadata_json,
            "metadata_bytes": metadata_json + sum(sizes),
            "data_files": len(table.inspect.data_files()),
        }
