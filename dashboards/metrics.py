"""Small metrics over long-form result frames: shares, growth, top-N with others, crossover.

The warehouse does the heavy aggregation; these functions finish a query's small result the same way for
every chart, so a share or a crossover means one thing everywhere (definitions in `pipelines.definitions`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd


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


def first_crossover(frame: pd.DataFrame, a: str, b: str, time: str = "time", value: str = "downloads"):
    """The first time A passes B for good enough: start of a run of A > B lasting two periods (or reaching
    the latest one) after a period with A <= B. None when A never passes B (or was always ahead)."""
    wide = frame.pivot_table(index=time, columns="country", values=value, aggfunc="sum").sort_index()
    if a not in wide or b not in wide:
        return None
    ahead = (wide[a].fillna(0) > wide[b].fillna(0)).to_numpy()
    times = list(wide.index)
    for i in range(1, len(ahead)):
        if ahead[i] and not ahead[i - 1]:
            lasts = i + 1 == len(ahead) or bool(ahead[i + 1])
            if lasts:
                return _as_date(times[i])
    return None


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
