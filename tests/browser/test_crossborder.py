"""The cross-border views in real Chromium, over the hand-made store of tests/crossborder_store.py: the
Derivatives page's flow matrix (counts, then row shares from the page's control, kept in the URL) and an
organisation page's "built on / built upon by", with the numbers worked out by hand in that module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.attribution_data import write_registry
from tests.browser.conftest import served
from tests.browser.test_pages import chart, wait_for_charts
from tests.crossborder_store import EXTRA_REGISTRY_ROWS, write_crossborder_store

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def crossborder_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard over the hand-made store, with the test registry's rows as the user's override (so
    bigcode is International, as the hand computation has it)."""
    from app import create_app

    root = tmp_path_factory.mktemp("crossborder-browser")
    override = write_registry(root / "override.csv", list(EXTRA_REGISTRY_ROWS))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OWT_REGISTRY", str(override))
        with served(create_app(write_crossborder_store(root / "store"))) as url:
            yield url


def traces(page: Page, chart_id: str) -> list[dict[str, Any]]:
    """The traces plotly drew in a card (name, x, y, text), as the browser holds them (decoded)."""
    return chart(page, chart_id).locator(".js-plotly-plot").evaluate(
        "plot => plot._fullData.map(t => "
        "({name: t.name, x: Array.from(t.x), y: Array.from(t.y), text: t.text}))"
    )


def points(page: Page, chart_id: str) -> dict[str, dict[Any, Any]]:
    """Per legend name (up to a colon), x -> y over its traces (an incomplete period's dashed part too)."""
    drawn: dict[str, dict[Any, Any]] = {}
    for trace in traces(page, chart_id):
        drawn.setdefault(trace["name"].split(":")[0], {}).update(zip(trace["x"], trace["y"], strict=True))
    return drawn


def heat_cells(page: Page) -> dict[tuple[str, str], str]:
    (cells,) = traces(page, "derivative-flows")
    return {(y, x): text for y, x, text in zip(cells["y"], cells["x"], cells["text"], strict=True)}


def test_the_flow_matrix_shows_the_hand_computed_counts_then_row_shares(
    app_page: Page, crossborder_url: str, screenshot_dir: Path
) -> None:
    page = app_page
    page.goto(f"{crossborder_url}/derivatives?from=2025-03-01&to=2025-04-30")
    wait_for_charts(page, ("derivative-flows", "crossborder-series", "crossborder-families"))
    card = chart(page, "derivative-flows")
    expect(card.locator(".chart-title")).to_have_text(
        "New derivatives by publisher country and base lineage country"
    )
    for label in ("China", "United States", "Rest of world", "International", "Individual / community"):
        expect(card.locator(".js-plotly-plot")).to_contain_text(label)
    assert heat_cells(page) == {
        ("CN", "CN"): "1", ("CN", "US"): "4",
        ("US", "CN"): "2", ("US", "US"): "1",
        ("Rest of world", "CN"): "0", ("Rest of world", "US"): "1",
        ("INTL", "CN"): "1", ("INTL", "US"): "0",
        ("UNATTRIBUTED_ORG", "CN"): "1", ("UNATTRIBUTED_ORG", "US"): "0",
        ("INDIVIDUAL", "CN"): "1", ("INDIVIDUAL", "US"): "0",
    }  # fmt: skip
    # The pair's series: Chinese-published derivatives of US bases, 1 in March and 3 in April.
    series = points(page, "crossborder-series")
    assert list(series["China-published derivatives of United States bases"].values()) == [1, 3]
    assert list(series["United States-published derivatives of China bases"].values()) == [1, 1]

    page.locator("#control-flow-cells label", has_text="Row shares").click()
    expect(page).to_have_url(f"{crossborder_url}/derivatives?from=2025-03-01&to=2025-04-30&cells=share")
    expect(card.locator(".js-plotly-plot")).to_contain_text("80%")
    shares = heat_cells(page)
    assert shares[("CN", "US")] == "80%" and shares[("CN", "CN")] == "20%" and shares[("US", "CN")] == "67%"
    page.screenshot(path=str(screenshot_dir / "derivatives-crossborder.png"), full_page=True)


def test_an_organisation_page_says_what_it_builds_on_and_who_builds_on_it(
    app_page: Page, crossborder_url: str
) -> None:
    page = app_page
    page.goto(f"{crossborder_url}/organisations/meta-llama")
    wait_for_charts(page, ("organisation-built-on",))
    drawn = points(page, "organisation-built-on")
    # BAAI (twice) and DeepSeek are Chinese, unsloth and nvidia American, Mistral French.
    assert drawn == {"Built upon by": {"CN": 3, "US": 2, "FR": 1}}
    expect(chart(page, "organisation-built-on").locator(".js-plotly-plot")).to_contain_text("France")

    page.goto(f"{crossborder_url}/organisations/BAAI")
    wait_for_charts(page, ("organisation-built-on",))
    assert points(page, "organisation-built-on") == {"Built on": {"US": 3}}
