"""Organisations compared, the leader vs the next N, shares over a window and the International/Online
grouping, on a hand-made store whose expected numbers are worked out below by hand (never from the code).

Snapshots on the 1st of January, February, March and April 2025. Day-label rule: the growth between the
snapshots of 1 Jan and 1 Feb lies on 1..31 Jan, and so on, so each month's downloads are the difference of the
all-time counts of the snapshots on its first day and on the next month's. Models created before the store
(2024) have their first count as a baseline (in cumulative downloads, in no month); models created between
two snapshots have their first count in the month they were created (first-seen rule).

All-time counts at (1 Jan, 1 Feb, 1 Mar, 1 Apr), and so downloads in (Jan, Feb, Mar):
    Qwen/Q1            1000 1600 2500 3000   Jan 600  Feb 900  Mar 500    CN (Alibaba Cloud (Qwen team))
    Qwen/Q2             200  300  500  600       100      200      100    CN
    Qwen/Q1-AWQ           -    -   30   60         -       30       30    CN, created 20 Feb, base Qwen/Q1
    meta-llama/L1      2000 2400 2700 2900       400      300      200    US (Meta)
    deepseek-ai/D1      100  700 1000 1800       600      300      800    CN (DeepSeek)
    mistralai/M1        500  600  650  700       100       50       50    FR (Mistral AI)
    bigcode/SC          300  400  500  600       100      100      100    INTL (BigCode: no single country)
    unsloth/Q1-GGUF       -    -  400  600         -      400      200    US (Unsloth AI), created 10 Feb; Q1
    alice/Q1-ft           -   50  150  170        50      100       20    INDIVIDUAL, created 15 Jan, base Q1
    carol/L1-ft           -    -    -   10         -        -       10    INDIVIDUAL, created 5 Mar, base L1
    acme-labs/X         100  150  200  250        50       50       50    UNATTRIBUTED_ORG (unregistered)
Month totals: Jan 600+100+400+600+100+100+50+50 = 2000; Feb 900+200+30+300+300+50+100+400+100+50 = 2430;
Mar 500+100+30+200+800+50+100+200+20+10+50 = 2060; in all 6490.
"""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboards.__main__ import main as dashboards_main
from dashboards.charts import chart_ids, render_chart
from dashboards.colors import display_group
from dashboards.comparison import (
    check_orgs,
    leader_vs_next,
    organisation_cumulative,
    organisation_derivatives,
    organisation_downloads,
    organisation_releases,
    resolve_organisations,
    window_share,
)
from dashboards.filters import INDIVIDUAL, INTERNATIONAL, UNATTRIBUTED_ORG, Filters
from dashboards.query import Warehouse, open_warehouse
from pipelines.published import PUBLISHED_FIGURES
from pipelines.registry import load_registry
from pipelines.store import Store
from tests.attribution_data import write_registry
from tests.snapshots import model, write_snapshot

OLD = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
JAN, FEB, MAR, APR = (dt.date(2025, month, 1) for month in (1, 2, 3, 4))
QWEN, META, DEEPSEEK = "Alibaba Cloud (Qwen team)", "Meta", "DeepSeek"
ONLINE = "individuals=international-online"

#: model id -> (all-time counts at JAN, FEB, MAR, APR (None: not yet there), creation, base model)
MODELS: dict[str, tuple[tuple[int | None, ...], dt.datetime, str | None]] = {
    "Qwen/Q1": ((1000, 1600, 2500, 3000), OLD, None),
    "Qwen/Q2": ((200, 300, 500, 600), OLD, None),
    "Qwen/Q1-AWQ": ((None, None, 30, 60), dt.datetime(2025, 2, 20, tzinfo=dt.UTC), "Qwen/Q1"),
    "meta-llama/L1": ((2000, 2400, 2700, 2900), OLD, None),
    "deepseek-ai/D1": ((100, 700, 1000, 1800), OLD, None),
    "mistralai/M1": ((500, 600, 650, 700), OLD, None),
    "bigcode/SC": ((300, 400, 500, 600), OLD, None),
    "unsloth/Q1-GGUF": ((None, None, 400, 600), dt.datetime(2025, 2, 10, tzinfo=dt.UTC), "Qwen/Q1"),
    "alice/Q1-ft": ((None, 50, 150, 170), dt.datetime(2025, 1, 15, tzinfo=dt.UTC), "Qwen/Q1"),
    "carol/L1-ft": ((None, None, None, 10), dt.datetime(2025, 3, 5, tzinfo=dt.UTC), "meta-llama/L1"),
    "acme-labs/X": ((100, 150, 200, 250), OLD, None),
}


def write_store(root: Path) -> tuple[Store, Path]:
    """The store above, and its registry file (tests/attribution_data.py's small registry)."""
    store = Store(root / "store")
    for index, date in enumerate((JAN, FEB, MAR, APR)):
        rows = [
            model(
                model_id,
                downloads=1,
                downloads_all_time=counts[index],
                created_at=created,
                parents=[base] if base else [],
                relation="quantized" if base else None,
            )
            for model_id, (counts, created, base) in MODELS.items()
            if counts[index] is not None
        ]
        write_snapshot(store, date, rows)
    return store, write_registry(root / "orgs.csv")


@pytest.fixture(scope="module")
def hand(tmp_path_factory) -> tuple[Warehouse, Path, Path]:
    root = tmp_path_factory.mktemp("compare")
    store, registry_file = write_store(root)
    return open_warehouse(store, load_registry(registry_file, override=None)), store.root, registry_file


@pytest.fixture(scope="module")
def warehouse(hand) -> Warehouse:
    return hand[0]


def by(frame: pd.DataFrame, key: str, time: str, value: str) -> dict[tuple[str, dt.date], object]:
    return {
        (row[key], pd.Timestamp(row[time]).date()): row[value] for row in frame.to_dict("records")
    }


THREE = Filters(orgs=("Qwen", "meta-llama", "deepseek-ai"))


def test_three_organisations_downloads_per_month_and_their_share_of_all(warehouse):
    frame = organisation_downloads(warehouse, THREE)
    # Qwen = Q1 + Q2 + Q1-AWQ: Jan 600+100 = 700, Feb 900+200+30 = 1130, Mar 500+100+30 = 630.
    assert by(frame, "organisation", "period", "downloads") == {
        (QWEN, JAN): 700, (QWEN, FEB): 1130, (QWEN, MAR): 630,
        (META, JAN): 400, (META, FEB): 300, (META, MAR): 200,
        (DEEPSEEK, JAN): 600, (DEEPSEEK, FEB): 300, (DEEPSEEK, MAR): 800,
    }  # fmt: skip
    shares = by(frame, "organisation", "period", "share")
    assert shares[(QWEN, JAN)] == pytest.approx(700 / 2000)
    assert shares[(QWEN, FEB)] == pytest.approx(1130 / 2430)
    assert shares[(DEEPSEEK, MAR)] == pytest.approx(800 / 2060)
    assert list(dict.fromkeys(frame["organisation"])) == [QWEN, META, DEEPSEEK]  # the order asked


def test_three_organisations_cumulative_downloads_are_first_counts_plus_growth(warehouse):
    frame = organisation_cumulative(warehouse, THREE)
    # At 1 Jan only the first counts (baselines): Qwen 1000 + 200; at 1 Apr Qwen's cleaned counts
    # 3000 + 600 + 60 = 3660 = 1200 + 700 + 1130 + 630.
    assert by(frame, "organisation", "date", "downloads_all_time") == {
        (QWEN, JAN): 1200, (QWEN, FEB): 1900, (QWEN, MAR): 3030, (QWEN, APR): 3660,
        (META, JAN): 2000, (META, FEB): 2400, (META, MAR): 2700, (META, APR): 2900,
        (DEEPSEEK, JAN): 100, (DEEPSEEK, FEB): 700, (DEEPSEEK, MAR): 1000, (DEEPSEEK, APR): 1800,
    }  # fmt: skip


def test_three_organisations_models_released_and_derivatives_by_base_organisation(warehouse):
    view = Filters(orgs=THREE.orgs, start=JAN)
    # Released from 2025 on: only Qwen/Q1-AWQ (Feb); the others were created in 2024.
    assert by(organisation_releases(warehouse, view), "organisation", "period", "models") == {(QWEN, FEB): 1}
    everything = by(organisation_releases(warehouse, THREE), "organisation", "period", "models")
    assert everything == {(QWEN, dt.date(2024, 1, 1)): 2, (QWEN, FEB): 1, (META, dt.date(2024, 1, 1)): 1,
                          (DEEPSEEK, dt.date(2024, 1, 1)): 1}  # fmt: skip
    # Derivatives of Qwen's roots by others: alice (Jan), unsloth (Feb); Qwen's own AWQ is left out.
    # Meta's: carol (Mar). DeepSeek has none.
    assert by(organisation_derivatives(warehouse, view), "organisation", "period", "new_derivatives") == {
        (QWEN, JAN): 1, (QWEN, FEB): 1, (META, MAR): 1,
    }


def test_organisations_are_named_by_any_namespace_and_unknown_ones_are_listed(warehouse):
    named = resolve_organisations(warehouse, ("QWEN", "zai-org", "nobody-here", "Qwen"))
    assert list(named["organisation"]) == [QWEN]  # case-insensitive, once; zai-org has no model here
    problems = check_orgs(warehouse, Filters(orgs=("Qwen", "zai-org", "nobody-here")))
    assert len(problems) == 1 and problems[0].param == "orgs"
    assert "zai-org, nobody-here" in problems[0].message
    assert check_orgs(warehouse, THREE) == []
    too_many, notes = Filters.from_params({"orgs": ",".join(f"org{i}" for i in range(9))})
    assert too_many.orgs == () and "at most 8 organisations" in notes[0]


def test_the_leader_vs_the_next_two_each_month_equal_the_hand_sums(warehouse):
    frame = leader_vs_next(warehouse, Filters(leader_next=2))
    got = {(pd.Timestamp(r["period"]).date(), r["series"]): (r["organisations"], r["downloads"])
           for r in frame.to_dict("records")}  # fmt: skip
    assert got == {
        # Jan: Qwen 700; then DeepSeek 600, Meta 400 (BigCode 100, Mistral 100, acme-labs 50, alice 50).
        (JAN, "leader"): (QWEN, 700),
        (JAN, "next"): ("DeepSeek; Meta", 600 + 400),
        # Feb: Qwen 1130; Unsloth 400, then DeepSeek and Meta tie at 300: by key (lower-case name), DeepSeek.
        (FEB, "leader"): (QWEN, 1130),
        (FEB, "next"): ("Unsloth AI; DeepSeek", 400 + 300),
        # Mar: DeepSeek 800 leads; Qwen 630, then Meta and Unsloth AI tie at 200: by key, Meta.
        (MAR, "leader"): (DEEPSEEK, 800),
        (MAR, "next"): (f"{QWEN}; Meta", 630 + 200),
    }
    result = render_chart("leader-vs-next", warehouse, Filters(leader_next=2))
    assert result.title == "The leading organisation vs the next 2 combined, per month"
    assert int(result.data["downloads"].sum()) == 700 + 1000 + 1130 + 700 + 800 + 830


def test_the_share_over_a_window_equals_the_hand_sum(warehouse):
    frame = window_share(warehouse, Filters(start=JAN, end=dt.date(2025, 3, 31))).set_index("country")
    # CN: Qwen 700+1130+630 = 2460 + DeepSeek 600+300+800 = 1700 -> 4160; US: Meta 900 + Unsloth 600 = 1500;
    # Rest of world: Mistral 200 + BigCode (INTL) 300 = 500; Unattributed: alice 170 + carol 10 + acme 150.
    assert frame["downloads"].to_dict() == {"CN": 4160, "US": 1500, "Rest of world": 500, "Unattributed": 330}
    assert frame["share"].to_dict() == pytest.approx(
        {"CN": 4160 / 6490, "US": 1500 / 6490, "Rest of world": 500 / 6490, "Unattributed": 330 / 6490}
    )
    assert frame["share"].sum() == pytest.approx(1.0)
    # Models in the snapshot holding 31 Mar (1 Apr): CN Q1, Q2, AWQ, D1; US L1, GGUF; RoW M1, SC; the rest.
    assert frame["models"].to_dict() == {"CN": 4, "US": 2, "Rest of world": 2, "Unattributed": 3}
    # Known countries: CN + US + FR (Mistral 200) = 5860 of 6490, on every row.
    assert list(frame["coverage"]) == pytest.approx([5860 / 6490] * 4)
    later = window_share(warehouse, Filters(start=FEB, end=dt.date(2025, 3, 31))).set_index("country")
    # Feb + Mar only: CN (1130 + 300) + (630 + 800) = 2860 of 2430 + 2060 = 4490.
    assert later.loc["CN", "downloads"] == 2860 and later.loc["CN", "share"] == pytest.approx(2860 / 4490)


def test_international_online_moves_individuals_and_international_organisations(warehouse):
    online = Filters(start=JAN, end=dt.date(2025, 3, 31), individuals="international-online")
    frame = window_share(warehouse, online).set_index("country")
    # BigCode (INTL) 300 + alice 170 + carol 10 = 480 leave Rest of world and Unattributed; acme-labs (an
    # unregistered organisation) stays Unattributed; Mistral (FR) stays Rest of world.
    assert frame["downloads"].to_dict() == {
        "CN": 4160, "US": 1500, "International/Online": 480, "Rest of world": 200, "Unattributed": 150
    }  # fmt: skip
    assert frame.loc["International/Online", "models"] == 3
    # The same grouping on a period chart: January's International/Online is BigCode 100 + alice 50.
    monthly = warehouse.downloads_by_country(online)
    january = monthly[pd.to_datetime(monthly["period"]).dt.date == JAN].set_index("country")["downloads"]
    assert january.to_dict() == {"CN": 1300, "US": 400, "International/Online": 150, "Rest of world": 100,
                                 "Unattributed": 50}  # fmt: skip
    result = render_chart("window-share", warehouse, online)
    assert "International/Online" in result.subtitle and list(result.data["country"])[:2] == ["CN", "US"]


#: One connection for every example (opening one costs more than the query).
GROUPING_CON = duckdb.connect()


@settings(max_examples=60, deadline=None)
@given(
    codes=st.lists(st.sampled_from(["CN", "US", "FR", INTERNATIONAL, INDIVIDUAL, UNATTRIBUTED_ORG])),
    selected=st.lists(st.sampled_from(["CN", "US", "FR", "DE"]), min_size=1, max_size=3, unique=True),
    individuals=st.sampled_from(["unattributed", "international-online"]),
)
def test_the_sql_grouping_and_the_python_grouping_agree(codes, selected, individuals):
    view = Filters(countries=tuple(selected), individuals=individuals)
    codes_table = "SELECT unnest(?::VARCHAR[]) AS c, generate_subscripts(?::VARCHAR[], 1) AS i"
    sql = f"SELECT {Warehouse._group('c')} FROM ({codes_table}) ORDER BY i"
    rows = GROUPING_CON.execute(sql, [*Warehouse._group_params(view), codes, codes]).fetchall()
    assert [row[0] for row in rows] == [display_group(code, selected, individuals) for code in codes]


def test_every_published_figure_command_runs_and_writes_its_chart(tmp_path, monkeypatch):
    """Each command of Methodology's "Reproducing published figures", run as written (but for --out and
    --store) on a store spanning the figures' dates, with models of ATOM's tracked set and derivatives."""
    store = Store(tmp_path / "store")
    grown = {"Qwen/Qwen2.5-7B-Instruct": 900, "meta-llama/Llama-3.1-8B-Instruct": 500,
             "deepseek-ai/DeepSeek-R1": 300, "mistralai/Mistral-7B-Instruct-v0.3": 100}  # fmt: skip
    derived = {
        "unsloth/Qwen2.5-7B-Instruct-GGUF": ("Qwen/Qwen2.5-7B-Instruct", dt.datetime(2025, 10, 1)),
        "alice/Llama-ft": ("meta-llama/Llama-3.1-8B-Instruct", dt.datetime(2026, 2, 10)),
    }
    dates = [dt.date(2024, 8, 1), dt.date(2025, 9, 1), dt.date(2025, 12, 1)]
    dates += [dt.date(2026, month, 1) for month in (2, 3, 4)]
    for step, date in enumerate(dates, start=1):
        rows = [model(m, downloads_all_time=step * per, created_at=OLD) for m, per in grown.items()]
        rows += [
            model(m, downloads_all_time=step * 10, created_at=created.replace(tzinfo=dt.UTC), parents=[base],
                  relation="quantized")
            for m, (base, created) in derived.items()
            if created.date() < date
        ]
        write_snapshot(store, date, rows)
    monkeypatch.setenv("OWT_REGISTRY", str(write_registry(tmp_path / "orgs.csv")))
    for figure in PUBLISHED_FIGURES:
        argv = shlex.split(figure.command)
        assert argv[:4] == ["python", "-m", "dashboards", "export"], figure.command
        chart = argv[argv.index("--chart") + 1]
        assert chart in chart_ids()
        out = tmp_path / f"{chart}.csv"
        argv[argv.index("--out") + 1] = str(out)
        assert dashboards_main([*argv[3:], "--store", str(store.root)]) == 0, figure.command
        assert len(pd.read_csv(out)) > 0, figure.command


def test_the_command_line_names_organisations_the_store_lacks_and_draws_the_others(hand, tmp_path, capsys):
    _, store_root, registry_file = hand
    out = tmp_path / "compare.csv"
    common = ["export", "--store", str(store_root), "--format", "csv", "--out", str(out)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OWT_REGISTRY", str(registry_file))
        with pytest.raises(SystemExit) as refused:
            dashboards_main([*common, "--chart", "organisations-compare-share", "--orgs", "Qwen,nobody-here"])
        assert refused.value.code == 2
        assert "--orgs 'nobody-here': not found in the store: nobody-here" in capsys.readouterr().err
        chart = ["--chart", "organisations-compare-derivatives", "--orgs", "Qwen,meta-llama"]
        assert dashboards_main([*common, *chart, "--from", "2025-01-01"]) == 0
    written = pd.read_csv(out)
    # As worked out above: Qwen's roots, alice (Jan) and unsloth (Feb); Meta's, carol (Mar).
    assert list(zip(written["period"], written["organisation"], written["new_derivatives"], strict=True)) == [
        ("2025-01-01", QWEN, 1), ("2025-02-01", QWEN, 1), ("2025-03-01", META, 1)
    ]  # fmt: skip
