"""Finding things and choosing dates in real chromium: the model search keeps its query and page in the URL,
and a date preset (and the rolling average) changes the chart's range."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from pipelines.store import Store
from tests.browser.conftest import served
from tests.browser.support import store_end
from tests.browser.test_pages import chart, wait_for_charts
from tests.snapshots import model, write_snapshot

pytestmark = pytest.mark.browser

FILLERS = 450  # "filler/model-<i>", i + 1 downloads: three pages of 200, 200, 50


@pytest.fixture(scope="module")
def search_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app over a store holding Qwen/Qwen3-4B among 450 fillers, on a loopback port."""
    from app import create_app

    store = Store(tmp_path_factory.mktemp("browser-search") / "store")
    counts = [("Qwen/Qwen3-4B", 500), ("Qwen/Qwen3-14B", 900), ("Qwen/Qwen2.5-3B", 300)]
    counts += [(f"filler/model-{i:03d}", i + 1) for i in range(FILLERS)]
    for day, factor in ((1, 10), (2, 11)):
        rows = [model(name, downloads=d, downloads_all_time=factor * d) for name, d in counts]
        write_snapshot(store, dt.date(2025, 3, day), rows)
    with served(create_app(store)) as url:
        yield url


def test_search_qwen3_4b_keeps_the_query_in_the_url_and_pages(
    app_page: Page, search_app: str, screenshot_dir: Path
) -> None:
    app_page.goto(f"{search_app}/models")
    count = app_page.locator("#models-count")
    expect(count).to_contain_text("453 models; showing 1-200")
    app_page.locator("#models-search").fill("qwen3 4b")
    expect(count).to_contain_text("2 models match qwen3 + 4b")  # Qwen3-14B holds "4b" too
    cells = app_page.locator("#models-grid .ag-row [col-id='model']")
    expect(cells.filter(has_text="Qwen/Qwen3-4B")).to_have_count(1)
    expect(app_page).to_have_url(re.compile(r"/models\?q=qwen3\+4b$"))
    app_page.screenshot(path=str(screenshot_dir / "models-search.png"), full_page=True)

    app_page.reload()  # the URL alone restores the search
    expect(app_page.locator("#models-search")).to_have_value("qwen3 4b")
    expect(count).to_contain_text("2 models match qwen3 + 4b")

    app_page.locator("#models-search").fill("filler model")
    expect(count).to_contain_text("450 models match filler + model; showing 1-200")
    expect(app_page.locator("#models-page")).to_have_text("Page 1 of 3")
    app_page.locator("#models-next").click()
    expect(app_page).to_have_url(re.compile(r"/models\?q=filler\+model&page=2$"))
    expect(app_page.locator("#models-page")).to_have_text("Page 2 of 3")
    expect(count).to_contain_text("showing 201-400")
    first = app_page.locator("#models-grid .ag-row[row-index='0'] [col-id='model']")
    expect(first).to_have_text("filler/model-249")  # 250 downloads: the 201st most downloaded
    app_page.go_back()
    expect(app_page.locator("#models-page")).to_have_text("Page 1 of 3")
    expect(first).to_have_text("filler/model-449")


def _first_day_drawn(page: Page, chart_id: str) -> str:
    graph = f".chart-card[data-chart='{chart_id}'] .js-plotly-plot"
    return page.evaluate(
        f"""() => document.querySelector("{graph}").data
            .map(trace => String(trace.x[0]).slice(0, 10)).sort()[0]"""
    )


def test_a_preset_changes_the_chart_range_and_rolling_smooths_it(app_page: Page) -> None:
    app_page.goto("/?period=day")
    wait_for_charts(app_page, ("downloads-by-country",))
    last_counted = store_end() - dt.timedelta(days=1)  # the demo store's last snapshot holds the day before
    first_of_30 = (last_counted - dt.timedelta(days=29)).isoformat()
    assert _first_day_drawn(app_page, "downloads-by-country") < first_of_30  # 420 days drawn

    app_page.locator("#control-range").click()
    app_page.get_by_role("option", name="Last 30 days", exact=True).click()
    expect(app_page).to_have_url(re.compile(r"/\?period=day&range=30d$"))
    expect(app_page.locator("input#control-dates")).to_have_value(first_of_30)
    graph = ".chart-card[data-chart='downloads-by-country'] .js-plotly-plot"
    app_page.wait_for_function(
        f"""first => document.querySelector("{graph}").data
            .map(trace => String(trace.x[0]).slice(0, 10)).sort()[0] === first""",
        arg=first_of_30,
    )

    app_page.locator("#control-rolling").get_by_text("7 days", exact=True).click()
    expect(app_page).to_have_url(re.compile(r"/\?period=day&range=30d&rolling=7$"))
    subtitle = chart(app_page, "downloads-by-country").locator(".chart-subtitle")
    expect(subtitle).to_contain_text("7-day rolling average")
    assert _first_day_drawn(app_page, "downloads-by-country") == first_of_30  # averaged from earlier days
