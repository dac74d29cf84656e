"""End to end on a real-shaped history: the monthly CSV files of tests/realshaped.py (one organisation, 12
models, 19 snapshots 18-47 days apart, Qwen2-7B-Instruct missing for 61 days, Qwen2.5-Coder-7B and QwQ-32B
without createdAt, a recount, four snapshots with 30-day counts only) imported with one command, then every
monthly, weekly and daily figure and every cumulative count the dashboard's queries give compared with an
independent computation written here from the documented rules (pipelines/definitions.py, README "Metrics and
definitions"). The computation reads only the fixture's tables: it never calls `definitions.spread`,
`model_facts` or the warehouse.

The rules, as documented, that the loop below follows:
- Missing values: a model's all-time counts are the ones its files report; a snapshot without one (30-day-only
  files: 2024-01-01, 2024-02-01, 2024-03-01, 2024-10-04; the model absent) is skipped, and the next count is
  differenced against the last reported one.
- Clamping: growth = max(0, later - earlier); after a decrease the lower count is the reference.
- Day-label: a snapshot dated D holds the downloads up to the end of D-1, so the growth between counts dated
  P and D goes on the n = D - P days P..D-1, and a first count on day D-1.
- Gap, per model: day i (1..n; day 1 is P) gets floor(i*G/n) - floor((i-1)*G/n). With G = q*n + r that is
  q + floor(i*r/n) - floor((i-1)*r/n): every day gets q, and the k-th of the r leftover downloads (k = 1..r)
  lands on day ceil(k*n/r), the first day i with i*r/n >= k. So the leftovers are evenly spaced and the last
  day always gets one. The loop places them that way (not through the floor formula).
- First-seen: a model's first count is a baseline (cumulative only, in no period) unless the model was created
  after the store's previous snapshot date; then it is growth spread from its creation day to D-1.
- Cumulative at a snapshot dated D: the running sum, up to day D-1, of the daily downloads plus first counts.
"""

from __future__ import annotations

import datetime as dt
import itertools
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from dashboards.filters import Filters
from dashboards.query import Warehouse, open_warehouse
from pipelines.store import Store
from tests import realshaped

ROOT = Path(__file__).resolve().parent.parent
DAY = dt.timedelta(days=1)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def spread_by_hand(growth: int, first_day: dt.date, days: int) -> dict[dt.date, int]:
    """`growth` over the `days` days from `first_day`: q a day, the k-th leftover on day ceil(k*days/r)."""
    quotient, leftover = divmod(growth, days)
    out = {first_day + index * DAY: quotient for index in range(days)}
    for k in range(1, leftover + 1):
        out[first_day + (ceil_div(k * days, leftover) - 1) * DAY] += 1
    return out


def counts_with_all_time(model: str) -> list[tuple[int, int]]:
    """(snapshot index, reported all-time count) of a model, where its file reports one."""
    return [
        (index, count)
        for index, count in enumerate(realshaped.ALL_TIME[model])
        if count is not None and index not in realshaped.THIRTY_DAY_ONLY
    ]


def by_hand() -> tuple[dict[dt.date, int], dict[dt.date, int]]:
    """(downloads per day, first counts per day) of all models, from the fixture's tables alone."""
    daily: dict[dt.date, int] = defaultdict(int)
    baselines: dict[dt.date, int] = defaultdict(int)
    for model in realshaped.ALL_TIME:
        counts = counts_with_all_time(model)
        first_index, first_count = counts[0]
        first_date = realshaped.DATES[first_index]
        created = realshaped.CREATED[model]
        previous_snapshot = realshaped.DATES[first_index - 1] if first_index else None
        if created and previous_snapshot and dt.date.fromisoformat(created[:10]) > previous_snapshot:
            created_day = dt.date.fromisoformat(created[:10])
            days = (first_date - created_day).days  # creation day .. first_date - 1
            for day, value in spread_by_hand(first_count, created_day, days).items():
                daily[day] += value
        else:
            baselines[first_date - DAY] += first_count
        for (earlier_index, earlier), (later_index, later) in itertools.pairwise(counts):
            start, end = realshaped.DATES[earlier_index], realshaped.DATES[later_index]
            for day, value in spread_by_hand(max(0, later - earlier), start, (end - start).days).items():
                daily[day] += value
    return dict(daily), dict(baselines)


def totals(daily: dict[dt.date, int], period_start) -> dict[dt.date, int]:
    out: dict[dt.date, int] = defaultdict(int)
    for day, value in daily.items():
        out[period_start(day)] += value
    return {period: value for period, value in out.items() if value > 0}


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def week_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())  # ISO weeks start on Monday


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Warehouse:
    root: Path = tmp_path_factory.mktemp("realshaped")
    folder = realshaped.write_history(root / "qwen-tracker" / "data")
    store = root / "store"
    command = [sys.executable, "-m", "pipelines", "backfill", "--source", str(folder), "--store", str(store)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("backfill: imported 19 snapshot(s), 161 rows")
    return open_warehouse(Store(store))


def series(warehouse: Warehouse, period: str) -> dict[dt.date, int]:
    frame = warehouse.downloads_by_country(Filters(period=period, countries=("CN", "US")))
    assert set(frame["country"]) == {"CN"}  # Qwen is CN in the registry; nothing else is in the store
    return {pd.Timestamp(p).date(): int(d) for p, d in zip(frame["period"], frame["downloads"], strict=True)}


def test_the_hand_loop_agrees_with_figures_worked_out_on_paper():
    """The loop itself against figures worked out by hand (so that it is not merely the code's twin)."""
    daily, baselines = by_hand()
    # Qwen2-7B-Instruct: 89500 on 2024-06-04, absent on 06-24 and 07-15, 120000 on 2024-08-04: G = 30500 over
    # n = 61 days (Jun 4..Aug 3: 27 + 31 + 3), 500 a day, no leftover. Qwen2-0.5B, 06-04 -> 06-24 (n = 20):
    # 57500 - 51500 = 6000, 300 a day; -> 07-15 (n = 21): 6300, 300 a day; -> 08-04 (n = 20): 6000, 300.
    # Likewise 1.5B 200 a day (4000/20), 7B 1000, 72B 50, 57B-A14B 40. So 2024-07-01 (inside the absence):
    assert daily[dt.date(2024, 7, 1)] == 500 + 300 + 200 + 1000 + 50 + 40  # 2090
    # Spread with a leftover: Qwen2-1.5B 2024-09-09 -> 2024-11-17 (2024-10-04 has no all-time count), n = 69,
    # G = 72200 - 58400 = 13800 = 200*69 exactly. QwQ-32B, 2024-12-18 -> 2025-01-06, n = 19,
    # G = 28500 = 1500*19. Qwen2.5-Coder-7B, 2024-11-17 -> 2024-12-18, n = 31, G = 25900 - 4200 = 21700
    # = 700*31. Qwen2-0.5B recounts down, 101300 -> 100600 on 2024-12-18: clamped to 0 on Nov 17..Dec 17,
    # then 2024-12-18 -> 2025-01-06 (n = 19): 106300 - 100600 = 5700, 300 a day.
    # Leftovers: 2024-08-04 -> 2024-09-09 (n = 36, Aug 4..Sep 8) gives 72B 15611 - 13800 = 1811 = 50*36 + 11
    # and 57B-A14B 8491 - 7040 = 1451 = 40*36 + 11; the others divide exactly (0.5B 10800, 1.5B 7200,
    # 7B 36000, 7B-Instruct 18000: 300, 200, 1000, 500 a day). Each model's 11 leftovers go on days
    # ceil(k*36/11), k = 1..11: 4, 7, 10, 14, 17, 20, 23, 27, 30, 33, 36. Floor formula for 72B, day 4
    # (Aug 7): floor(4*1811/36) - floor(3*1811/36) = 201 - 150 = 51; day 2 (Aug 5): 100 - 50 = 50.
    assert daily[dt.date(2024, 8, 5)] == 2090  # day 2: no leftover of either model
    assert daily[dt.date(2024, 8, 7)] == 2090 + 1 + 1  # day 4: one leftover of each
    # (Spreading the two models' summed 3262 = 90*36 + 22 instead would put a leftover on day
    # ceil(36/22) = 2, Aug 5: 2091, not the documented per-model 2090.)
    # A small case of the placement: G = 10, n = 4: q = 2, r = 2, leftovers on days ceil(4/2) = 2 and
    # ceil(8/2) = 4; the floor formula: day 1 floor(10/4) = 2, day 2 floor(20/4) - 2 = 3, day 3
    # floor(30/4) - 5 = 2, day 4 10 - 7 = 3.
    assert list(spread_by_hand(10, dt.date(2025, 1, 1), 4).values()) == [2, 3, 2, 3]
    # First counts without createdAt are baselines on the day before their snapshot: Qwen2.5-Coder-7B 4200
    # on 2024-11-16, QwQ-32B 30000 on 2024-12-17. The Qwen2.5 models (created 2024-09-18) are first counted
    # on 2024-11-17, but the store's previous snapshot, 2024-10-04 (30-day counts only), is after their
    # creation: baselines too (12800 + ... are not in the files; 48000 + 120000 + 36000 + 54000 = 258000).
    assert baselines[dt.date(2024, 11, 16)] == 4200 + 258000
    assert baselines[dt.date(2024, 12, 17)] == 30000
    # The originals' first all-time counts are on 2024-03-19 (the three earlier files have 30-day counts
    # only): 28400 + 23600 + 98000 + 51000 + 6900 + 1520 = 209420, on 2024-03-18.
    assert baselines[dt.date(2024, 3, 18)] == 209420
    assert len(baselines) == 3


def test_every_monthly_figure_equals_the_hand_computation(warehouse):
    daily, _ = by_hand()
    got = series(warehouse, "month")
    assert got == totals(daily, month_of)
    # July 2024 by hand: every original is inside a gap whose days all carry the same amount (see the
    # figures above: 0.5B 300, 1.5B 200, 7B 1000, 7B-Instruct 500, 72B 50, 57B-A14B 40 a day): 2090 * 31.
    assert got[dt.date(2024, 7, 1)] == 2090 * 31 == 64790
    # The first month with downloads is March 2024 (Mar 19..31, days 1..13 of 2024-03-19 -> 2024-05-05,
    # n = 47): 0.5B 14100/47 = 300, 1.5B 9400/47 = 200, 7B 47000/47 = 1000, 7B-Instruct 23500/47 = 500 a
    # day, 2000 * 13 = 26000; 72B 9263 - 6900 = 2363: floor(13*2363/47) = floor(653.6) = 653;
    # 57B-A14B 3401 - 1520 = 1881: floor(13*1881/47) = floor(520.3) = 520.
    assert min(got) == dt.date(2024, 3, 1) and got[dt.date(2024, 3, 1)] == 26000 + 653 + 520 == 27173
    # Nothing invented, nothing lost: the months add up to the growth of every model from its first count,
    # the 0.5B's recount (700) not subtracted: last counts 2739710 - first counts 209420 - 262200 - 30000
    # + 700.
    assert sum(got.values()) == 2_739_710 - 209_420 - 262_200 - 30_000 + 700 == 2_238_790


def test_every_weekly_and_daily_figure_equals_the_hand_computation(warehouse):
    daily, _ = by_hand()
    weeks = series(warehouse, "week")
    assert weeks == totals(daily, week_of)
    days = series(warehouse, "day")
    assert days == {day: value for day, value in daily.items() if value > 0}
    # A day across the 61-day absence, written out above: 2090 on 2024-07-01, 7B-Instruct's 500 included.
    assert days[dt.date(2024, 7, 1)] == 2090
    # The week of Monday 2024-07-01 (Jul 1..7) lies in the same gaps: 7 * 2090.
    assert weeks[dt.date(2024, 7, 1)] == 14630
    # The week of Monday 2024-08-05 is days 2..8 of the 36-day gap: 72B floor(8*1811/36) - floor(1811/36)
    # = 402 - 50 = 352, 57B-A14B floor(8*1451/36) - floor(1451/36) = 322 - 40 = 282 (their leftovers on
    # days 4 and 7), the others 2000 * 7.
    assert weeks[dt.date(2024, 8, 5)] == 14000 + 352 + 282 == 14634
    assert (days[dt.date(2024, 8, 5)], days[dt.date(2024, 8, 7)]) == (2090, 2092)
    # The last day the store holds is the day before its last snapshot (2025-06-13); the first, its first
    # all-time count's date.
    assert min(days) == dt.date(2024, 3, 19) and max(days) == dt.date(2025, 6, 12)


def test_every_cumulative_count_equals_the_hand_computation(warehouse):
    daily, baselines = by_hand()
    frame = warehouse.cumulative_by_country(Filters(countries=("CN", "US")))
    pairs = zip(frame["date"], frame["downloads_all_time"], strict=True)
    got = {pd.Timestamp(d).date(): int(v) for d, v in pairs}
    # The cleaned all-time counts summed at each snapshot date; a date before any all-time count (the three
    # first files hold 30-day counts only) has no such sum: the documented cumulative "starts above zero".
    first_counted_day = min(baselines)
    expected = {
        date: sum(v for day, v in [*daily.items(), *baselines.items()] if day <= date - DAY)
        for date in realshaped.DATES
        if date - DAY >= first_counted_day
    }
    assert got == expected
    # The first: the originals' first counts (209420, see above) on 2024-03-19. 2024-10-04 (30-day counts
    # only) is inside the gaps 2024-09-09 -> 2024-11-17 and carries their days up to Oct 3.
    assert min(got) == dt.date(2024, 3, 19) and got[dt.date(2024, 3, 19)] == 209_420
    # At the last snapshot: the sum of its reported counts (2739710, see test_backfill_tables) plus the
    # 0.5B's 700 that its recount took away (the cleaned count never goes down).
    assert got[realshaped.DATES[-1]] == 2_739_710 + 700
