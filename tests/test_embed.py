"""`/embed/chart/<id>?<view>`: one chart with its title, subtitle and source line and nothing else; a 404
naming the known ids for an unknown chart, a 400 naming the parameter for a bad view; and the card's wide
CSV download (`layout=wide`)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboards.charts import chart_ids, render_chart
from dashboards.filters import Filters
from dashboards.state import app_state
from tests.packages import package_metadata, package_table


@pytest.fixture(scope="module")
def app(shared_demo_app):
    """The session's read-only demo app (tests/conftest.py): these tests only read it."""
    return shared_demo_app


@pytest.fixture(scope="module")
def client(app) -> FlaskClient:
    return app.server.test_client()


def rendered(app, chart_id: str, filters: Filters):
    with app.server.app_context():
        return render_chart(chart_id, app_state().warehouse, filters)


def test_the_embed_page_holds_only_the_chart_with_its_title_subtitle_and_source(app, client) -> None:
    response = client.get("/embed/chart/share-by-country?period=week&countries=CN,US,FR")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    expected = rendered(app, "share-by-country", Filters(period="week", countries=("CN", "US", "FR")))
    assert expected.title == "Share of downloads per week by publisher country"
    assert f'<h1 class="chart-title">{expected.title}</h1>' in page
    assert expected.subtitle.replace("'", "&#x27;") in page
    assert expected.source.split(" Open Weights Tracker.")[0] in page
    assert 'data-chart="share-by-country"' in page and "SYNTHETIC DEMO DATA" in page
    assert re.search(r'Plotly\.newPlot\(\s*"embed-graph"', page)
    assert all(f'"name":"{name}"' in page for name in ("China", "United States", "France"))
    # Light: plotly.js's basic bundle and the figure; no Dash app, navigation or filter bar.
    assert "_dash-config" not in page and "/_dash-component-suites/" not in page
    assert 'class="nav' not in page and "control-" not in page
    assert re.search(r'<script src="/assets/plotly-basic\.min\.js\?m=\d+"></script>', page)
    assert client.get(re.search(r'src="(/assets/plotly-basic[^"]+)"', page).group(1)).status_code == 200


def test_the_embed_page_shows_events_when_the_view_asks(client) -> None:
    page = client.get("/embed/chart/downloads-by-country?events=policy").get_data(as_text=True)
    assert "Events (policy):" in page


def test_an_unknown_chart_is_a_404_naming_the_known_ids(client) -> None:
    response = client.get("/embed/chart/no-such-chart")
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "No chart has the id &#x27;no-such-chart&#x27;" in text and "share-by-country" in text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=year", "period='year': must be one of day, week, month"),
        ("countries=XX", "countries='XX': XX: not ISO 3166-1 alpha-2"),
        ("events=launch", "events='launch': must be 1 (all events), 0 (none) or kinds"),
    ],
)
def test_a_bad_view_parameter_is_a_400_naming_it(client, query: str, message: str) -> None:
    response = client.get(f"/embed/chart/downloads-by-country?{query}")
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_the_wide_csv_download_has_one_column_per_country(client) -> None:
    response = client.get("/download/chart/downloads-by-country.csv?layout=wide&countries=CN,US")
    assert response.status_code == 200
    assert "_wide.zip" in response.headers["Content-Disposition"]
    table = package_table(response.data)
    assert list(table.columns)[:4] == ["period", "complete", "CN", "US"]
    assert package_metadata(response.data)["charts"][0]["layout"] == "wide"
    bad = client.get("/download/chart/downloads-by-country.csv?layout=tall")
    assert bad.status_code == 400 and "layout='tall': must be one of long, wide" in bad.get_data(as_text=True)



def test_methodology_lists_every_event_with_its_source(app) -> None:
    from dashboards.pages import methodology
    from pipelines.events import load_events

    with app.server.test_request_context("/methodology"):
        page = methodology.layout()
    [section] = [child for child in page.children if getattr(child, "id", None) == "events"]
    table = section.children[-1].children
    rows = table.children[1].children
    events = load_events()
    assert len(rows) == len(events)
    first = rows[0].children
    assert first[0].children == events[0].date.isoformat() and first[4].children.href == events[0].source_url


EMBED_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "period": st.sampled_from(["day", "week", "month", "year", ""]),
        "countries": st.sampled_from(["CN,US", "cn,fr", "XX", "", "US"]),
        "events": st.sampled_from(["1", "0", "release", "policy,release", "launch", "all", ""]),
        "from": st.sampled_from(["2026-01-01", "20260101", "9999-01-01", ""]),
        "log": st.sampled_from(["1", "0", "maybe"]),
    },
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chart=st.sampled_from([*chart_ids(), "no-such-chart"]), params=EMBED_PARAMS)
def test_any_embed_request_is_the_chart_or_a_clear_refusal(client, chart: str, params: dict) -> None:
    """The chart (200), or a 400 naming the parameter, or a 404 for an unknown id; never a server error."""
    response = client.get(f"/embed/chart/{chart}", query_string=params)
    body = response.get_data(as_text=True)
    if chart == "no-such-chart":
        assert response.status_code == 404
    elif response.status_code == 400:
        named = body.split(":")[0].split("=")[0]
        assert named in params, body
    else:
        assert response.status_code in (200, 409), body[:300]
        assert 'class="chart-title"' in body or response.status_code == 409
