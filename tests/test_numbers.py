"""One way to write a number: counts exact with separators in every table and fact, shares as percentages;
and the leaderboard says why its Growth column is empty."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from dashboards.components import column_defs
from dashboards.filters import Filters
from dashboards.numbers import count, grid_formatter
from dashboards.pages.organisations import COLUMNS, growth_note


def formatter_of(defs: list[dict], field: str) -> str:
    return next(d["valueFormatter"]["function"] for d in defs if d["field"] == field)


def test_chart_tables_write_counts_exactly_and_shares_as_percentages():
    frame = pd.DataFrame(
        {
            "country": ["CN"],
            "downloads": np.array([28311142], dtype="int64"),
            "downloads_float": [28311142.0],  # a count that went through a float column stays exact
            "share": [0.53],
            "value": [2095.4106],
        }
    )
    defs = column_defs(frame)
    assert "d3.format(',.0f')" in formatter_of(defs, "downloads")  # 28,311,142, not 28,310,000
    assert "d3.format(',.0f')" in formatter_of(defs, "downloads_float")
    assert "d3.format('.1%')" in formatter_of(defs, "share")
    assert "d3.format(',.4~f')" in formatter_of(defs, "value")
    assert all("~r" not in d.get("valueFormatter", {}).get("function", "") for d in defs)


def test_the_leaderboard_and_the_chart_tables_share_the_count_format():
    leaderboard = {c["field"]: c.get("valueFormatter") for c in COLUMNS}
    assert leaderboard["downloads"] == grid_formatter("count") == leaderboard["downloads_all_time"]
    assert leaderboard["share"] == grid_formatter("share")


def test_facts_are_exact_and_missing_is_a_dash_not_zero():
    assert count(28311142) == "28,311,142"
    assert count(np.int64(15814939)) == "15,814,939"
    assert count(15814939.0) == "15,814,939"
    assert count(None) == count(pd.NA) == count(float("nan")) == "–"


def test_an_empty_growth_column_says_why():
    frame = pd.DataFrame({"namespace": ["Qwen", "google"], "growth": [np.nan, np.nan]})
    note = growth_note(frame, Filters())
    assert "as many days" in note and "Choose a start date" in note
    assert "later start date" in growth_note(frame, Filters(start=dt.date(2024, 1, 2)))
    assert growth_note(frame.assign(growth=[0.25, np.nan]), Filters()) == ""
    columns = {c["field"]: c for c in COLUMNS}
    assert "as many days" in columns["growth"]["headerTooltip"]
