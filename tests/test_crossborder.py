"""Cross-border building on the hand-made store of tests/crossborder_store.py (its table lists every
derivative): the flow matrix, the pair's series and families, and the organisation flows, against numbers
worked out by hand from the documented rules (`pipelines.definitions`)."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboards import crossborder
from dashboards.__main__ import main
from dashboards.charts import render_chart
from dashboards.filters import INDIVIDUAL, INTERNATIONAL, REST_OF_WORLD, UNATTRIBUTED_ORG, Filters
from dashboards.query import Warehouse, open_warehouse
from pipelines.definitions import (
    base_family,
    cross_border_sql,
    is_cross_border,
    spread_between,
    spread_between_sql,
)
from pipelines.registry import SPECIAL_COUNTRIES, load_registry
from tests.attribution_data import REGISTRY_ROWS, write_registry
from tests.crossborder_store import EXTRA_REGISTRY_ROWS, S1, write_crossborder_store

MARCH_APRIL = Filters(start=dt.date(2025, 3, 1), end=dt.date(2025, 4, 30))
TO_APRIL_10 = Filters(start=dt.date(2025, 3, 1), end=dt.date(2025, 4, 10), flow_measure="downloads")
IND, INTL, UNREG, ROW = INDIVIDUAL, INTERNATIONAL, UNATTRIBUTED_ORG, REST_OF_WORLD
META, ALIBABA, GOOGLE = "Meta", "Alibaba Cloud (Qwen team)", "Google"
CON = duckdb.connect()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Warehouse:
    root: Path = tmp_path_factory.mktemp("crossborder")
    rows = [row for row in REGISTRY_ROWS if not row.startswith("bigcode,")] + list(EXTRA_REGISTRY_ROWS)
    registry = load_registry(write_registry(root / "orgs.csv", rows), override=None)
    return open_warehouse(write_crossborder_store(root / "store"), registry)


def keyed(frame: pd.DataFrame, keys: list[str], value: str, *, nonzero: bool = True) -> dict:
    """{(key values): value} over the rows of `frame` (with a non-zero value unless told)."""
    rows = frame[[*keys, value]].itertuples(index=False, name=None)
    return {row[:-1]: row[-1] for row in rows if row[-1] or not nonzero}


def cells(frame: pd.DataFrame, column: str) -> dict[tuple[str, str], float]:
    """The non-zero cells of a flow matrix."""
    return keyed(frame, ["publisher_country", "lineage_country"], column)


def months(frame: pd.DataFrame, value: str) -> dict[tuple[int, str], int]:
    """{(month of the period, publisher country): value} of a pair series, zeros included."""
    frame = frame.assign(month=pd.to_datetime(frame["period"]).dt.month)
    return keyed(frame, ["month", "publisher_country"], value, nonzero=False)


def plotted_text(result) -> dict[tuple[str, str], str]:
    """The text written on each cell of a heat map: (row, column) -> text."""
    trace = result.figure.data[0]
    return {(y, x): text for y, x, text in zip(trace.y, trace.x, trace.text, strict=True)}


def test_the_flow_matrix_counts_new_derivatives_by_publisher_and_base_country(warehouse):
    matrix = crossborder.flow_matrix(warehouse, MARCH_APRIL)
    # #12 was created in 2024: not new in March-April. Individuals, International and unregistered
    # publishers keep rows of their own; France (not selected) is Rest of world.
    assert cells(matrix, "new_derivatives") == {
        ("CN", "US"): 4,  # 1, 2, 3, 11
        ("CN", "CN"): 1,  # 8
        ("US", "CN"): 2,  # 4, 5
        ("US", "US"): 1,  # 6
        (ROW, "US"): 1,  # 9
        (INTL, "CN"): 1,  # 10
        (UNREG, "CN"): 1,  # 13
        (IND, "CN"): 1,  # 7
    }
    assert list(dict.fromkeys(matrix["publisher_country"])) == ["CN", "US", ROW, INTL, UNREG, IND]
    assert list(dict.fromkeys(matrix["lineage_country"])) == ["CN", "US"]
    assert len(matrix) == 6 * 2  # every cell, zeros included
    # Row shares: CN 4 of 5 on US bases, 1 of 5 on Chinese; US 2 of 3 on Chinese bases.
    shares = cells(matrix, "row_share")
    assert shares[("CN", "US")] == pytest.approx(4 / 5) and shares[("CN", "CN")] == pytest.approx(1 / 5)
    assert shares[("US", "CN")] == pytest.approx(2 / 3) and shares[("US", "US")] == pytest.approx(1 / 3)
    assert shares[(IND, "CN")] == 1.0


def test_the_flow_matrix_downloads_are_those_of_the_new_derivatives_in_the_dates(warehouse):
    # Whole March-April: every new derivative's downloads are its count at S3 (all its days are inside).
    whole = crossborder.flow_matrix(warehouse, replace(MARCH_APRIL, flow_measure="downloads"))
    assert cells(whole, "downloads") == {
        ("CN", "US"): 520 + 260 + 210 + 60,  # 1050
        ("CN", "CN"): 470,
        ("US", "CN"): 220 + 160,  # 380
        ("US", "US"): 570,
        (ROW, "US"): 110,
        (INTL, "CN"): 370,
        (UNREG, "CN"): 500,
        (IND, "CN"): 290,
    }
    # To 10 April: new derivatives are those created by then; S2->S3 gaps count their days Apr 1..10 only
    # (10 a day: 100; #4: floor(10*100/30) = 33); models first seen at S3 count from creation to Apr 10:
    # #2 Apr 5..10 = 6 days 60, #7 Apr 2..10 = 9 days 90, #3 Apr 10 = 10.
    cut = crossborder.flow_matrix(warehouse, TO_APRIL_10)
    assert cells(cut, "downloads") == {
        ("CN", "US"): (220 + 100) + 60 + 10,  # 1, 2, 3: 390
        ("CN", "CN"): 170 + 100,  # 8: 270
        ("US", "CN"): 120 + 33,  # 4: 153
        ("US", "US"): 270 + 100,  # 6: 370
        (INTL, "CN"): 70 + 100,  # 10: 170
        (UNREG, "CN"): 200 + 100,  # 13: 300
        (IND, "CN"): 90,  # 7
    }
    assert cells(cut, "row_share")[("CN", "US")] == pytest.approx(390 / (390 + 270))
    assert cells(cut, "new_derivatives")[("CN", "US")] == 3


def test_the_pair_series_counts_each_direction_per_month_of_creation(warehouse):
    series = crossborder.crossborder_series(warehouse, MARCH_APRIL)
    got = months(series, "new_derivatives")
    # CN-published of US bases: March #1; April #2, #3, #11. US-published of CN bases: March #4, April #5.
    assert got == {(3, "CN"): 1, (4, "CN"): 3, (3, "US"): 1, (4, "US"): 1}
    weekly = crossborder.crossborder_series(warehouse, replace(MARCH_APRIL, period="week"))
    # Weeks (Mondays) of #1 Mar 10, #4 Mar 20 (week of Mar 17), #2 Apr 5 (Mar 31), #3 Apr 10 (Apr 7),
    # #5 Apr 15 (Apr 14), #11 Apr 25 (Apr 21); each week has both directions, zeros included.
    weekly = weekly.assign(week=pd.to_datetime(weekly["period"]).dt.date)
    assert keyed(weekly, ["publisher_country", "week"], "new_derivatives") == {
        ("CN", dt.date(2025, 3, 10)): 1, ("US", dt.date(2025, 3, 17)): 1, ("CN", dt.date(2025, 3, 31)): 1,
        ("CN", dt.date(2025, 4, 7)): 1, ("US", dt.date(2025, 4, 14)): 1, ("CN", dt.date(2025, 4, 21)): 1,
    }  # fmt: skip
    assert len(weekly) == 6 * 2


def test_the_pair_series_downloads_and_the_reverse_pair(warehouse):
    series = crossborder.crossborder_series(warehouse, TO_APRIL_10)
    got = months(series, "value")
    # To Apr 10: March CN->US #1 320; April CN->US #2 60 + #3 10; March US->CN #4 153; April US->CN none.
    assert got == {(3, "CN"): 320, (4, "CN"): 70, (3, "US"): 153, (4, "US"): 0}
    # The pair FR,US: French-published derivatives of US bases (#9 in April), none the other way.
    other = crossborder.crossborder_series(warehouse, Filters(start=S1, pair=("FR", "US")))
    assert other[other["new_derivatives"] > 0][["publisher_country", "new_derivatives"]].values.tolist() == [
        ["FR", 1]
    ]


def test_families_are_the_organisations_of_the_lineage_roots(warehouse):
    families = crossborder.crossborder_families(warehouse, MARCH_APRIL)
    families = families.assign(publisher=families["direction"].str.split("-published").str[0])
    got = keyed(families, ["publisher", "family"], "new_derivatives")
    # CN of US: Meta #1, #3, #11 (#11's root is Llama through #1), Google #2. US of CN: Qwen's org #4, #5.
    assert got == {("China", META): 3, ("China", GOOGLE): 1, ("United States", ALIBABA): 2}


def test_organisation_flows_say_what_it_builds_on_and_who_builds_on_it(warehouse):
    def flows(*namespaces: str) -> dict[tuple[str, str], int]:
        frame = crossborder.organisation_flows(warehouse, namespaces)
        return keyed(frame, ["direction", "country"], "derivatives")

    # Meta's models are built upon by BAAI (1, 11) and DeepSeek (3): CN 3; unsloth (6) and nvidia (12):
    # US 2; Mistral (9): FR 1. Meta builds on nobody.
    assert flows("meta-llama") == {
        ("built upon by", "CN"): 3,
        ("built upon by", "US"): 2,
        ("built upon by", "FR"): 1,
    }
    # Qwen: built upon by nvidia and unsloth (US 2), alice, bigcode, acme-ai; its own fine-tune (8) is not
    # building on someone else's model.
    assert flows("Qwen") == {
        ("built upon by", "US"): 2,
        ("built upon by", IND): 1,
        ("built upon by", INTL): 1,
        ("built upon by", UNREG): 1,
    }
    # BAAI builds on US bases three times (1, 2, and 11 through its own 1: its root is Llama).
    assert flows("BAAI") == {("built on", "US"): 3}
    assert flows("unsloth") == {("built on", "CN"): 1, ("built on", "US"): 1}


def test_the_charts_plot_the_hand_computed_numbers(warehouse):
    matrix = render_chart("derivative-flows", warehouse, MARCH_APRIL)
    plotted = plotted_text(matrix)
    assert plotted[("CN", "US")] == "4" and plotted[("US", "US")] == "1" and plotted[(IND, "CN")] == "1"
    assert "Cross-border" not in matrix.title and "New derivatives" in matrix.title
    shares = render_chart("derivative-flows", warehouse, replace(MARCH_APRIL, flow_cells="share"))
    plotted = plotted_text(shares)
    assert plotted[("CN", "US")] == "80%" and plotted[("US", "CN")] == "67%"
    assert "divided by its row's total" in shares.subtitle
    series = render_chart("crossborder-series", warehouse, TO_APRIL_10)
    assert "Downloads of new derivatives" in series.title
    assert list(series.data["value"]) == [320, 153, 70, 0]  # by period, then direction (China first)


def test_the_export_writes_the_matrix_as_a_tidy_csv_package_for_the_cli_view(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """`python -m dashboards export` with the cross-border options, on the hand-made store read with the
    shipped registry plus the test rows as the user's override (the same countries as the test registry)."""
    override = write_registry(tmp_path / "override.csv", list(EXTRA_REGISTRY_ROWS))
    monkeypatch.setenv("OWT_REGISTRY", str(override))
    store = write_crossborder_store(tmp_path / "store")
    out = tmp_path / "flows.zip"
    code = main([
        "export", "--chart", "derivative-flows", "--format", "csv", "--out", str(out),
        "--store", str(store.root), "--from", "2025-03-01", "--to", "2025-04-30",
        "--measure", "downloads", "--cells", "share",
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    with zipfile.ZipFile(out) as package:
        rows = pd.read_csv(package.open("derivative-flows.csv"), keep_default_na=False)
        metadata = json.loads(package.read("metadata.json"))
    assert list(rows.columns) == [
        "country", "country_name", "lineage_country", "lineage_country_name", "measure", "value", "row_share"
    ]  # fmt: skip
    assert set(rows["measure"]) == {"downloads"}
    cells = rows[["country", "lineage_country", "value", "row_share"]].itertuples(index=False)
    got = {(c, lineage): (v, round(share, 4)) for c, lineage, v, share in cells}
    # Downloads to Apr 30 are the S3 counts: CN row 1050 on US bases and 470 on Chinese (1520 in all);
    # unregistered acme-ai 500, all on a Chinese base.
    assert got[("CN", "US")] == (1050, round(1050 / 1520, 4))
    assert got[("CN", "CN")] == (470, round(470 / 1520, 4))
    assert got[("REST_OF_WORLD", "US")] == (110, 1.0) and got[("UNATTRIBUTED_ORG", "CN")] == (500, 1.0)
    assert rows.loc[rows["country"] == "INDIVIDUAL", "country_name"].iloc[0] == "Individual / community"
    assert metadata["filters"]["measure"] == "downloads" and metadata["filters"]["cells"] == "share"
    assert metadata["filters"]["pair"] == ["CN", "US"]


def test_the_cross_border_charts_are_listed_for_export(capsys):
    assert main(["export", "--list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert {"derivative-flows", "crossborder-series", "crossborder-families"} <= set(listed)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pair", "CN"], "--pair 'CN': two different ISO"),
        (["--pair", "CN,XX"], "--pair 'CN,XX': XX: not ISO"),
        (["--measure", "likes"], "--measure 'likes': must be one of count, downloads"),
        (["--cells", "percent"], "--cells 'percent': must be one of count, share"),
    ],
)
def test_bad_cross_border_options_exit_2_naming_the_option(args, message, tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as exited:
        out = str(tmp_path / "x.csv")
        main(["export", "--chart", "derivative-flows", "--format", "csv", "--out", out, *args])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_the_view_parameters_round_trip_through_the_url():
    view, notes = Filters.from_params({"pair": "us,cn", "measure": "downloads", "cells": "share"})
    assert (view.pair, view.flow_measure, view.flow_cells, notes) == (("US", "CN"), "downloads", "share", [])
    assert view.to_params() == {"pair": "US,CN", "measure": "downloads", "cells": "share"}
    assert Filters().to_params() == {}  # the defaults (CN,US; count; count) stay out of links
    fallback, notes = Filters.from_params({"pair": "CN,CN"})
    assert fallback.pair == ("CN", "US") and "pair='CN,CN'" in notes[0]


@given(
    total=st.integers(0, 10**9),
    days=st.integers(1, 400),
    first=st.integers(-500, 500),
    last=st.integers(-500, 900),
)
@settings(max_examples=200, deadline=None)
def test_the_downloads_between_two_days_in_sql_equal_the_gap_rule(total, days, first, last):
    sql = spread_between_sql("a", "b", "g", "d")
    row = CON.execute(
        f"SELECT {sql} FROM (SELECT ?::BIGINT AS a, ?::BIGINT AS b, ?::BIGINT AS g, ?::BIGINT AS d)",
        [first, last, total, days],
    ).fetchone()
    assert row == (spread_between(total, days, first, last),)


COUNTRY_VALUES = st.one_of(st.none(), st.sampled_from(["CN", "US", "FR", "XX", *SPECIAL_COUNTRIES]))


@given(publisher=COUNTRY_VALUES, lineage=COUNTRY_VALUES)
@settings(max_examples=200, deadline=None)
def test_the_cross_border_rule_in_sql_equals_its_python_reference(publisher, lineage):
    sql = cross_border_sql("p", "l")
    row = CON.execute(f"SELECT {sql} FROM (SELECT ?::VARCHAR AS p, ?::VARCHAR AS l)", [publisher, lineage])
    assert row.fetchone() == (is_cross_border(publisher, lineage),)


def test_the_rules_on_known_cases():
    assert spread_between(100, 30, 1, 10) == 33 and spread_between(100, 30, 11, 40) == 67
    assert spread_between(100, 30, 31, 40) == 0
    assert is_cross_border("CN", "US") and not is_cross_border("CN", "CN")
    assert not is_cross_border(INDIVIDUAL, "US") and not is_cross_border("CN", None)
    assert base_family("meta-llama/Llama-3.1-8B", "Meta") == "Meta"
    assert base_family("someone/model", None) == "someone"


def test_the_cross_border_controls_show_on_the_derivatives_page_only():
    from dashboards.layout import control_states
    from dashboards.pages import derivatives, overview

    on_derivatives, _ = control_states(derivatives.PAGE)
    on_overview, _ = control_states(overview.PAGE)
    for field in ("pair", "flow_measure", "flow_cells"):
        assert on_derivatives[field][0] == "control"
        assert on_overview[field][0] == "control control--hidden"
    assert on_overview["period"][0] == "control"


@pytest.mark.parametrize(
    "view",
    [Filters(), Filters(task="text-generation", scope="first-party"), Filters(task="no-such-task")],
)
def test_the_rollup_gives_the_facts_downloads_for_views_without_dates(warehouse, view):
    rolled = crossborder.rollup_cell_downloads(warehouse, view)
    from_facts = crossborder.facts_cells(warehouse, view, True)
    expected = keyed(from_facts, ["publisher_country", "lineage_country"], "downloads")
    assert keyed(rolled, ["publisher_country", "lineage_country"], "downloads") == expected
    assert crossborder.rollup_cell_downloads(warehouse, replace(view, start=S1)) is None
    assert crossborder.rollup_cell_downloads(warehouse, replace(view, end=dt.date(2025, 4, 30))) is None
    assert crossborder.rollup_cell_downloads(warehouse, replace(view, scope="atom")) is None


def test_without_a_start_every_derivative_created_by_the_end_is_new(warehouse):
    # To Apr 30 with no start: #12 (2024) counts too; its count never grew (900 at every snapshot), so the
    # downloads are those of the March-April view.
    matrix = crossborder.flow_matrix(warehouse, Filters(end=dt.date(2025, 4, 30), flow_measure="downloads"))
    assert cells(matrix, "new_derivatives")[("US", "US")] == 2  # 6 and 12
    assert cells(matrix, "downloads") == {
        ("CN", "US"): 1050, ("CN", "CN"): 470, ("US", "CN"): 380, ("US", "US"): 570,
        (ROW, "US"): 110, (INTL, "CN"): 370, (UNREG, "CN"): 500, (IND, "CN"): 290,
    }  # fmt: skip
    # Without dates (the rollup's answer), the same: all of S3's counts, #12 adding nothing.
    assert cells(crossborder.flow_matrix(warehouse, Filters(flow_measure="downloads")), "downloads") == cells(
        matrix, "downloads"
    )
