"""The view lives in the URL: controls change charts and the URL, a shared URL restores the view, back and
forward move between views, navigation keeps the view, and bad parameters degrade to defaults with a note."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from dashboards.state import DATE_RANGE_ID
from pipelines.runs import utc_today
from tests.browser.test_pages import chart, wait_for_charts

pytestmark = pytest.mark.browser

OVERVIEW_CHARTS = ("cumulative-by-country", "downloads-by-country", "share-by-country")
#: A Monday inside the demo store's window (it ends today), so the shared view means the same any day.
SHARED_FROM = (utc_today() - dt.timedelta(days=320 + utc_today().weekday())).isoformat()


def choose(page: Page, control_id: str, label: str) -> None:
    page.locator(f"#{control_id}").get_by_text(label, exact=True).click()


def legend_names(page: Page, chart_id: str) -> list[str]:
    return chart(page, chart_id).locator(".legend .traces .legendtext").all_inner_texts()


def test_controls_change_the_charts_and_the_url_and_history_replays_them(app_page: Page) -> None:
    app_page.goto("/")
    wait_for_charts(app_page, OVERVIEW_CHARTS)
    downloads = chart(app_page, "downloads-by-country")
    title = downloads.locator(".chart-title")
    expect(title).to_have_text("Downloads per month by publisher country")
    # The page's first chart is drawn with the page, the others by callbacks: both must follow the view.
    first_title = chart(app_page, "cumulative-by-country").locator(".chart-title")
    expect(first_title).to_have_text("All-time downloads by publisher country")
    downloads.get_by_text("Table", exact=True).click()  # the table is made when shown, and follows the view
    rows_shown = downloads.locator(".ag-paging-row-summary-panel")
    expect(rows_shown).to_contain_text(" of ")
    monthly_rows = rows_shown.inner_text()

    choose(app_page, "control-period", "Week")
    expect(app_page).to_have_url(re.compile(r"/\?period=week$"))
    expect(title).to_have_text("Downloads per week by publisher country")
    expect(rows_shown).not_to_have_text(monthly_rows)
    downloads.get_by_text("Chart", exact=True).click()

    choose(app_page, "control-attribution", "Lineage")
    expect(app_page).to_have_url(re.compile(r"/\?period=week&attribution=lineage$"))
    expect(title).to_have_text("Downloads per week by lineage country")
    expect(first_title).to_have_text("All-time downloads by lineage country")
    expect(downloads.locator("a.download-link[data-format=csv]")).to_have_attribute(
        "href", re.compile(r"period=week&attribution=lineage")
    )

    assert "France" not in legend_names(app_page, "downloads-by-country")
    app_page.locator("#control-countries").click()
    app_page.get_by_role("option", name="France", exact=True).click()
    app_page.keyboard.press("Escape")
    expect(app_page).to_have_url(re.compile(r"countries=CN,US,FR"))
    expect(downloads.locator(".legend")).to_contain_text("France")

    app_page.go_back()
    expect(app_page).to_have_url(re.compile(r"/\?period=week&attribution=lineage$"))
    expect(downloads.locator(".legend")).not_to_contain_text("France")
    app_page.go_back()
    expect(app_page).to_have_url(re.compile(r"/\?period=week$"))
    expect(app_page.locator("#control-attribution input[value=publisher]")).to_be_checked()
    expect(title).to_have_text("Downloads per week by publisher country")
    expect(first_title).to_have_text("All-time downloads by publisher country")
    app_page.go_forward()
    expect(app_page.locator("#control-attribution input[value=lineage]")).to_be_checked()
    expect(title).to_have_text("Downloads per week by lineage country")
    expect(first_title).to_have_text("All-time downloads by lineage country")

    app_page.locator("#control-size").click()
    app_page.get_by_role("option", name="7-9B", exact=True).click()
    expect(app_page).to_have_url(re.compile(r"/\?period=week&attribution=lineage&size=7-9B$"))
    expect(downloads.locator(".chart-subtitle")).to_contain_text("size class 7-9B")


def test_a_shared_url_restores_the_view_and_navigation_keeps_it(app_page: Page) -> None:
    app_page.goto(f"/?from={SHARED_FROM}&period=week&countries=CN,US,FR&attribution=lineage&log=1")
    wait_for_charts(app_page, OVERVIEW_CHARTS)
    expect(app_page.locator("#control-period input[value=week]")).to_be_checked()
    expect(app_page.locator("#control-attribution input[value=lineage]")).to_be_checked()
    expect(app_page.locator("#control-log input")).to_be_checked()
    expect(app_page.locator("#control-countries")).to_contain_text("France")
    downloads = chart(app_page, "downloads-by-country")
    expect(downloads.locator(".chart-title")).to_have_text("Downloads per week by lineage country")
    expect(downloads.locator(".legend")).to_contain_text("France")
    expect(downloads.locator(".chart-source")).to_contain_text(f"{SHARED_FROM} to")
    expect(app_page.locator(f"input#{DATE_RANGE_ID}")).to_have_value(SHARED_FROM)
    graph = ".chart-card[data-chart='downloads-by-country'] .js-plotly-plot"
    assert app_page.evaluate(f'() => document.querySelector("{graph}")._fullLayout.yaxis.type') == "log"

    # The first chart was drawn with the page for this view; away from it and back, it must follow.
    first_title = chart(app_page, "cumulative-by-country").locator(".chart-title")
    choose(app_page, "control-attribution", "Publisher")
    expect(first_title).to_have_text("All-time downloads by publisher country")
    choose(app_page, "control-attribution", "Lineage")
    expect(first_title).to_have_text("All-time downloads by lineage country")

    shared_view = f"from={SHARED_FROM}&period=week&countries=CN,US,FR&attribution=lineage&log=1"
    nav_link = app_page.locator(".nav").get_by_text("Derivatives", exact=True)
    expect(nav_link).to_have_attribute("href", f"/derivatives?{shared_view}")  # links follow the view
    nav_link.click()
    expect(app_page).to_have_url(re.compile(rf"/derivatives\?{re.escape(shared_view)}$"))
    expect(chart(app_page, "derivatives-by-country").locator(".chart-title")).to_contain_text("per week")


def test_invalid_url_parameters_fall_back_to_defaults_with_a_note(app_page: Page) -> None:
    app_page.goto("/?period=year&countries=1x&from=yesterday&log=maybe&scope=everything")
    wait_for_charts(app_page, OVERVIEW_CHARTS)
    note = app_page.locator("#url-notes")
    expect(note).to_contain_text("not understood")
    for parameter in (
        "period='year'",
        "countries='1x'",
        "from='yesterday'",
        "log='maybe'",
        "scope='everything'",
    ):
        expect(note).to_contain_text(parameter)
    expect(app_page.locator("#control-period input[value=month]")).to_be_checked()
    expect(chart(app_page, "downloads-by-country").locator(".chart-title")).to_have_text(
        "Downloads per month by publisher country"
    )


def test_a_task_no_model_has_is_noted_on_the_page(app_page: Page) -> None:
    """`/segments?task=nonsense` used to rewrite the URL without a word: the task control cannot show it."""
    app_page.goto("/segments?task=nonsense")
    wait_for_charts(app_page, ("size-by-country",))
    note = app_page.locator("#url-notes")
    expect(note).to_contain_text("task='nonsense': no model in the store has this task")
    expect(note).to_contain_text("using all tasks")
