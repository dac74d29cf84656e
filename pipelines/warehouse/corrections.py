"""Corrections: models whose groups change take their past downloads to their new groups, without rewriting
the history the refresh does not load.

A model's groups change when its dimensions do (a new base model moves its lineage country, a corrected size
or creation date): its contributions to every rollup are taken out under its old dimensions (`old_dims`) and
put back under its new ones. The months the refresh loads (`partitions.load_live`) are corrected in its work
tables; the older months get, per table, the temp table `delta_<table>` of signed rows, which becomes one
delta file next to the month files (`partitions.write_partitions`) that readers sum with them. So such a
refresh writes in proportion to the moved models' history, not to the warehouse's. A model keeps its
organisation (its namespace's), so the per-organisation tables need no correction; when one does not (a
changed `author` field), or once MAX_DELTA_FILES delta files have piled up, the refresh loads and rewrites
every month instead, which folds the deltas into the month files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import duckdb

from pipelines.warehouse.facts import _facts_relation
from pipelines.warehouse.partitions import delta_files
from pipelines.warehouse.rollups import _MONTHLY, _drop_grouped, _rollup_queries
from pipelines.warehouse.schema import (
    NS_BEFORE,
    NS_DAY,
    NS_MONTH,
    NS_TOP_BEFORE,
    NS_TOP_DAY,
    PARTITIONED,
    ROLL_DAY,
    ROLL_RELEASE,
    ROLL_SNAP,
)

#: Delta files a table may hold before a refresh with moves folds them into the month files.
MAX_DELTA_FILES = 30
#: The columns readers sum, per table that takes deltas (the other columns are the row's keys).
SUMMED = {
    ROLL_DAY: ("downloads", "baseline"),
    ROLL_SNAP: ("d30", "models", "clamped", "missing"),
    ROLL_RELEASE: ("downloads",),
    NS_DAY: ("downloads",),
}


def fold_due(previous: Path) -> bool:
    """Whether the delta files of the previous version are to be folded into its month files now."""
    return any(len(delta_files(previous, table)) >= MAX_DELTA_FILES for table in PARTITIONED)


def move_changed(con: duckdb.DuckDBPyConnection, files: Sequence[Path], first: dt.date) -> None:
    """Take the moved models' (`old_dims`) contributions in the facts `files` out of their old groups and put
    them into their new ones: rows dated from `first` on into the work tables, older rows into `delta_<table>`
    (for every partitioned table they reach: the daily and monthly rollups and the running totals before each
    month). Rows that cancel out (a model keeping a table's keys) are dropped."""
    if not files:
        return
    facts = f"(SELECT * FROM {_facts_relation(files)} WHERE key IN (SELECT key FROM old_dims))"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE moved_dims AS SELECT * FROM dims SEMI JOIN old_dims USING (key)"
    )
    taken_out = _rollup_queries(con, facts, "old_dims", -1)
    put_back = _rollup_queries(con, facts, "moved_dims", 1)
    for table, summed in SUMMED.items():
        sums = ", ".join(f"sum({c}) AS {c}" for c in summed)
        nonzero = " OR ".join(f"sum({c}) <> 0" for c in summed)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE moved AS SELECT * EXCLUDE ({', '.join(summed)}), {sums} "
            f"FROM ({taken_out[table]} UNION ALL BY NAME {put_back[table]}) GROUP BY ALL HAVING {nonzero}"
        )
        _split(con, "moved", table, first)
    _drop_grouped(con, "old_dims")
    _drop_grouped(con, "moved_dims")
    if first == dt.date.min:
        return
    for monthly, (daily, keys, sums) in _MONTHLY.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE delta_{monthly} AS SELECT * FROM {monthly} LIMIT 0")
        con.execute(
            f"INSERT INTO delta_{monthly} BY NAME SELECT date_trunc('month', day)::DATE AS month, "
            f"{', '.join(keys)}, {sums} FROM delta_{daily} GROUP BY ALL"
        )
    # A group's downloads before a month move by its moved downloads of the months before: for the months
    # after the first corrected one up to `first`, whose row is in the work table (later months are
    # recomputed from it by `top._refresh_organisations`).
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE moved AS
        WITH months AS (
            SELECT unnest(range(
                min(month) + INTERVAL 1 MONTH, ?::DATE + INTERVAL 1 DAY, INTERVAL 1 MONTH))::DATE AS month
            FROM delta_{NS_MONTH}
        )
        SELECT m.month, d.grp, sum(d.downloads)::BIGINT AS downloads
        FROM months m JOIN delta_{NS_MONTH} d ON d.month < m.month
        GROUP BY ALL HAVING sum(d.downloads) <> 0
        """,
        [first],
    )
    _split(con, "moved", NS_BEFORE, first)


def _split(con: duckdb.DuckDBPyConnection, rows: str, table: str, first: dt.date) -> None:
    """Rows dated from `first` on go into the work table, older ones into `delta_<table>` (none when the
    refresh loaded every month)."""
    column = PARTITIONED[table]
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {rows} WHERE {column} >= ?", [first])
    if first > dt.date.min:
        con.execute(f"CREATE OR REPLACE TEMP TABLE delta_{table} AS SELECT * FROM {table} LIMIT 0")
        con.execute(f"INSERT INTO delta_{table} BY NAME SELECT * FROM {rows} WHERE {column} < ?", [first])


def organisations_moved(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a model whose dimensions changed changed organisation (its `author` field did). Other moves
    keep every organisation's downloads as they were, so the per-organisation tables (`ns_month_bound`,
    `org_top_*`) need no correction; such a move changes them all, and the refresh recomputes every month."""
    changed = "o.organization IS DISTINCT FROM d.organization OR lower(o.namespace) <> lower(d.namespace)"
    query = f"SELECT count(*) FROM old_dims o JOIN dims d USING (key) WHERE {changed}"
    return bool(con.execute(query).fetchall()[0][0])


def correct_candidates(con: duckdb.DuckDBPyConnection) -> None:
    """The candidates' deltas (`ns_top_before`, `ns_top_day`: their groups' rows), once their groups are
    refreshed (`top._refresh_candidates` keeps the candidate set and adds the groups a move made)."""
    for table, source in ((NS_TOP_BEFORE, NS_BEFORE), (NS_TOP_DAY, NS_DAY)):
        con.execute(f"CREATE OR REPLACE TEMP TABLE delta_{table} AS SELECT * FROM {table} LIMIT 0")
        con.execute(
            f"INSERT INTO delta_{table} BY NAME "
            f"SELECT * FROM delta_{source} WHERE grp IN (SELECT grp FROM ns_top_groups)"
        )
