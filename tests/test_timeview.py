"""Date presets and the rolling average of daily views: the rules by hand (`pipelines.definitions`), the URL
and command-line parameters, the controls, and the downloads chart on a hand-made store."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from dashboards.__main__ import main as dashboards_main
from dashboards.charts import render_chart
from dashboards.filters import Filters
from dashboards.query import Warehouse
from dashboards.timeview import last_counted, resolve_preset
from pipelines.definitions import preset_dates, rolling_average
from pipelines.store import Store
from tests.app_render import _dependencies
from tests.snapshots import model, write_snapshot

D = dt.date


# ---- the rules by hand ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "last_day", "expected"),
    [
        ("30d", D(2026, 11, 26), (D(2026, 10, 28), D(2026, 11, 26))),  # Oct 28-31 (4) + Nov 1-26 (26)
        ("3m", D(2026, 11, 26), (D(2026, 8, 27), D(2026, 11, 26))),
        ("12m", D(2026, 11, 26), (D(2025, 11, 27), D(2026, 11, 26))),
        ("ytd", D(2026, 11, 26), (D(2026, 1, 1), D(2026, 11, 26))),
        ("all", D(2026, 11, 26), (None, None)),
        ("ytd", D(2027, 1, 1), (D(2027, 1, 1), D(2027, 1, 1))),  # on 1 January: that one day
        ("30d", D(2027, 1, 1), (D(2026, 12, 3), D(2027, 1, 1))),
        ("3m", D(2026, 5, 31), (D(2026, 3, 1), D(2026, 5, 31))),  # Feb 31 -> Feb 28, from the day after
        ("3m", D(2024, 5, 31), (D(2024, 3, 1), D(2024, 5, 31))),  # leap year: Feb 29, from Mar 1
        ("12m", D(2024, 2, 29), (D(2023, 3, 1), D(2024, 2, 29))),  # Feb 28 2023, from the day after
        ("12m", D(2026, 12, 31), (D(2026, 1, 1), D(2026, 12, 31))),
    ],
)
def test_presets_count_back_from_the_last_counted_day(
    preset: str, last_day: dt.date, expected: tuple[dt.date | None, dt.date | None]
) -> None:
    assert preset_dates(preset, last_day) == expected


def test_an_unknown_preset_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown date preset 'week'"):
        preset_dates("week", D(2026, 1, 1))


def test_rolling_average_by_hand_with_a_gap_and_the_start() -> None:
    daily = {D(2025, 3, 1): 10, D(2025, 3, 2): 20, D(2025, 3, 3): 30, D(2025, 3, 5): 50}  # Mar 4: none
    averages = rolling_average(daily, D(2025, 3, 1), D(2025, 3, 6), 3)
    # No value on Mar 1-2 (their 3 days reach before the first counted day); Mar 4 counts 0.
    assert averages == {
        D(2025, 3, 3): (10 + 20 + 30) / 3,
        D(2025, 3, 4): (20 + 30 + 0) / 3,
        D(2025, 3, 5): (30 + 0 + 50) / 3,
        D(2025, 3, 6): (0 + 50 + 0) / 3,
    }
    assert rolling_average(daily, D(2025, 3, 1), D(2025, 3, 2), 3) == {}
    assert rolling_average(daily, D(2025, 3, 1), D(2025, 3, 3), 1) == {
        D(2025, 3, 1): 10, D(2025, 3, 2): 20, D(2025, 3, 3): 30
    }


def test_url_parameters_for_presets_and_rolling() -> None:
    filters, notes = Filters.from_params({"range": "YTD", "rolling": "7", "period": "day"})
    assert (filters.preset, filters.rolling, notes) == ("ytd", 7, [])
    assert filters.to_params() == {"period": "day", "range": "ytd", "rolling": "7"}
    # The resolved dates stay out of the URL: a shared link means "year to date" whenever it is opened.
    resolved = resolve_preset(filters, D(2026, 3, 4))
    assert (resolved.start, resolved.end) == (D(2026, 1, 1), D(2026, 3, 4))
    assert resolved.to_params() == filters.to_params()
    both, notes = Filters.from_params({"range": "30d", "from": "2025-01-01", "to": "2025-02-01"})
    assert (both.preset, both.start, both.end) == ("30d", None, None)
    assert notes == [
        "from='2025-01-01': not used with range=30d; the range sets the dates",
        "to='2025-02-01': not used with range=30d; the range sets the dates",
    ]
    every, notes = Filters.from_params({"range": "all", "from": "2025-01-01"})
    assert (every, len(notes)) == (Filters(), 1)  # 'all' is the default view: no dates
    bad, notes = Filters.from_params({"range": "fortnight", "rolling": "14"})
    assert (bad.preset, bad.rolling) == (None, 0)
    assert notes == [
        "range='fortnight': must be one of 30d, 3m, 12m, ytd, all; using the default (none)",
        "rolling='14': must be one of 7, 28 (days) or 0; using the default '0'",
    ]


# ---- a hand-made store --------------------------------------------------------------------------------

FIRST_SNAPSHOT = D(2025, 3, 1)
DAYS = 14  # snapshots Mar 1 .. Mar 15 hold the downloads of Mar 1 .. Mar 14 (day-label rule)


def qwen_daily(day: int) -> int:
    """Qwen (CN) downloads on March `day`: 10 x the day."""
    return 10 * day


def llama_daily(day: int) -> int:
    """meta-llama (US) downloads on March `day`: 100, but none on March 5."""
    return 0 if day == 5 else 100


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("timeview") / "store")
    for k in range(DAYS + 1):  # snapshot k holds the all-time counts after March 1..k
        qwen = 1_000 + sum(qwen_daily(day) for day in range(1, k + 1))
        llama = 5_000 + sum(llama_daily(day) for day in range(1, k + 1))
        rows = [
            model("Qwen/Qwen3-8B", downloads=1, downloads_all_time=qwen),
            model("meta-llama/Llama-3.1-8B", downloads=1, downloads_all_time=llama),
        ]
        write_snapshot(store, FIRST_SNAPSHOT + dt.timedelta(days=k), rows)
    return store


def series(frame: Any, country: str) -> dict[dt.date, float]:
    rows = frame[frame["country"] == country]
    return {p.date(): round(v, 6) for p, v in zip(rows["period"], rows["downloads"], strict=True)}


def test_the_store_counts_up_to_march_14(warehouse: Warehouse) -> None:
    assert last_counted(warehouse) == D(2025, 3, 14)


def test_daily_downloads_as_a_7_day_rolling_average(warehouse: Warehouse) -> None:
    view = Filters(period="day", rolling=7, start=D(2025, 3, 5), end=D(2025, 3, 14))
    result = render_chart("downloads-by-country", warehouse, view)
    # Mar 5 and 6 have no value: their 7 days reach before Mar 1, the first day the store counts.
    cn, us = series(result.data, "CN"), series(result.data, "US")
    assert list(cn) == [D(2025, 3, day) for day in range(7, 15)]
    assert cn[D(2025, 3, 7)] == round((10 + 20 + 30 + 40 + 50 + 60 + 70) / 7, 6)  # 40
    assert cn[D(2025, 3, 14)] == round((80 + 90 + 100 + 110 + 120 + 130 + 140) / 7, 6)  # 110
    # Mar 5 (no US download) counts 0 in the windows holding it: Mar 5..11; Mar 12 is past it.
    assert us[D(2025, 3, 7)] == round(600 / 7, 6) and us[D(2025, 3, 11)] == round(600 / 7, 6)
    assert us[D(2025, 3, 12)] == 100.0
    assert "7-day rolling average: Each day: the mean of the downloads of the N days" in result.subtitle
    assert result.figure.layout.yaxis.title.text == "Downloads per day, 7-day average"


def test_the_first_days_average_the_days_before_the_start(warehouse: Warehouse) -> None:
    view = Filters(period="day", rolling=7, start=D(2025, 3, 10), end=D(2025, 3, 12))
    cn = series(render_chart("downloads-by-country", warehouse, view).data, "CN")
    # Mar 10 averages Mar 4..10 (read though before the view's start): 40+50+...+100 = 490.
    assert cn == {D(2025, 3, 10): 70.0, D(2025, 3, 11): 80.0, D(2025, 3, 12): 90.0}


def test_rolling_applies_to_daily_views_only(warehouse: Warehouse) -> None:
    weekly = render_chart("downloads-by-country", warehouse, Filters(period="week", rolling=7))
    plain = render_chart("downloads-by-country", warehouse, Filters(period="week"))
    assert weekly.data.equals(plain.data) and "rolling average" not in weekly.subtitle
    daily = render_chart("downloads-by-country", warehouse, Filters(period="day"))
    assert series(daily.data, "US")[D(2025, 3, 4)] == 100  # unsmoothed


def test_export_cli_takes_range_and_rolling(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "rolled.csv"
    argv = ["export", "--chart", "downloads-by-country", "--format", "csv", "--out", str(out)]
    argv += ["--store", str(store.root), "--period", "day", "--rolling", "7", "--range", "30d"]
    assert dashboards_main(argv) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    cn = {row["period"]: float(row["downloads"]) for row in rows if row["country"] == "CN"}
    # Last 30 days to Mar 14 reach before the store: the averages start on Mar 7, as above.
    assert min(cn) == "2025-03-07" and max(cn) == "2025-03-14"
    assert cn["2025-03-14"] == pytest.approx(110.0)


def test_export_cli_refuses_an_unknown_window(store: Store, tmp_path: Path, capsys) -> None:
    argv = ["export", "--chart", "downloads-by-country", "--format", "csv", "--out", str(tmp_path / "x.csv")]
    with pytest.raises(SystemExit) as exit_info:
        dashboards_main([*argv, "--store", str(store.root), "--rolling", "3"])
    assert exit_info.value.code == 2
    assert "--rolling '3': must be one of 7, 28 (days) or 0" in capsys.readouterr().err


# ---- the controls -------------------------------------------------------------------------------------


def sync(client: FlaskClient, changed: str, given: dict[str, Any]) -> dict[str, Any]:
    """The URL <-> controls callback as the browser sends it when `changed` (component.property) changed."""
    spec = next(d for d in _dependencies(client) if d["output"].startswith("..url.search...filters.data"))
    outputs = [
        dict(zip(("id", "property"), part.rsplit(".", 1), strict=True))
        for part in spec["output"].strip(".").split("...")
    ]
    inputs = [{**i, "value": given.get(f"{i['id']}.{i['property']}")} for i in spec["inputs"]]
    body = {"output": spec["output"], "outputs": outputs, "inputs": inputs, "changedPropIds": [changed]}
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[-2000:]
    answer = response.get_json()["response"]
    return {f"{name}.{prop}": value for name, props in answer.items() for prop, value in props.items()}


def test_a_preset_link_shows_its_dates_in_the_date_picker(client: FlaskClient) -> None:
    answer = sync(client, "url.search", {"url.search": "?range=ytd&period=day&rolling=28"})
    assert answer["filters.data"] == {"period": "day", "range": "ytd", "rolling": "28"}
    assert answer["control-dates.start_date"] == "2025-01-01"
    assert answer["control-dates.end_date"] == "2025-03-14"
    assert (answer["control-range.value"], answer["control-rolling.value"]) == ("ytd", 28)


def test_choosing_a_preset_sets_the_dates_and_picking_dates_leaves_it(client: FlaskClient) -> None:
    controls = {
        "control-range.value": "30d",
        "control-period.value": "month",
        "control-countries.value": ["CN", "US"],
        "control-attribution.value": "publisher",
        "control-scope.value": "all",
        "control-rolling.value": 0,
        "control-dates.start_date": "2025-03-02",
        "control-dates.end_date": "2025-03-03",
    }
    answer = sync(client, "control-range.value", {"url.search": "", **controls})
    assert answer["url.search"] == "?range=30d" and answer["filters.data"] == {"range": "30d"}
    shown = (answer["control-dates.start_date"], answer["control-dates.end_date"])
    assert shown == ("2025-02-13", "2025-03-14")  # the 30 days up to Mar 14, the last day counted
    answer = sync(client, "control-dates.start_date", {"url.search": "?range=30d", **controls})
    assert answer["url.search"] == "?from=2025-03-02&to=2025-03-03"
    assert answer["control-range.value"] is None  # custom dates: none of the presets
