"""Rollups: facts spread over days (the gap rule) and grouped by the dimensions, daily and monthly; added to
incrementally (models whose dimensions change are moved by `corrections`)."""

from __future__ import annotations

import datetime as dt

import duckdb

from pipelines.definitions import SNAPSHOT_DAY_OFFSET, grouped_spread_sql
from pipelines.warehouse.schema import FLAG_CLAMPED, FLAG_MISSING, ROLLUP_DIMS
from pipelines.warehouse.top import _refresh_organisations


def _rollup_queries(
    con: duckdb.DuckDBPyConnection, facts: str, dims_table: str = "dims", sign: int = 1
) -> dict[str, str]:
    """SQL of each rollup's rows from a facts relation (all facts, or just the new ones), grouped by the
    dimensions in `dims_table`; sign -1 gives rows that take a contribution back out.

    Rows are grouped by a cell number (one per combination of ROLLUP_DIMS in `dims_table`) and only the
    results take the cells' columns: eight text columns per grouped row filled DuckDB's 2 GB budget in a
    registry edit of 1,000 days of 300,000 models. The facts grouped by gap and cell are stored first in
    temp tables (until `_drop_grouped`) that the queries read: as one query (group, spread, regroup, sort), a
    rebuild of that store ran out of memory too."""
    cells, keys = f"rollup_cells_{dims_table}", f"rollup_keys_{dims_table}"
    plain = ", ".join(ROLLUP_DIMS)
    named = ", ".join(f"c.{column}" for column in ROLLUP_DIMS)
    same_cell = " AND ".join(f"c.{column} IS NOT DISTINCT FROM d.{column}" for column in ROLLUP_DIMS)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {cells} AS "
        f"SELECT (row_number() OVER ())::INTEGER AS cell, * FROM (SELECT DISTINCT {plain} FROM {dims_table})"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {keys} AS "
        f"SELECT d.key, c.cell, date_trunc('month', d.created)::DATE AS release_month, d.grp "
        f"FROM {dims_table} d JOIN {cells} c ON {same_cell}"
    )
    # The gap rule spreads each model's growth on its own (definitions.spread); models of a group that share
    # a gap and the remainder of their growth by its length are spread together, which gives the same days.
    spread = f"""
        SELECT (date - {SNAPSHOT_DAY_OFFSET:d} - (span - i)::INTEGER) AS day, {{cols}},
            {grouped_spread_sql("i", "inc", "models", "remainder", "span")} * {sign} AS downloads
        FROM (SELECT *, unnest(range(1, span + 1)) AS i FROM {{grouped}})
    """
    grouped = {}
    for kind, columns in (("main", "k.cell"), ("release", "k.cell, k.release_month"), ("ns", "k.grp")):
        grouped[kind] = f"grouped_{kind}_{dims_table}"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {grouped[kind]} AS "
            f"SELECT f.date, f.span::BIGINT AS span, f.inc % f.span AS remainder, {columns}, "
            f"count(*)::BIGINT AS models, sum(f.inc)::BIGINT AS inc "
            f"FROM {facts} f JOIN {keys} k USING (key) WHERE f.inc > 0 GROUP BY ALL"
        )
    return {
        "roll_day": f"""
            SELECT r.day, {named}, r.downloads, r.baseline FROM (
                SELECT day, cell, sum(downloads)::BIGINT AS downloads, sum(baseline)::BIGINT AS baseline
                FROM (
                    SELECT day, cell, downloads, 0 AS baseline
                    FROM ({spread.format(cols="cell", grouped=grouped["main"])})
                    UNION ALL
                    SELECT f.date - {SNAPSHOT_DAY_OFFSET:d} AS day, k.cell, 0 AS downloads,
                        f.baseline * {sign} AS baseline
                    FROM {facts} f JOIN {keys} k USING (key) WHERE f.baseline > 0
                ) GROUP BY ALL
            ) r JOIN {cells} c USING (cell)
        """,
        "roll_snap": f"""
            SELECT r.date, {named}, r.d30, r.models, r.clamped, r.missing FROM (
                SELECT f.date, k.cell, (sum(f.d30) * {sign})::BIGINT AS d30,
                    (count(*) * {sign})::INTEGER AS models,
                    (count(*) FILTER (WHERE f.flag = {FLAG_CLAMPED}) * {sign})::INTEGER AS clamped,
                    (count(*) FILTER (WHERE f.flag = {FLAG_MISSING}) * {sign})::INTEGER AS missing
                FROM {facts} f JOIN {keys} k USING (key) GROUP BY ALL
            ) r JOIN {cells} c USING (cell)
        """,
        "roll_release": f"""
            SELECT r.month, {named}, r.release_month, r.downloads FROM (
                SELECT date_trunc('month', day)::DATE AS month, cell, release_month,
                    sum(downloads)::BIGINT AS downloads
                FROM ({spread.format(cols="cell, release_month", grouped=grouped["release"])}) GROUP BY ALL
            ) r JOIN {cells} c USING (cell)
        """,
        "ns_day": f"""
            SELECT day, grp, sum(downloads)::BIGINT AS downloads
            FROM ({spread.format(cols="grp", grouped=grouped["ns"])}) GROUP BY ALL
        """,
    }


def _drop_grouped(con: duckdb.DuckDBPyConnection, dims_table: str = "dims") -> None:
    """Drop the temp tables `_rollup_queries` stored for `dims_table`."""
    for table in ("grouped_main", "grouped_release", "grouped_ns", "rollup_keys", "rollup_cells"):
        con.execute(f"DROP TABLE IF EXISTS {table}_{dims_table}")


def _rebuild_rollups(con: duckdb.DuckDBPyConnection, facts: str) -> None:
    for name, query in _rollup_queries(con, facts).items():
        order = {"roll_snap": "date", "roll_release": "month"}.get(name, "day")
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM ({query}) ORDER BY {order}")
    _drop_grouped(con)
    _refresh_monthly(con, None)


def _add_rollups(con: duckdb.DuckDBPyConnection, facts: str, dims_table: str = "dims", sign: int = 1) -> None:
    """Append rows for these facts; a (day, group) may then have several rows (queries sum them)."""
    for name, query in _rollup_queries(con, facts, dims_table, sign).items():
        con.execute(f"INSERT INTO {name} {query}")
    _drop_grouped(con, dims_table)


#: Monthly copies of the daily rollups (whole months of a view read these: 30x fewer rows).
_MONTHLY = {
    "roll_month": (
        "roll_day",
        (*ROLLUP_DIMS,),
        "sum(downloads)::BIGINT AS downloads, sum(baseline)::BIGINT AS baseline",
    ),
    "ns_month": ("ns_day", ("grp",), "sum(downloads)::BIGINT AS downloads"),
}


def _refresh_monthly(con: duckdb.DuckDBPyConnection, since: dt.date | None) -> None:
    """Recompute the monthly rollups from the daily ones, all of them or from the month of `since` on."""
    for monthly, (daily, keys, sums) in _MONTHLY.items():
        select = (
            f"SELECT date_trunc('month', day)::DATE AS month, {', '.join(keys)}, {sums} FROM {daily} "
            "WHERE day >= date_trunc('month', ?::DATE) GROUP BY ALL ORDER BY month"
        )
        if since is None:
            con.execute(f"CREATE OR REPLACE TABLE {monthly} AS {select}", [dt.date.min])
        else:
            con.execute(f"DELETE FROM {monthly} WHERE month >= date_trunc('month', ?::DATE)", [since])
            con.execute(f"INSERT INTO {monthly} {select}", [since])
    _refresh_organisations(con, since)
