"""Rows into a DuckDB table in one statement, for tests that fill small tables once per hypothesis example."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb


def insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, types: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT `rows` (tuples in the column order of `table`, whose SQL types are `types`) as one list
    parameter per column, unnested side by side: DuckDB's executemany runs one statement per row (~2 ms
    each), which was most of an example's time."""
    columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in types]
    unnested = ", ".join(f"unnest(?::{sql_type}[])" for sql_type in types)
    con.execute(f"INSERT INTO {table} SELECT {unnested}", columns)
