"""On a store that ends mid-month, in a real browser: the running month is drawn and labelled as incomplete
and never a headline; the cards name their measure and follow the view; the CSV and HTML downloads carry the
mark; controls a page does not use say why; every page is screenshotted wide and narrow, and the narrow ones
do not scroll sideways."""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import store_end
from tests.browser.test_controls import choose
from tests.browser.test_downloads import download
from tests.browser.test_pages import chart, wait_for_charts

pytestmark = pytest.mark.browser

#: The last day the store holds: the day before its last snapshot's date (day-label rule).
HELD = store_end() - dt.timedelta(days=1)
#: Worked out by hand from that day: e.g. 'Dec 2026 to date, 3 of 31 days' for a snapshot of 4 December.
RUNNING = f"{HELD:%b %Y} to date, {HELD.day} of {calendar.monthrange(HELD.year, HELD.month)[1]} days"
LAST_COMPLETE = (HELD.replace(day=1) - dt.timedelta(days=1)).strftime("%B %Y")
OVERVIEW_CHARTS = ("cumulative-by-country", "downloads-by-country", "share-by-country")


def csv_rows(body: bytes) -> list[dict[str, str]]:
    """A chart's CSV download: a bare CSV, or the CSV inside a download package (zip)."""
    if body.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(body)) as package:
            name = next(n for n in package.namelist() if n.endswith(".csv"))
            body = package.read(name)
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


def test_the_running_month_is_incomplete_on_the_page_in_the_cards_and_downloads(app_page: Page) -> None:
    app_page.goto("/")
    wait_for_charts(app_page, OVERVIEW_CHARTS)
    downloads = chart(app_page, "downloads-by-country")
    for chart_id in ("downloads-by-country", "share-by-country"):
        card = chart(app_page, chart_id)
        expect(card.locator(".chart-subtitle")).to_contain_text(RUNNING)
        expect(card.locator(".js-plotly-plot .annotation-text", has_text=RUNNING)).to_have_count(1)
    dashes = app_page.evaluate(
        """() => document.querySelector('.chart-card[data-chart="downloads-by-country"] .js-plotly-plot')
            ._fullData.filter(t => t.meta && t.meta.complete === false).map(t => t.line.dash)"""
    )
    assert dashes and set(dashes) == {"dash"}

    # Cards: the latest complete month, never the running one; each names its measure, rule and dates.
    cards = app_page.locator(".headline-card")
    expect(cards).to_have_count(4)
    share = app_page.locator('[data-headline="share-CN"]')
    expect(share).to_contain_text(f"{LAST_COMPLETE}, the latest complete month")
    measure = share.locator(".headline-measure")
    expect(measure).to_contain_text("Share of downloads per month · publisher country")
    crossover = app_page.locator('[data-headline="crossover"]')
    expect(crossover.locator(".headline-measure")).to_contain_text("Downloads per month · publisher country")
    expect(crossover).to_contain_text("complete month")
    for card in cards.all():
        expect(card.locator(".headline-synthetic")).to_have_text("Synthetic data")
        expect(card).not_to_contain_text(HELD.strftime("%B %Y"))
    choose(app_page, "control-attribution", "Lineage")
    expect(measure).to_contain_text("Share of downloads per month · lineage country")

    # Downloads of the view: the CSV's `complete` column, the HTML's label.
    expect(downloads.locator(".chart-subtitle")).to_contain_text("Lineage country")
    _, body = download(app_page, downloads.locator("a.download-link[data-format=csv]"))
    rows = csv_rows(body)
    running = HELD.replace(day=1).isoformat()
    assert {row["complete"].lower() for row in rows if row["period"].startswith(running)} == {"false"}
    middle = sorted({row["period"] for row in rows})[1:-1]
    assert {row["complete"].lower() for row in rows if row["period"] in middle} == {"true"}
    html = app_page.request.get("/download/chart/downloads-by-country.html?attribution=lineage")
    assert html.ok and RUNNING in html.text()


def test_the_derivative_counts_hatch_the_running_month(app_page: Page) -> None:
    app_page.goto("/derivatives")
    wait_for_charts(app_page, ("derivatives-by-country", "derivatives-by-relation"))
    card = chart(app_page, "derivatives-by-relation")
    expect(card.locator(".chart-subtitle")).to_contain_text(RUNNING)
    patterns = app_page.evaluate(
        """() => document.querySelector('.chart-card[data-chart="derivatives-by-relation"] .js-plotly-plot')
            ._fullData.map(t => [Array.from(t.x).map(String), (t.marker.pattern || {}).shape || null])"""
    )
    running = HELD.replace(day=1).isoformat()
    for xs, shapes in patterns:
        if shapes is None:
            assert not any(x.startswith(running) for x in xs)
            continue
        assert [shape == "/" for shape in shapes] == [x.startswith(running) for x in xs]


def test_controls_a_page_does_not_use_are_disabled_with_the_reason(app_page: Page) -> None:
    app_page.goto("/segments")
    wait_for_charts(app_page, ("size-by-country",))
    period = app_page.locator("#control-wrap-period")
    expect(period).to_have_class("control control--disabled")
    reason = "Not used here: these charts are totals over the selected dates."
    expect(period).to_have_attribute("title", reason)
    expect(app_page.locator("#control-reason-period")).to_be_visible()
    expect(app_page.locator("#control-wrap-attribution")).to_have_class("control")

    app_page.goto("/derivatives")
    expect(app_page.locator("#control-wrap-attribution")).to_have_class("control control--disabled")
    expect(app_page.locator("#control-reason-attribution")).to_contain_text("lineage country of their base")
    expect(app_page.locator("#control-wrap-period")).to_have_class("control")

    app_page.goto("/")
    expect(app_page.locator("#control-wrap-period")).to_have_class("control")
    expect(app_page.locator(".control--disabled")).to_have_count(0)
    expect(app_page.locator("#controls-note")).to_be_hidden()


def entity_paths(page: Page) -> tuple[str, str]:
    """An organisation's page and one of its models' pages, reached from the leaderboard."""
    page.goto("/organisations")
    first = page.locator("#organisations-grid .ag-row[row-index='0'] a").first
    expect(first).to_be_visible()
    organisation = first.get_attribute("href") or ""
    page.goto(organisation)
    model = page.locator("#organisation-models .ag-row[row-index='0'] a").first
    expect(model).to_be_visible()
    return organisation, model.get_attribute("href") or ""


def test_entity_pages_show_only_the_scale(app_page: Page) -> None:
    organisation, model = entity_paths(app_page)
    for path in (organisation, model):
        app_page.goto(path)
        expect(app_page.locator("#control-wrap-log_scale")).to_be_visible()
        for field in ("dates", "period", "countries", "attribution", "scope", "task", "size_class"):
            expect(app_page.locator(f"#control-wrap-{field}")).to_be_hidden()
        expect(app_page.locator("#controls-note")).to_contain_text("only the scale applies here")


PAGES = ("/", "/organisations", "/models", "/derivatives", "/segments", "/methodology", "/report")
VIEWPORTS = {"wide": (1440, 900), "narrow": (390, 844)}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_every_page_screenshotted_and_the_narrow_ones_do_not_scroll_sideways(
    app_page: Page, screenshot_dir: Path, viewport: str
) -> None:
    width, height = VIEWPORTS[viewport]
    organisation, model = entity_paths(app_page)
    app_page.set_viewport_size({"width": width, "height": height})
    named = {path: path.strip("/") or "overview" for path in PAGES}
    named.update({organisation: "organisation", model: "model"})
    for path, name in named.items():
        app_page.goto(path)
        expect(app_page.locator("h1")).to_be_visible()
        app_page.wait_for_load_state("networkidle")
        app_page.screenshot(path=str(screenshot_dir / f"{name}-{width}x{height}.png"), full_page=True)
        scroll_width = app_page.evaluate("document.scrollingElement.scrollWidth")
        if viewport == "narrow":
            assert scroll_width <= width, (path, scroll_width)
