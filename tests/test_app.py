"""The dashboard server without a browser: it starts under gunicorn and compresses its responses, an empty
store shows the demo store, and no URL a visitor can type makes it answer with an error page."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from flask.testing import FlaskClient
from plotly.offline import get_plotlyjs_version

from app import create_app, ensure_demo_store
from dashboards.charts import chart_ids
from dashboards.filters import Filters
from dashboards.state import STALE_AFTER_DAYS, parse_search, state_of
from pipelines.definitions import MEASURES
from pipelines.demo import generate_demo_store
from pipelines.store import Store
from tests.app_render import call, card_specs, components, render_card, render_page, texts, values
from tests.browser.support import PAGE_CHARTS
from tests.services import stop_process

PROJECT_DIR = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


@pytest.fixture(scope="module")
def store(shared_demo_store: Store) -> Store:
    """The session's read-only demo store (tests/conftest.py): these tests only read it."""
    return shared_demo_store


@pytest.fixture(scope="module")
def client(shared_demo_app) -> FlaskClient:
    """A client of the session's demo app over `store`, instead of a second app of this module's own."""
    return shared_demo_app.server.test_client()


def test_gunicorn_serves_the_dashboard_compressed(store: Store) -> None:
    """`gunicorn app:server` (the README's production command) starts on the store from OWT_STORE."""
    with gunicorn(store) as port:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=120) as response:  # the worker builds its warehouse
            assert response.status == 200
            assert response.headers["Content-Encoding"] == "gzip"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_dash-layout", timeout=60) as response:
            assert "Synthetic data" in response.read().decode("utf-8")


@contextmanager
def gunicorn(store: Store, env: dict[str, str] | None = None) -> Iterator[int]:
    """`gunicorn app:server`, one worker, on `store` (OWT_STORE) at a free loopback port, with `env` added to
    the environment; yields the port."""
    process = subprocess.Popen(
        [str(GUNICORN), "app:server", "--bind", "127.0.0.1:0", "--workers", "1", "--timeout", "120"],
        cwd=PROJECT_DIR,
        env={**os.environ, "OWT_STORE": str(store.root), **(env or {})},
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, which stop_process ends as a whole
    )
    try:
        yield _listening_port(process)
    finally:
        stop_process(process)


def _listening_port(process: subprocess.Popen) -> int:
    """The port gunicorn chose for 127.0.0.1:0, read from its log line `Listening at: http://127.0.0.1:N`."""
    deadline = time.monotonic() + 60
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}")
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line)
        if found:
            return int(found.group(1))
    pytest.fail("gunicorn did not start listening within 60 s")


def test_responses_are_compressed(client: FlaskClient) -> None:
    script = client.get(
        "/_dash-component-suites/plotly/package_data/plotly.min.js", headers={"Accept-Encoding": "gzip"}
    )
    assert script.status_code == 200 and script.headers["Content-Encoding"] == "gzip"


def test_charts_load_plotly_basic_from_a_versioned_asset_that_browsers_keep(client: FlaskClient) -> None:
    """The charts only use scatter and bar traces: dcc.Graph is pointed at plotly.js's basic bundle (1/4 of
    the full one to load) of plotly.py's version, at a URL browsers may keep; no page loads it upfront."""
    page = client.get("/").get_data(as_text=True)
    assert "plotly-basic.min.js" not in page and "plotly.min" not in page
    shim = re.search(r'<script src="(/assets/plotly-basic\.js\?m=[^"]+)"', page)
    assert shim, "the page should point dcc.Graph at the basic bundle"
    shim_text = client.get(shim.group(1)).get_data(as_text=True)
    bundle_url = re.search(r'"(/assets/plotly-basic\.min\.js\?v=[^"]+)"', shim_text)
    assert bundle_url, "the shim should name the bundle's versioned URL"
    bundle = client.get(bundle_url.group(1))
    assert f"plotly.js (basic - minified) v{get_plotlyjs_version()}" in bundle.get_data()[:200].decode()
    assert bundle_url.group(1).endswith(f"?v={get_plotlyjs_version()}")
    assert bundle.headers["Cache-Control"] == "public, max-age=31536000"
    unversioned = client.get("/assets/style.css")
    unversioned.get_data()
    assert "max-age=31536000" not in unversioned.headers["Cache-Control"]


def test_an_empty_store_shows_the_demo_store_with_a_banner(tmp_path: Path, store: Store) -> None:
    empty = Store(tmp_path / "empty")
    app = create_app(empty, demo_store=store.root)
    state = state_of(app.server)
    assert state.demo and state.store.root == store.root and state.configured_store == empty
    layout = json.dumps(app.server.test_client().get("/_dash-layout").get_json())
    assert f"The store {empty.root} is empty" in layout
    assert "python -m pipelines snapshot" in layout and "python -m pipelines backfill" in layout
    package = app.server.test_client().get("/download/chart/share-by-country.csv").get_data()
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        metadata = json.loads(archive.read("metadata.json"))
    assert metadata["synthetic"] is True
    assert f"The store {empty.root} has no snapshot" in metadata["demo_store"]


def test_a_store_named_that_does_not_exist_is_an_error_not_the_demo(tmp_path: Path) -> None:
    typo = tmp_path / "no-such-store"
    result = subprocess.run(
        [sys.executable, "app.py", "--store", str(typo)], cwd=PROJECT_DIR, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and f"no store at {typo}" in result.stderr
    assert not typo.exists()


def test_a_task_no_model_has_gets_a_note_in_the_page(client: FlaskClient) -> None:
    """`/segments?task=nonsense`: the view falls back to all tasks and the page says why (the task control
    cannot show a task the store does not have)."""
    sync = _sync_callback_request(client)
    response = client.post("/_dash-update-component", json=sync("?task=nonsense")).get_json()["response"]
    assert response["filters"]["data"] == {}
    note = json.dumps(response["url-notes"]["children"])
    assert "task='nonsense': no model in the store has this task" in note and "using all tasks" in note


def test_old_snapshots_get_a_stale_data_banner(tmp_path: Path) -> None:
    old = Store(tmp_path / "old")
    generate_demo_store(old, models=20, days=3, end=dt.date.today() - dt.timedelta(days=STALE_AFTER_DAYS + 7))
    layout = json.dumps(create_app(old).server.test_client().get("/_dash-layout").get_json())
    assert f"The newest snapshot is {STALE_AFTER_DAYS + 7} days old" in layout


def test_the_demo_store_is_generated_once(tmp_path: Path) -> None:
    target = tmp_path / "demo-store"
    first = ensure_demo_store(target, models=20, days=5)
    assert len(first.dates()) == 5 and first.provenance(first.dates()[-1])["synthetic"] is True
    marker = first.snapshot_dir(first.dates()[0]) / "provenance.json"
    written = marker.stat().st_mtime_ns
    ensure_demo_store(target, models=20, days=5)
    assert marker.stat().st_mtime_ns == written
    assert not list(tmp_path.glob(".demo-store.tmp-*")), "no staging directory is left behind"


FUZZ_VALUES = [
    "",
    "x",
    "-1",
    "0",
    "1",
    "9999-99-99",
    "2025-02-30",
    "CN,,US",
    "cn,us",
    "🇨🇳",
    "%00",
    "a" * 300,
    "'; DROP TABLE x; --",
    "<script>",
    "CN,US,XX",
    "day",
    "week",
    "lineage",
    "atom",
    "7-9B",
    "250B+",
]
FUZZ_NAMES = [
    "from",
    "to",
    "period",
    "countries",
    "attribution",
    "scope",
    "task",
    "size",
    "log",
    "charts",
    "namespace",
    "model",
    "unknown",
]


def fuzzed_queries(count: int, seed: int = 7) -> list[dict[str, str]]:
    rng = random.Random(seed)
    return [
        {name: rng.choice(FUZZ_VALUES) for name in rng.sample(FUZZ_NAMES, rng.randint(1, 5))}
        for _ in range(count)
    ]


def test_url_parameter_fuzz_never_gives_a_server_error(client: FlaskClient) -> None:
    """Pages, the URL->view callback and data downloads answer any query string without a 500."""
    sync = _sync_callback_request(client)
    for query in fuzzed_queries(40):
        search = "?" + "&".join(f"{name}={value}" for name, value in query.items())
        for path in (*PAGE_CHARTS, "/organisations/Qwen", "/models/Qwen/none"):
            assert client.get(path + search).status_code == 200, (path, search)
        assert client.get(f"/download/chart/share-by-country.csv{search}").status_code in (200, 400), search
        assert client.get(f"/download/report.html{search}").status_code in (200, 400), search
        filters, _ = parse_search(search, state_of(client.application).tasks)
        response = client.post("/_dash-update-component", json=sync(search))
        assert response.status_code == 200, (search, response.get_data(as_text=True)[:500])
        stored = response.get_json()["response"]["filters"]["data"]
        assert stored == filters.to_params(), search


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("/download/chart/no-such-chart.png", "unknown chart id 'no-such-chart'"),
        ("/download/chart/share-by-country.exe", "unknown format 'exe'"),
        ("/download/chart/share-by-country.png?period=fortnight", "period='fortnight': must be one of day"),
        ("/download/chart/share-by-country.csv?task=nonsense", "task='nonsense': no model in the store"),
        ("/download/chart/size-by-country.svg?size=huge", "size='huge': must be one of <1B"),
        ("/download/chart/share-by-country.pdf?countries=CN,XX", "countries='CN,XX': XX: not ISO"),
        ("/download/chart/share-by-country.pdf?scope=mine", "scope='mine'"),
        ("/download/data.csv?attribution=owner", "attribution='owner'"),
        ("/download/data.xlsx", "unknown data format 'xlsx'"),
        ("/download/report.pdf", "charts: choose at least one chart id"),
        ("/download/report.pdf?charts=share-by-country,china-vs-usa", "unknown chart id(s) china-vs-usa"),
        ("/download/report.gif?charts=share-by-country", "unknown report format 'gif'"),
        ("/download/chart/organisation-series.png", "missing parameter namespace"),
    ],
)
def test_a_bad_download_parameter_is_a_400_naming_it(client: FlaskClient, url: str, named: str) -> None:
    """A download is the view asked for or nothing: never a default chart in place of a bad parameter."""
    response = client.get(url)
    assert response.status_code == 400
    assert named in response.get_data(as_text=True)


def test_a_chart_csv_download_is_a_package_that_says_what_it_holds(client: FlaskClient) -> None:
    response = client.get("/download/chart/size-by-country.csv?countries=CN,US,FR")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].endswith('.zip"')
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        assert sorted(archive.namelist()) == ["README.md", "metadata.json", "size-by-country.csv"]
        metadata = json.loads(archive.read("metadata.json"))
        data = pd.read_csv(archive.open("size-by-country.csv"), keep_default_na=False)
        readme = archive.read("README.md").decode("utf-8")
    assert metadata["synthetic"] is True and "SYNTHETIC DEMO DATA" in readme
    assert metadata["filters"]["countries"] == ["CN", "US", "FR"] and metadata["filters"]["period"] == "month"
    assert metadata["demo_store"] is None  # the store asked for had snapshots
    assert list(data.columns) == ["size_class", "country", "country_name", "downloads"]
    assert data["downloads"].dtype == "int64"


def test_the_view_data_is_one_tidy_csv_per_chart(client: FlaskClient) -> None:
    response = client.get("/download/data.csv?period=week")
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        names = archive.namelist()
        metadata = json.loads(archive.read("metadata.json"))
        downloads = pd.read_csv(archive.open("downloads-by-country.csv"), keep_default_na=False)
    assert {f"{chart_id}.csv" for chart_id in chart_ids()} <= set(names)
    assert [chart["id"] for chart in metadata["charts"]] == chart_ids()
    assert list(downloads.columns)[:4] == ["period", "country", "country_name", "downloads"]
    assert not downloads["downloads"].astype(str).str.contains(r"\.").any(), "counts are integers"
    parquet = pd.read_parquet(io.BytesIO(client.get("/download/data.parquet?period=week").get_data()))
    assert str(parquet["downloads"].dtype) == "Int64" and "country_name" in parquet.columns


def _sync_callback_request(client: FlaskClient):
    """A builder of the request the browser sends when the URL's query string changes."""
    dependencies = client.get("/_dash-dependencies").get_json()
    spec = next(d for d in dependencies if d["output"].startswith("..url.search..."))
    outputs = [
        {"id": o.split(".")[0], "property": o.split(".")[1]} for o in spec["output"].strip(".").split("...")
    ]

    def build(search: str) -> dict:
        inputs = [
            {"id": i["id"], "property": i["property"], "value": search if i["id"] == "url" else None}
            for i in spec["inputs"]
        ]
        return {
            "output": spec["output"],
            "outputs": outputs,
            "inputs": inputs,
            "changedPropIds": ["url.search"],
            "state": [],
        }

    return build


def test_the_command_line_explains_its_defaults() -> None:
    result = subprocess.run(
        [sys.executable, "app.py", "--help"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    help_text = " ".join(result.stdout.split())
    for text in ("--host", "127.0.0.1", "--port", "8050", "--store", "OWT_STORE", "reverse proxy"):
        assert text in help_text


# -- every page's layout and its main callbacks, rendered for real (tests/app_render.py) ---------------------

PAGE_HEADINGS = {
    "/": "Open models by origin country",
    "/organisations": "Organisations",
    "/models": "Models",
    "/derivatives": "Derivatives",
    "/segments": "Segments",
    "/inference": "Inference",
    "/organisations/compare": "Compare organisations",
    "/methodology": "Methodology & data",
    "/report": "Report builder",
}


def _drawn(figure: dict) -> list[float]:
    """Every value a figure plots (its traces' `y`, or `x` for horizontal bars, or the colours of a heat
    map's cells, whose axes are categories)."""
    plotted: list[float] = []
    for trace in figure["data"]:
        axis = "x" if trace.get("orientation") == "h" else "y"
        marker = trace.get("marker", {})
        cells = marker.get("color") if marker.get("symbol") == "square" else []
        for array in (trace.get(axis, []), cells):
            plotted += [v for v in values(array) if isinstance(v, int | float)]
    return plotted


@pytest.mark.parametrize("path", list(PAGE_CHARTS))
def test_page_layout_renders_its_heading_and_charts(client: FlaskClient, path: str) -> None:
    """The pages router runs the page's layout: a layout that raises answers 500 here. Its first chart is
    drawn with the page, the others are left to `render_card`."""
    page = render_page(client, path)
    assert texts(page, "H1") == [PAGE_HEADINGS[path]]
    cards = card_specs(page)
    assert tuple(card["chart"] for card in cards) == PAGE_CHARTS[path]
    if cards:
        graph_id = {"type": "chart-graph", "card": cards[0]["key"]}
        first = next(c for c in components(page) if c["props"].get("id") == graph_id)
        assert any(value > 0 for value in _drawn(first["props"]["figure"])), path


@pytest.mark.parametrize("path", [p for p, charts in PAGE_CHARTS.items() if charts])
def test_page_chart_cards_callback_draws_every_chart_with_its_definition(
    client: FlaskClient, path: str
) -> None:
    for card in card_specs(render_page(client, path)):
        shown = render_card(client, card, Filters(countries=("CN", "US", "FR")).to_params())
        assert shown["chart-title.children"], card
        assert any(value > 0 for value in _drawn(shown["chart-graph.figure"])), card
        # the subtitle is the chart's measure definitions, from pipelines.definitions
        assert any(m.definition in shown["chart-subtitle.children"] for m in MEASURES.values()), card


def test_detail_page_layouts_render_an_organisation_and_a_model(client: FlaskClient, store: Store) -> None:
    organisation = render_page(client, "/organisations/Qwen")
    assert texts(organisation, "H1") == ["Alibaba Cloud (Qwen team)"]  # data/orgs.csv's name for Qwen
    charts = [c["chart"] for c in card_specs(organisation)]
    assert charts == ["organisation-series", "organisation-derivatives", "organisation-built-on"]
    top = state_of(client.application).warehouse.model_search("Qwen/", limit=1).iloc[0]
    model = render_page(client, f"/models/{top['model_id']}")
    assert texts(model, "H1") == [top["model_id"]]
    cards = card_specs(model)
    assert [c["chart"] for c in cards] == ["model-series", "model-ram"]
    series = render_card(client, cards[0], {})
    assert max(_drawn(series["chart-graph.figure"])) == top["downloads_all_time"]  # its latest all-time count


def test_page_callbacks_fill_the_overview_cards_and_the_tables(client: FlaskClient) -> None:
    view = Filters(countries=("CN", "US", "FR")).to_params()
    headline = json.dumps(call(client, "headline-cards.children", {"filters.data": view}))
    assert "China" in headline and "United States" in headline
    board_output = (
        "..organisations-grid.rowData...organisations-growth-note.children...organisations-count.children.."
    )
    board = call(client, board_output, {"filters.data": view, "organisations-search.value": ""})
    leaders = board["organisations-grid.rowData"]
    assert [row["rank"] for row in leaders] == list(range(1, len(leaders) + 1)) and len(leaders) > 5
    assert "[Alibaba Cloud (Qwen team)](/organisations/Qwen" in json.dumps(leaders)
    found = call(
        client,
        "..models-grid.rowData...models-count.children...models-pager.children...models-shown.data..",
        {"models-search.value": "qwen", "filters.data": view},
    )
    rows = found["models-grid.rowData"]
    assert rows and all("qwen" in row["model"].split("]")[0].lower() for row in rows)  # [id](link)
    assert found["models-count.children"].startswith(f"{len(rows)} models match qwen; showing 1-{len(rows)},")
    methodology = call(
        client,
        "..view-downloads.children...coverage-summary.children...snapshot-freshness.children..."
        "snapshot-grid.rowData...snapshot-grid.columnDefs..",
        {"filters.data": view},
    )
    assert "% of 30-day downloads" in methodology["coverage-summary.children"]
    assert len(methodology["snapshot-grid.rowData"]) == len(state_of(client.application).store.dates())


def test_page_layout_takes_any_url_parameters(client: FlaskClient) -> None:
    """A page's layout gets the URL's parameters: none a visitor can type makes it raise."""
    for query in fuzzed_queries(3, seed=11):
        search = "?" + "&".join(f"{name}={value}" for name, value in query.items())
        for path in (*PAGE_CHARTS, "/organisations/Qwen", "/models/Qwen/none"):
            assert texts(render_page(client, path, search), "H1"), (path, search)


def test_methodology_page_says_what_coverage_counts(client: FlaskClient) -> None:
    """The coverage words users read come from pipelines.definitions, beside the registry's caveat."""
    layout = render_page(client, "/methodology")
    page = " ".join(texts(layout, "P") + texts(layout, "Li"))
    assert MEASURES["coverage"].explanation in page
    assert "has the country 'unknown' and counts as Unattributed too, never as International" in page
