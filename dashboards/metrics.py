"""Small metrics over long-form result frames: shares, growth, top-N with others, crossover.

The warehouse does the heavy aggregation; these functions finish a query's small result the same way for
every chart, so a share or a crossover means one thing everywhere (definitions in `pipelines.definitions`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from pipelines.definitions import CROSSOVER_MARGIN, CROSSOVER_PERIODS
from pipelines.periods import period_end


def with_share(frame: pd.DataFrame, by: str, value: str = "downloads") -> pd.DataFrame:
    """Add `share`: each row's `value` over the total of its `by` group (0 when the group total is 0)."""
    totals = frame.groupby(by)[value].transform("sum")
    out = frame.copy()
    out["share"] = (frame[value] / totals.where(totals != 0)).fillna(0.0)
    return out


def growth_ratio(current: pd.Series, previous: pd.Series) -> pd.Series:
    """current / previous - 1; NaN where the previous value is missing or zero (growth undefined)."""
    previous = previous.astype("float64")
    return current.astype("float64") / previous.where(previous > 0) - 1.0


def with_growth(frame: pd.DataFrame, by: str, time: str, value: str = "downloads") -> pd.DataFrame:
    """Add `growth`: period-over-period change within each `by` group (NaN for a group's first period).

    A period missing for a group counts as zero, so growth right after a gap is undefined, not inflated.
    """
    wide = frame.pivot_table(index=time, columns=by, values=value, aggfunc="sum", fill_value=0).sort_index()
    growth = growth_ratio(wide.stack(), wide.shift(1).stack()).rename("growth")
    out = frame.merge(growth.reset_index(), on=[time, by], how="left")
    return out.sort_values([time, by], ignore_index=True)


def top_with_others(frame: pd.DataFrame, dimension: str, n: int, others: str, value: str = "downloads"):
    """Keep the `n` values of `dimension` with the largest total; fold the rest into one `others` value."""
    totals = frame.groupby(dimension)[value].sum().sort_values(ascending=False, kind="stable")
    keep = set(totals.index[:n])
    folded = frame.assign(**{dimension: frame[dimension].where(frame[dimension].isin(keep), others)})
    keys = [c for c in folded.columns if c != value]
    return folded.groupby(keys, as_index=False, dropna=False)[value].sum()


def first_crossover(
    frame: pd.DataFrame, a: str, b: str, time: str = "time", value: str = "downloads"
) -> dt.date | None:
    """The crossover (definitions: `crossover`): the first period of a run of CROSSOVER_PERIODS or more with
    A ahead of B by CROSSOVER_MARGIN, after a period without A ahead. With a `complete` column only complete
    periods count. None when A never passes B in the frame (or leads from its first period)."""
    if "complete" in frame.columns:
        frame = frame[frame["complete"].astype(bool)]
    wide = frame.pivot_table(index=time, columns="country", values=value, aggfunc="sum").sort_index()
    if a not in wide or b not in wide:
        return None
    ahead = (wide[a].fillna(0) >= (1 + CROSSOVER_MARGIN) * wide[b].fillna(0)) & (wide[a].fillna(0) > 0)
    flags, times = ahead.to_numpy(), list(wide.index)
    for i in range(1, len(flags) - CROSSOVER_PERIODS + 1):
        if not flags[i - 1] and flags[i : i + CROSSOVER_PERIODS].all():
            return _as_date(times[i])
    return None


def period_coverage(start: dt.date, period: str, first: dt.date, last: dt.date) -> tuple[int, int]:
    """(days of the period within [first, last], days of the period): a period is complete when the two
    are equal (definitions: `incomplete_period`)."""
    end = period_end(start, period)
    covered = (min(end, last) - max(start, first)).days + 1
    return max(covered, 0), (end - start).days + 1


def gini(values: np.ndarray | pd.Series) -> float:
    """Gini coefficient of positive values (0 = equal, towards 1 = concentrated); NaN when empty."""
    x = np.sort(np.asarray(values, dtype="float64"))
    x = x[x > 0]
    if x.size == 0:
        return float("nan")
    ranks = np.arange(1, x.size + 1)
    return float(2 * np.sum(ranks * x) / (x.size * x.sum()) - (x.size + 1) / x.size)


def hhi(values: np.ndarray | pd.Series) -> float:
    """Herfindahl-Hirschman index of the shares of `values`, on the 0-10,000 scale."""
    x = np.asarray(values, dtype="float64")
    total = x.sum()
    return float(np.sum((100 * x / total) ** 2)) if total > 0 else float("nan")


def _as_date(value: object) -> dt.date:
    return pd.Timestamp(value).date()
