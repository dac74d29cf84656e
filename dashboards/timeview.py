"""The time options of a view that need the store: date presets resolved against the store's last counted
day, and the rolling average of daily series (rules and their text: `pipelines.definitions`,
`preset_dates` and `rolling_average`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import TYPE_CHECKING

import pandas as pd

from dashboards.filters import Filters
from dashboards.query import per_version
from pipelines.definitions import last_counted_day, measure, preset_dates, rolling_average

if TYPE_CHECKING:
    from dashboards.query import Warehouse

#: Charts whose daily series may be drawn as a rolling average (their value column).
ROLLING_CHARTS: dict[str, str] = {"downloads-by-country": "downloads"}


@per_version(maxsize=8)
def last_counted(warehouse: Warehouse) -> dt.date | None:
    """The last day the store's newest snapshot counts (None for a store without snapshots)."""
    dates = warehouse.snapshots()["date"]
    return last_counted_day(pd.Timestamp(dates.max()).date()) if len(dates) else None


def resolve_preset(filters: Filters, last_day: dt.date | None) -> Filters:
    """The view with its preset's dates filled in (a store without snapshots: all dates)."""
    if not filters.preset:
        return filters
    start, end = preset_dates(filters.preset, last_day) if last_day else (None, None)
    return replace(filters, start=start, end=end)


def rolling_applies(chart_id: str, filters: Filters) -> bool:
    """Whether this chart, in this view, is drawn as a rolling average (daily views of `ROLLING_CHARTS`)."""
    return chart_id in ROLLING_CHARTS and filters.period == "day" and filters.rolling > 0


def widened(filters: Filters) -> Filters:
    """The view with the days before its start that the first days' averages need."""
    if filters.start is None:
        return filters
    return replace(filters, start=filters.start - dt.timedelta(days=filters.rolling - 1))


def rolled(frame: pd.DataFrame, filters: Filters, value: str, group: str = "country") -> pd.DataFrame:
    """A daily long-form `frame` (`period`, `group`, `value`), read with `widened(filters)`, as its rolling
    average over the view's dates: one row per group and day from the view's start (or the first day with
    a whole window), days counted from the frame's first day to its last."""
    if frame.empty:
        return frame
    days = pd.to_datetime(frame["period"]).dt.date
    first, last = days.min(), days.max()
    rows = []
    for name, part in frame.groupby(group, sort=False):
        daily = dict(zip(days[part.index], part[value], strict=True))
        for day, mean in rolling_average(daily, first, last, filters.rolling).items():
            if filters.start is None or day >= filters.start:
                rows.append({"period": day, group: name, value: mean})
    out = pd.DataFrame(rows, columns=["period", group, value])
    out["period"] = pd.to_datetime(out["period"]).astype(frame["period"].dtype)
    return out.sort_values(["period", group], kind="stable").reset_index(drop=True)


def rolling_note(filters: Filters) -> str:
    """The subtitle's sentence for a chart drawn as a rolling average."""
    return f"{filters.rolling}-day rolling average: {measure('rolling_average').definition}"
