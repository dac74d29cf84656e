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

    The facts grouped by gap and dimensions are first stored in temp tables (`grouped_*_<dims_table>`, until
    `_drop_grouped`) that the queries read. As one query (group, spread, regroup, sort), a rebuild of 1,000
    days of 300,000 models ran out of DuckDB's 2 GB budget; of 100 days, out of 250 MB, where the stored
    steps fit."""
    dims = ", ".join(f"d.{c}" for c in ROLLUP_DIMS)
    plain = ", ".join(ROLLUP_DIMS)
    # The gap rule spreads each model's growth on its own (definitions.spread); models of a group that share
    # a gap and the remainder of their growth by its length are spread together, which gives the same days.
    spread = f"""
        SELECT (date - {SNAPSHOT_DAY_OFFSET:d} - (span - i)::INTEGER) AS day, {{cols}},
            {grouped_spread_sql("i", "inc", "models", "remainder", "span")} * {sign} AS downloads
        FROM (SELECT *, unnest(range(1, span + 1)) AS i FROM {{grouped}})
    """
    gap = "f.date, f.span::BIGINT AS span, f.inc % f.span AS remainder"
    growth = "count(*)::BIGINT AS models, sum(f.inc)::BIGINT AS inc"
    grouped_main = f"""
        SELECT {gap}, {dims}, {growth}
        FROM {facts} f JOIN {dims_table} d USING (key) WHERE f.inc > 0 GROUP BY ALL
    """
    grouped_release = f"""
        SELECT {gap}, {dims}, date_trunc('month', d.created)::DATE AS release_month, {growth}
        FROM {facts} f JOIN {dims_table} d USING (key) WHERE f.inc > 0 GROUP BY ALL
    """
    grouped_ns = f"""
        SELECT {gap}, d.grp, {growth}
        FROM {facts} f JOIN {dims_table} d USING (key) WHERE f.inc > 0 GROUP BY ALL
    """
    grouped = {}
    for kind, query in (("main", grouped_main), ("release", grouped_release), ("ns", grouped_ns)):
        grouped[kind] = f"grouped_{kind}_{dims_table}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {grouped[kind]} AS {query}")
    return {
        "roll_day": f"""
            SELECT day, {plain}, sum(downloads)::BIGINT AS downloads, sum(baseline)::BIGINT AS baseline FROM (
                SELECT day, {plain}, downloads, 0 AS baseline
                FROM ({spread.format(cols=plain, grouped=grouped["main"])})
                UNION ALL
                SELECT f.date - {SNAPSHOT_DAY_OFFSET:d} AS day, {dims}, 0 AS downloads, f.baseline * {sign}
                FROM {facts} f JOIN {dims_table} d USING (key) WHERE f.baseline > 0
            ) GROUP BY ALL
        """,
        "roll_snap": f"""
            SELECT f.date, {dims}, (sum(f.d30) * {sign})::BIGINT AS d30,
                (count(*) * {sign})::INTEGER AS models,
                (count(*) FILTER (WHERE f.flag = {FLAG_CLAMPED}) * {sign})::INTEGER AS clamped,
                (count(*) FILTER (WHERE f.flag = {FLAG_MISSING}) * {sign})::INTEGER AS missing
            FROM {facts} f JOIN {dims_table} d USING (key) GROUP BY ALL
        """,
        "roll_release": f"""
            SELECT date_trunc('month', day)::DATE AS month, {plain}, release_month,
                sum(downloads)::BIGINT AS downloads
            FROM ({spread.format(cols=plain + ", release_month", grouped=grouped["release"])}) GROUP BY ALL
        """,
        "ns_day": f"""
            SELECT day, grp, sum(downloads)::BIGINT AS downloads
            FROM ({spread.format(cols="grp", grouped=grouped["ns"])}) GROUP BY ALL
        """,
    }


def _drop_grouped(con: duckdb.DuckDBPyConnection, dims_table: str = "dims") -> None:
    """Drop the temp tables `_rollup_queries` stored for `dims_table`."""
    for kind in ("main", "release", "ns"):
        con.execute(f"DROP TABLE IF EXISTS grouped_{kind}_{dims_table}")


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
