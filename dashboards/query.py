"""The query API the pages and exports consume: small long-form DataFrames from the warehouse, per `Filters`.

Every method reads the current warehouse version read-only (`pipelines.warehouse`), so it never blocks or
is blocked by a refresh; when a refresh swaps in a new version, the next query opens it. Values from a view
are always bound as parameters; the only names put into SQL text come from the whitelists below.

Display groups in the `country` column: the view's selected codes, "Rest of world" (every other country and
international organisations) and "Unattributed" (unregistered organisations and individuals).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import pandas as pd

from dashboards import metrics
from dashboards.filters import (
    ATTRIBUTIONS,
    INTERNATIONAL_ONLINE_GROUP,
    PERIODS,
    REST_OF_WORLD,
    SCOPES,
    UNATTRIBUTED,
    Filters,
    grouped_codes,
)
from dashboards.search import search_terms, terms_condition
from pipelines.definitions import MOMENTUM_MONTHS, SNAPSHOT_DAY_OFFSET, last_counted_day
from pipelines.periods import add_months as _add_months
from pipelines.periods import next_month as _next_month
from pipelines.periods import period_end as _period_end
from pipelines.registry import SPECIAL_COUNTRIES, Registry
from pipelines.store import Store
from pipelines.warehouse import (
    FLAG_CLAMPED,
    ORG_KEY_SQL,
    POINTER,
    Version,
    WarehouseError,
    current_name,
    current_version,
    kept_versions,
    ram_counts_sql,
    ram_reference_curve_sql,
    refresh_for_readers,
    warehouse_root,
)
from pipelines.warehouse.partitions import connect as connect_version
from pipelines.warehouse.schema import (
    ANOMALIES,
    DIMS,
    MODELS,
    NS_DAY,
    NS_GROUPS,
    NS_MONTH_BOUND,
    ORG_TOP_CUM,
    ROLL_CUM,
    ROLL_DAY,
    ROLL_RELEASE,
    ROLL_SNAP,
    SNAPSHOTS,
    STATE,
)

log = logging.getLogger(__name__)
R = TypeVar("R")


@dataclass(frozen=True)
class _RunningTotals:
    """Unfiltered top-N in memory: `cum[i, d]` is candidate i's downloads before `first_day` + d days
    (rows in namespace order, `names` alike), `total[d]` everyone's; `bound` per month in `bound_months`."""

    first_day: dt.date
    names: pd.DataFrame
    cum: np.ndarray
    total: np.ndarray
    bound_months: np.ndarray
    bound: np.ndarray


def _identity(path: Path) -> tuple[int, int] | None:
    """(inode, mtime) of a file, None when it is missing."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


_COUNTRY_COLUMNS = {a: f"{a}_country" for a in ATTRIBUTIONS}
_SCOPE_CONDITION = {"all": "true", "first-party": "first_party", "atom": "atom"}
_TOP_CATEGORIES = 12
TOP_ORGANISATION_COLUMNS = [
    "namespace", "organization", "country", "downloads", "downloads_all_time", "growth", "n_models", "share"
]
OTHERS = "Others"
#: One model's row, as the Models page lists it and a model page shows it (`WHERE ...` follows).
_MODEL_ROW = f"""
    SELECT d.model_id, d.namespace, d.publisher_country, d.lineage_country,
        s.last_d30 AS downloads_30d, s.cum AS downloads_all_time
    FROM {DIMS} d JOIN {STATE} s USING (key)
"""


def concentration_sql(source: str, where: str) -> str:
    """SQL of period, hhi, gini per period over `source` (rows of day, grp, downloads) for the groups of
    `ns_groups` meeting `where`; binds the period, then `source`'s and `where`'s values.

    Built to scale to a daily year of every organisation (14M organisation-days): organisations are numbered
    once over the groups, so the big aggregation keys on integers rather than on a string made per row; and
    the Gini's rank sum is taken over each period's distinct values (a run of t equal values after `below`
    smaller ones holds ranks below+1..below+t, summing to t*below + t(t+1)/2), so only those are sorted, not
    every organisation: the same numbers as ranking each one (`metrics.gini`), at a fraction of the work."""
    return f"""
        WITH per AS (
            SELECT date_trunc(?, n.day)::DATE AS period, g.org, sum(n.downloads)::DOUBLE AS x
            FROM {source} n
            JOIN (
                SELECT grp, dense_rank() OVER (ORDER BY {ORG_KEY_SQL}) AS org FROM {NS_GROUPS} WHERE {where}
            ) g USING (grp)
            GROUP BY ALL HAVING sum(n.downloads) > 0
        ), tied AS (
            SELECT period, x, count(*) AS t FROM per GROUP BY period, x
        ), ranked AS (
            SELECT period, x, t, coalesce(sum(t) OVER (
                PARTITION BY period ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
            ), 0) AS below
            FROM tied
        )
        SELECT period, 10000 * sum(t * x * x) / sum(t * x) ^ 2 AS hhi,
            2 * sum(x * (t * below + t * (t + 1) / 2)) / (sum(t) * sum(t * x)) - (sum(t) + 1) / sum(t) AS gini
        FROM ranked GROUP BY period ORDER BY period
    """


def per_version(maxsize: int) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Keep `function(warehouse, *args)`'s results per warehouse version: several callbacks of one page ask
    the same question at once, and a refresh makes a new version, so a kept result is never out of date."""

    def decorate(function: Callable[..., R]) -> Callable[..., R]:
        @functools.lru_cache(maxsize=maxsize)
        def kept(warehouse: Warehouse, _version: str, *args: Any) -> R:
            return function(warehouse, *args)

        @functools.wraps(function)
        def per_current_version(warehouse: Warehouse, *args: Any) -> R:
            return kept(warehouse, warehouse.version.path.name, *args)

        return per_current_version

    return decorate


def open_warehouse(
    store: Store, registry: Registry | None = None, *, refresh_if_stale: bool = True
) -> Warehouse:
    """The warehouse of `store`, refreshed first by `pipelines.warehouse.refresh_for_readers` when snapshots
    or the registry changed since it was built (the app refreshes at its start itself; exports, tests and
    benchmarks open through here).

    With `refresh_if_stale=False` (or when the refresh fails, e.g. a read-only store) the current version is
    used as it is and a warning says why it is stale.
    """
    warehouse = Warehouse(store)
    warehouse.refresh_failure = refresh_for_readers(store, registry, refresh_if_stale=refresh_if_stale)
    return warehouse


class Warehouse:
    """Read-only queries over the current warehouse version of a store (safe to share across threads)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._version: Version | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._facts: list[str] = []
        self._span: tuple[dt.date, dt.date] | None = None
        self._totals: _RunningTotals | None = None
        self._pointer: tuple[int, int] | None = None
        #: (version served, error) when the refresh at opening failed; see `refresh_error`.
        self.refresh_failure: tuple[str | None, str] | None = None

    # -- plumbing -------------------------------------------------------------------------------------

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the current version (re-opened when a refresh swapped the pointer).

        A refresh replaces the pointer file by a rename, so while its inode and mtime stay the same it
        names the same version: a stat per query instead of reading and parsing it."""
        with self._lock:
            pointer = _identity(warehouse_root(self.store) / POINTER)
            if self._version is None or (
                pointer != self._pointer and current_name(self.store) != self._version.path.name
            ):
                latest = current_version(self.store)
                if latest is None:
                    raise WarehouseError(
                        f"no warehouse in {self.store.root}: run `python -m pipelines warehouse`"
                    )
                if self._con is not None:
                    self._con.close()
                self._con, served = self._connect_readable(latest)
                self._version = served
                self._facts = [str(f) for f in latest.facts_files()]
                self._span = None
                self._totals = None
            self._pointer = pointer
            return self._con.cursor()

    def _connect_readable(self, latest: Version) -> tuple[duckdb.DuckDBPyConnection, Version]:
        """A connection to `latest`, or, when its file cannot be read (corrupted after it was built), to the
        newest older version kept that can; the banner then says why (`refresh_error`)."""
        failure: duckdb.Error | None = None
        for version in [latest, *(v for v in kept_versions(self.store) if v.path != latest.path)]:
            try:
                con = connect_version(version.path)
                # GLOBAL: every cursor (a connection of its own) starts in UTC.
                con.execute("SET GLOBAL TimeZone = 'UTC'; SET enable_progress_bar = false")
                con.execute(f"SELECT count(*) FROM {SNAPSHOTS}").fetchone()
            except duckdb.Error as error:
                log.error("warehouse version %s cannot be read: %s", version.path.name, error)
                failure = failure or error
                continue
            if version is not latest:
                why = f"{type(failure).__name__}: {failure}"
                unreadable = f"the current version {latest.path.name} cannot be read ({why})"
                self.refresh_failure = (latest.path.name, unreadable)
            return con, version
        raise WarehouseError(f"no warehouse version in {self.store.root} can be read: {failure}")

    def _df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        return self._cursor().execute(sql, list(params)).df()

    @property
    def version(self) -> Version:
        self._cursor()
        assert self._version is not None
        return self._version

    def refresh_error(self) -> str | None:
        """Why the version served is older than the snapshots (its refresh failed), until a later refresh
        swaps in a new version."""
        if self.refresh_failure is None or current_name(self.store) != self.refresh_failure[0]:
            return None
        return self.refresh_failure[1]

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
            self._con, self._version = None, None

    # -- the view as SQL ------------------------------------------------------------------------------

    @staticmethod
    def _country(f: Filters) -> str:
        if f.attribution not in _COUNTRY_COLUMNS:
            raise ValueError(f"unknown attribution {f.attribution!r}; expected one of {ATTRIBUTIONS}")
        return _COUNTRY_COLUMNS[f.attribution]

    @staticmethod
    def _group(column: str) -> str:
        """SQL mapping a country column to display groups; binds `_group_params` (selected codes, codes
        grouped as International/Online, unattributed codes: `grouped_codes`)."""
        return (
            f"CASE WHEN list_contains(?::VARCHAR[], {column}) THEN {column} "
            f"WHEN list_contains(?::VARCHAR[], {column}) THEN '{INTERNATIONAL_ONLINE_GROUP}' "
            f"WHEN list_contains(?::VARCHAR[], {column}) THEN '{UNATTRIBUTED}' ELSE '{REST_OF_WORLD}' END"
        )

    @staticmethod
    def _group_params(f: Filters) -> list[Any]:
        online, unattributed = grouped_codes(f.individuals)
        return [list(f.countries), list(online), list(unattributed)]

    @staticmethod
    def _where(f: Filters, time_column: str | None = "day", *, dated: bool = True) -> tuple[str, list[Any]]:
        """WHERE clause over rollup dims for scope, task, size class and (optionally) the date range."""
        if f.scope not in SCOPES:
            raise ValueError(f"unknown scope {f.scope!r}; expected one of {SCOPES}")
        clauses, params = [_SCOPE_CONDITION[f.scope]], []
        if f.task:
            clauses.append("task = ?")
            params.append(f.task)
        if f.size_class:
            clauses.append("size_class = ?")
            params.append(f.size_class)
        if dated and time_column:
            if f.start:
                clauses.append(f"{time_column} >= ?")
                params.append(f.start)
            if f.end:
                clauses.append(f"{time_column} <= ?")
                params.append(f.end)
        return " AND ".join(clauses), params

    @staticmethod
    def _period(f: Filters) -> str:
        if f.period not in PERIODS:
            raise ValueError(f"unknown period {f.period!r}; expected one of {PERIODS}")
        return f.period

    def _rows(self, grain: str, start: dt.date, end: dt.date) -> tuple[str, list[Any]]:
        """A relation of rollup rows for [start, end] with a `day` column: whole months come from the
        monthly rollup (day = the month's first day), partial months at the edges from the daily one.
        `grain` is "roll" (country rollups) or "ns" (per organisation)."""
        daily, monthly = f"{grain}_day", f"{grain}_month"
        first_full = start if start.day == 1 else _next_month(start)
        after_full = (
            _next_month(end) if _next_month(end) == end + dt.timedelta(days=1) else end.replace(day=1)
        )
        if first_full >= after_full:
            return f"(SELECT * FROM {daily} WHERE day >= ? AND day <= ?)", [start, end]
        sql = f"""(
            SELECT * RENAME (month AS day) FROM {monthly} WHERE month >= ? AND month < ?
            UNION ALL BY NAME
            SELECT * FROM {daily} WHERE (day >= ? AND day < ?) OR (day >= ? AND day <= ?)
        )"""
        return sql, [first_full, after_full, start, first_full, after_full, end]

    @staticmethod
    def _changes(prefix: str, marks: tuple[dt.date, dt.date, dt.date]) -> tuple[str, list[Any]]:
        """Rows (grp, downloads, previous) summing, per group, to its downloads in [start, end) and in
        [previous start, start) for marks (end, start, previous start). Downloads before a day are a month's
        running total (`{prefix}_before`) plus the days of that month before it (`{prefix}_day`), so each
        range is two such totals apart: one pass over each table, with weights +1/-1 per mark."""
        months = [day.replace(day=1) for day in marks]
        in_month = "(day >= ? AND day < ?)"
        sql = f"""
            SELECT grp, downloads * ((month = ?)::INT - (month = ?)::INT) AS downloads,
                downloads * ((month = ?)::INT - (month = ?)::INT) AS previous
            FROM {prefix}_before WHERE month IN (?, ?, ?)
            UNION ALL
            SELECT grp, downloads * ({in_month}::INT - {in_month}::INT),
                downloads * ({in_month}::INT - {in_month}::INT)
            FROM {prefix}_day WHERE {in_month} OR {in_month} OR {in_month}
        """
        end, start, previous = ([month, day] for month, day in zip(months, marks, strict=True))
        params = [months[0], months[1], months[1], months[2], *months]
        params += [*end, *start, *start, *previous, *end, *start, *previous]
        return sql, params

    def _last_date(self, f: Filters) -> dt.date | None:
        """The latest snapshot date within the view."""
        row = (
            self._cursor()
            .execute(
                f"SELECT max(date) FROM {SNAPSHOTS} WHERE date <= coalesce(?::DATE, DATE '9999-12-31')",
                [f.end],
            )
            .fetchone()
        )
        return row[0] if row else None

    # -- series ---------------------------------------------------------------------------------------

    def downloads_by_country(self, f: Filters) -> pd.DataFrame:
        """period, country, downloads: downloads in each period (differences of all-time counts)."""
        where, params = self._where(f, dated=False)
        if self._period(f) == "month":
            source, source_params = self._rows("roll", *self._range(f))
        else:
            source, source_params = (
                f"(SELECT * FROM {ROLL_DAY} WHERE day >= ? AND day <= ?)",
                list(self._range(f)),
            )
        sql = f"""
            SELECT date_trunc(?, day)::DATE AS period, {self._group(self._country(f))} AS country,
                sum(downloads)::BIGINT AS downloads
            FROM {source} WHERE {where} GROUP BY ALL HAVING sum(downloads) > 0 ORDER BY period, country
        """
        return self._df(sql, [self._period(f), *self._group_params(f), *source_params, *params])

    def share_by_country(self, f: Filters) -> pd.DataFrame:
        """period, country, downloads, share (of all downloads in the view in that period)."""
        return metrics.with_share(self.downloads_by_country(f), by="period")

    def cumulative_by_country(self, f: Filters) -> pd.DataFrame:
        """date, country, downloads_all_time: cleaned cumulative downloads at each snapshot date (the days up
        to its last counted day, by the day-label rule)."""
        where, params = self._where(f, dated=False)
        sql = f"""
            WITH daily AS (
                SELECT day, {self._group(self._country(f))} AS country,
                    sum(downloads + baseline)::BIGINT AS added
                FROM {ROLL_DAY} WHERE {where} AND day <= coalesce(?::DATE, DATE '9999-12-31') GROUP BY ALL
                HAVING sum(downloads + baseline) <> 0  -- a group a model left sums to 0 (`corrections`)
            ), running AS (
                SELECT day, country, sum(added) OVER (PARTITION BY country ORDER BY day)::BIGINT AS total
                FROM daily
            ), grid AS (
                SELECT s.date, s.date - {SNAPSHOT_DAY_OFFSET:d} AS counted, c.country
                FROM {SNAPSHOTS} s, (SELECT DISTINCT country FROM daily) c
                WHERE s.date >= coalesce(?::DATE, DATE '0001-01-01')
                    AND s.date <= coalesce(?::DATE, DATE '9999-12-31')
                    -- no figure before the view's first all-time count (dates with 30-day counts only)
                    AND s.date - {SNAPSHOT_DAY_OFFSET:d} >= (SELECT min(day) FROM daily)
            )
            SELECT g.date, g.country, coalesce(r.total, 0)::BIGINT AS downloads_all_time
            FROM grid g ASOF LEFT JOIN running r ON g.country = r.country AND g.counted >= r.day
            ORDER BY g.date, g.country
        """
        return self._df(sql, [*self._group_params(f), *params, f.end, f.start, f.end])

    def downloads_30d_by_country(self, f: Filters) -> pd.DataFrame:
        """date, country, downloads_30d: the Hub's rolling 30-day counts, summed at each snapshot date."""
        where, params = self._where(f, "date")
        sql = f"""
            SELECT date, {self._group(self._country(f))} AS country, sum(d30)::BIGINT AS downloads_30d
            FROM {ROLL_SNAP} WHERE {where} GROUP BY ALL HAVING sum(models) <> 0 ORDER BY date, country
        """
        return self._df(sql, [*self._group_params(f), *params])

    def growth(self, f: Filters) -> pd.DataFrame:
        """period, country, downloads, growth (over the previous period; NaN when undefined)."""
        return metrics.with_growth(self.downloads_by_country(f), by="country", time="period")

    def momentum(self, f: Filters) -> pd.DataFrame:
        """period (month), country, downloads, new_release_downloads, momentum."""
        where, params = self._where(f, "month")
        sql = f"""
            SELECT month AS period, {self._group(self._country(f))} AS country,
                sum(downloads)::BIGINT AS downloads,
                sum(downloads) FILTER (WHERE release_month > month - INTERVAL (?) MONTH)::BIGINT
                    AS new_release_downloads
            FROM {ROLL_RELEASE} WHERE {where} GROUP BY ALL HAVING sum(downloads) > 0 ORDER BY period, country
        """
        frame = self._df(sql, [*self._group_params(f), MOMENTUM_MONTHS, *params])
        frame["new_release_downloads"] = frame["new_release_downloads"].fillna(0).astype("int64")
        frame["momentum"] = frame["new_release_downloads"] / frame["downloads"]
        return frame

    # -- breakdowns -----------------------------------------------------------------------------------

    def _breakdown(self, f: Filters, dimension: str, top: int | None) -> pd.DataFrame:
        where, params = self._where(f, dated=False)
        source, source_params = self._rows("roll", *self._range(f))
        sql = f"""
            SELECT coalesce({dimension}, 'unknown') AS {dimension},
                {self._group(self._country(f))} AS country,
                sum(downloads)::BIGINT AS downloads
            FROM {source} WHERE {where} GROUP BY ALL HAVING sum(downloads) > 0
        """
        frame = self._df(sql, [*self._group_params(f), *source_params, *params])
        if top is not None:
            frame = metrics.top_with_others(frame, dimension, top, others=OTHERS)
        return metrics.with_share(frame, by=dimension).sort_values([dimension, "country"], ignore_index=True)

    def size_by_country(self, f: Filters) -> pd.DataFrame:
        """size_class, country, downloads, share (within the size class); 'unknown' = no parameter count."""
        return self._breakdown(f, "size_class", None)

    def task_by_country(self, f: Filters) -> pd.DataFrame:
        """task, country, downloads, share (within the task); the top tasks, the rest as 'Others'."""
        return self._breakdown(f, "task", _TOP_CATEGORIES)

    def library_by_country(self, f: Filters) -> pd.DataFrame:
        """library, country, downloads, share (within the library); top libraries, the rest as 'Others'."""
        return self._breakdown(f, "library", _TOP_CATEGORIES)

    def top_organisations(self, f: Filters, n: int = 20, *, others: bool = False) -> pd.DataFrame:
        """namespace, organization, country, downloads, downloads_all_time, growth, n_models, share.

        Downloads in the view's date range; growth against the range of the same length just before it;
        share of all downloads in the view. `others=True` adds one last row summing every other organisation.
        """
        first, last = self._range(Filters())
        start, end = f.start or first, f.end or last
        if start > min(end, last) or end < first:  # no snapshot in the range: nobody downloaded anything
            return pd.DataFrame(columns=TOP_ORGANISATION_COLUMNS)
        day_after = end + dt.timedelta(days=1)
        if start.day == 1 and day_after.day == 1:  # whole months: compare with as many months before
            months = (day_after.year - start.year) * 12 + day_after.month - start.month
            previous_start = _add_months(start, -months)
        else:  # as many days before (a month so far is compared with as many days, not the whole month)
            previous_start = start - (day_after - start)
        # Nothing is counted after the last day the last snapshot holds (day-label rule), so a range reaching
        # it may end at a month boundary, which needs no daily rows.
        held = last_counted_day(last)
        after = _next_month(held) if end >= held else day_after
        marks = (after, start, previous_start)
        frame = None if others else self._top_among_candidates(f, n, marks)
        if frame is None:
            frame = self._ranked_organisations(f, n, marks, candidates=False, others=others)
        if previous_start < first:
            frame["previous"] = float("nan")  # the previous range is not covered by snapshots
        frame["growth"] = metrics.growth_ratio(frame["downloads"], frame["previous"])
        frame["share"] = (frame["downloads"] / frame["total"]).fillna(0.0)
        return frame[TOP_ORGANISATION_COLUMNS]

    def _top_among_candidates(
        self, f: Filters, n: int, marks: tuple[dt.date, dt.date, dt.date]
    ) -> pd.DataFrame | None:
        """Top `n` computed over the candidates only (`pipelines.warehouse.TOP_CANDIDATES` organisations
        with the most downloads in the store); None when that cannot be exact (the n-th of them does not beat
        an upper bound of every other organisation's downloads in the range: the sum, over the months the
        range touches, of the most any of them downloaded in the month)."""
        frame = self._top_unfiltered(n, marks) if f.every_model else None
        if frame is None:
            frame = self._ranked_organisations(f, n, marks, candidates=True, others=False)
        outside = int(frame["outside"].iat[0]) if len(frame) else None
        if outside != 0 and (len(frame) < n or frame["downloads"].iat[-1] <= (outside or 0)):
            return None
        return frame

    def _top_unfiltered(self, n: int, marks: tuple[dt.date, dt.date, dt.date]) -> pd.DataFrame | None:
        """`_ranked_organisations` over the candidates for an unfiltered view, from `_running_totals`: three
        columns of a matrix, no query. None when the range is not covered by them."""
        totals = self._running_totals()
        end, start = ((day - totals.first_day).days for day in marks[:2])
        if not 0 <= start <= end < totals.cum.shape[1]:
            return None
        previous = max((marks[2] - totals.first_day).days, 0)  # an earlier start is not shown anyway
        downloads = totals.cum[:, end] - totals.cum[:, start]
        rank = np.argsort(-downloads, kind="stable")[:n]  # rows are in namespace order: ties by name
        rank = rank[downloads[rank] > 0]
        touched = (totals.bound_months < np.datetime64(marks[0])) & (
            totals.bound_months > np.datetime64(_add_months(marks[1], -1))
        )
        frame = totals.names.iloc[rank].reset_index(drop=True)
        frame.insert(3, "downloads", downloads[rank])
        frame.insert(5, "previous", totals.cum[rank, start] - totals.cum[rank, previous])
        frame["total"] = int(totals.total[end] - totals.total[start])
        frame["outside"] = int(totals.bound[touched].sum())
        return frame

    def _running_totals(self) -> _RunningTotals:
        """The candidates' running totals (`org_top_cum`), all downloads' (`roll_cum`) and the monthly bound
        on the others (`ns_month_bound`), read once per warehouse version: a 2,000 x ~450 matrix."""
        cursor = self._cursor()
        with self._lock:
            if self._totals is not None:
                return self._totals
        columns = "namespace, organization, country, downloads_all_time, n_models"
        order = "ORDER BY namespace"
        names = self._frame(f"SELECT {columns} FROM {ORG_TOP_CUM} {order}", [])  # dtypes as from SQL paths
        rows = cursor.execute(f"SELECT first_day, cum FROM {ORG_TOP_CUM} {order}").df()
        total = cursor.execute(f"SELECT cum FROM {ROLL_CUM} ORDER BY day").fetchnumpy()["cum"]
        bound = cursor.execute(f"SELECT month, bound FROM {NS_MONTH_BOUND} ORDER BY month").fetchnumpy()
        totals = _RunningTotals(
            first_day=rows["first_day"].iat[0].date() if len(rows) else dt.date.min,
            names=names,
            cum=np.stack(rows["cum"].to_numpy()) if len(rows) else np.zeros((0, 0), dtype="int64"),
            total=np.asarray(total, dtype="int64"),
            bound_months=np.asarray(bound["month"], dtype="datetime64[D]"),
            bound=np.asarray(bound["bound"], dtype="int64"),
        )
        with self._lock:
            self._totals = totals
        return totals

    def _ranked_organisations(
        self, f: Filters, n: int, marks: tuple[dt.date, dt.date, dt.date], *, candidates: bool, others: bool
    ) -> pd.DataFrame:
        """namespace, organization, country, downloads, downloads_all_time, previous, n_models, total,
        outside: the top `n` organisations by downloads in [marks[1], marks[0]) with their downloads in the
        range before it (with `others`, one more row summing the rest); `total` is every organisation's
        downloads in the range. From every organisation group, or only from the candidates' groups (then
        `total` comes from the rollups and `outside` bounds any other organisation's downloads in the range).
        Organisations are summed under an integer key, their lowest group number: DuckDB aggregates integers
        several times faster than names, which are joined for the rows shown only."""
        where, params = self._where(f, dated=False)
        prefix = ("org_top" if f.every_model else "ns_top") if candidates else "ns"
        organisation = {
            "org_top": "grp",
            "ns_top": "org",
            "ns": f"min(grp) OVER (PARTITION BY {ORG_KEY_SQL})",
        }
        changes, change_params = self._changes(prefix, marks)
        if candidates:
            source, source_params = self._rows("roll", marks[1], marks[0] - dt.timedelta(days=1))
            total = f"(SELECT sum(downloads) FROM {source} WHERE {where})"
            outside = (
                f"(SELECT coalesce(sum(bound), 0) FROM {NS_MONTH_BOUND} "
                "WHERE month < ? AND month > ? - INTERVAL 1 MONTH)"
            )
            bound_params = [*source_params, *params, marks[0], marks[1]]
        else:
            total, outside, bound_params = "(SELECT sum(downloads) FROM ranked)", "0", []
        sql = f"""
            WITH groups AS (SELECT grp, {organisation[prefix]} AS org FROM {prefix}_groups WHERE {where}),
            changed AS (
                SELECT g.org, sum(r.downloads)::BIGINT AS downloads, sum(r.previous)::BIGINT AS previous
                FROM ({changes}) r JOIN groups g USING (grp) GROUP BY g.org
            ),
            ranked AS (
                SELECT c.*, o.namespace, row_number() OVER (ORDER BY c.downloads DESC, o.namespace) AS rank
                FROM changed c JOIN {prefix}_groups o ON o.grp = c.org WHERE c.downloads > 0
            ),
            kept AS (SELECT *, least(rank, ? + 1) AS row FROM ranked WHERE ? OR rank <= ?),
            info AS (
                SELECT g.org, sum(i.downloads_all_time)::BIGINT AS downloads_all_time,
                    sum(i.n_models)::INTEGER AS n_models, arg_min(i.organization, i.grp) AS organization,
                    arg_min(i.country, i.grp) AS country
                FROM groups g JOIN {prefix}_info i USING (grp)
                WHERE g.org IN (SELECT org FROM kept) GROUP BY g.org
            ),
            shown AS (
                SELECT k.row, if(k.row <= ?, any_value(k.namespace), ?) AS namespace,
                    if(k.row <= ?, any_value(i.organization), count(*) || ' other organisations')
                        AS organization,
                    if(k.row <= ?, any_value(i.country), NULL) AS country,
                    sum(k.downloads)::BIGINT AS downloads,
                    sum(i.downloads_all_time)::BIGINT AS downloads_all_time,
                    sum(k.previous)::BIGINT AS previous, sum(i.n_models)::INTEGER AS n_models
                FROM kept k JOIN info i USING (org) GROUP BY k.row
            )
            SELECT * EXCLUDE (row), {total} AS total, {outside} AS outside FROM shown ORDER BY row
        """
        shown = [n, others, n, n, OTHERS, n, n]
        return self._frame(sql, [*params, *change_params, *shown, *bound_params])

    def _frame(self, sql: str, params: list[Any]) -> pd.DataFrame:
        """A small result (tens of rows) as a DataFrame: from tuples, faster than through Arrow."""
        cursor = self._cursor().execute(sql, params)
        return pd.DataFrame(cursor.fetchall(), columns=[column[0] for column in cursor.description])

    def _range(self, f: Filters) -> tuple[dt.date, dt.date]:
        """The view's dates within the snapshots' (read once per version): nothing is counted outside them,
        so open or wider ends become the first and last snapshot; a range beside them comes out empty
        (start after end)."""
        self._cursor()
        if self._span is None:
            row = self._cursor().execute(f"SELECT min(date), max(date) FROM {SNAPSHOTS}").fetchone()
            if row is None or row[0] is None:
                raise WarehouseError("the warehouse has no snapshots")
            self._span = (row[0], row[1])
        first, last = self._span
        return max(f.start or first, first), min(f.end or last, last)

    # -- derivatives ----------------------------------------------------------------------------------

    def _derivative_where(self, f: Filters) -> tuple[str, list[Any]]:
        clauses, params = ["relation <> 'original'"], []
        if f.scope == "atom":
            clauses.append("root_atom")
        if f.task:
            clauses.append("task = ?")
            params.append(f.task)
        if f.size_class:
            clauses.append("size_class = ?")
            params.append(f.size_class)
        if f.start:
            clauses.append("created >= ?")
            params.append(f.start)
        if f.end:
            clauses.append("created <= ?")
            params.append(f.end)
        return " AND ".join(clauses), params

    def derivatives_by_country(self, f: Filters) -> pd.DataFrame:
        """period, country, relation, new_derivatives: derivatives created per period, by lineage country."""
        where, params = self._derivative_where(f)
        sql = f"""
            SELECT date_trunc(?, created)::DATE AS period, {self._group("lineage_country")} AS country,
                relation,
                count(*)::INTEGER AS new_derivatives
            FROM {DIMS} WHERE {where} GROUP BY ALL ORDER BY period, country, relation
        """
        return self._df(sql, [self._period(f), *self._group_params(f), *params])

    def top_base_models(self, f: Filters, n: int = 20) -> pd.DataFrame:
        """base_model (lineage root), country, derivatives: roots with the most derivatives in the view."""
        where, params = self._derivative_where(f)
        sql = f"""
            SELECT lineage_root AS base_model, any_value(lineage_country) AS country,
                count(*)::INTEGER AS derivatives
            FROM {DIMS} WHERE {where} GROUP BY lineage_root ORDER BY derivatives DESC, base_model LIMIT ?
        """
        return self._df(sql, [*params, n])

    # -- for metric modules of their own (dashboards.crossborder) ----------------------------------------

    def new_derivatives_where(self, f: Filters) -> tuple[str, list[Any]]:
        """The WHERE clause over `dims` (and its parameters) choosing the view's new derivatives: the rule
        the derivatives charts count by."""
        return self._derivative_where(f)

    def read(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """A read-only query over the current version's tables; callers bind every view value."""
        return self._df(sql, params)

    def facts_files(self) -> list[str]:
        """The current version's facts files (one row per model and snapshot date), for `read_parquet`."""
        self._cursor()
        return list(self._facts)

    # -- metrics --------------------------------------------------------------------------------------

    def concentration(self, f: Filters) -> pd.DataFrame:
        """period, hhi, gini: concentration of downloads across organisations (`ORG_KEY_SQL`) per period."""
        where, params = self._where(f, dated=False)
        start, end = self._range(f)
        return self._concentration(self._period(f), start, end, where, tuple(params)).copy()

    @per_version(maxsize=32)
    def _concentration(
        self, period: str, start: dt.date, end: dt.date, where: str, params: tuple[Any, ...]
    ) -> pd.DataFrame:
        """`concentration`, kept per version and for only what changes it: a daily year of every
        organisation takes seconds, and switching countries, scale or events must not redo it."""
        if period == "month":
            source, source_params = self._rows("ns", start, end)
        else:
            source, source_params = f"(SELECT * FROM {NS_DAY} WHERE day >= ? AND day <= ?)", [start, end]
        return self._df(concentration_sql(source, where), [period, *source_params, *params])

    def crossover(self, f: Filters, a: str = "CN", b: str = "US") -> pd.DataFrame:
        """measure, a, b, period: the first period A passes B for good (see definitions), per definition."""
        view = Filters(**{**f.__dict__, "countries": (a, b)})
        series = {
            "downloads_period": self.downloads_by_country(view).rename(columns={"period": "time"}),
            "cumulative": self.cumulative_by_country(view).rename(
                columns={"date": "time", "downloads_all_time": "downloads"}
            ),
            "downloads_30d": self.downloads_30d_by_country(view).rename(
                columns={"date": "time", "downloads_30d": "downloads"}
            ),
        }
        rows = [
            {"measure": name, "a": a, "b": b, "period": metrics.first_crossover(frame, a, b)}
            for name, frame in series.items()
        ]
        return pd.DataFrame(rows)

    def ram(self, model_id: str) -> pd.DataFrame:
        """Relative Adoption Metric v2 of one model at every age it has a count: age_days, date,
        downloads_all_time, reference, ram, size_class.

        The reference is its size class's reference curve at the same age (definitions: `ram_v2`, the running
        maximum of the RAM_REFERENCE_RANK-th highest count), from the warehouse's `ram_reference` table; NaN
        until some age has that many counts. Empty when the model has no size class or release date.
        """
        cursor = self._cursor()
        found = cursor.execute(
            f"SELECT key FROM {DIMS} WHERE model_id = ? AND size_class IS NOT NULL AND created IS NOT NULL",
            [model_id],
        ).fetchone()
        key = found[0] if found else -1
        facts = f"(SELECT * FROM read_parquet(?) WHERE key = {int(key):d})"
        sql = f"""
            SELECT c.age_days, (d.created + c.age_days)::DATE AS date, c.cum AS downloads_all_time,
                r.reference, c.size_class
            FROM ({ram_counts_sql(facts, DIMS)}) c
            JOIN {DIMS} d ON d.key = c.key
            LEFT JOIN ({ram_reference_curve_sql()}) r
                ON r.size_class = c.size_class AND r.age_days = c.age_days
            ORDER BY c.age_days
        """
        frame = cursor.execute(sql, [self._facts]).df()
        frame["ram"] = frame["downloads_all_time"] / frame["reference"].where(frame["reference"] > 0)
        columns = ["age_days", "date", "downloads_all_time", "reference", "ram", "size_class"]
        return frame[columns]

    def _covered(self, f: Filters) -> tuple[dt.date, dt.date] | None:
        """The first and last snapshot dates within the view (the days its periods count)."""
        sql = f"""
            SELECT min(date), max(date) FROM {SNAPSHOTS}
            WHERE date >= coalesce(?::DATE, DATE '0001-01-01')
                AND date <= coalesce(?::DATE, DATE '9999-12-31')
        """
        row = self._cursor().execute(sql, [f.start, f.end]).fetchone()
        return (row[0], row[1]) if row and row[0] is not None else None

    def with_complete(self, frame: pd.DataFrame, f: Filters) -> pd.DataFrame:
        """`frame` (with a `period` column of downloads per period) plus `complete`: whether the snapshots in
        the view cover every day of the period (definitions: `incomplete_period`)."""
        covered = self._covered(f)
        starts = pd.to_datetime(frame["period"]).dt.date
        complete = [
            covered is not None and len(set(metrics.period_coverage(start, f.period, *covered))) == 1
            for start in starts
        ]
        return frame.assign(complete=pd.Series(complete, index=frame.index, dtype=bool))

    def headline(self, f: Filters) -> dict[str, Any]:
        """Key figures of the view, from complete periods only: the latest complete period's shares and their
        change on the complete period before, the crossover (definitions: `crossover`), the leader."""
        shares = self.with_complete(self.share_by_country(f), f)
        out: dict[str, Any] = {"period": None, "shares": {}, "change": {}, "crossover": None, "leader": None}
        complete = sorted(shares.loc[shares["complete"], "period"].unique())
        out["previous"] = None
        if complete:
            latest = complete[-1]
            out["period"] = pd.Timestamp(latest).date()
            now = shares[shares["period"] == latest].set_index("country")["share"]
            previous = complete[-2] if len(complete) > 1 else None
            before = shares[shares["period"] == previous].set_index("country")["share"]
            for country in f.countries:
                out["shares"][country] = float(now.get(country, 0.0))
                if previous is not None:
                    out["change"][country] = float(now.get(country, 0.0) - before.get(country, 0.0))
            out["previous"] = None if previous is None else pd.Timestamp(previous).date()
        if len(f.countries) >= 2:
            # Only the per-period crossover is a headline; `crossover` would also read the cumulative and
            # 30-day series (three times the time of this whole method).
            a, b = f.countries[:2]
            periods = self.downloads_by_country(Filters(**{**f.__dict__, "countries": (a, b)}))
            periods = self.with_complete(periods, f)
            out["crossover"] = metrics.first_crossover(periods.rename(columns={"period": "time"}), a, b)
        if out["period"] is not None:
            last = Filters(
                **{**f.__dict__, "start": out["period"], "end": _period_end(out["period"], f.period)}
            )
            leaders = self.top_organisations(last, n=1)
            if not leaders.empty:
                top = leaders.iloc[0]
                out["leader"] = {
                    "namespace": top["namespace"],
                    "organization": top["organization"],
                    "country": top["country"],
                    "share": float(top["share"]),
                }
        out["synthetic"] = bool(self.snapshots()["synthetic"].any())
        out["coverage"] = self.coverage(f)
        return out

    def coverage(self, f: Filters) -> float:
        """Share of 30-day downloads (latest snapshot in the view) whose country in this view is known: an
        ISO code, as `pipelines.attribution.coverage` and the `coverage` definition say."""
        where, params = self._where(f, dated=False)
        column = self._country(f)
        sql = f"""
            SELECT sum(d30) FILTER (WHERE NOT list_contains(?::VARCHAR[], {column})) / nullif(sum(d30), 0)
            FROM {ROLL_SNAP} WHERE {where} AND date = ?
        """
        row = (
            self._cursor()
            .execute(sql, [list(SPECIAL_COUNTRIES), *params, self._last_date(f)])
            .fetchone()
        )
        return float(row[0]) if row and row[0] is not None else 0.0

    def flags(self, f: Filters) -> pd.DataFrame:
        """date, models, clamped, missing: per snapshot, how many counts were clamped or missing."""
        where, params = self._where(f, "date")
        sql = f"""
            SELECT date, sum(models)::BIGINT AS models, sum(clamped)::BIGINT AS clamped,
                sum(missing)::BIGINT AS missing
            FROM {ROLL_SNAP} WHERE {where} GROUP BY date ORDER BY date
        """
        return self._df(sql, params)

    # -- models and organisations ---------------------------------------------------------------------

    def model_history(self, model_id: str) -> pd.DataFrame:
        """date, downloads_all_time (cleaned), downloads (in the interval ending at date), span_days,
        downloads_30d, flag, reported (the raw all-time count where it was clamped)."""
        sql = f"""
            WITH k AS (SELECT key FROM {MODELS} WHERE model_id = ?)
            SELECT f.date, f.cum AS downloads_all_time, f.inc AS downloads, f.span AS span_days,
                f.d30 AS downloads_30d,
                CASE f.flag WHEN 0 THEN 'ok' WHEN {FLAG_CLAMPED} THEN 'clamped' WHEN 2 THEN 'missing'
                    WHEN 3 THEN 'baseline' ELSE 'new' END AS flag,
                a.reported
            FROM read_parquet(?) f JOIN k USING (key)
            LEFT JOIN {ANOMALIES} a ON a.key = f.key AND a.date = f.date
            ORDER BY f.date
        """
        cursor = self._cursor()
        return cursor.execute(sql, [model_id, self._facts]).df()

    def model_search(self, text: str, limit: int = 20) -> pd.DataFrame:
        """model_id, namespace, publisher_country, lineage_country, downloads_30d, downloads_all_time.

        Without a text (the Models page as it opens) only models at least as downloaded as the `limit`-th
        can be listed; saying so in SQL spares joining every model's names (20 ms instead of 100 on 300k
        models). With fewer counted models than `limit`, the general query also lists the uncounted ones.
        """
        return self.search_models(text, page=1, per_page=limit)[0]

    def search_models(self, text: str, page: int = 1, per_page: int = 200) -> tuple[pd.DataFrame, int]:
        """One page of the models matching `text` (`dashboards.search`: every word in the id, any order,
        ignoring case and separators), most downloaded (all-time) first, and how many match in all.

        The first page without words (the Models page as it opens) can only list models at least as
        downloaded as the `per_page`-th: saying so in SQL spares joining every model's names (20 ms instead
        of 100 on 300k models). With fewer counted models than that, the general query also lists the
        uncounted ones."""
        terms = search_terms(text)
        order = "ORDER BY s.cum DESC NULLS LAST, d.model_id LIMIT ? OFFSET ?"
        offset = (max(page, 1) - 1) * per_page
        if not terms:
            total = self._count_models("true", [])
            if offset == 0 and per_page > 0:
                bound = f"SELECT cum FROM {STATE} WHERE cum IS NOT NULL ORDER BY cum DESC LIMIT 1 OFFSET ?"
                params = [per_page - 1, per_page, 0]
                most = self._df(f"{_MODEL_ROW} WHERE s.cum >= ({bound}) {order}", params)
                if len(most) == per_page:
                    return most, total
        condition, params = terms_condition(terms, "d.model_id")
        found = self._df(
            f"SELECT *, count(*) OVER () AS total FROM ({_MODEL_ROW} WHERE {condition}) "
            "ORDER BY downloads_all_time DESC NULLS LAST, model_id LIMIT ? OFFSET ?",
            [*params, per_page, offset],
        )
        if terms:
            total = int(found["total"].iloc[0]) if len(found) else self._count_models(condition, params)
        return found.drop(columns="total"), total

    def _count_models(self, condition: str, params: list[Any]) -> int:
        """How many models meet `condition` (for a page past the last one, which holds no row to say it)."""
        sql = f"SELECT count(*) FROM ({_MODEL_ROW} WHERE {condition})"
        return int(self._cursor().execute(sql, params).fetchone()[0])

    def model_row(self, model_id: str) -> pd.Series | None:
        """The `model_search` row of one model, by id: the id as the Hub writes it, else the one id equal to
        it but for case (Hub ids are unique regardless of case); None when the store has no such model.
        Searching would miss a model whose more-downloaded siblings contain its id (`acme-ai/m` and 60 x
        `acme-ai/m-v*`)."""
        found = self._df(
            f"{_MODEL_ROW} WHERE lower(d.model_id) = lower(?) "
            "ORDER BY d.model_id = ? DESC, d.model_id LIMIT 1",
            [model_id, model_id],
        )
        return found.iloc[0] if len(found) else None

    def organisation(self, namespace: str) -> dict[str, pd.DataFrame]:
        """The organisation `namespace` belongs to, all its namespaces together (renamed namespaces share one
        registry `organization`): 'namespaces', 'models' (its models), 'series' (its monthly downloads) and
        'derivatives' (others' models built on its roots, by relation and publisher country)."""
        namespaces = self._df(
            f"""
            SELECT DISTINCT namespace FROM {NS_GROUPS} WHERE {ORG_KEY_SQL} IN (
                SELECT {ORG_KEY_SQL} FROM {NS_GROUPS} WHERE lower(namespace) = lower(?)
            ) ORDER BY lower(namespace)
            """,
            [namespace],
        )
        mine = [name.lower() for name in namespaces["namespace"]] or [namespace.lower()]
        models = self._df(
            f"""
            SELECT d.model_id, d.task, d.size_class, d.relation, d.created, s.cum AS downloads_all_time,
                s.last_d30 AS downloads_30d
            FROM {DIMS} d JOIN {STATE} s USING (key) WHERE list_contains(?::VARCHAR[], lower(d.namespace))
            ORDER BY s.cum DESC NULLS LAST, d.model_id
            """,
            [mine],
        )
        series = self._df(
            f"""
            SELECT date_trunc('month', n.day)::DATE AS period, sum(n.downloads)::BIGINT AS downloads
            FROM {NS_DAY} n JOIN {NS_GROUPS} g USING (grp)
            WHERE list_contains(?::VARCHAR[], lower(g.namespace))
            GROUP BY ALL ORDER BY period
            """,
            [mine],
        )
        derivatives = self._df(
            f"""
            SELECT d.relation, d.publisher_country, count(*)::INTEGER AS models
            FROM {DIMS} d JOIN {DIMS} r ON r.model_id = d.lineage_root
            WHERE list_contains(?::VARCHAR[], lower(r.namespace))
                AND NOT list_contains(?::VARCHAR[], lower(d.namespace))
            GROUP BY ALL ORDER BY models DESC
            """,
            [mine, mine],
        )
        return {"namespaces": namespaces, "models": models, "series": series, "derivatives": derivatives}

    def snapshots(self) -> pd.DataFrame:
        """date, rows, source_kind, synthetic, source (JSON), provenance (JSON summary)."""
        return self._df(f"SELECT * FROM {SNAPSHOTS} ORDER BY date")

    def measures(self) -> frozenset[str]:
        """The download counts the store holds: `downloads_all_time` and/or `downloads_30d`. A history of
        30-day counts only has no all-time counts, so no chart computed from them can be drawn."""
        sql = f"SELECT coalesce(sum(models - missing), 0), count(d30) FROM {ROLL_SNAP}"
        all_time, thirty_day = self._cursor().execute(sql).fetchone() or (0, 0)
        counts = {"downloads_all_time": all_time, "downloads_30d": thirty_day}
        return frozenset(name for name, present in counts.items() if present)

    def tasks(self) -> list[str]:
        """Pipeline tags present, most downloaded first (for the task filter)."""
        frame = self._df(
            f"SELECT task FROM {ROLL_DAY} WHERE task IS NOT NULL GROUP BY task "
            "HAVING sum(downloads) <> 0 OR sum(baseline) <> 0 ORDER BY sum(downloads) DESC, task"
        )
        return frame["task"].tolist()

    def path(self) -> Path:
        return self.version.path

    def lineage_chain(self, model_id: str, max_depth: int = 64) -> pd.DataFrame:
        """depth, model_id, relation, namespace, organization, country, in_store: the model, its first
        listed parent, that one's, ... up to the root (the rules of `pipelines.lineage`).

        `relation` is how each step derives from the next one ('original' for the root). Parents in the
        store come from `dims`; a parent outside it ends the walk, followed by the model's lineage root
        (at its depth) when the store's parent cache went further. Outside models take their namespace's
        organisation and country from the store's models of that namespace; the root always carries the
        model's lineage country. A repeat (a cycle) or `max_depth` steps end the walk. Empty when the
        model is not in the store.
        """
        return self._df(LINEAGE_CHAIN_SQL, [model_id, max_depth, model_id])


#: `Warehouse.lineage_chain` over `dims` (params: model id, max depth, model id); tested against
#: `pipelines.lineage.trace_lineage` with hypothesis.
LINEAGE_CHAIN_SQL = f"""
    WITH RECURSIVE chain AS (
        SELECT 0 AS depth, model_id, base_model, [model_id] AS path FROM {DIMS} WHERE model_id = ?
        UNION ALL
        SELECT c.depth + 1, d.model_id, d.base_model, list_append(c.path, d.model_id)
        FROM chain c JOIN {DIMS} d ON d.model_id = c.base_model
        WHERE NOT list_contains(c.path, d.model_id) AND c.depth < ?
    ), start AS (
        SELECT lineage_root, lineage_country, lineage_depth FROM {DIMS} WHERE model_id = ?
    ), outside AS (
        SELECT depth + 1 AS depth, base_model AS model_id FROM chain
        WHERE depth = (SELECT max(depth) FROM chain)
            AND base_model NOT IN (SELECT model_id FROM {DIMS})
        UNION
        SELECT lineage_depth, lineage_root FROM start
        WHERE lineage_root NOT IN (SELECT model_id FROM chain)
    ), nodes AS (
        SELECT depth, model_id,
            CASE WHEN contains(model_id, '/') THEN split_part(model_id, '/', 1) ELSE '' END AS owner
        FROM (SELECT depth, model_id FROM chain UNION ALL SELECT depth, model_id FROM outside)
    ), owners AS (
        SELECT lower(namespace) AS owner, any_value(organization) AS organization,
            any_value(publisher_country) AS country
        FROM {DIMS} WHERE lower(namespace) IN (SELECT lower(owner) FROM nodes) GROUP BY 1
    )
    SELECT n.depth::INTEGER AS depth, n.model_id,
        coalesce(d.relation, CASE WHEN n.model_id = s.lineage_root THEN 'original' END) AS relation,
        coalesce(d.namespace, n.owner) AS namespace,
        coalesce(d.organization, o.organization) AS organization,
        CASE WHEN d.model_id IS NOT NULL THEN d.publisher_country
            WHEN n.model_id = s.lineage_root THEN s.lineage_country ELSE o.country END AS country,
        d.model_id IS NOT NULL AS in_store
    FROM nodes n CROSS JOIN start s
    LEFT JOIN {DIMS} d ON d.model_id = n.model_id
    LEFT JOIN owners o ON o.owner = lower(n.owner)
    ORDER BY n.depth
"""
