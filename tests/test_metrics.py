"""Metric helpers on small frames with answers worked out by hand."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from dashboards import metrics


def series(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["time", "country", "downloads"]).assign(
        time=lambda f: pd.to_datetime(f["time"])
    )


def test_crossover_is_the_start_of_a_lasting_lead_after_being_behind():
    frame = series(
        [
            ("2025-01-01", "CN", 1), ("2025-01-01", "US", 5),
            ("2025-02-01", "CN", 6), ("2025-02-01", "US", 5),  # one month ahead, then behind again
            ("2025-03-01", "CN", 4), ("2025-03-01", "US", 5),
            ("2025-04-01", "CN", 7), ("2025-04-01", "US", 5),  # ahead for good from here
            ("2025-05-01", "CN", 8), ("2025-05-01", "US", 5),
        ]
    )  # fmt: skip
    assert metrics.first_crossover(frame, "CN", "US") == dt.date(2025, 4, 1)
    assert metrics.first_crossover(frame, "US", "CN") is None  # back ahead in March for one month only


def test_no_crossover_when_always_ahead_or_never_ahead_and_a_last_period_lead_counts():
    always = series(
        [("2025-01-01", "CN", 9), ("2025-01-01", "US", 5), ("2025-02-01", "CN", 9), ("2025-02-01", "US", 5)]
    )
    assert metrics.first_crossover(always, "CN", "US") is None
    assert metrics.first_crossover(always, "US", "CN") is None
    latest = series(
        [("2025-01-01", "CN", 1), ("2025-01-01", "US", 5), ("2025-02-01", "CN", 9), ("2025-02-01", "US", 5)]
    )
    assert metrics.first_crossover(latest, "CN", "US") == dt.date(2025, 2, 1)
    assert metrics.first_crossover(latest, "CN", "FR") is None


def test_gini_and_hhi():
    assert metrics.gini([5, 5, 5, 5]) == pytest.approx(0.0)
    assert metrics.gini([0, 0, 0, 10]) == pytest.approx(0.0)  # zeros are left out: one organisation, equal
    assert metrics.gini([1, 3]) == pytest.approx(0.25)  # 2*(1*1+2*3)/(2*4) - 3/2
    assert math.isnan(metrics.gini([]))
    assert metrics.hhi([1, 1]) == pytest.approx(5000.0)
    assert metrics.hhi([10]) == pytest.approx(10000.0)


def test_growth_is_undefined_after_a_zero_or_missing_period():
    frame = pd.DataFrame(
        {
            "period": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-01-01", "2025-03-01"]),
            "country": ["CN", "CN", "CN", "US", "US"],
            "downloads": [100, 150, 75, 10, 20],
        }
    )
    grown = metrics.with_growth(frame, by="country", time="period").set_index(["country", "period"])["growth"]
    assert grown["CN"].tolist()[1:] == pytest.approx([0.5, -0.5])
    assert math.isnan(grown["CN"].iloc[0])
    assert math.isnan(grown[("US", pd.Timestamp("2025-03-01"))])  # February missing -> undefined


def test_shares_and_top_n_with_others():
    frame = pd.DataFrame(
        {
            "task": ["a", "a", "b", "c", "d"],
            "country": ["CN", "US", "CN", "CN", "US"],
            "downloads": [6, 2, 5, 1, 1],
        }
    )
    top = metrics.top_with_others(frame, "task", 2, others="Others")
    assert top.groupby("task")["downloads"].sum().to_dict() == {"a": 8, "b": 5, "Others": 2}
    shared = metrics.with_share(top, by="task")
    assert shared[shared["task"] == "a"].set_index("country")["share"].to_dict() == {"CN": 0.75, "US": 0.25}
