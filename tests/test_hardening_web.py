"""Hardening of the web and query surface (issue 11): every date anywhere is exactly YYYY-MM-DD within the
documented range, dates beside the store's snapshots give empty charts that say so (exit 2 on the command
line), malformed callback requests get 400, and the limits on what one request may cost (body size, report
length, heavy exports at once, time budget, log lines) answer 413/429/503 as documented. A property test
throws arbitrary views at every chart and every download route.

All on `chart_store` (tests/conftest.py): 200 models, daily snapshots 2025-07-18 .. 2025-09-30.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from dash import Dash
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app
from dashboards.__main__ import main as dashboards_main
from dashboards.charts import chart_ids, get_chart, render_chart
from dashboards.export import CHART_FORMATS
from dashboards.filters import ATTRIBUTIONS, PERIODS, SCOPES, SIZE_CLASSES, Filters
from dashboards.limits import (
    BROWSER_FORMATS,
    BUDGET_KEY,
    HEAVY_EXPORT_SLOTS,
    HEAVY_EXPORTS_KEY,
    LOG_LINE_CHARS,
)
from pipelines.__main__ import main as pipelines_main
from pipelines.store import DATE_MAX, DATE_MIN, Store, parse_date
from tests.packages import package_table

FIRST = dt.date(2025, 7, 18)  # the chart store's first and last snapshot (conftest: 75 days to 2025-09-30)
LAST = dt.date(2025, 9, 30)
#: Charts whose points are counts between snapshots, or snapshots themselves: empty without a snapshot in the
#: dates. (The derivative charts count models by creation date, which the first snapshot already tells.)
#: Charts that count derivatives by their creation date, which may fall outside the snapshots' dates.
DERIVATIVE_CHARTS = (
    "derivatives-by-country",
    "derivatives-by-relation",
    "top-base-models",
    "derivative-flows",
    "crossborder-series",
    "crossborder-families",
)
#: Charts of another channel (OpenRouter tokens) hold that channel's own days, not the Hub snapshots'.
CHANNEL_CHARTS = tuple(chart for chart in chart_ids() if get_chart(chart).source is not None)
SNAPSHOT_CHARTS = tuple(chart for chart in chart_ids() if chart not in DERIVATIVE_CHARTS + CHANNEL_CHARTS)


@pytest.fixture(scope="module")
def app(chart_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(Store(chart_store), demo_store=tmp_path_factory.mktemp("unused-demo"))


@pytest.fixture(scope="module")
def client(app: Dash) -> FlaskClient:
    return app.server.test_client()


# ---------------------------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "text",
    [
        *("20250101", "2025-W01-1", "2025-1-1", "2025-01-01T00:00", "2025-02-30", "1999-12-31"),
        *("2101-01-01", "9999-12-31", "1000-01-01", "0001-01-01", "２０２５-01-01", "2025-01-01\n", ""),
    ],
)
def test_a_date_is_exactly_yyyy_mm_dd_within_the_documented_range(text: str) -> None:
    with pytest.raises(ValueError, match=r"YYYY-MM-DD|outside the supported dates"):
        parse_date(text)


def test_the_range_ends_are_accepted() -> None:
    assert parse_date("2000-01-01") == DATE_MIN == dt.date(2000, 1, 1)
    assert parse_date("2100-12-31") == DATE_MAX == dt.date(2100, 12, 31)


def test_url_parameters_take_the_same_rule_and_say_so() -> None:
    filters, notes = Filters.from_params({"from": "20250101", "to": "9999-12-31"})
    assert filters.start is None and filters.end is None
    assert len(notes) == 2 and all("YYYY-MM-DD" in note and "2100-12-31" in note for note in notes)


OUT_OF_SPAN = {
    "from 16 days after the latest snapshot": {"from": (LAST + dt.timedelta(days=16)).isoformat()},
    "to 6 months before the first": {"to": "2025-01-18"},
    "both before the first": {"from": "2024-01-01", "to": "2024-12-31"},
}
EXTREME = {
    "to 9999-12-31": {"to": "9999-12-31"},
    "from 1000-01-01": {"from": "1000-01-01"},
    "from 20250101": {"from": "20250101"},
    "from 2025-W01-1": {"from": "2025-W01-1"},
    "from after to": {"from": "2025-09-01", "to": "2025-08-01"},
}


@pytest.mark.parametrize("query", list(OUT_OF_SPAN.values()), ids=list(OUT_OF_SPAN))
def test_dates_beside_the_snapshots_give_empty_downloads(client: FlaskClient, query: dict) -> None:
    for chart in SNAPSHOT_CHARTS:
        response = client.get(f"/download/chart/{chart}.csv", query_string=query)
        assert response.status_code == 200, chart
        assert package_table(response.data).empty, f"{chart}: only the header row"
    data = client.get("/download/data.csv", query_string=query)
    assert data.status_code == 200
    with zipfile.ZipFile(io.BytesIO(data.data)) as archive:
        names = [name for name in archive.namelist() if name.endswith(".csv")]
        tables = {name[: -len(".csv")]: pd.read_csv(archive.open(name)) for name in names}
    drawn = {chart for chart, table in tables.items() if not table.empty}
    assert drawn <= set(DERIVATIVE_CHARTS + CHANNEL_CHARTS)
    report = client.get("/download/report.html", query_string={**query, "charts": ",".join(chart_ids())})
    assert report.status_code == 200
    assert "No snapshots in the selected dates" in report.get_data(as_text=True)


@pytest.mark.parametrize("query", list(EXTREME.values()), ids=list(EXTREME))
def test_extreme_or_malformed_dates_are_a_400_naming_the_date_on_downloads(client: FlaskClient, query: dict):
    """A download is the view asked for or an error naming what is wrong, never a default in its place (the
    pages fall back to all dates with a note instead: test_url_parameters_take_the_same_rule_and_say_so)."""
    for route, extra in (
        ("/download/data.csv", {}),
        ("/download/chart/top-organisations.csv", {}),
        ("/download/report.html", {"charts": "top-organisations"}),
    ):
        response = client.get(route, query_string={**query, **extra})
        assert response.status_code == 400, route
        assert response.get_data(as_text=True).startswith(("from=", "to=")), route


def _callback(client: FlaskClient, output: str, inputs: list[dict], state: list[dict] | None = None) -> dict:
    """The request body the browser sends for the callback whose output names `output`."""
    dependencies = client.get("/_dash-dependencies").get_json()
    spec = next(d for d in dependencies if output in d["output"])
    outputs = []
    for part in spec["output"].strip(".").split("..."):
        component, prop = part.rsplit(".", 1)
        parsed = json.loads(component) if component.startswith("{") else component
        outputs.append({"id": parsed, "property": prop})
    return {
        "output": spec["output"],
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": state or [],
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
    }


def _leaderboard(view: object) -> list[dict]:
    return [
        {"id": "filters", "property": "data", "value": view},
        {"id": "organisations-search", "property": "value", "value": ""},
    ]


def test_the_organisations_leaderboard_is_empty_for_dates_beside_the_snapshots(client: FlaskClient) -> None:
    for view, empty in (({"from": "2025-10-16"}, True), ({"to": "2025-01-18"}, True), ({}, False)):
        body = _callback(client, "organisations-grid.rowData", _leaderboard(view))
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code == 200
        rows = response.get_json()["response"]["organisations-grid"]["rowData"]
        assert (rows == []) is empty, view


def _card_body(client: FlaskClient, view: object, spec: object) -> dict:
    card = {"type": "chart-spec", "card": "top-organisations"}
    state = [{"id": card, "property": "data", "value": spec}]
    inputs = [
        {"id": "filters", "property": "data", "value": view},
        {"id": {**card, "type": "chart-wanted"}, "property": "data", "value": 1},  # drawn: the card is wanted
    ]
    body = _callback(client, '"type":"chart-title"', inputs, state)
    body["changedPropIds"] = ["filters.data"]
    return body


def test_a_chart_card_beside_the_snapshots_says_there_are_none(client: FlaskClient) -> None:
    body = _card_body(client, {"from": "2025-10-16"}, {"chart": "top-organisations", "params": {}})
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    text = json.dumps(response.get_json()).replace("<br>", " ")  # the note is wrapped on the chart
    assert "No snapshots in the selected dates: the store has snapshots from 2025-07-18 to 2025-09-30" in text


def test_the_export_command_exits_2_when_the_dates_hold_no_snapshot(chart_store, tmp_path: Path, capsys):
    out = tmp_path / "top.csv"
    options = ["--chart", "top-organisations", "--format", "csv", "--out", str(out)]
    options += ["--store", str(chart_store)]
    assert dashboards_main(["export", *options, "--from", "2025-10-16"]) == 2
    assert not out.exists()
    message = "No snapshots in the selected dates: the store has snapshots from 2025-07-18 to 2025-09-30"
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("value", ["9999-12-31", "20250101", "2025-W01-1", "1999-12-31"])
def test_the_export_command_refuses_malformed_or_extreme_dates_with_exit_2(value: str, tmp_path, capsys):
    options = ["--chart", "all", "--format", "csv", "--out", str(tmp_path / "x")]
    with pytest.raises(SystemExit) as exit_info:
        dashboards_main(["export", *options, "--to", value])
    assert exit_info.value.code == 2 and "YYYY-MM-DD" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "--date", "20250101"],
        ["backfill", "--from", "2025-W01-1"],
        ["backfill", "--to", "9999-12-31"],
        ["demo", "--end", "1000-01-01"],
        ["orgs", "audit", "--date", "2101-01-01"],
    ],
)
def test_pipeline_date_options_refuse_malformed_or_extreme_dates_with_exit_2(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        pipelines_main([*args, "--store", str(tmp_path / "store")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "YYYY-MM-DD" in error or "outside the supported dates" in error
    assert not (tmp_path / "store").exists()


# ---------------------------------------------------------------------------------------------- limits


def test_a_report_names_each_chart_once_however_often_the_url_repeats_it(client: FlaskClient) -> None:
    charts = ",".join(["share-by-country"] * 100 + ["top-organisations"] * 20)
    response = client.get("/download/report.html", query_string={"charts": charts})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count('<section id="share-by-country">') == 1
    assert page.count('<section id="top-organisations">') == 1
    assert page.count("<section ") == 2


def test_request_bodies_over_1_mb_are_refused_with_413(client: FlaskClient) -> None:
    body = _callback(client, "organisations-grid.rowData", _leaderboard({}))
    body["padding"] = "x" * (1024 * 1024)
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 413
    assert client.post("/_dash-update-component", data=b" " * (30 * 1024 * 1024)).status_code == 413


def _malformed_bodies(client: FlaskClient) -> dict[str, object]:
    """Callback requests the pages never send, each as the raw body (bytes) or JSON."""
    good = _card_body(client, {}, {"chart": "share-by-country", "params": {}})
    state = good["state"][0]

    def with_(**changes: object) -> dict:
        return {**good, **changes}

    return {
        "not JSON": b"{",
        "empty": b"",
        "null": b"null",
        "a list": b"[]",
        "a number": b"5",
        "a string": b'"x"',
        "nesting 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
        "nesting 100 deep in a value": with_(inputs=_leaderboard(json.loads("[" * 100 + "]" * 100))),
        "no output": {k: v for k, v in good.items() if k != "output"},
        "an unknown output": with_(output="no-such.children"),
        "a 2 MB-ish unknown output": with_(output="x" * 900_000),
        "an output that is a number": with_(output=7),
        "inputs not a list": with_(inputs="filters"),
        "too few inputs": with_(inputs=[]),
        "too many inputs": with_(inputs=good["inputs"] * 2),
        "an input without an id": with_(inputs=[{"property": "data", "value": {}}]),
        "an input that is a string": with_(inputs=["filters.data"]),
        "state missing": with_(state=[]),
        "outputs a string": with_(outputs="x"),
        "changedPropIds a string": with_(changedPropIds="filters.data"),
        "an unknown chart in the spec": with_(state=[{**state, "value": {"chart": "no-such-chart"}}]),
        "a 500 KB unknown chart": with_(state=[{**state, "value": {"chart": "no-such-" + "x" * 500_000}}]),
        "a spec that is a string": with_(state=[{**state, "value": "share-by-country"}]),
        "a spec without a chart": with_(state=[{**state, "value": {"params": {}}}]),
        "spec params a list": with_(state=[{**state, "value": {"chart": "share-by-country", "params": [1]}}]),
        "filters a number": with_(inputs=_leaderboard(5)),
        "filters a list": with_(inputs=_leaderboard(["from", "2025-01-01"])),
    }


def test_malformed_callback_requests_get_400_with_the_reason(client: FlaskClient, caplog) -> None:
    good = _card_body(client, {}, {"chart": "share-by-country", "params": {}})
    assert client.post("/_dash-update-component", json=good).status_code == 200
    caplog.set_level(logging.INFO)
    for name, body in _malformed_bodies(client).items():
        if isinstance(body, bytes):
            response = client.post("/_dash-update-component", data=body, content_type="application/json")
        else:
            response = client.post("/_dash-update-component", json=body)
        assert response.status_code == 400, (name, response.get_data(as_text=True)[:300])
        assert response.get_data(as_text=True).startswith("malformed callback request: "), name
        assert len(response.get_data()) < 1000, name
    longest = max(len(line) for line in caplog.text.splitlines())
    assert longest <= LOG_LINE_CHARS + 200, "no log line (message or traceback) carries a client's megabyte"
    assert "more characters)" in caplog.text, "the 500 KB chart id was logged, cut"
    assert any("no-such" in record.getMessage() for record in caplog.records)


def test_image_exports_beyond_the_free_slots_get_429_with_retry_after(app: Dash, client: FlaskClient) -> None:
    slots = app.server.config[HEAVY_EXPORTS_KEY]
    taken = [slots.acquire(blocking=False) for _ in range(HEAVY_EXPORT_SLOTS)]
    try:
        assert all(taken), "every slot is free between requests"
        heavy = ("chart/concentration.png", "chart/concentration.pdf", "report.html?charts=concentration")
        for url in (f"/download/{name}" for name in heavy):
            response = client.get(url)
            assert response.status_code == 429, url
            assert int(response.headers["Retry-After"]) > 0
        assert client.get("/download/chart/share-by-country.csv").status_code == 200
    finally:
        for _ in taken:
            slots.release()
    released = client.get("/download/report.html?charts=share-by-country")
    assert released.status_code == 200, "the slots are free again"


def test_an_export_past_its_time_budget_gets_503_with_retry_after(app: Dash, client: FlaskClient) -> None:
    budget = app.server.config[BUDGET_KEY]
    app.server.config[BUDGET_KEY] = 0
    try:
        urls = ["chart/share-by-country.svg", "chart/share-by-country.csv", "data.csv"]
        urls.append("report.pdf?charts=concentration")
        for url in (f"/download/{name}" for name in urls):
            response = client.get(url)
            assert response.status_code == 503, url
            assert "longer than this server allows" in response.get_data(as_text=True)
            assert int(response.headers["Retry-After"]) > 0
    finally:
        app.server.config[BUDGET_KEY] = budget
    assert client.get("/download/chart/share-by-country.csv").status_code == 200


# ------------------------------------------------------------------------------------------ property tests

ISO_SAMPLE = ["CN", "US", "FR", "DE", "GB", "JP", "KR", "CA", "AE", "IL", "IN", "XX", "cn", "", "ZZ"]
DATES = st.dates(min_value=DATE_MIN, max_value=DATE_MAX) | st.dates(
    min_value=FIRST - dt.timedelta(days=40), max_value=LAST + dt.timedelta(days=40)
)


@st.composite
def views(draw: st.DrawFn) -> Filters:
    """Any view Filters can hold: dates anywhere in the documented range (often near the snapshots, in any
    order), any countries, tasks from the store or made up, any size class."""
    codes = [code for code in ISO_SAMPLE if len(code) == 2 and code.isupper()]
    countries = draw(st.lists(st.sampled_from(codes), min_size=1, max_size=4, unique=True))
    return Filters(
        start=draw(st.none() | DATES),
        end=draw(st.none() | DATES),
        period=draw(st.sampled_from(PERIODS)),
        countries=tuple(countries),
        attribution=draw(st.sampled_from(ATTRIBUTIONS)),
        scope=draw(st.sampled_from(SCOPES)),
        task=draw(st.none() | st.sampled_from(["text-generation", "image-text-to-text", "no-such-task"])),
        size_class=draw(st.none() | st.sampled_from(SIZE_CLASSES)),
        log_scale=draw(st.booleans()),
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(view=views())
def test_every_chart_answers_any_view(chart_warehouse, view: Filters) -> None:
    """No view makes a chart (or the overview's headline) fail; a view whose dates hold no snapshot shows
    nothing in any chart built on snapshots, and says why."""
    first, last = view.start or FIRST, view.end or LAST
    without_snapshots = max(first, FIRST) > min(last, LAST)
    headline = chart_warehouse.headline(view)  # the overview's key figures, over the same view
    assert (headline["period"] is None) or not without_snapshots
    for chart in chart_ids():
        result = render_chart(chart, chart_warehouse, view)
        assert result.title and result.source
        if without_snapshots and chart in SNAPSHOT_CHARTS:
            assert result.data.empty, chart
            notes = [note.text or "" for note in result.figure.layout.annotations]
            assert any("No snapshots in the selected dates" in note for note in notes), chart


DATE_TEXT = st.one_of(
    DATES.map(dt.date.isoformat),
    st.dates().map(dt.date.isoformat),
    st.dates().map(lambda day: day.strftime("%Y%m%d")),
    st.dates().map(lambda day: day.isocalendar()).map(lambda iso: f"{iso[0]}-W{iso[1]:02d}-{iso[2]}"),
    st.text(max_size=12),
)
PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "from": DATE_TEXT,
        "to": DATE_TEXT,
        "period": st.sampled_from([*PERIODS, "year", ""]),
        "countries": st.lists(st.sampled_from(ISO_SAMPLE), max_size=5).map(",".join),
        "attribution": st.sampled_from([*ATTRIBUTIONS, "x"]),
        "scope": st.sampled_from([*SCOPES, "none"]),
        "task": st.sampled_from(["text-generation", "all", "no-such-task", "a b", "x" * 100]),
        "size": st.sampled_from([*SIZE_CLASSES, "all", "3B"]),
        "log": st.sampled_from(["1", "0", "maybe"]),
        "charts": st.lists(st.sampled_from([*chart_ids(), "no-such-chart", ""]), max_size=30).map(",".join),
    },
)
TEXT_FORMATS = tuple(fmt for fmt in CHART_FORMATS if fmt not in BROWSER_FORMATS)
#: Download routes drawn without the browser (images are covered by the limits tests above and by
#: benchmarks/abuse.py: each costs a render).
ROUTES = st.sampled_from(
    [f"/download/chart/{chart}.{fmt}" for chart in chart_ids() for fmt in TEXT_FORMATS]
    + ["/download/data.csv", "/download/data.parquet", "/download/report.html"]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(route=ROUTES, params=PARAMS)
def test_every_download_route_answers_any_parameters(client: FlaskClient, route: str, params: dict) -> None:
    response = client.get(route, query_string=params)
    assert response.status_code in (200, 400), (route, params, response.status_code)
    if response.status_code == 400:  # a parameter the download cannot use, named first in the body
        body = response.get_data(as_text=True)
        named = body.split("=")[0].split(":")[0]
        required = route == "/download/report.html" and named == "charts"  # a report needs its charts
        assert named in params or required, (route, params, body)
