"""A page draws the chart it comes with first: its other charts are asked for only once that chart is drawn
(assets/after-first-chart.js), and all of them still follow the view."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import PAGE_CHARTS
from tests.browser.test_pages import chart, wait_for_charts

pytestmark = pytest.mark.browser

#: Logs, for every callback request that draws a card (its `chart-wanted` input set), the card and whether
#: the page's first chart (the card drawn with the page) was on screen when it was sent.
RECORD_CARD_REQUESTS = """
window.owtCardRequests = [];
const send = window.fetch;
window.fetch = function (url, options) {
  if (String(url).includes("_dash-update-component") && options && typeof options.body === "string") {
    const body = JSON.parse(options.body);
    for (const input of body.inputs || []) {
      if (input.id && input.id.type === "chart-wanted" && input.value) {
        const first = document.querySelector(".chart-card[data-with-page]");
        window.owtCardRequests.push({
          card: input.id.card,
          firstDrawn: first !== null && first.querySelector(".js-plotly-plot .main-svg") !== null,
        });
      }
    }
  }
  return send.apply(this, arguments);
};
"""


def test_the_other_charts_are_asked_for_once_the_first_chart_is_drawn(app_page: Page) -> None:
    app_page.add_init_script(RECORD_CARD_REQUESTS)
    app_page.goto("/derivatives")
    charts = PAGE_CHARTS["/derivatives"]
    wait_for_charts(app_page, charts)
    first = app_page.locator(".chart-card[data-with-page]")
    expect(first).to_have_count(1)
    expect(first).to_have_attribute("data-chart", charts[0])
    requests = app_page.evaluate("window.owtCardRequests")
    drawn_later = {request["card"] for request in requests if request["card"] != charts[0]}
    assert drawn_later == set(charts[1:]), requests
    assert all(request["firstDrawn"] for request in requests if request["card"] != charts[0]), requests


def test_the_first_chart_follows_the_view_the_controls_show(app_page: Page) -> None:
    """The page's layout draws its first chart for the URL as given; a task no model has is dropped from the
    view (with a note), and the first chart is redrawn for the view shown, like the others."""
    app_page.goto("/?task=no-such-task")
    expect(app_page.locator("#url-notes")).to_contain_text("no-such-task")
    wait_for_charts(app_page, PAGE_CHARTS["/"])
    for chart_id in PAGE_CHARTS["/"]:
        expect(chart(app_page, chart_id).locator(".chart-subtitle")).not_to_contain_text("no-such-task")
    expect(app_page).to_have_url(re.compile(r"/\?task=no-such-task$"))


def test_the_leaderboard_comes_after_the_chart_with_the_search_the_url_asks_for(app_page: Page) -> None:
    app_page.goto("/organisations?q=qwen")
    wait_for_charts(app_page, PAGE_CHARTS["/organisations"])
    search = app_page.locator("#organisations-search")
    expect(search).to_have_value("qwen")
    expect(app_page.locator("#organisations-count")).to_contain_text("match qwen")
    rows = app_page.locator("#organisations-grid .ag-center-cols-container .ag-row")
    expect(rows.first).to_contain_text("Alibaba Cloud (Qwen team)")
    search.fill("meta llama")
    expect(app_page).to_have_url(re.compile(r"/organisations\?q=meta(\+|%20)llama$"))
    expect(app_page.locator("#organisations-count")).to_contain_text("match meta + llama")
