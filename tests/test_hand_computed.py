"""Daily, weekly and monthly downloads from real-shaped snapshots, against a hand computation.

Real public histories are monthly-ish dumps: snapshots 18-47 days apart, models missing from some of them,
new models without a creation date. The expected numbers below are worked out by hand from the documented
rules (gap, clamping, first-seen, missing values; `pipelines.definitions`), never from the code.

Day-label rule: a snapshot dated D holds the downloads up to the end of day D-1, so the growth between
snapshots P and D belongs to the d = D - P days P..D-1. Gap rule, per model: a growth G over those days gives
day i (1..d; day 1 is P) floor(i*G/d) - floor((i-1)*G/d); so days a..b of a gap get
floor(b*G/d) - floor((a-1)*G/d) in all.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from dashboards.filters import Filters
from dashboards.query import Warehouse, open_warehouse
from pipelines.registry import load_registry
from pipelines.store import Store
from tests.attribution_data import write_registry
from tests.snapshots import model, write_snapshot

OLD = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
S1, S2, S3, S4, S5 = (dt.date(2025, 1, 6), dt.date(2025, 2, 5), dt.date(2025, 3, 15), dt.date(2025, 4, 2),
                      dt.date(2025, 5, 19))  # fmt: skip
# Gaps: S1->S2 30 days, S2->S3 38, S3->S4 18, S4->S5 47.


def row(model_id: str, all_time: int, created: dt.datetime | None = OLD) -> dict:
    return model(model_id, downloads=10, downloads_all_time=all_time, created_at=created)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Warehouse:
    root: Path = tmp_path_factory.mktemp("hand")
    store = Store(root / "store")
    registry = load_registry(
        write_registry(root / "orgs.csv", ["Qwen,Alibaba Cloud (Qwen team),CN,china,company,https://qwen.ai,"]),
        override=None,
    )
    # A: an old model in every snapshot. B: missing from S2 and S3 (86 days between its counts), then a
    # decrease. C and D: new models without a creation date (C from S3, gone at S5; D from S4).
    snapshots = {
        S1: [row("Qwen/A", 1000), row("Qwen/B", 500)],
        S2: [row("Qwen/A", 1310)],
        S3: [row("Qwen/A", 1690), row("Qwen/C", 900, None)],
        S4: [row("Qwen/A", 1700), row("Qwen/B", 1230), row("Qwen/C", 1000, None), row("Qwen/D", 50, None)],
        S5: [row("Qwen/A", 2170), row("Qwen/B", 1200), row("Qwen/D", 97, None)],
    }
    for date, rows in snapshots.items():
        write_snapshot(store, date, rows)
    return open_warehouse(store, registry)


def series(warehouse: Warehouse, period: str) -> dict[dt.date, int]:
    frame = warehouse.downloads_by_country(Filters(period=period, countries=("CN", "US")))
    frame = frame[frame["country"] == "CN"]
    return {pd.Timestamp(p).date(): int(d) for p, d in zip(frame["period"], frame["downloads"], strict=True)}


def test_monthly_downloads_equal_the_hand_computation(warehouse):
    # A, S1->S2 (G=310, d=30; Jan 6..31 are i=1..26): Jan floor(26*310/30)=floor(268.7)=268, Feb 1..4 42.
    # A, S2->S3 (G=380, d=38: 10 a day): Feb 5..28 = 24 days 240, Mar 1..14 = 14 days 140.
    # A, S3->S4 (G=10, d=18; Mar 15..31 are i=1..17): Mar floor(170/18)=9, Apr 1 10-9=1.
    # A, S4->S5 (G=470, d=47: 10 a day): Apr 2..30 = 29 days 290, May 1..18 = 18 days 180.
    # B, S1->S4 (G=1230-500=730, d=86, Jan 6..Apr 1): Jan (i<=26) floor(18980/86)=floor(220.7)=220;
    #   Feb (i<=54) floor(39420/86)=458, 458-220=238; Mar (i<=85) floor(62050/86)=721, 721-458=263;
    #   Apr 1 730-721=9. At S5 it reports 1200 < 1230: clamped, 0.
    # C: 900 at S3 is history (no creation date); S3->S4 (G=100, d=18): Mar floor(1700/18)=94, Apr 1 6.
    # D: 50 at S4 is history; S4->S5 (G=47, d=47: 1 a day): Apr 2..30 29, May 1..18 18.
    assert series(warehouse, "month") == {
        dt.date(2025, 1, 1): 268 + 220,  # 488
        dt.date(2025, 2, 1): 42 + 240 + 238,  # 520
        dt.date(2025, 3, 1): 140 + 9 + 263 + 94,  # 506
        dt.date(2025, 4, 1): 1 + 290 + 9 + 6 + 29,  # 335
        dt.date(2025, 5, 1): 180 + 18,  # 198
    }


def test_weekly_and_daily_downloads_equal_the_hand_computation(warehouse):
    weeks = series(warehouse, "week")
    # Week of Mon 10 Mar: A Mar 10..14 at 10 a day = 50, Mar 15..16 (S3->S4 i=1..2) floor(20/18)=1;
    # B Mar 10..16 are i=64..70: floor(70*730/86) - floor(63*730/86) = floor(594.2) - floor(534.8) = 60;
    # C Mar 15..16 (i=1..2): floor(200/18)=11.
    assert weeks[dt.date(2025, 3, 10)] == 50 + 1 + 60 + 11  # 122
    # Week of Mon 31 Mar: A Mar 31..Apr 1 are i=17..18 of G=10, d=18: 10 - floor(160/18) = 10-8 = 2,
    # Apr 2..6 at 10 a day = 50; B i=85..86: 730 - floor(84*730/86) = 730 - floor(713.0) = 17;
    # C i=17..18: 100 - floor(1600/18) = 100-88 = 12; D Apr 2..6: 5.
    assert weeks[dt.date(2025, 3, 31)] == 2 + 50 + 17 + 12 + 5  # 86
    assert sum(weeks.values()) == 488 + 520 + 506 + 335 + 198  # nothing invented, nothing lost: 2047
    days = series(warehouse, "day")
    # Mar 16: A i=2: floor(20/18) - floor(10/18) = 1; B i=70: floor(51100/86) - floor(50370/86) = 594-585
    # = 9; C i=2: floor(200/18) - floor(100/18) = 11-5 = 6.
    assert days[dt.date(2025, 3, 16)] == 1 + 9 + 6
    # Apr 1, the last day S4 holds: A i=18: 10 - floor(170/18) = 1; B i=86: 730 - floor(62050/86) = 9;
    # C i=18: 100 - floor(1700/18) = 6. Apr 2, S4's own date, is the first day of the next gaps: A 10, D 1.
    assert (days[dt.date(2025, 4, 1)], days[dt.date(2025, 4, 2)]) == (1 + 9 + 6, 10 + 1)
    assert days[dt.date(2025, 5, 18)] == 10 + 1  # A and D, whole downloads a day
    assert min(days) == S1 and max(days) == S5 - dt.timedelta(days=1)  # S5 holds up to May 18


def test_cumulative_downloads_are_first_counts_plus_the_spread_growth(warehouse):
    frame = warehouse.cumulative_by_country(Filters(countries=("CN", "US")))
    frame = frame[frame["country"] == "CN"]
    pairs = zip(frame["date"], frame["downloads_all_time"], strict=True)
    got = {pd.Timestamp(d).date(): int(v) for d, v in pairs}
    # S3 holds up to Mar 14: first counts A 1000 + B 500 + C 900 = 2400; A's growth 310 + 380 = 690; B's
    # first 68 days of its 86 (Jan 6..Mar 14): floor(68*730/86) = floor(577.2) = 577.
    assert got[S3] == 2400 + 690 + 577
    # S5: first counts 1000 + 500 + 900 + 50 = 2450, plus all growth 2047 (A 1170, B 730, C 100, D 47):
    # the cleaned counts A 2170 + B 1230 (its decrease not subtracted) + C 1000 (kept after it left) + D 97.
    assert got[S5] == 2450 + 2047 == 2170 + 1230 + 1000 + 97
