"""Import historical Hub dumps (hub-stats `models.parquet`) as ordinary dated snapshots.

Sources: a local `models.parquet` whose folder is named by its date (`.../2025-06-01/models.parquet`), a
folder holding such files at any depth, or a Hub dataset in that layout (default revision `main`, e.g.
`hfmlsoc/hub_weekly_snapshots` with `models/<YYYY-MM-DD>/models.parquet`), read through huggingface_hub's
HfFileSystem so that only the needed columns are fetched (Parquet column chunks by HTTP range; the files
are ~1.5 GB each). Every imported date becomes a snapshot with provenance naming the source and its
revision (the dataset commit, or the local file's sha256).

Dates already in the store are skipped, so the command is idempotent and an interrupted run resumes where
it stopped. Rows without a usable id are skipped and counted; everything else is kept as the dump has it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.hub import base_model_relations
from pipelines.schema import SCHEMA_VERSION, SNAPSHOT_SCHEMA
from pipelines.store import Store, date_argument, resolve_store, sha256_file

DEFAULT_DATASET = "hfmlsoc/hub_weekly_snapshots"
FILE_NAME = "models.parquet"
#: hub-stats columns read (others are never fetched).
SOURCE_COLUMNS = (
    "id",
    "_id",
    "author",
    "downloads",
    "downloadsAllTime",
    "likes",
    "createdAt",
    "lastModified",
    "pipeline_tag",
    "library_name",
    "tags",
    "safetensors",
    "gated",
    "baseModels",
)
#: Bytes per HTTP range read from the Hub: whole column chunks of a 1.5 GB dump, never the whole file.
BLOCK_SIZE = 8 * 1024 * 1024
_DATE_DIR = re.compile(r"^(?:date=)?(\d{4}-\d{2}-\d{2})$")
_TIMESTAMP = pa.timestamp("ms", tz="UTC")


class BackfillError(RuntimeError):
    """A source that cannot be imported (no dated files, unreadable file, ...); the message says which."""


@dataclass(frozen=True)
class DumpFile:
    """One dated dump: where it is and how to open it."""

    date: dt.date
    location: str  # local path, or the path inside the dataset
    source: dict[str, Any]  # provenance "source" block

    def open(self, filesystem: Any | None, block_size: int) -> BinaryIO | str:
        if filesystem is None:
            return self.location
        return filesystem.open(self.location, "rb", block_size=block_size)


@dataclass
class BackfillReport:
    imported: list[dt.date] = field(default_factory=list)
    skipped_existing: list[dt.date] = field(default_factory=list)
    rows: int = 0
    skipped_rows: int = 0
    seconds: float = 0.0


def _date_of(path: str) -> dt.date | None:
    parts = path.replace("\\", "/").split("/")
    if len(parts) < 2 or parts[-1] != FILE_NAME:
        return None
    match = _DATE_DIR.match(parts[-2])
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def local_dumps(path: Path) -> list[DumpFile]:
    """Dated dumps in a local file or folder (a file must sit in a folder named by its date)."""
    if path.is_file():
        candidates = [path]
    elif path.is_dir():
        candidates = sorted(path.rglob(FILE_NAME))
    else:
        raise BackfillError(f"{path}: no such file or folder")
    found = []
    for candidate in candidates:
        date = _date_of(str(candidate.resolve()))
        if date is None:
            raise BackfillError(f"{candidate}: cannot tell its date; put it in a folder named YYYY-MM-DD")
        found.append(DumpFile(date, str(candidate), {"kind": "backfill", "path": str(candidate.resolve())}))
    return found


def hub_dumps(
    dataset: str, revision: str = "main", endpoint: str | None = None
) -> tuple[list[DumpFile], Any]:
    """Dated dumps in a Hub dataset at one commit (the revision is resolved first, so every file of a run
    comes from the same commit), and the HfFileSystem to read them with."""
    from huggingface_hub import HfApi, HfFileSystem

    api = HfApi(endpoint=endpoint)
    sha = api.dataset_info(dataset, revision=revision).sha
    if not sha:
        raise BackfillError(f"{dataset}@{revision}: the Hub returned no commit for this revision")
    found = []
    for name in api.list_repo_files(dataset, repo_type="dataset", revision=sha):
        date = _date_of(name)
        if date is not None:
            source = {"kind": "backfill", "dataset": dataset, "revision": sha, "path": name}
            found.append(DumpFile(date, f"datasets/{dataset}@{sha}/{name}", source))
    if not found:
        raise BackfillError(f"{dataset}@{sha}: no <YYYY-MM-DD>/{FILE_NAME} files")
    return found, HfFileSystem(endpoint=endpoint)


def _field(table: pa.Table, name: str, kind: pa.DataType) -> pa.ChunkedArray:
    if name not in table.column_names:
        return pa.chunked_array([pa.nulls(len(table), kind)])
    return table[name]


def _timestamps(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dump dates (timestamps of any unit, or ISO strings) as UTC milliseconds."""
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            column = pc.assume_timezone(column, "UTC")
        return column.cast(_TIMESTAMP)
    return _parse_iso(column.cast(pa.string()))


def _parse_iso(strings: pa.ChunkedArray) -> pa.ChunkedArray:
    """`2024-09-16T11:55:40.000Z` (the Hub's form) to UTC; unparseable values become null."""
    seconds = pc.utf8_slice_codeunits(strings, 0, 19)
    parsed = pc.strptime(seconds, format="%Y-%m-%dT%H:%M:%S", unit="ms", error_is_null=True)
    return pc.assume_timezone(parsed, "UTC").cast(_TIMESTAMP)


def _params_total(column: pa.ChunkedArray) -> list[int | None]:
    """`safetensors.total` from a struct column or JSON strings (None when absent)."""
    out: list[int | None] = []
    for value in column.to_pylist():
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                value = None
        total = value.get("total") if isinstance(value, dict) else None
        out.append(int(total) if isinstance(total, int | float) else None)
    return out


def _parents(tags: list[str] | None, base_models: Any) -> tuple[list[str], str | None]:
    """Parents and relation from `baseModels` when the dump has it, else from `base_model:` tags."""
    if isinstance(base_models, str):
        try:
            base_models = json.loads(base_models)
        except json.JSONDecodeError:
            base_models = None
    if isinstance(base_models, dict) and base_models.get("models"):
        ids = [m.get("id") for m in base_models["models"] if isinstance(m, dict) and m.get("id")]
        if ids:
            return ids, base_models.get("relation")
    return base_model_relations(tags)


def convert(table: pa.Table) -> tuple[pa.Table, int]:
    """A hub-stats table as a snapshot table (SNAPSHOT_SCHEMA, sorted by model_id); rows without an id are
    dropped and counted."""
    ids = _field(table, "id", pa.string()).cast(pa.string())
    keep = pc.and_(pc.is_valid(ids), pc.not_equal(pc.utf8_length(pc.fill_null(ids, "")), 0))
    skipped = len(table) - pc.sum(keep.cast(pa.int64())).as_py() if len(table) else 0
    table = table.filter(keep)
    ids = table["id"].cast(pa.string())
    author = _field(table, "author", pa.string()).cast(pa.string())
    tags_column = _field(table, "tags", pa.list_(pa.string()))
    tags = tags_column.to_pylist()
    base_models = _field(table, "baseModels", pa.string()).to_pylist()
    parents = [_parents(t, b) for t, b in zip(tags, base_models, strict=True)]
    gated = _field(table, "gated", pa.string())
    columns = {
        "model_id": ids,
        "author": pc.coalesce(author, _owners(ids)),
        "downloads_30d": _field(table, "downloads", pa.int64()).cast(pa.int64()),
        "downloads_all_time": _field(table, "downloadsAllTime", pa.int64()).cast(pa.int64()),
        "likes": _field(table, "likes", pa.int64()).cast(pa.int64()),
        "created_at": _timestamps(_field(table, "createdAt", pa.string())),
        "last_modified": _timestamps(_field(table, "lastModified", pa.string())),
        "pipeline_tag": _field(table, "pipeline_tag", pa.string()).cast(pa.string()),
        "library_name": _field(table, "library_name", pa.string()).cast(pa.string()),
        "params_total": pa.array(_params_total(_field(table, "safetensors", pa.string())), pa.int64()),
        "gated": pc.utf8_lower(gated.cast(pa.string())),
        "tags": pa.array(tags, pa.list_(pa.string())),
        "base_models": pa.array([p for p, _ in parents], pa.list_(pa.string())),
        "base_relation": pa.array([r for _, r in parents], pa.string()),
        "hub_id": _field(table, "_id", pa.string()).cast(pa.string()),
    }
    snapshot = pa.table({name: columns[name] for name in SNAPSHOT_SCHEMA.names}, schema=SNAPSHOT_SCHEMA)
    return snapshot.sort_by("model_id"), int(skipped)


def _owners(ids: pa.ChunkedArray) -> pa.Array:
    """The namespace of each id ('' for legacy ids without one)."""
    return pa.array([i.split("/", 1)[0] if "/" in i else "" for i in ids.to_pylist()], pa.string())


def _read(dump: DumpFile, filesystem: Any | None, block_size: int) -> pa.Table:
    handle = dump.open(filesystem, block_size)
    try:
        parquet = pq.ParquetFile(handle)
        available = set(parquet.schema_arrow.names)
        if "id" not in available:
            raise BackfillError(f"{dump.location}: no `id` column; is this a hub-stats models.parquet?")
        return parquet.read(columns=[c for c in SOURCE_COLUMNS if c in available])
    except (OSError, pa.ArrowInvalid) as error:
        raise BackfillError(f"{dump.location}: cannot read it as Parquet ({error})") from error
    finally:
        if not isinstance(handle, str):
            handle.close()


def import_dump(
    store: Store,
    dump: DumpFile,
    filesystem: Any | None,
    *,
    replace: bool = False,
    block_size: int = BLOCK_SIZE,
) -> tuple[int, int]:
    """Publish one dump as the snapshot of its date; returns (rows, skipped rows)."""
    started = dt.datetime.now(dt.UTC)
    snapshot, skipped = convert(_read(dump, filesystem, block_size))
    staged = store.staging_dir(dump.date)
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    pq.write_table(snapshot, staged / "part-00000.parquet", compression="zstd")
    source = dict(dump.source)
    if filesystem is None:
        source["revision"] = "sha256:" + sha256_file(Path(dump.location))
    import huggingface_hub

    provenance = {
        "schema_version": SCHEMA_VERSION,
        "source": source,
        "synthetic": False,
        "scope": "hub-stats dump",
        "options": {"columns": list(SOURCE_COLUMNS)},
        "huggingface_hub_version": huggingface_hub.__version__,
        "started_at": started.isoformat(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        "pages": 0,
        "requests": 0,
        "retries": 0,
        "rate_limit_waits": 0,
        "skipped": skipped,
        "skipped_examples": [],
    }
    store.publish(staged, dump.date, provenance, replace=replace)
    return len(snapshot), skipped


def backfill(
    store: Store,
    source: str,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    revision: str = "main",
    endpoint: str | None = None,
    force: bool = False,
    progress: bool = False,
    block_size: int = BLOCK_SIZE,
) -> BackfillReport:
    """Import every dump of `source` dated within [start, end] that the store does not have yet."""
    began = time.perf_counter()
    path = Path(source).expanduser()
    if path.exists():
        dumps, filesystem = local_dumps(path), None
    elif re.fullmatch(r"[\w.-]+/[\w.-]+", source):
        dumps, filesystem = hub_dumps(source, revision, endpoint)
    else:
        raise BackfillError(f"{source}: neither a local file/folder nor a Hub dataset id (owner/name)")
    dumps = sorted(
        (d for d in dumps if (start is None or d.date >= start) and (end is None or d.date <= end)),
        key=lambda d: d.date,
    )
    report = BackfillReport()
    todo = []
    for dump in dumps:
        if store.has_snapshot(dump.date) and not force:
            report.skipped_existing.append(dump.date)
        else:
            todo.append(dump)
    for dump in _progress(todo, progress):
        rows, skipped = import_dump(store, dump, filesystem, replace=force, block_size=block_size)
        report.imported.append(dump.date)
        report.rows += rows
        report.skipped_rows += skipped
    report.seconds = time.perf_counter() - began
    return report


def _progress(items: list[DumpFile], enabled: bool) -> Iterator[DumpFile]:
    if enabled and sys.stderr.isatty() and items:
        from tqdm import tqdm

        yield from tqdm(items, desc="backfill", unit="dump")
    else:
        yield from items


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        default=DEFAULT_DATASET,
        help=f"local models.parquet file or folder, or a Hub dataset id (default {DEFAULT_DATASET})",
    )
    parser.add_argument(
        "--from", dest="start", type=date_argument, metavar="YYYY-MM-DD", help="first date to import"
    )
    parser.add_argument(
        "--to", dest="end", type=date_argument, metavar="YYYY-MM-DD", help="last date to import"
    )
    parser.add_argument(
        "--revision", default="main", help="dataset revision (branch, tag or commit; default main)"
    )
    parser.add_argument(
        "--store", default=None, help="store directory (default: $OWT_STORE, else data/store)"
    )
    parser.add_argument("--force", action="store_true", help="re-import dates the store already has")


def run(args: argparse.Namespace) -> int:
    store = resolve_store(args.store)
    try:
        report = backfill(
            store,
            args.source,
            start=args.start,
            end=args.end,
            revision=args.revision,
            endpoint=os.environ.get("HF_ENDPOINT"),
            force=args.force,
            progress=True,
        )
    except BackfillError as error:
        print(f"backfill: {error}", file=sys.stderr)
        return 2
    print(
        f"backfill: imported {len(report.imported)} snapshot(s), {report.rows} rows "
        f"({report.skipped_rows} unusable rows skipped), {len(report.skipped_existing)} date(s) already "
        f"present, in {report.seconds:.1f} s"
    )
    return 0
