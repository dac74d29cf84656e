"""Every page opens in a real browser without console errors and shows its charts; we keep a screenshot."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import PAGE_CHARTS, PAGE_GRIDS

pytestmark = pytest.mark.browser


def chart(page: Page, chart_id: str):
    return page.locator(f'.chart-card[data-chart="{chart_id}"]')


def wait_for_charts(page: Page, chart_ids: tuple[str, ...]) -> None:
    """Each card has its title and at least one drawn trace."""
    for chart_id in chart_ids:
        card = chart(page, chart_id)
        expect(card.locator(".chart-title")).not_to_be_empty()
        expect(card.locator(".js-plotly-plot g.trace").first).to_be_attached()


@pytest.mark.parametrize("path", list(PAGE_CHARTS))
def test_page_loads_and_shows_its_charts(app_page: Page, path: str, screenshot_dir: Path) -> None:
    app_page.goto(path)
    expect(app_page.locator("h1")).to_be_visible()
    expect(app_page.locator("#banner-synthetic")).to_contain_text("python -m pipelines snapshot")
    wait_for_charts(app_page, PAGE_CHARTS[path])
    for card in app_page.locator(".chart-card").all():
        source = "OpenRouter (openrouter.ai/rankings), as of" if path == "/inference" else "Hugging Face Hub"
        expect(card.locator(".chart-source")).to_contain_text(source)
        expect(card.locator("a.download-link:not([data-format=csv-wide])")).to_have_count(4)
    for grid_id in PAGE_GRIDS.get(path, ()):
        # A grid low on a long page (Methodology's snapshots) is scrolled to, as a reader would: unscrolled,
        # its first row was reported hidden although present (seen since the page grew several sections).
        app_page.locator(f"#{grid_id}").scroll_into_view_if_needed()
        expect(app_page.locator(f"#{grid_id} .ag-center-cols-container .ag-row").first).to_be_visible()
    app_page.wait_for_load_state("networkidle")
    name = path.strip("/") or "overview"
    app_page.screenshot(path=str(screenshot_dir / f"{name}.png"), full_page=True)
