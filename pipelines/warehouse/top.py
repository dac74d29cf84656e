"""Top-N tables: per-organisation running totals and the candidate organisations, so a top-N over any date
range reads a few thousand rows."""

from __future__ import annotations

import datetime as dt

import duckdb

from pipelines.periods import next_month
from pipelines.warehouse.schema import ORG_KEY_SQL

#: Organisations with the most downloads in the store whose daily rows are kept in a small table, so top-N
#: over any date range reads them only (exact while their N-th beats every other organisation's store total).
TOP_CANDIDATES = 2000


def _refresh_organisations(con: duckdb.DuckDBPyConnection, since: dt.date | None) -> None:
    """Tables that make top organisations of any date range cheap.

    `ns_before(month, grp, downloads)`: every group's downloads before the first day of each month (dense,
    from the first month to the month after the last day), so a range's downloads are two lookups plus
    the days of two partial months. `ns_info(grp, ...)`: each group's models and all-time downloads now.
    Months from the one after `since` on are recomputed (all of them when `since` is None).
    """
    first, last = con.execute("SELECT min(month), max(month) FROM ns_month").fetchall()[0]
    if first is None:
        first = last = dt.date.today().replace(day=1)
    if since is None:
        con.execute("CREATE OR REPLACE TABLE ns_before (month DATE, grp INTEGER, downloads BIGINT)")
        start = first
    else:
        start = max(first, next_month(since.replace(day=1)))
    month = start
    while month <= next_month(last):
        con.execute("DELETE FROM ns_before WHERE month = ?", [month])
        con.execute(
            """
            INSERT INTO ns_before
            SELECT ?::DATE, g.grp, (coalesce(p.downloads, 0) + coalesce(m.downloads, 0))::BIGINT
            FROM ns_groups g
            LEFT JOIN (SELECT grp, sum(downloads) AS downloads FROM ns_before
                       WHERE month = ?::DATE - INTERVAL 1 MONTH GROUP BY grp) p USING (grp)
            LEFT JOIN (SELECT grp, sum(downloads) AS downloads FROM ns_month
                       WHERE month = ?::DATE - INTERVAL 1 MONTH GROUP BY grp) m USING (grp)
            """,
            [month, month, month],
        )
        month = next_month(month)
    con.execute(
        """
        CREATE OR REPLACE TABLE ns_info AS
        SELECT d.grp, any_value(d.organization) AS organization, any_value(d.publisher_country) AS country,
            count(*)::INTEGER AS n_models, sum(s.cum)::BIGINT AS downloads_all_time
        FROM dims d JOIN state s USING (key) GROUP BY d.grp
        """
    )
    _refresh_candidates(con, since)


def _refresh_candidates(con: duckdb.DuckDBPyConnection, since: dt.date | None) -> None:
    """`ns_rank(namespace, candidate)`: whether each organisation is a top-N candidate; `ns_month_bound(month,
    bound)`: the most any non-candidate organisation downloaded in each month, so the sum over the months a
    range touches bounds every non-candidate's downloads in that range (tight for short ranges, unlike a
    whole-store total); `ns_top_groups`, `ns_top_before`, `ns_top_info` and `ns_top_day`: the candidates' rows
    of `ns_groups` (plus `org`, the namespace's lowest group number: an integer key to aggregate organisations
    by), `ns_before`, `ns_info`, `ns_day`. Any candidate set gives exact answers (queries check the
    bound of the others), so an incremental refresh keeps the set and only adds the candidates' daily rows
    from `since` on; a full one takes the TOP_CANDIDATES organisations with the most downloads.
    """
    keep = since is not None and since > dt.date.min
    if keep:
        con.execute("CREATE OR REPLACE TEMP TABLE kept AS SELECT org_key FROM ns_rank WHERE candidate")
        candidate = "g.org_key IN (SELECT org_key FROM kept)"
    else:
        candidate = f"row_number() OVER (ORDER BY sum(b.downloads) DESC, g.org_key) <= {TOP_CANDIDATES:d}"
    con.execute(
        f"""
        CREATE OR REPLACE TABLE ns_rank AS
        SELECT g.org_key, {candidate} AS candidate
        FROM ns_before b JOIN (SELECT grp, {ORG_KEY_SQL} AS org_key FROM ns_groups) g USING (grp)
        WHERE b.month = (SELECT max(month) FROM ns_before) GROUP BY g.org_key
        """
    )
    # Months before the first one this refresh loaded (`partitions`) keep their bound: the candidates and
    # those months' downloads are the same.
    bounds = f"""
        SELECT month, max(downloads)::BIGINT AS bound
        FROM (
            SELECT m.month, {ORG_KEY_SQL} AS org_key, sum(m.downloads) AS downloads
            FROM ns_month m JOIN ns_groups g USING (grp)
            WHERE {ORG_KEY_SQL} IN (SELECT org_key FROM ns_rank WHERE NOT candidate)
            GROUP BY ALL
        )
        GROUP BY month ORDER BY month
    """
    if keep:
        con.execute("DELETE FROM ns_month_bound WHERE month >= (SELECT min(month) FROM ns_month)")
        con.execute(f"INSERT INTO ns_month_bound {bounds}")
    else:
        con.execute(f"CREATE OR REPLACE TABLE ns_month_bound AS {bounds}")
    con.execute(
        f"CREATE OR REPLACE TABLE ns_top_groups AS "
        f"SELECT *, min(grp) OVER (PARTITION BY {ORG_KEY_SQL}) AS org FROM ns_groups "
        f"WHERE {ORG_KEY_SQL} IN (SELECT org_key FROM ns_rank WHERE candidate) ORDER BY grp"
    )
    for table, order in (("before", "month, grp"), ("info", "grp")):
        con.execute(
            f"CREATE OR REPLACE TABLE ns_top_{table} AS SELECT * FROM ns_{table} "
            f"WHERE grp IN (SELECT grp FROM ns_top_groups) ORDER BY {order}"
        )
    # Views without filters need only one row per organisation: `org_top_*`, keyed by its lowest group
    # number (stable: group numbers are only added), the same tables summed over each organisation's groups.
    con.execute(
        """
        CREATE OR REPLACE TABLE org_top_groups AS
        SELECT org AS grp, arg_min(namespace, grp) AS namespace FROM ns_top_groups GROUP BY org ORDER BY grp;
        CREATE OR REPLACE TABLE org_top_before AS
        SELECT b.month, m.org AS grp, sum(b.downloads)::BIGINT AS downloads
        FROM ns_top_before b JOIN ns_top_groups m USING (grp) GROUP BY ALL ORDER BY month, grp;
        CREATE OR REPLACE TABLE org_top_info AS
        SELECT m.org AS grp, arg_min(i.organization, i.grp) AS organization,
            arg_min(i.country, i.grp) AS country, sum(i.n_models)::INTEGER AS n_models,
            sum(i.downloads_all_time)::BIGINT AS downloads_all_time
        FROM ns_top_info i JOIN ns_top_groups m USING (grp) GROUP BY m.org ORDER BY grp;
        """
    )
    daily = {
        "ns_top_day": "SELECT n.day, n.grp, sum(n.downloads)::BIGINT AS downloads FROM ns_day n "
        "WHERE n.day >= ? AND n.grp IN (SELECT grp FROM ns_top_groups) GROUP BY ALL ORDER BY n.day",
        "org_top_day": "SELECT n.day, m.org AS grp, sum(n.downloads)::BIGINT AS downloads FROM ns_top_day n "
        "JOIN ns_top_groups m USING (grp) WHERE n.day >= ? GROUP BY ALL ORDER BY n.day",
    }
    for table, rows in daily.items():
        if keep:
            con.execute(f"DELETE FROM {table} WHERE day >= ?", [since])
            con.execute(f"INSERT INTO {table} {rows}", [since])
        else:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {rows}", [dt.date.min])
    # `org_top_cum`: per candidate, its name, country, models, all-time downloads and `cum`, a list of its
    # downloads before each day from `first_day` (the first snapshot's month) to the month after the last:
    # an unfiltered top-N is one scan of 2,000 rows with three list lookups each, no join, no aggregation.
    # `roll_cum(day, cum)`: every organisation's downloads before each day, for the share of the total.
    # Both are computed from the first day loaded (`days`); with the candidates kept, the days before keep
    # their values (the running total there is the previous value at that day).
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE days AS
        SELECT unnest(range(min(month), max(month) + INTERVAL 1 DAY, INTERVAL 1 DAY))::DATE AS day
        FROM org_top_before
        """
    )
    first_day = con.execute("SELECT min(day) FROM days").fetchall()[0][0]
    before = "(SELECT cum FROM roll_cum WHERE day = ?)" if keep else "?"
    running_total = f"""
        SELECT day, (coalesce({before}, 0) + coalesce(sum(downloads) OVER (
            ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))::BIGINT AS cum
        FROM (
            SELECT day, sum(downloads) AS downloads FROM (
                SELECT day, downloads FROM roll_day UNION ALL SELECT day, 0 FROM days
            ) GROUP BY day
        )
        QUALIFY day >= (SELECT min(day) FROM days) AND day <= (SELECT max(day) FROM days)
        ORDER BY day
    """
    if keep:
        con.execute(f"CREATE OR REPLACE TEMP TABLE new_cum AS {running_total}", [first_day])
        con.execute("DELETE FROM roll_cum WHERE day >= ?", [first_day])
        con.execute("INSERT INTO roll_cum SELECT * FROM new_cum")
    else:
        con.execute(f"CREATE OR REPLACE TABLE roll_cum AS {running_total}", [None])
    kept_prefix = (
        "list_concat(coalesce(list_slice(o.cum, 1, (n.first_day - o.first_day)::INTEGER), []), n.cum)"
        if keep
        else "n.cum"
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE new_top_cum AS
        WITH daily AS (
            SELECT d.day, g.grp, coalesce(t.downloads, 0) AS downloads
            FROM days d CROSS JOIN org_top_groups g LEFT JOIN org_top_day t USING (day, grp)
        ),
        running AS (
            SELECT d.day, d.grp, (b.downloads + coalesce(sum(d.downloads) OVER (
                PARTITION BY d.grp, date_trunc('month', d.day) ORDER BY d.day
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))::BIGINT AS cum
            FROM daily d JOIN org_top_before b ON b.grp = d.grp AND b.month = date_trunc('month', d.day)
        )
        SELECT grp, min(day) AS first_day, list(cum ORDER BY day) AS cum FROM running GROUP BY grp
        """
    )
    previous = "org_top_cum" if keep else "(SELECT NULL::INTEGER AS grp, NULL::DATE AS first_day, [] AS cum)"
    con.execute(
        f"""
        CREATE OR REPLACE TABLE org_top_cum AS
        SELECT n.grp, g.namespace, i.organization, i.country, i.downloads_all_time, i.n_models,
            coalesce(o.first_day, n.first_day) AS first_day, {kept_prefix} AS cum
        FROM new_top_cum n JOIN org_top_groups g USING (grp) JOIN org_top_info i USING (grp)
        LEFT JOIN {previous} o USING (grp)
        ORDER BY n.grp
        """
    )
