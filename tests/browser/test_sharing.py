"""Sharing and context in a real browser: the events toggle marks events on a time chart; "Copy link" copies
the view's URL with the card's anchor, which opens scrolled to that card; "Embed" gives an iframe snippet
whose page shows the chart with its title and source; a wide table has one column per country."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from pipelines.events import COLUMNS
from tests.browser.conftest import checked_page
from tests.browser.support import store_end
from tests.browser.test_pages import chart, wait_for_charts

pytestmark = pytest.mark.browser

OVERVIEW = ("cumulative-by-country", "downloads-by-country", "share-by-country")


@pytest.fixture
def hand_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Events inside the small store's dates (it ends at `store_end()` and spans 420 days) and one before
    it, read by the live app (same process) through OWT_EVENTS."""
    end = store_end()
    rows = [
        (end - dt.timedelta(days=500), "release", "Before the store"),
        (end - dt.timedelta(days=200), "policy", "Hand policy"),
        (end - dt.timedelta(days=100), "release", "Hand release"),
    ]
    path = tmp_path / "events.csv"
    path.write_text(
        ",".join(COLUMNS) + "\n"
        + "".join(f"{day},{kind},{title},Org,,https://example.org/{kind},\n" for day, kind, title in rows),
        encoding="utf-8",
    )  # fmt: skip
    monkeypatch.setenv("OWT_EVENTS", str(path))
    yield


@pytest.fixture
def clipboard_page(browser: Browser, browser_context_args: dict) -> Iterator[Page]:
    """A page allowed to use the clipboard (its own context), failing the test on console errors."""
    context = browser.new_context(**browser_context_args, permissions=["clipboard-read", "clipboard-write"])
    try:
        with checked_page(context) as page:
            yield page
    finally:
        context.close()


def event_labels(page: Page, chart_id: str):
    return chart(page, chart_id).locator("g.annotation")


def test_the_events_toggle_marks_the_chosen_kinds_on_a_time_chart(app_page: Page, hand_events) -> None:
    app_page.goto("/")
    wait_for_charts(app_page, OVERVIEW)
    labels = event_labels(app_page, "downloads-by-country")
    expect(labels.filter(has_text="Hand release")).to_have_count(0)
    app_page.locator("#control-events").get_by_text("Releases", exact=True).click()
    expect(app_page).to_have_url(re.compile(r"/\?events=release$"))
    expect(labels.filter(has_text="Hand release")).to_have_count(1)
    expect(labels.filter(has_text="Hand policy")).to_have_count(0)
    expect(labels.filter(has_text="Before the store")).to_have_count(0)  # outside the chart's dates
    source = chart(app_page, "downloads-by-country").locator(".chart-source")
    expect(source).to_contain_text("Events (release): 1 marked, from events.csv")
    app_page.locator("#control-events").get_by_text("Policy", exact=True).click()
    expect(app_page).to_have_url(re.compile(r"/\?events=release,policy$"))
    expect(labels.filter(has_text="Hand policy")).to_have_count(1)
    expect(event_labels(app_page, "cumulative-by-country").filter(has_text="Hand release")).to_have_count(1)
    expect(source).to_contain_text("Events (release and policy): 2 marked")


def test_copy_link_copies_the_view_with_the_cards_anchor_and_opens_scrolled_to_it(
    clipboard_page: Page, live_app: str
) -> None:
    page = clipboard_page
    page.goto("/?period=week")
    wait_for_charts(page, OVERVIEW)
    card = chart(page, "share-by-country")
    card.get_by_role("button", name="Copy link").click()
    expected = f"{live_app}/?period=week#chart-share-by-country"
    expect(card.locator("input.share-text")).to_have_value(expected)
    expect(card.locator(".share-status")).to_have_text("Link copied.")
    assert page.evaluate("navigator.clipboard.readText()") == expected

    page.goto("/")  # then the copied link, as a reader would open it
    wait_for_charts(page, OVERVIEW[:1])
    page.goto(expected)
    shared = chart(page, "share-by-country")
    expect(shared.locator(".chart-title")).to_have_text("Share of downloads per week by publisher country")
    expect(shared).to_be_in_viewport()
    assert page.evaluate("window.scrollY") > 0


def test_embed_gives_an_iframe_snippet_whose_page_shows_the_chart_with_title_and_source(
    clipboard_page: Page, live_app: str
) -> None:
    page = clipboard_page
    page.goto("/?countries=CN,US,FR")
    wait_for_charts(page, OVERVIEW)
    card = chart(page, "downloads-by-country")
    title = card.locator(".chart-title").inner_text()
    card.get_by_role("button", name="Embed").click()
    snippet = card.locator("textarea.share-text")
    src = f"{live_app}/embed/chart/downloads-by-country?countries=CN,US,FR"
    expect(snippet).to_have_value(
        f'<iframe src="{src}" title="{title}" width="100%" height="600" style="border:0" loading="lazy">'
        "</iframe>"
    )
    assert page.evaluate("navigator.clipboard.readText()") == snippet.input_value()

    page.set_content(snippet.input_value())  # the snippet in an article of its own
    frame = page.frame_locator("iframe")
    expect(frame.locator("h1.chart-title")).to_have_text(title)
    expect(frame.locator(".chart-source")).to_contain_text("Source: Hugging Face Hub model metadata")
    expect(frame.locator(".js-plotly-plot g.trace").first).to_be_attached()
    expect(frame.locator(".legend")).to_contain_text("France")
    expect(frame.locator(".nav, #controls")).to_have_count(0)


def test_the_wide_table_has_one_column_per_country(app_page: Page) -> None:
    app_page.goto("/")
    wait_for_charts(app_page, OVERVIEW)
    card = chart(app_page, "downloads-by-country")
    card.get_by_text("Wide table", exact=True).click()
    headers = card.locator(".ag-header-cell-text")
    expect(headers.first).to_have_text("period")
    expect(headers).to_contain_text(["period", "complete", "China", "United States"])
    expect(card.locator(".ag-center-cols-container .ag-row").first).to_be_visible()
    assert chart(app_page, "share-by-country").get_by_text("Wide table", exact=True).count() == 1
