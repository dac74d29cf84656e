"""Import download history as ordinary dated snapshots: hub-stats dumps, or any dated CSV/Parquet tables.

Accepted sources (--source):

  hub-stats dumps     a Hub dataset id (default hfmlsoc/hub_weekly_snapshots, layout
                      models/<YYYY-MM-DD>/models.parquet, read through huggingface_hub fetching only the
                      needed columns), or a local models.parquet / folder of them in folders named by date.
  dated tables        a local CSV (.csv, .csv.gz) or Parquet file, or a folder of them at any depth, in which
                      each row is one model at one date:
                        model id      model_id, id, modelId, model, repo_id, ...
                        date          a column (date, snapshot_date, fetched_at, ...), else a YYYY-MM-DD (or
                                      YYYYMMDD) in the file name or a folder name
                        downloads     downloadsAllTime (downloads_all_time, all_time_downloads, ...) and/or
                                      the 30-day count (downloads, downloads_30d, downloads_last_month, ...)
                        optional      author, likes, createdAt/created_at, lastModified, pipeline_tag,
                                      library_name, params_total (or safetensors), gated, tags, base_models
                      Names match case- and punctuation-insensitively; map others with --columns, e.g.
                      --columns model_id=repo,downloads_all_time=dl_total,date=crawl_day

Every file is checked before anything is written. A file that cannot be read (no id column, no date, no
download column, counts that are not whole numbers, an empty or unreadable file) stops the import with one
line per file and its reason; files of other types in a folder are left alone and named; a source with no
rows to import is an error too (exit 2). An optional value
that cannot be read (a date, a tag list, a parameter count) is stored as null and counted per column in the
snapshot's provenance. Rows without an id are skipped and counted; a model listed twice at one date keeps its
first row. --dry-run prints the dates, rows, columns found and measures available, and writes nothing.

A history with 30-day counts only gives the 30-day chart (downloads-30d-by-country); the charts of downloads
per period and cumulative downloads need all-time counts and say so. Each date becomes a snapshot whose
provenance names the source files with their sha256 and when they were read. Dates already in the store are
skipped (--force replaces them), so the command is idempotent and an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

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
T = TypeVar("T")


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
    dry_run: bool = False
    #: date -> rows it holds (what a dry run would import; what a run imported).
    dates: dict[dt.date, int] = field(default_factory=dict)
    #: file -> {snapshot column: source column} (dated tables only).
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    #: measure column -> number of dates with at least one value of it (dated tables only).
    measures: dict[str, int] = field(default_factory=dict)
    #: optional fields nulled because they could not be read, by column (dated tables only).
    nulled: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    #: files in a folder of tables that are not CSV or Parquet (left alone).
    ignored: list[str] = field(default_factory=list)


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


@contextmanager
def _parquet(dump: DumpFile, filesystem: Any | None, block_size: int) -> Iterator[pq.ParquetFile]:
    """A dump opened as Parquet (local or remote); a file that is not Parquet is a BackfillError naming it."""
    handle = dump.open(filesystem, block_size)
    try:
        yield pq.ParquetFile(handle)
    except (OSError, pa.ArrowInvalid) as error:
        raise BackfillError(f"{dump.location}: cannot read it as Parquet ({error})") from error
    finally:
        if not isinstance(handle, str):
            handle.close()


def _read(dump: DumpFile, filesystem: Any | None, block_size: int) -> pa.Table:
    with _parquet(dump, filesystem, block_size) as parquet:
        available = set(parquet.schema_arrow.names)
        if "id" not in available:
            raise BackfillError(f"{dump.location}: no `id` column; is this a hub-stats models.parquet?")
        return parquet.read(columns=[c for c in SOURCE_COLUMNS if c in available])


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
    if not len(snapshot):
        raise BackfillError(f"{dump.location}: no row with a model id ({skipped} without one)")
    source = dict(dump.source)
    if filesystem is None:
        source["revision"] = "sha256:" + sha256_file(Path(dump.location))
    _publish(
        store,
        dump.date,
        snapshot,
        source,
        scope="hub-stats dump",
        options={"columns": list(SOURCE_COLUMNS)},
        replace=replace,
        skipped=skipped,
        started=started,
    )
    return len(snapshot), skipped


def _publish(
    store: Store,
    date: dt.date,
    snapshot: pa.Table,
    source: dict[str, Any],
    *,
    scope: str,
    options: dict[str, Any],
    replace: bool,
    skipped: int,
    started: dt.datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Stage one imported snapshot with its provenance and publish it atomically (`Store.publish`)."""
    import huggingface_hub

    with store.fresh_staging(date) as staged:  # removed again if anything fails before publishing
        pq.write_table(snapshot, staged / "part-00000.parquet", compression="zstd")
        provenance = {
            "schema_version": SCHEMA_VERSION,
            "source": source,
            "synthetic": False,
            "scope": scope,
            "options": options,
            "huggingface_hub_version": huggingface_hub.__version__,
            "started_at": (started or dt.datetime.now(dt.UTC)).isoformat(),
            "finished_at": dt.datetime.now(dt.UTC).isoformat(),
            "pages": 0,
            "requests": 0,
            "retries": 0,
            "rate_limit_waits": 0,
            "skipped": skipped,
            "skipped_examples": [],
            **(extra or {}),
        }
        store.publish(staged, date, provenance, replace=replace)


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
    columns: dict[str, str] | None = None,
    dry_run: bool = False,
) -> BackfillReport:
    """Import every dated snapshot of `source` within [start, end] that the store does not have yet: hub-stats
    dumps (local or a Hub dataset), else dated CSV/Parquet tables (`pipelines.tables`). With `dry_run`, only
    report what would be imported. Raises BackfillError when nothing at all could be imported."""
    began = time.perf_counter()
    path = Path(source).expanduser()
    if path.exists() and not _holds_dumps(path):
        report = import_tables(
            store, path, columns or {}, start=start, end=end, force=force, dry_run=dry_run, progress=progress
        )
        report.seconds = time.perf_counter() - began
        return report
    if columns:
        raise BackfillError("--columns applies to dated CSV/Parquet tables, not to hub-stats dumps")
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
    if not dumps:
        raise BackfillError(f"{source}: no dump dated within {_range_text(start, end)}")
    report = BackfillReport(dry_run=dry_run)
    todo = []
    for dump in dumps:
        if store.has_snapshot(dump.date) and not force:
            report.skipped_existing.append(dump.date)
        else:
            todo.append(dump)
    for dump in _progress(todo, progress, "dump"):
        if dry_run:
            report.dates[dump.date] = _dump_rows(dump, filesystem, block_size)
            continue
        rows, skipped = import_dump(store, dump, filesystem, replace=force, block_size=block_size)
        report.imported.append(dump.date)
        report.dates[dump.date] = rows
        report.rows += rows
        report.skipped_rows += skipped
    report.seconds = time.perf_counter() - began
    return report


def _holds_dumps(path: Path) -> bool:
    """Whether a local source is hub-stats dumps (`models.parquet` files) rather than dated tables."""
    return path.name == FILE_NAME if path.is_file() else next(path.rglob(FILE_NAME), None) is not None


def _range_text(start: dt.date | None, end: dt.date | None) -> str:
    return f"{start or 'the first date'} to {end or 'the last date'} (--from/--to)"


def _dump_rows(dump: DumpFile, filesystem: Any | None, block_size: int) -> int:
    """A dump's row count, from its Parquet footer only."""
    with _parquet(dump, filesystem, block_size) as parquet:
        return parquet.metadata.num_rows


def import_tables(
    store: Store,
    path: Path,
    mapping: dict[str, str],
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    force: bool = False,
    dry_run: bool = False,
    progress: bool = False,
) -> BackfillReport:
    """Dated CSV/Parquet tables at `path` (a file or a folder) as one snapshot per date.

    Every file is read and checked before anything is written: one file that cannot be read stops the
    import with every such file and its reason, so a history is imported whole or not at all."""
    from pipelines import tables

    files, others = tables.table_files(path)
    read: list[tables.FileTable] = []
    problems: list[str] = []
    for file in _progress(files, progress, "file"):
        try:
            read.append(tables.read_table(file, mapping, path if path.is_dir() else path.parent))
        except tables.TableError as error:
            problems.append(str(error))
    if problems:
        ignored = [f"{other}: ignored, not a CSV or Parquet file" for other in others]
        raise BackfillError("cannot import:\n  " + "\n  ".join(problems + ignored))
    unused = [f"{t}={s}" for t, s in mapping.items() if all(r.columns.get(t) != s for r in read)]
    if unused and read:
        raise BackfillError(f"--columns {','.join(unused)}: no file has such a column")
    frames = [r.frame for r in read if len(r.frame)]
    if not frames:
        reasons = [f"{r.path}: no row with a model id" for r in read]
        reasons += [f"{other}: not a CSV or Parquet file" for other in others]
        raise BackfillError(f"{path}: no rows to import" + "".join(f"\n  {reason}" for reason in reasons))
    import pandas as pd

    rows = pd.concat(frames, ignore_index=True)
    dates = pd.Series(rows[tables.DATE_TARGET])
    wanted = dates.map(lambda d: (start is None or d >= start) and (end is None or d <= end)).astype(bool)
    rows = rows[wanted.to_numpy()]
    if rows.empty:
        raise BackfillError(f"{path}: no rows dated within {_range_text(start, end)}")
    by_date = dict(tuple(rows.groupby(tables.DATE_TARGET, sort=True)))
    used = [r for r in read if r.frame[tables.DATE_TARGET].isin(by_date).any()]
    report = BackfillReport(dry_run=dry_run, columns={str(r.path): r.columns for r in used})
    report.ignored = [str(other) for other in others]
    for measure in tables.MEASURE_COLUMNS:
        if measure in rows:
            report.measures[measure] = sum(1 for day in by_date.values() if day[measure].notna().any())
    nulled = [n for r in read for n in r.nulled if n.date in by_date]
    report.nulled = dict(Counter(n.field for n in nulled))
    accessed = dt.datetime.now(dt.UTC).isoformat()
    checksums = {} if dry_run else {r.path: sha256_file(r.path) for r in read}
    for date, day in _progress(list(by_date.items()), progress, "date"):
        report.dates[date] = day["model_id"].nunique()
        if store.has_snapshot(date) and not force:
            report.skipped_existing.append(date)
            continue
        snapshot, duplicates = tables.snapshot_table(day.drop(columns=tables.DATE_TARGET))
        report.duplicates += duplicates
        skipped = sum(r.skipped[date] for r in read)
        report.skipped_rows += skipped
        if dry_run:
            continue
        sources = [r for r in used if (r.frame[tables.DATE_TARGET] == date).any()]
        source = {
            "kind": "backfill",
            "format": "dated tables",
            "path": str(path.resolve()),
            "accessed_at": accessed,
            "files": [
                {
                    "name": str(r.path.resolve().relative_to(path.resolve().parent)),
                    "sha256": checksums[r.path],
                    "bytes": r.path.stat().st_size,
                    "columns": r.columns,
                    "date_from": r.date_from,
                }
                for r in sources
            ],
        }
        day_nulled = [n for n in nulled if n.date == date]
        _publish(
            store,
            date,
            snapshot,
            source,
            scope="dated tables",
            options={"columns": mapping},
            replace=force,
            skipped=skipped,
            extra={
                "duplicates": duplicates,
                "nulled_fields": dict(Counter(n.field for n in day_nulled)),
                "nulled_examples": [
                    {"field": n.field, "model_id": n.model_id, "error": n.error} for n in day_nulled[:5]
                ],
            },
        )
        report.imported.append(date)
        report.rows += len(snapshot)
    return report


def _progress(items: list[T], enabled: bool, unit: str) -> Iterator[T]:
    """The items, with a progress bar on a terminal."""
    if enabled and sys.stderr.isatty() and items:
        from tqdm import tqdm

        yield from tqdm(items, desc="backfill", unit=unit)
    else:
        yield from items


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        default=DEFAULT_DATASET,
        help="a Hub dataset id of hub-stats dumps, or a local models.parquet, CSV or Parquet file, or a "
        f"folder of them (default {DEFAULT_DATASET})",
    )
    parser.add_argument(
        "--from", dest="start", type=date_argument, metavar="YYYY-MM-DD", help="first date to import"
    )
    parser.add_argument(
        "--to", dest="end", type=date_argument, metavar="YYYY-MM-DD", help="last date to import"
    )
    parser.add_argument(
        "--columns",
        metavar="TARGET=SOURCE,...",
        default=None,
        help="dated tables: which source column holds a snapshot column the aliases do not find "
        "(targets: model_id, date, downloads_all_time, downloads_30d, created_at, ...)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would be imported (dates, rows, columns, measures)"
    )
    parser.add_argument(
        "--revision", default="main", help="dataset revision (branch, tag or commit; default main)"
    )
    parser.add_argument(
        "--store", default=None, help="store directory (default: $OWT_STORE, else data/store)"
    )
    parser.add_argument("--force", action="store_true", help="re-import dates the store already has")


_MEASURE_TEXT = {
    "downloads_all_time": "all-time downloads (downloads per period, shares, cumulative)",
    "downloads_30d": "30-day downloads (the 30-day chart)",
}


def describe(report: BackfillReport) -> list[str]:
    """What an import did or (dry run) would do, in lines for the terminal."""
    verb = "would import" if report.dry_run else "imported"
    new = [d for d in report.dates if d not in report.skipped_existing]
    if report.dry_run:
        head = f"backfill (dry run, nothing written): {verb} {len(new)} snapshot(s)"
        head += f", {sum(report.dates[d] for d in new)} rows"
    else:
        head = f"backfill: {verb} {len(report.imported)} snapshot(s), {report.rows} rows"
    lines = [
        f"{head} ({report.skipped_rows} unusable rows skipped), {len(report.skipped_existing)} date(s) "
        f"already present, in {report.seconds:.1f} s"
    ]
    if report.dry_run:
        lines += [
            f"  {date}  {rows} rows{' (already in the store)' if date in report.skipped_existing else ''}"
            for date, rows in report.dates.items()
        ]
    layouts: dict[tuple[tuple[str, str], ...], int] = Counter(
        tuple(columns.items()) for columns in report.columns.values()
    )
    for layout, count in layouts.items():
        found = ", ".join(f"{target}<-{source}" for target, source in layout)
        lines.append(f"columns ({count} file(s)): {found}")
    if report.measures:
        available = [f"{_MEASURE_TEXT[m]} on {n} date(s)" for m, n in report.measures.items() if n]
        lines.append("measures: " + ("; ".join(available) or "none"))
        if not report.measures.get("downloads_all_time"):
            lines.append(
                "note: no all-time counts, so only the 30-day chart (downloads-30d-by-country) can be drawn"
            )
    if report.nulled:
        counts = ", ".join(f"{name} {n}" for name, n in report.nulled.items())
        lines.append(f"unreadable optional values stored as null: {counts}")
    if report.ignored:
        lines.append(f"ignored (not CSV or Parquet): {', '.join(report.ignored)}")
    if report.duplicates:
        lines.append(f"{report.duplicates} repeated model/date row(s): the first of each kept")
    return lines


def run(args: argparse.Namespace) -> int:
    store = resolve_store(args.store)
    from pipelines.tables import parse_column_map

    try:
        columns = parse_column_map(args.columns)
    except ValueError as error:
        print(f"backfill: {error}", file=sys.stderr)
        return 2
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
            columns=columns,
            dry_run=args.dry_run,
        )
    except BackfillError as error:
        print(f"backfill: {error}", file=sys.stderr)
        return 2
    print("\n".join(describe(report)))
    return 0
