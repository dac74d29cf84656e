"""The comparison, leader-vs-next, window-share and International/Online views in the app: URL state,
downloads that refuse organisations the store does not have, the compare page's messages and the
Methodology section "Reproducing published figures"."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from dashboards.filters import Filters
from dashboards.state import control_values, filters_from_controls, parse_search, to_search
from pipelines.published import PUBLISHED_FIGURES
from tests.app_render import render_page, texts


@pytest.fixture(scope="module")
def client(shared_demo_app) -> FlaskClient:
    """A client of the session's read-only demo app (tests/conftest.py): these tests only read it."""
    return shared_demo_app.server.test_client()


def test_the_new_view_fields_live_in_the_url_and_survive_a_control_change() -> None:
    view, notes = parse_search("?orgs=Qwen,meta-llama&next=5&individuals=international-online&period=week")
    assert notes == []
    assert view.orgs == ("Qwen", "meta-llama")
    assert (view.leader_next, view.individuals) == (5, "international-online")
    assert to_search(view) == "?period=week&orgs=Qwen,meta-llama&next=5&individuals=international-online"
    # The period control changes: the organisations and N (no shared control) stay; the grouping is a
    # control of its own and follows what it shows.
    controls = {**control_values(view), "period": "month", "individuals": "unattributed"}
    changed, notes = filters_from_controls(controls, kept=view)
    assert notes == []
    assert (changed.period, changed.orgs, changed.leader_next, changed.individuals) == (
        "month", ("Qwen", "meta-llama"), 5, "unattributed"
    )
    _, notes = parse_search("?next=0&individuals=online")
    assert notes == [
        "next='0': must be a whole number from 1 to 50; using the default '8'",
        "individuals='online': must be one of unattributed, international-online; using the default "
        "'unattributed'",
    ]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("?orgs=Qwen,no-such-org", "orgs='no-such-org': not found in the store: no-such-org"),
        ("?orgs=" + ",".join(f"org{i}" for i in range(9)), "at most 8 organisations can be compared, not 9"),
        ("?orgs=Qwen/Qwen3-8B", "not organisation ids"),
        ("?next=x", "next='x': must be a whole number"),
    ],
)
def test_a_comparison_download_naming_what_cannot_be_compared_is_a_400(
    client: FlaskClient, query: str, named: str
) -> None:
    response = client.get(f"/download/chart/organisations-compare-downloads.csv{query}")
    assert response.status_code == 400
    assert named in response.get_data(as_text=True)


def test_comparison_and_window_share_downloads_answer_the_view(client: FlaskClient) -> None:
    response = client.get("/download/chart/organisations-compare-cumulative.svg?orgs=Qwen,meta-llama")
    assert response.status_code == 200
    svg = response.get_data(as_text=True)
    assert "Alibaba Cloud (Qwen team)" in svg and "Meta" in svg
    response = client.get("/download/chart/window-share.svg?individuals=international-online")
    assert response.status_code == 200 and "International/Online" in response.get_data(as_text=True)


def test_the_compare_page_lists_the_ids_it_does_not_know(client: FlaskClient) -> None:
    layout = render_page(client, "/organisations/compare", "?orgs=Qwen,nobody-at-all")
    assert texts(layout, "H1") == ["Compare organisations"]
    assert any("not found in the store: nobody-at-all" in text for text in texts(layout, "Li"))


def test_methodology_reproduces_each_published_figure_with_its_command(client: FlaskClient) -> None:
    layout = render_page(client, "/methodology")
    commands = texts(layout, "Code")
    for figure in PUBLISHED_FIGURES:
        assert figure.command in commands
        assert figure.differences in layout  # the layout's JSON
    assert {"eoi-shares.csv", "atom-leader-vs-next.csv"} <= {c.split()[-1] for c in commands if "--out" in c}
    assert Filters().individuals == "unattributed"  # the published EOI grouping is an option, not the default


def test_the_readme_summarises_the_same_commands() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Reproducing published figures", 1)[1].split("\n## ", 1)[0]
    for figure in PUBLISHED_FIGURES:
        assert f"`{figure.command}`" in section, figure.figure
