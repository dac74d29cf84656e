"""Daily, weekly and monthly downloads from real-shaped snapshots, against a hand computation.

Real public histories are monthly-ish dumps: snapshots 18-47 days apart, models missing from some of them,
new models without a creation date. The expected numbers below are worked out by hand from the documented
rules (gap, clamping, first-seen, missing values; `pipelines.definitions`), never from the code.

Gap rule, per model: a growth D over a gap of d days gives day i (1..d, the days after the earlier snapshot
up to and including the later one) floor(i*D/d) - floor((i-1)*D/d); so days a..b of a gap get
floor(b*D/d) - floor((a-1)*D/d) in all.
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
    # A, gap S1->S2 (D=310, d=30; Jan 7..31 are i=1..25): Jan floor(25*310/30)=258, Feb 310-258=52.
    # A, gap S2->S3 (D=380, d=38: 10 a day): Feb 6..28 = 23 days 230, Mar 1..15 = 15 days 150.
    # A, gap S3->S4 (D=10, d=18; Mar 16..31 are i=1..16): Mar floor(160/18)=8, Apr 10-8=2.
    # A, gap S4->S5 (D=470, d=47: 10 a day): Apr 3..30 = 28 days 280, May 1..19 = 19 days 190.
    # B, S1->S4 (D=1230-500=730, d=86): Jan (i<=25) floor(25*730/86)=floor(212.2)=212;
    #   Feb (i<=53) floor(38690/86)=449, 449-212=237; Mar (i<=84) floor(61320/86)=713, 713-449=264;
    #   Apr 730-713=17. At S5 it reports 1200 < 1230: clamped, 0.
    # C: 900 at S3 is history (no creation date); S3->S4 (D=100, d=18): Mar floor(1600/18)=88, Apr 12.
    # D: 50 at S4 is history; S4->S5 (D=47, d=47: 1 a day): Apr 28, May 19.
    assert series(warehouse, "month") == {
        dt.date(2025, 1, 1): 258 + 212,  # 470
        dt.date(2025, 2, 1): 52 + 230 + 237,  # 519
        dt.date(2025, 3, 1): 150 + 8 + 264 + 88,  # 510
        dt.date(2025, 4, 1): 2 + 280 + 17 + 12 + 28,  # 339
        dt.date(2025, 5, 1): 190 + 19,  # 209
    }


def test_weekly_and_daily_downloads_equal_the_hand_computation(warehouse):
    weeks = series(warehouse, "week")
    # Week of Mon 10 Mar: A Mar 10..15 at 10 a day = 60, Mar 16 (S3->S4 i=1) floor(10/18)=0;
    # B Mar 10..16 are i=63..69: floor(69*730/86) - floor(62*730/86) = floor(585.7) - floor(526.3) = 59;
    # C Mar 16 (i=1): floor(100/18)=5.
    assert weeks[dt.date(2025, 3, 10)] == 60 + 0 + 59 + 5  # 124
    # Week of Mon 31 Mar: A Mar 31..Apr 2 are i=16..18 of D=10, d=18: 10 - floor(150/18) = 10-8 = 2,
    # Apr 3..6 at 10 a day = 40; B i=84..86: 730 - floor(83*730/86) = 730 - floor(704.5) = 26;
    # C i=16..18: 100 - floor(1500/18) = 100-83 = 17; D Apr 3..6: 4.
    assert weeks[dt.date(2025, 3, 31)] == 2 + 40 + 26 + 17 + 4  # 89
    assert sum(weeks.values()) == 470 + 519 + 510 + 339 + 209  # nothing invented, nothing lost: 2047
    days = series(warehouse, "day")
    # Mar 16: A 0; B i=69: floor(50370/86) - floor(49640/86) = 585-577 = 8; C i=1: 5.
    assert days[dt.date(2025, 3, 16)] == 0 + 8 + 5
    # Apr 2 (S4): A i=18: 10 - floor(170/18) = 10-9 = 1; B i=86: 730 - floor(62050/86) = 730-721 = 9;
    # C i=18: 100 - floor(1700/18) = 100-94 = 6.
    assert days[dt.date(2025, 4, 2)] == 1 + 9 + 6
    assert days[dt.date(2025, 5, 19)] == 10 + 1  # A and D, whole downloads a day
    assert dt.date(2025, 1, 6) not in days  # S1: every count is history


def test_cumulative_downloads_are_first_counts_plus_the_spread_growth(warehouse):
    frame = warehouse.cumulative_by_country(Filters(countries=("CN", "US")))
    frame = frame[frame["country"] == "CN"]
    pairs = zip(frame["date"], frame["downloads_all_time"], strict=True)
    got = {pd.Timestamp(d).date(): int(v) for d, v in pairs}
    # S3: first counts A 1000 + B 500 + C 900 = 2400; A's growth 310 + 380 = 690; B's first 68 days of its
    # 86: floor(68*730/86) = floor(577.2) = 577.
    assert got[S3] == 2400 + 690 + 577
    # S5: first counts 1000 + 500 + 900 + 50 = 2450, plus all growth 2047 (A 1170, B 730, C 100, D 47):
    # the cleaned counts A 2170 + B 1230 (its decrease not subtracted) + C 1000 (kept after it left) + D 97.
    assert got[S5] == 2450 + 2047 == 2170 + 1230 + 1000 + 97
