"""Tables whose rows grow with history, kept as month-partitioned Parquet next to `tables.duckdb`.

A version holds each such table (`schema.PARTITIONED`) as one zstd Parquet file per month of its date column,
`parts/<table>/<YYYY-MM>.parquet`, rows sorted; `tables.duckdb` keeps only what is bounded by the number of
models (dims, meta, state, groups, small lookups) plus an empty, typed copy of every partitioned table, which
gives its columns' types. A refresh loads into its work database only the months it may change (from the
month of the earliest day it touches on: normally the current month), rewrites those months' files and
hard-links every other one from the previous version, so its cost does not grow with the length of history.

When models change groups, their past rows move too; the months before the refresh's first loaded one are
then corrected by one delta file per table and refresh, `parts/<table>/delta-<version>.parquet`: signed rows
that readers sum with the month files' (`corrections`); a group a model left then sums to zero, and readers
that list groups leave out those whose sums are all zero (no rebuild holds such a group). A refresh that
loads a month also loads the deltas' rows of that month, which its rewrite of the month then holds, and keeps
of each delta only its older rows.

Readers open a version with `connect`: an in-memory DuckDB database that attaches `tables.duckdb` read-only
and names every table of the version as a view (the Parquet files for partitioned tables), built at opening
from the version's own directory, so nothing stored names a path and a renamed directory stays readable.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb

from pipelines.periods import next_month
from pipelines.warehouse.schema import PARTITIONED, PARTS_DIR, TABLES_FILE

#: The attached `tables.duckdb` in a reader's connection.
STORED = "stored"
_COPY_OPTIONS = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 6, ROW_GROUP_SIZE 131072"


#: Name of a delta file: DELTA_PREFIX + the name of the version whose refresh wrote it.
DELTA_PREFIX = "delta-"


def partition_files(version: Path, table: str) -> list[Path]:
    """The files of `table` in a version: month files oldest first, then delta files oldest first."""
    return sorted((version / PARTS_DIR / table).glob("*.parquet"), key=lambda f: (is_delta(f), f.name))


def is_delta(path: Path) -> bool:
    """Whether a partition file holds corrections (signed rows of any months) rather than one month's rows."""
    return path.name.startswith(DELTA_PREFIX)


def delta_files(version: Path, table: str) -> list[Path]:
    """The delta files of `table` in a version directory, oldest first."""
    return [f for f in partition_files(version, table) if is_delta(f)]


def _month(path: Path) -> dt.date:
    return dt.date.fromisoformat(path.stem + "-01")


def _before(con: duckdb.DuckDBPyConnection, file: Path, column: str, first: dt.date) -> bool:
    """Whether every row of a partition file is dated before `first` (a month file by its name)."""
    if not is_delta(file):
        return _month(file) < first
    newest = con.execute(f"SELECT max({column}) FROM {parquet_relation([file])}").fetchall()[0][0]
    return newest is None or newest < first


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def parquet_relation(files: list[Path]) -> str:
    """SQL reading these Parquet files (paths are ours, quoted as literals)."""
    return f"read_parquet([{', '.join(_literal(f) for f in files)}])"


def load_live(
    con: duckdb.DuckDBPyConnection,
    previous: Path,
    since: dt.date,
    tables: tuple[str, ...] = tuple(PARTITIONED),
) -> None:
    """Put the previous version's rows of `tables` from the month of `since` on into the work database's
    (empty) tables of the same names: the rows a refresh may change (the delta files' rows of those months
    included)."""
    first = since.replace(day=1)
    for table in tables:
        months = [f for f in partition_files(previous, table) if not is_delta(f) and _month(f) >= first]
        if months:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {parquet_relation(months)}")
        if deltas := delta_files(previous, table):
            column = PARTITIONED[table]
            con.execute(
                f"INSERT INTO {table} BY NAME SELECT * FROM {parquet_relation(deltas)} WHERE {column} >= ?",
                [first],
            )


def write_partitions(
    con: duckdb.DuckDBPyConnection, previous: Path | None, staging: Path, since: dt.date, version: str
) -> dict[str, list[str]]:
    """Write the work database's rows of every partitioned table, one file per month, into `staging`, and
    hard-link the previous version's months before the month of `since` (which the refresh did not load, so
    its tables hold no row of them). The previous version's delta files are hard-linked too, or rewritten
    without their rows of the months loaded; the temp table `delta_<table>`, when the refresh made one
    (`corrections`), becomes the delta file of `version`. Returns, per table, the months written (for tests
    and the manifest)."""
    first = since.replace(day=1)
    written: dict[str, list[str]] = {}
    temporary = "SELECT table_name FROM duckdb_tables() WHERE temporary"
    temp = {name for (name,) in con.execute(temporary).fetchall()}
    kept_files = previous is not None and since > dt.date.min
    for table, column in PARTITIONED.items():
        folder = staging / PARTS_DIR / table
        folder.mkdir(parents=True, exist_ok=True)
        for kept in partition_files(previous, table) if kept_files else []:
            if _before(con, kept, column, first):
                os.link(kept, folder / kept.name)
            elif is_delta(kept):  # rows of loaded months are in the work tables now: keep the older ones
                older = f"SELECT * FROM {parquet_relation([kept])} WHERE {column} < ?"
                if _has_rows(con, older, [first]):
                    _copy(con, older, [first], folder / kept.name)
        if f"delta_{table}" in temp and _has_rows(con, f"SELECT * FROM delta_{table}", []):
            _copy(con, f"SELECT * FROM delta_{table}", [], folder / f"{DELTA_PREFIX}{version}.parquet")
        months = con.execute(
            f"SELECT DISTINCT date_trunc('month', {column})::DATE FROM {table} ORDER BY 1"
        ).fetchall()
        written[table] = []
        for (month,) in months:
            if month < first:
                raise AssertionError(f"{table}: the refresh changed {month:%Y-%m}, a month it did not load")
            rows = f"SELECT * FROM {table} WHERE {column} >= ? AND {column} < ?"
            _copy(con, rows, [month, next_month(month)], folder / f"{month:%Y-%m}.parquet")
            written[table].append(f"{month:%Y-%m}")
    return written


def _has_rows(con: duckdb.DuckDBPyConnection, rows: str, params: list) -> bool:
    return bool(con.execute(f"SELECT EXISTS ({rows})", params).fetchall()[0][0])


def _copy(con: duckdb.DuckDBPyConnection, rows: str, params: list, target: Path) -> None:
    """Write the rows of a query, sorted, to `target` (through a temporary name)."""
    tmp = target.with_name(f".{target.name}.tmp")
    con.execute(f"COPY ({rows} ORDER BY ALL) TO {_literal(tmp)} ({_COPY_OPTIONS})", params)
    tmp.replace(target)


def export_tables(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Write the work database's tables into a new `target` DuckDB file: partitioned tables empty (their
    rows are in Parquet; the empty table keeps their types), every other table whole. A fresh file holds no
    space freed by the refresh's deletes, so its size follows the number of models."""
    tables = [
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND NOT temporary ORDER BY table_name"
        ).fetchall()
    ]
    con.execute(f"ATTACH {_literal(target)} AS exported")
    try:
        for name in tables:
            rows = " LIMIT 0" if name in PARTITIONED else ""
            con.execute(f"CREATE TABLE exported.main.{name} AS SELECT * FROM main.{name}{rows}")
    finally:
        con.execute("DETACH exported")


def connect(version: Path) -> duckdb.DuckDBPyConnection:
    """A read-only view of one version: every table under its usual name (see the module docstring)."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {_literal(version / TABLES_FILE)} AS {STORED} (READ_ONLY)")
        stored = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM duckdb_tables() "
                f"WHERE database_name = '{STORED}' AND schema_name = 'main'"
            ).fetchall()
        ]
        for name in stored:
            files = partition_files(version, name) if name in PARTITIONED else []
            source = parquet_relation(files) if files else f"{STORED}.main.{name}"
            con.execute(f"CREATE VIEW main.{name} AS SELECT * FROM {source}")
        # Parquet footers are read once per connection, not at every query.
        con.execute("SET enable_object_cache = true")
    except BaseException:
        con.close()
        raise
    return con
