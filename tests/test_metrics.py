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


def test_crossover_is_the_start_of_a_lead_lasting_three_periods_after_being_behind():
    frame = series(
        [
            ("2025-01-01", "CN", 1), ("2025-01-01", "US", 50),
            ("2025-02-01", "CN", 60), ("2025-02-01", "US", 50),  # ahead one month, then behind again
            ("2025-03-01", "CN", 40), ("2025-03-01", "US", 50),
            ("2025-04-01", "CN", 70), ("2025-04-01", "US", 50),  # ahead three months from here
            ("2025-05-01", "CN", 80), ("2025-05-01", "US", 50),
            ("2025-06-01", "CN", 51), ("2025-06-01", "US", 50),  # 51 >= 1.02 * 50: still ahead
        ]
    )  # fmt: skip
    assert metrics.first_crossover(frame, "CN", "US") == dt.date(2025, 4, 1)
    assert metrics.first_crossover(frame, "US", "CN") is None  # US leads only in March after January


def test_a_near_tie_is_no_lead_and_a_lead_must_last_three_complete_periods():
    # 50.5 is 1% above 50, under the 2% margin: April is not a lead, so the run starts in May.
    near = series(
        [
            ("2025-03-01", "CN", 40), ("2025-03-01", "US", 50),
            ("2025-04-01", "CN", 50.5), ("2025-04-01", "US", 50),
            ("2025-05-01", "CN", 60), ("2025-05-01", "US", 50),
            ("2025-06-01", "CN", 60), ("2025-06-01", "US", 50),
            ("2025-07-01", "CN", 60), ("2025-07-01", "US", 50),
        ]
    )  # fmt: skip
    assert metrics.first_crossover(near, "CN", "US") == dt.date(2025, 5, 1)
    # The same lead with July incomplete: two complete periods ahead are not enough.
    partial = near.assign(complete=near["time"] < pd.Timestamp("2025-07-01"))
    assert metrics.first_crossover(partial, "CN", "US") is None


def test_no_crossover_when_always_ahead_or_never_ahead():
    rows = [(f"2025-0{m}-01", code, value) for m in range(1, 6) for code, value in (("CN", 9), ("US", 5))]
    always = series(rows)
    assert metrics.first_crossover(always, "CN", "US") is None  # ahead from the first period shown
    assert metrics.first_crossover(always, "US", "CN") is None
    assert metrics.first_crossover(always, "CN", "FR") is None


def test_period_coverage_counts_the_days_the_snapshots_cover():
    coverage, day = metrics.period_coverage, dt.date
    # December 2026 with snapshots up to the 3rd: 3 of 31 days. A week from Monday 30 Nov: 4 of 7 days.
    assert coverage(day(2026, 12, 1), "month", day(2025, 1, 1), day(2026, 12, 3)) == (3, 31)
    assert coverage(day(2026, 11, 30), "week", day(2026, 1, 1), day(2026, 12, 3)) == (4, 7)
    # A first month starting before the first snapshot (15 Feb 2025): 14 of 28 days.
    assert coverage(day(2025, 2, 1), "month", day(2025, 2, 15), day(2025, 9, 1)) == (14, 28)
    assert coverage(day(2025, 3, 1), "month", day(2025, 2, 15), day(2025, 9, 1)) == (31, 31)


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


def test_crossover_rule_adds_a_countrys_rows_and_counts_a_missing_country_as_zero():
    frame = series(
        [
            ("2025-01-01", "CN", 10), ("2025-01-01", "US", 50),
            ("2025-02-01", "FR", 5),  # neither CN nor US: 0 against 0 is no lead
            ("2025-03-01", "CN", 1),  # US missing, i.e. 0: 1 >= 1.02 * 0 and 1 > 0, CN ahead
            ("2025-04-01", "CN", 30), ("2025-04-01", "CN", 30), ("2025-04-01", "US", 50),  # 60 >= 51: ahead
            ("2025-05-01", "CN", 60), ("2025-05-01", "US", 50),
            ("2025-06-01", "CN", 40), ("2025-06-01", "US", 50),
        ]
    )  # fmt: skip
    # Ahead: Jan no, Feb no, Mar, Apr, May yes, Jun no: three periods from March after February.
    assert metrics.first_crossover(frame, "CN", "US") == dt.date(2025, 3, 1)


def test_crossover_rule_needs_a_period_behind_first_and_may_start_in_the_second_period():
    rows = [
        (f"2025-0{month}-01", code, value)
        for month, cn, us in ((1, 90, 50), (2, 90, 50), (3, 90, 50), (4, 40, 50), (5, 40, 50), (6, 40, 50))
        for code, value in (("CN", cn), ("US", us), ("FR", 1))
    ]
    frame = series(rows)
    assert metrics.first_crossover(frame, "CN", "US") is None  # ahead from January only, never passes again
    assert metrics.first_crossover(frame, "US", "CN") == dt.date(2025, 4, 1)  # behind Jan-Mar, ahead Apr-Jun
    assert metrics.first_crossover(frame, "FR", "US") is None  # never ahead in six periods
    # Behind in January, ahead February to April: the crossover is the second period shown.
    second = series(
        [
            ("2025-01-01", "CN", 40), ("2025-01-01", "US", 50),
            ("2025-02-01", "CN", 90), ("2025-02-01", "US", 50),
            ("2025-03-01", "CN", 90), ("2025-03-01", "US", 50),
            ("2025-04-01", "CN", 90), ("2025-04-01", "US", 50),
        ]
    )  # fmt: skip
    assert metrics.first_crossover(second, "CN", "US") == dt.date(2025, 2, 1)


def test_period_coverage_rule_is_zero_for_a_period_after_the_last_snapshot_day():
    # January 2027 with snapshots up to 3 Dec 2026: none of its 31 days is covered.
    day = dt.date
    assert metrics.period_coverage(day(2027, 1, 1), "month", day(2026, 1, 1), day(2026, 12, 3)) == (0, 31)
