"""Dated tables (CSV or Parquet, one row per model and date) read as snapshot tables, for `backfill`.

Public download trackers keep their history as one file per date (`2025-06-01.csv`, `models_20250601.parquet`,
`2025-06-01/models.csv`) or as one long file with a date column. Each row is one model at one date: a model
id, a date (a column, else a date in the file or folder name), the all-time and/or the 30-day download count;
any other snapshot column is optional. Column names are matched case- and punctuation-insensitively against
common aliases (`COLUMN_ALIASES`); `--columns target=source,...` names the others.

Everything is checked before anything is written: a file that cannot be read is an error naming the file and
the reason. Required values (id, date, counts) must parse; an unreadable optional value (a date, a tag list, a
parameter count) nulls that field, counted per column, and never drops the row. Rows without an id are
skipped and counted; a model seen twice at one date keeps its first row (counted as duplicates).
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.hub import base_model_relations
from pipelines.schema import SNAPSHOT_SCHEMA

#: File kinds read, by suffix.
TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet")
#: The column holding each row's date, when the file has one (else the date comes from its name).
DATE_TARGET = "date"
#: Target column -> accepted source names, compared after `normalise` (case, `_`, `-`, spaces ignored).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "model_id": ("model_id", "id", "modelId", "model", "repo_id", "repo", "model_name", "hf_id"),
    DATE_TARGET: (
        *("date", "snapshot_date", "fetched_at", "fetch_date", "scraped_at", "collected_at"),
        *("retrieved_at", "as_of", "day", "timestamp"),
    ),
    "downloads_all_time": (
        *("downloads_all_time", "downloadsAllTime", "all_time_downloads", "total_downloads"),
        *("downloads_total", "alltime_downloads", "cumulative_downloads"),
    ),
    "downloads_30d": (
        *("downloads_30d", "downloads", "downloads_last_month", "downloads_last_30_days"),
        *("downloads_30_days", "monthly_downloads", "last_30d_downloads", "downloads_month"),
    ),
    "author": ("author", "namespace", "owner"),
    "likes": ("likes", "like_count"),
    "created_at": ("created_at", "createdAt", "created", "creation_date"),
    "last_modified": ("last_modified", "lastModified", "updated_at", "modified_at"),
    "pipeline_tag": ("pipeline_tag", "pipelineTag", "task"),
    "library_name": ("library_name", "libraryName", "library"),
    "params_total": (
        *("params_total", "parameters", "num_parameters", "num_params", "param_count"),
        *("safetensors_total", "safetensors"),
    ),
    "gated": ("gated",),
    "tags": ("tags",),
    "base_models": ("base_models", "baseModels", "base_model"),
    "base_relation": ("base_relation", "relation"),
    "hub_id": ("hub_id", "_id"),
}
MEASURE_COLUMNS = ("downloads_all_time", "downloads_30d")
_TIMES = ("created_at", "last_modified")
_NAME_DATE = re.compile(r"(?<!\d)(\d{4})[-_]?(\d{2})[-_]?(\d{2})(?!\d)")


class TableError(ValueError):
    """One file that cannot be imported; the message names the file and the reason."""


def normalise(name: str) -> str:
    """A column name as aliases are compared: lower case without `_`, `-`, spaces (a leading `_` kept)."""
    return ("_" if name.startswith("_") else "") + re.sub(r"[^a-z0-9]", "", name.lower())


def parse_column_map(text: str | None) -> dict[str, str]:
    """`--columns target=source,...` as {target: source}; raises ValueError naming what is wrong."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        target, sep, source = (s.strip() for s in part.partition("="))
        if not sep or not target or not source:
            raise ValueError(f"--columns: {part!r} is not target=source")
        if target not in COLUMN_ALIASES:
            raise ValueError(f"--columns: unknown target {target!r}; targets: {', '.join(COLUMN_ALIASES)}")
        mapping[target] = source
    return mapping


def date_in_name(path: Path, root: Path | None = None) -> dt.date | None:
    """The last valid YYYY-MM-DD (or YYYYMMDD, YYYY_MM_DD) in the file name, else in the names of its folders
    up to `root` (the source folder given, included): a date further up says nothing about the file."""
    folders = [path.parent, *path.parent.parents]
    if root is not None and root in folders:
        folders = folders[: folders.index(root) + 1]
    for name in (path.name, *(folder.name for folder in folders)):
        for match in reversed(list(_NAME_DATE.finditer(name))):
            try:
                return dt.date(*map(int, match.groups()))
            except ValueError:
                continue
    return None


def table_files(path: Path) -> tuple[list[Path], list[Path]]:
    """(CSV/Parquet files, other files) at `path`: the file itself, or every non-hidden file below it."""
    if path.is_file():
        candidates = [path]
    else:
        candidates = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
    tables = [p for p in candidates if p.name.lower().endswith(TABLE_SUFFIXES)]
    return tables, [p for p in candidates if p not in tables]


@dataclass
class FileTable:
    """One file read: its rows as snapshot columns (plus `date`), and what was found in it."""

    path: Path
    frame: pd.DataFrame
    columns: dict[str, str]  # target -> source column used
    date_from: str  # "column <name>" or "file name"
    skipped: Counter[dt.date | None] = field(default_factory=Counter)  # rows without an id, by date
    nulled: list[Nulled] = field(default_factory=list)


@dataclass(frozen=True)
class Nulled:
    """An optional value that could not be read: that field of that row is null."""

    date: dt.date
    field: str
    model_id: str
    error: str


def _match_columns(names: Iterable[str], mapping: dict[str, str]) -> dict[str, str]:
    """{target: source column}: the `--columns` mapping where the file has that column, else the first alias
    present (each source column used once)."""
    present = list(names)
    by_normal: dict[str, str] = {}
    for name in present:
        by_normal.setdefault(normalise(name), name)
    found: dict[str, str] = {}
    for target, aliases in COLUMN_ALIASES.items():
        if target in mapping and mapping[target] in present:
            found[target] = mapping[target]
            continue
        for alias in aliases:
            source = by_normal.get(normalise(alias))
            if source is not None and source not in found.values():
                found[target] = source
                break
    return found


def _read_frame(path: Path) -> pd.DataFrame:
    if path.stat().st_size == 0:
        raise TableError(f"{path}: the file is empty")
    try:
        if path.name.lower().endswith(".parquet"):
            return pq.read_table(path).to_pandas()
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise TableError(f"{path}: the file is empty") from None
    except (OSError, ValueError, pa.ArrowException, pd.errors.ParserError) as error:
        kind = "Parquet" if path.name.lower().endswith(".parquet") else "CSV"
        raise TableError(f"{path}: cannot read it as {kind} ({error})") from None


def _counts(frame: pd.DataFrame, target: str, source: str, path: Path) -> pd.Series:
    """Whole numbers (`1234`, `1234.0`); anything else that is not empty is an error naming a row."""
    raw = frame[target]
    numbers = pd.to_numeric(raw, errors="coerce")
    bad = numbers.isna() & raw.notna() | (numbers.notna() & (numbers % 1 != 0))
    bad |= numbers < 0
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise TableError(
            f"{path}: column {source!r} ({target}) has {int(bad.sum())} value(s) that are not whole numbers "
            f"of downloads, e.g. {raw.iloc[row]!r} in data row {row + 1}"
        )
    return numbers.astype("Int64")


def _dates(values: pd.Series) -> pd.Series:
    """UTC timestamps from ISO strings or timestamps; unreadable values become NaT."""
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = values if values.dt.tz is not None else values.dt.tz_localize("UTC")
        return stamps.dt.tz_convert("UTC")
    return pd.to_datetime(values.astype("string"), utc=True, errors="coerce", format="ISO8601")


def _list_of_strings(value: Any) -> list[str] | None:
    """A list of strings from a list, a JSON or Python list literal, or `a, b` / `a;b` text; else raises."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if _missing(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                value = ast.literal_eval(text)
        else:
            value = [t.strip() for t in re.split(r"[;,]", text) if t.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ValueError(f"{value!r} is not a list of strings")


def _parent_ids(value: Any) -> list[str] | None:
    """Base models from a list of ids, or the Hub's `baseModels` object (`{"relation", "models": [...]}`)."""
    if isinstance(value, str) and value.strip().startswith("{"):
        value = json.loads(value)
    if isinstance(value, dict):
        value = [model.get("id") for model in value.get("models") or () if isinstance(model, dict)]
    return _list_of_strings(value)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _whole_number(value: Any) -> int | None:
    """A count from a number or its text (`12`, `12.0`); anything else raises."""
    if _missing(value):
        return None
    if isinstance(value, str):
        value = float(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool) and value == int(value) and value >= 0:
        return int(value)
    raise ValueError(f"{value!r} is not a whole number")


def _params(value: Any) -> int | None:
    """A parameter count from a number, or a safetensors object (dict or JSON) with an integer `total`."""
    if isinstance(value, str) and value.strip().startswith("{"):
        value = json.loads(value)
    if isinstance(value, dict):
        value = value.get("total")
    return _whole_number(value)


def _per_value(table: FileTable, target: str, read: Callable[[Any], Any]) -> list[Any]:
    """`read` of each value of a column; a value it cannot read becomes None, recorded in `table.nulled`.
    Text and numbers are read once per distinct value (tag lists and counts repeat a lot)."""
    frame, out = table.frame, []
    known: dict[Any, Any] = {}
    columns = (frame["model_id"].tolist(), frame[DATE_TARGET].tolist(), frame[target].tolist())
    for model_id, date, value in zip(*columns, strict=True):
        key = (type(value), value) if isinstance(value, str | int | float) else None
        if key is not None and key in known:
            result = known[key]
        else:
            try:
                result = read(value)
            except (ValueError, TypeError, OverflowError, SyntaxError, MemoryError, RecursionError) as error:
                result = error
            if key is not None:
                known[key] = result
        if isinstance(result, Exception):
            out.append(None)
            table.nulled.append(Nulled(date, target, model_id, f"{type(result).__name__}: {result}"[:200]))
        else:
            out.append(result)
    return out


def read_table(path: Path, mapping: dict[str, str] | None = None, root: Path | None = None) -> FileTable:
    """One file (found under `root`) as snapshot columns plus `date`; raises TableError naming the file and
    the reason."""
    mapping = mapping or {}
    if not path.name.lower().endswith(TABLE_SUFFIXES):
        raise TableError(f"{path}: not a CSV or Parquet file (names end in {', '.join(TABLE_SUFFIXES)})")
    frame = _read_frame(path)
    columns = _match_columns(frame.columns, mapping)
    if "model_id" not in columns:
        raise TableError(
            f"{path}: no model id column (looked for {', '.join(COLUMN_ALIASES['model_id'])}; "
            f"columns: {', '.join(map(str, frame.columns)) or 'none'}; name it with --columns model_id=NAME)"
        )
    if not any(m in columns for m in MEASURE_COLUMNS):
        raise TableError(
            f"{path}: no download counts: neither an all-time column "
            f"({', '.join(COLUMN_ALIASES['downloads_all_time'])}) nor a 30-day one "
            f"({', '.join(COLUMN_ALIASES['downloads_30d'])}); name one with --columns downloads_all_time=NAME"
        )
    named_date = date_in_name(path, root)
    if DATE_TARGET not in columns and named_date is None:
        raise TableError(
            f"{path}: no date: no date column ({', '.join(COLUMN_ALIASES[DATE_TARGET])}) and no YYYY-MM-DD "
            "in the file or folder name"
        )
    frame = frame[list(columns.values())].rename(columns={s: t for t, s in columns.items()})
    if frame.empty:
        raise TableError(f"{path}: the file has a header but no rows")
    ids = frame["model_id"].astype("string").str.strip().astype(object)
    usable = ids.fillna("").ne("").to_numpy(dtype=bool)
    if DATE_TARGET in columns:
        dates = _dates(frame[DATE_TARGET]).dt.date
        unreadable = usable & dates.isna().to_numpy()
        if unreadable.any():
            row = int(unreadable.nonzero()[0][0])
            raise TableError(
                f"{path}: column {columns[DATE_TARGET]!r} (date) has {int(unreadable.sum())} value(s) "
                f"that are not dates, e.g. {frame[DATE_TARGET].iloc[row]!r} in data row {row + 1}"
            )
        date_from = f"column {columns[DATE_TARGET]!r}"
    else:
        dates, date_from = pd.Series([named_date] * len(frame), index=frame.index), "file name"
    frame = frame.assign(model_id=ids, **{DATE_TARGET: dates})
    table = FileTable(path, frame[usable].reset_index(drop=True), columns, date_from)
    table.skipped.update(None if pd.isna(d) else d for d in dates[~usable])
    frame = table.frame
    for target in MEASURE_COLUMNS:
        if target in frame:
            frame[target] = _counts(frame, target, columns[target], path)
    readers = {
        "likes": _whole_number,
        "params_total": _params,
        "tags": _list_of_strings,
        "base_models": _parent_ids,
    }
    for target, read in readers.items():
        if target in frame:
            frame[target] = _per_value(table, target, read)
    for target in _TIMES:
        if target in frame:
            stamps = _dates(frame[target])
            bad = stamps.isna() & frame[target].notna()
            for row in frame[bad].itertuples(index=False):
                value = getattr(row, target)
                table.nulled.append(Nulled(row.date, target, row.model_id, f"{value!r} is not a date"))
            frame[target] = stamps
    return table


def snapshot_table(frame: pd.DataFrame) -> tuple[pa.Table, int]:
    """One date's rows (from `read_table` frames) as SNAPSHOT_SCHEMA sorted by model_id; a model seen twice
    keeps its first row. Returns the table and the number of duplicate rows dropped."""
    unique = frame.drop_duplicates("model_id", keep="first").sort_values("model_id", kind="stable")
    n = len(unique)

    def objects(name: str) -> list[Any]:
        if name not in unique:
            return [None] * n
        return [None if _missing(v) else v for v in unique[name]]

    def text(name: str) -> list[str | None]:
        return [None if v is None else str(v) for v in objects(name)]

    ids = unique["model_id"].tolist()
    tags = objects("tags")
    parents = []
    for tag_list, bases, relation in zip(tags, objects("base_models"), text("base_relation"), strict=True):
        has_parent_tag = tag_list and any(tag.startswith("base_model:") for tag in tag_list)
        found, found_relation = base_model_relations(tag_list) if has_parent_tag else ([], None)
        parents.append((bases or found, relation or found_relation))
    owners = [i.split("/", 1)[0] if "/" in i else "" for i in ids]
    values: dict[str, Any] = {
        "model_id": ids,
        "author": [a or owner for a, owner in zip(text("author"), owners, strict=True)],
        "gated": [None if g is None else g.lower() for g in text("gated")],
        "base_models": [p for p, _ in parents],
        "base_relation": [r for _, r in parents],
        "tags": tags,
        **{name: text(name) for name in ("pipeline_tag", "library_name", "hub_id")},
    }
    arrays = []
    for name in SNAPSHOT_SCHEMA.names:
        kind = SNAPSHOT_SCHEMA.field(name).type
        if name in values:
            arrays.append(pa.array(values[name], kind))
        elif name in unique:  # counts and times: typed columns already, converted whole (times to ms)
            column = pa.array(unique[name], from_pandas=True)
            arrays.append(column.cast(kind, safe=not pa.types.is_timestamp(kind)))
        else:
            arrays.append(pa.nulls(n, kind))
    return pa.Table.from_arrays(arrays, schema=SNAPSHOT_SCHEMA), len(frame) - n
