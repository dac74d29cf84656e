"""Queries of issue 13's analyst views: organisations compared, the leading organisation against the next N,
and each country group's share of downloads over the whole selected dates.

Each function takes an open `Warehouse` and the view (`Filters`) and returns a small long-form DataFrame,
like the methods of `dashboards.query` (whose view-to-SQL helpers they use). An organisation is what the
organisation pages show: every namespace the registry gives the same `organization` (`ORG_KEY_SQL`), named
by any of its namespaces, case-insensitively.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dashboards.filters import PARAM_NAMES, Filters, ParamProblem
from dashboards.query import per_version
from pipelines.definitions import SNAPSHOT_DAY_OFFSET, last_counted_day
from pipelines.registry import SPECIAL_COUNTRIES
from pipelines.warehouse import ORG_KEY_SQL

if TYPE_CHECKING:
    from dashboards.query import Warehouse

ORGANISATION_COLUMNS = ["asked", "org_key", "organisation", "namespaces"]
#: Organisations compared when the view names none: the view's most downloaded.
DEFAULT_COMPARED = 3


def compared(warehouse: Warehouse, f: Filters) -> pd.DataFrame:
    """The organisations a view compares (`resolve_organisations`): those it names, else its
    DEFAULT_COMPARED most downloaded in the selected dates (so a comparison is never empty by default)."""
    names = f.orgs or tuple(warehouse.top_organisations(f, n=DEFAULT_COMPARED)["namespace"])
    return resolve_organisations(warehouse, names)


@per_version(maxsize=64)
def resolve_organisations(warehouse: Warehouse, names: tuple[str, ...]) -> pd.DataFrame:
    """asked, org_key, organisation (registry name, else the namespace), namespaces (all of the
    organisation's, sorted): one row per organisation named, in the order asked (an organisation named
    twice, by two of its namespaces, once). Names the store has no model of are left out
    (`missing_organisations`)."""
    if not names:
        return pd.DataFrame(columns=ORGANISATION_COLUMNS)
    found = warehouse._df(
        f"""
        WITH keyed AS (SELECT namespace, organization, {ORG_KEY_SQL} AS org_key FROM ns_groups)
        SELECT lower(a.namespace) AS asked, a.org_key,
            coalesce(any_value(a.organization), min(a.namespace)) AS organisation,
            list(DISTINCT k.namespace ORDER BY lower(k.namespace)) AS namespaces
        FROM keyed a JOIN keyed k USING (org_key)
        WHERE list_contains(?::VARCHAR[], lower(a.namespace))
        GROUP BY ALL
        """,
        [[name.lower() for name in names]],
    )
    by_name = {row.asked: row for row in found.itertuples(index=False)}
    rows, seen = [], set()
    for name in names:
        row = by_name.get(name.lower())
        if row is not None and row.org_key not in seen:
            seen.add(row.org_key)
            rows.append({"asked": name, "org_key": row.org_key, "organisation": row.organisation,
                         "namespaces": list(row.namespaces)})  # fmt: skip
    return pd.DataFrame(rows, columns=ORGANISATION_COLUMNS)


def missing_organisations(warehouse: Warehouse, names: tuple[str, ...]) -> list[str]:
    """The names (of `names`) that no namespace of the store answers to."""
    known = {
        namespace.lower() for namespaces in resolve_organisations(warehouse, names)["namespaces"]
        for namespace in namespaces
    }
    return [name for name in names if name.lower() not in known]


def check_orgs(warehouse: Warehouse, filters: Filters) -> list[ParamProblem]:
    """The `orgs` of a view that the store does not have, as one problem listing them (a view naming
    organisations that do not exist would show charts without them, silently)."""
    missing = missing_organisations(warehouse, filters.orgs)
    if not missing:
        return []
    message = (
        f"not found in the store: {', '.join(missing)} (organisation ids are Hub namespaces, as in "
        "/organisations/<namespace>; see the Organisations page)"
    )
    return [ParamProblem(PARAM_NAMES["orgs"], ",".join(missing), message, "left out")]


def _chosen(warehouse: Warehouse, f: Filters) -> tuple[str, list[Any], pd.DataFrame]:
    """SQL of the view's namespace groups of the compared organisations (grp, org_key), its parameters, and
    the organisations."""
    organisations = compared(warehouse, f)
    where, params = warehouse._where(f, dated=False)
    sql = (
        f"(SELECT grp, {ORG_KEY_SQL} AS org_key FROM ns_groups "
        f"WHERE {where} AND list_contains(?::VARCHAR[], {ORG_KEY_SQL}))"
    )
    return sql, [*params, list(organisations["org_key"])], organisations


def _named(frame: pd.DataFrame, organisations: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`frame` (with org_key) with each organisation's name, in the order asked, then time."""
    names = organisations[["org_key", "organisation"]].reset_index(names="order")
    merged = frame.merge(names, on="org_key")
    time = columns[0]
    return merged.sort_values(["order", time], ignore_index=True)[columns]


def _source(warehouse: Warehouse, f: Filters, grain: str) -> tuple[str, list[Any]]:
    """Rollup rows of the view's dates: whole months from the monthly rollup for monthly periods."""
    start, end = warehouse._range(f)
    if warehouse._period(f) == "month":
        return warehouse._rows(grain, start, end)
    return f"(SELECT * FROM {grain}_day WHERE day >= ? AND day <= ?)", [start, end]


def organisation_downloads(warehouse: Warehouse, f: Filters) -> pd.DataFrame:
    """period, organisation, downloads, share: each compared organisation's downloads per period and its
    share of all downloads in the view in that period."""
    chosen, chosen_params, organisations = _chosen(warehouse, f)
    columns = ["period", "organisation", "downloads", "share"]
    if organisations.empty:
        return pd.DataFrame(columns=columns)
    source, source_params = _source(warehouse, f, "ns")
    per = warehouse._df(
        f"""
        SELECT date_trunc(?, n.day)::DATE AS period, c.org_key, sum(n.downloads)::BIGINT AS downloads
        FROM {source} n JOIN {chosen} c USING (grp) GROUP BY ALL HAVING sum(n.downloads) > 0
        """,
        [warehouse._period(f), *source_params, *chosen_params],
    )
    where, params = warehouse._where(f, dated=False)
    roll, roll_params = _source(warehouse, f, "roll")
    totals = warehouse._df(
        f"SELECT date_trunc(?, day)::DATE AS period, sum(downloads)::BIGINT AS total FROM {roll} "
        f"WHERE {where} GROUP BY ALL",
        [warehouse._period(f), *roll_params, *params],
    )
    per = per.merge(totals, on="period", how="left")
    per["share"] = per["downloads"] / per["total"]
    return _named(per, organisations, columns)


def organisation_cumulative(warehouse: Warehouse, f: Filters) -> pd.DataFrame:
    """date, organisation, downloads_all_time: each compared organisation's cleaned cumulative downloads at
    each snapshot date of the view: its models' first counts (first-seen rule) plus its downloads up to the
    snapshot's last counted day, as `cumulative_by_country` adds them up for countries."""
    chosen, chosen_params, organisations = _chosen(warehouse, f)
    columns = ["date", "organisation", "downloads_all_time"]
    if organisations.empty:
        return pd.DataFrame(columns=columns)
    offset = f"{SNAPSHOT_DAY_OFFSET:d}"
    sql = f"""
        WITH chosen AS {chosen},
        mine AS (SELECT d.key, c.org_key FROM dims d JOIN chosen c USING (grp)),
        daily AS (
            SELECT day, org_key, sum(added)::BIGINT AS added FROM (
                SELECT n.day, c.org_key, n.downloads AS added FROM ns_day n JOIN chosen c USING (grp)
                UNION ALL
                SELECT f.date - {offset} AS day, m.org_key, f.baseline
                FROM read_parquet(?) f JOIN mine m USING (key)
                WHERE f.baseline > 0
                    AND f.key BETWEEN (SELECT min(key) FROM mine) AND (SELECT max(key) FROM mine)
            ) WHERE day <= coalesce(?::DATE, DATE '9999-12-31') GROUP BY ALL
        ), running AS (
            SELECT day, org_key, sum(added) OVER (PARTITION BY org_key ORDER BY day)::BIGINT AS total
            FROM daily
        ), grid AS (
            SELECT s.date, s.date - {offset} AS counted, o.org_key
            FROM snapshots s, (SELECT DISTINCT org_key FROM daily) o
            WHERE s.date >= coalesce(?::DATE, DATE '0001-01-01')
                AND s.date <= coalesce(?::DATE, DATE '9999-12-31')
                AND s.date - {offset} >= (SELECT min(day) FROM daily)
        )
        SELECT g.date, g.org_key, coalesce(r.total, 0)::BIGINT AS downloads_all_time
        FROM grid g ASOF LEFT JOIN running r ON g.org_key = r.org_key AND g.counted >= r.day
    """
    params = (*(tuple(p) if isinstance(p, list) else p for p in chosen_params), f.end, f.start, f.end)
    return _named(_cumulative_totals(warehouse, sql, params), organisations, columns)


@per_version(maxsize=32)
def _cumulative_totals(warehouse: Warehouse, sql: str, params: tuple[Any, ...]) -> pd.DataFrame:
    """`organisation_cumulative`'s query, kept per version and query: it scans every day of the compared
    organisations' groups and their models' first counts in the facts (about 0.3 s on a 300k-model year),
    and several views of a page (countries, scale, events) ask it the same."""
    *chosen, end, start, last = (list(p) if isinstance(p, tuple) else p for p in params)
    return warehouse._df(sql, [*chosen, warehouse._facts, end, start, last])


def organisation_releases(warehouse: Warehouse, f: Filters) -> pd.DataFrame:
    """period, organisation, models: models created per period in the compared organisations' namespaces."""
    organisations = compared(warehouse, f)
    columns = ["period", "organisation", "models"]
    if organisations.empty:
        return pd.DataFrame(columns=columns)
    where, params = warehouse._where(f, "created")
    frame = warehouse._df(
        f"""
        SELECT date_trunc(?, created)::DATE AS period, {ORG_KEY_SQL} AS org_key, count(*)::INTEGER AS models
        FROM dims WHERE {where} AND created IS NOT NULL AND list_contains(?::VARCHAR[], {ORG_KEY_SQL})
        GROUP BY ALL
        """,
        [warehouse._period(f), *params, list(organisations["org_key"])],
    )
    return _named(frame, organisations, columns)


def organisation_derivatives(warehouse: Warehouse, f: Filters) -> pd.DataFrame:
    """period, organisation, new_derivatives: others' models created per period whose lineage root is in a
    compared organisation's namespaces (the base organisation); the view's derivative filters apply."""
    organisations = compared(warehouse, f)
    columns = ["period", "organisation", "new_derivatives"]
    if organisations.empty:
        return pd.DataFrame(columns=columns)
    roots = organisations.explode("namespaces")
    where, params = warehouse._derivative_where(f)
    frame = warehouse._df(
        f"""
        WITH bases AS (
            SELECT lower(unnest(?::VARCHAR[])) AS namespace, unnest(?::VARCHAR[]) AS org_key
        )
        SELECT date_trunc(?, d.created)::DATE AS period, b.org_key, count(*)::INTEGER AS new_derivatives
        FROM (SELECT *, {ORG_KEY_SQL} AS own_key FROM dims WHERE {where} AND created IS NOT NULL) d
        JOIN bases b ON b.namespace = lower(split_part(d.lineage_root, '/', 1))
        WHERE d.own_key <> b.org_key
        GROUP BY ALL
        """,
        [list(roots["namespaces"]), list(roots["org_key"]), warehouse._period(f), *params],
    )
    return _named(frame, organisations, columns)


def leader_vs_next(warehouse: Warehouse, f: Filters) -> pd.DataFrame:
    """period, series ('leader' or 'next'), organisations (the leader's name; the next N's names in rank
    order, '; '-separated), downloads: per period, the organisation with the most downloads in the view and
    the sum of ranks 2 to N+1 (N = `f.leader_next`; ties by the organisation's key: its name, lower case).

    Ranking every organisation of every period is seconds on a large store (a daily year is 14M
    organisation-days), so periods are first ranked among the top-N candidates only (`ns_top_*`,
    `org_top_cum`: the organisations with the most downloads in the store); that ranking is exact for a period
    whose N+1-th candidate downloaded more than any other organisation can have (`ns_month_bound`, the most a
    non-candidate downloaded in a month, summed over the months the period touches), as `top_organisations`
    proves its top N. Only the other periods are ranked among every organisation."""
    places = 1 + f.leader_next
    spans = _period_spans(warehouse, f)
    ranked = _ranked_candidates(warehouse, f, spans, places)
    beating = ranked[ranked["downloads"] > ranked["period"].map(spans.set_index("period")["bound"])]
    proven = beating.groupby("period").size().reindex(spans["period"], fill_value=0).to_numpy() >= places
    unproven = spans[(spans["bound"].to_numpy() > 0) & ~proven]
    if len(unproven):
        everyone = _ranked_everyone(warehouse, f, unproven, places)
        ranked = pd.concat([ranked[~ranked["period"].isin(unproven["period"])], everyone])
    # Organisations are ranked under their key (ties: by key, the registry name in lower case) and named
    # after ranking, for the few rows kept only: candidates from their own groups (all of theirs, fewer rows).
    groups = "ns_groups" if len(unproven) else "ns_top_groups"
    sql = f"""
        WITH ranked AS (
            SELECT unnest(?::DATE[]) AS period, unnest(?::VARCHAR[]) AS org_key,
                unnest(?::BIGINT[]) AS downloads, unnest(?::BIGINT[]) AS rank
        ), named AS (
            SELECT {ORG_KEY_SQL} AS org_key, arg_min(coalesce(organization, namespace), grp) AS name
            FROM {groups} WHERE {ORG_KEY_SQL} IN (SELECT org_key FROM ranked) GROUP BY ALL
        )
        SELECT period, if(rank = 1, 'leader', 'next') AS series,
            string_agg(name, '; ' ORDER BY rank) AS organisations, sum(downloads)::BIGINT AS downloads
        FROM ranked JOIN named USING (org_key) GROUP BY ALL ORDER BY period, series
    """
    columns = [[value.date() for value in ranked["period"]]]
    columns += [ranked[name].tolist() for name in ("org_key", "downloads", "rank")]
    return warehouse._df(sql, columns)


def _period_spans(warehouse: Warehouse, f: Filters) -> pd.DataFrame:
    """period, first, last, bound: each period of the view's dates, its first and last day within them, and
    the most downloads any organisation outside the top-N candidates can have in it (the sum of
    `ns_month_bound` over the months it touches, up to the last counted day: nobody has downloads after it;
    a filtered view's downloads are fewer still)."""
    start, end = warehouse._range(f)
    held = last_counted_day(warehouse._range(Filters())[1])
    return warehouse._df(
        """
        WITH days AS (
            SELECT day::DATE AS day, date_trunc(?, day)::DATE AS period
            FROM range(?::DATE, ?::DATE + INTERVAL 1 DAY, INTERVAL 1 DAY) t(day)
        ), months AS (
            SELECT DISTINCT period, date_trunc('month', day)::DATE AS month FROM days WHERE day <= ?
        )
        SELECT period, min(first) AS first, min(last) AS last, coalesce(sum(b.bound), 0)::BIGINT AS bound
        FROM (SELECT period, min(day) AS first, max(day) AS last FROM days GROUP BY period)
        LEFT JOIN months USING (period) LEFT JOIN ns_month_bound b USING (month)
        GROUP BY period ORDER BY period
        """,
        [warehouse._period(f), start, end, held],
    )


@dataclass(frozen=True)
class _CandidateTotals:
    """The top-N candidates' running totals (`org_top_cum`), rows in the order of their key."""

    org_keys: np.ndarray  # each row's organisation key (`ORG_KEY_SQL`), ascending
    first_day: dt.date  # the day of the first column
    cum: np.ndarray  # organisations x days: downloads before each day from `first_day`


@per_version(maxsize=2)
def _candidate_totals(warehouse: Warehouse) -> _CandidateTotals:
    """`_CandidateTotals` of the current version, read once (a 2,000 x ~450 matrix)."""
    rows = warehouse._df(
        f"""
        SELECT k.org_key, c.first_day, c.cum FROM org_top_cum c
        JOIN (SELECT DISTINCT org AS grp, {ORG_KEY_SQL} AS org_key FROM ns_top_groups) k USING (grp)
        ORDER BY k.org_key
        """
    )
    if rows.empty:
        return _CandidateTotals(np.array([], dtype=object), dt.date.min, np.zeros((0, 0), dtype="int64"))
    return _CandidateTotals(
        org_keys=rows["org_key"].to_numpy(),
        first_day=rows["first_day"].iat[0].date(),
        cum=np.stack(rows["cum"].to_numpy()).astype("int64"),
    )


def _ranked_candidates(warehouse: Warehouse, f: Filters, spans: pd.DataFrame, places: int) -> pd.DataFrame:
    """period, org_key, downloads, rank: the `places` candidates with the most downloads (> 0) in each
    period of `spans` (ties by key). A view of every model reads them off the candidates' running totals;
    a filtered one sums the candidates' daily rows of the groups it keeps."""
    totals = _candidate_totals(warehouse) if f.every_model else None
    if totals is not None and len(spans) and len(totals.org_keys):
        before = (spans["first"] - pd.Timestamp(totals.first_day)).dt.days.to_numpy()
        after = (spans["last"] - pd.Timestamp(totals.first_day)).dt.days.to_numpy() + 1
        if before.min() >= 0 and after.max() < totals.cum.shape[1]:
            downloads = totals.cum[:, after] - totals.cum[:, before]  # organisations x periods
            return _top_of_columns(downloads, totals.org_keys, spans["period"].to_numpy(), places)
    where, params = warehouse._where(f, dated=False)
    start, end = warehouse._range(f)
    return warehouse._df(
        f"""
        WITH orgs AS (
            SELECT grp, org, {ORG_KEY_SQL} AS org_key, dense_rank() OVER (ORDER BY {ORG_KEY_SQL}) AS ordinal
            FROM ns_top_groups WHERE {where}
        ), per AS (
            SELECT date_trunc(?, n.day)::DATE AS period, o.org, sum(n.downloads)::BIGINT AS downloads
            FROM ns_top_day n JOIN orgs o USING (grp) WHERE n.day >= ? AND n.day <= ?
            GROUP BY ALL HAVING sum(n.downloads) > 0
        )
        SELECT p.period, k.org_key, p.downloads,
            row_number() OVER (PARTITION BY p.period ORDER BY p.downloads DESC, k.ordinal) AS rank
        FROM per p JOIN (SELECT DISTINCT org, org_key, ordinal FROM orgs) k USING (org)
        QUALIFY rank <= ?
        """,
        [*params, warehouse._period(f), start, end, places],
    )


def _top_of_columns(
    downloads: np.ndarray, keys: np.ndarray, periods: np.ndarray, places: int
) -> pd.DataFrame:
    """period, org_key, downloads, rank: the `places` rows with the most (positive) downloads in each column
    of `downloads` (rows in key order, so ties go to the lower row). Only the entries reaching each column's
    `places`-th value are sorted, not whole columns."""
    if len(downloads) > places:
        downloads_at_place = np.partition(downloads, len(downloads) - places, axis=0)[len(downloads) - places]
    else:
        downloads_at_place = np.zeros(downloads.shape[1], dtype=downloads.dtype)
    rows, columns = np.nonzero((downloads >= downloads_at_place) & (downloads > 0))
    values = downloads[rows, columns]
    order = np.lexsort((rows, -values, columns))
    rows, columns, values = rows[order], columns[order], values[order]
    firsts = np.searchsorted(columns, columns)  # where each column's entries start
    ranks = np.arange(len(columns)) - firsts + 1
    kept = ranks <= places
    return pd.DataFrame(
        {"period": periods[columns[kept]], "org_key": keys[rows[kept]], "downloads": values[kept],
         "rank": ranks[kept]}
    )  # fmt: skip


def _ranked_everyone(warehouse: Warehouse, f: Filters, spans: pd.DataFrame, places: int) -> pd.DataFrame:
    """period, org_key, downloads, rank: the `places` organisations with the most downloads (> 0) in each
    period of `spans`, ranked among every organisation (ties by key)."""
    where, params = warehouse._where(f, dated=False)
    view = replace(f, start=spans["first"].min().date(), end=spans["last"].max().date())
    source, source_params = _source(warehouse, view, "ns")
    sql = f"""
        WITH per AS (
            SELECT date_trunc(?, n.day)::DATE AS period, g.org_key, sum(n.downloads)::BIGINT AS downloads
            FROM {source} n JOIN (SELECT grp, {ORG_KEY_SQL} AS org_key FROM ns_groups WHERE {where}) g
                USING (grp)
            GROUP BY ALL HAVING sum(n.downloads) > 0
        )
        SELECT *, row_number() OVER (PARTITION BY period ORDER BY downloads DESC, org_key) AS rank
        FROM per WHERE list_contains(?::DATE[], period) QUALIFY rank <= ?
    """
    periods = [value.date() for value in spans["period"]]
    return warehouse._df(sql, [warehouse._period(f), *source_params, *params, periods, places])


def window_share(warehouse: Warehouse, f: Filters) -> pd.DataFrame:
    """country, downloads, share, models, coverage: each country group's downloads over the whole selected
    dates and its share of all of them; its models in the last snapshot of the dates; and the coverage of the
    dates (the share of their downloads whose country is known, an ISO code: the same on every row). The
    models are those of the snapshot holding the range's last day."""
    where, params = warehouse._where(f, dated=False)
    column = warehouse._country(f)
    group = warehouse._group(column)
    # The range's last day is held by the snapshot dated the day after (day-label rule).
    holding = replace(f, end=f.end + dt.timedelta(days=SNAPSHOT_DAY_OFFSET)) if f.end else f
    source, source_params = warehouse._rows("roll", *warehouse._range(f))
    downloads = warehouse._df(
        f"""
        SELECT {group} AS country, sum(downloads)::BIGINT AS downloads,
            coalesce(sum(downloads) FILTER (WHERE NOT list_contains(?::VARCHAR[], {column})), 0)::BIGINT
                AS known
        FROM {source} WHERE {where} GROUP BY ALL HAVING sum(downloads) <> 0 OR sum(baseline) <> 0
        """,
        [*warehouse._group_params(f), list(SPECIAL_COUNTRIES), *source_params, *params],
    )
    models = warehouse._df(
        f"SELECT {group} AS country, sum(models)::BIGINT AS models FROM roll_snap WHERE {where} AND date = ? "
        "GROUP BY ALL HAVING sum(models) <> 0",
        [*warehouse._group_params(f), *params, warehouse._last_date(holding)],
    )
    columns = ["country", "downloads", "share", "models", "coverage"]
    total = downloads["downloads"].sum()
    if not total:  # nothing downloaded in the dates: no share to give (an empty chart says so)
        return pd.DataFrame(columns=columns)
    frame = downloads.merge(models, on="country", how="outer")
    frame = frame.fillna({"downloads": 0, "known": 0, "models": 0})
    frame["share"] = frame["downloads"] / total
    frame["coverage"] = frame["known"].sum() / total
    frame = frame.astype({"downloads": "int64", "models": "int64"})
    return frame[columns]
