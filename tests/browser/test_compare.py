"""Organisations compared in a real browser: the page draws its charts for the organisations in the URL,
says which ids the store does not have, refuses more than 8, takes new organisations from its own input
into the URL, keeps them when a shared control changes, and is reached from the organisations list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import PAGE_CHARTS
from tests.browser.test_pages import chart, wait_for_charts

pytestmark = pytest.mark.browser

COMPARE = "/organisations/compare"


def legend(page: Page, chart_id: str):
    return chart(page, chart_id).locator(".legendtext")


def test_three_organisations_compared_and_unknown_ones_named(app_page: Page, screenshot_dir: Path) -> None:
    app_page.goto(f"{COMPARE}?orgs=Qwen,meta-llama,deepseek-ai,no-such-org")
    expect(app_page.locator("h1")).to_have_text("Compare organisations")
    wait_for_charts(app_page, PAGE_CHARTS[COMPARE])
    # The demo store's registry names: one line each, in the order asked; the unknown id is listed.
    expect(legend(app_page, "organisations-compare-downloads")).to_have_text(
        ["Alibaba Cloud (Qwen team)", "Meta", "DeepSeek"]
    )
    expect(app_page.locator("#compare-problems")).to_contain_text("not found in the store: no-such-org")
    expect(app_page.locator("#compare-shown")).to_contain_text("Alibaba Cloud (Qwen team)")
    leader = chart(app_page, "leader-vs-next")
    expect(leader.locator(".chart-title")).to_have_text(
        "The leading organisation vs the next 8 combined, per month"
    )
    app_page.screenshot(path=str(screenshot_dir / "compare.png"), full_page=True)

    # A new comparison from the page's inputs goes into the URL; the other parameters stay.
    app_page.goto(f"{COMPARE}?orgs=Qwen&scope=first-party")
    wait_for_charts(app_page, ("organisations-compare-downloads",))
    app_page.locator("#compare-orgs").fill("mistralai, meta-llama")
    app_page.locator("#compare-next").fill("3")
    app_page.locator("#compare-apply").click()
    expect(app_page).to_have_url(re.compile(r"orgs=mistralai,meta-llama"))
    expect(app_page).to_have_url(re.compile(r"next=3"))
    expect(app_page).to_have_url(re.compile(r"scope=first-party"))
    expect(legend(app_page, "organisations-compare-downloads")).to_have_text(["Mistral AI", "Meta"])
    expect(leader.locator(".chart-title")).to_have_text(
        "The leading organisation vs the next 3 combined, per month"
    )
    # A shared control (the period) changes the view and keeps the organisations compared.
    app_page.locator("#control-period label", has_text="Week").click()
    expect(app_page).to_have_url(re.compile(r"period=week"))
    expect(app_page).to_have_url(re.compile(r"orgs=mistralai,meta-llama"))
    expect(chart(app_page, "organisations-compare-downloads").locator(".chart-title")).to_have_text(
        "Downloads per week: organisations compared"
    )


def test_more_than_eight_organisations_get_a_clear_message(app_page: Page) -> None:
    nine = ",".join(["Qwen", "meta-llama", "deepseek-ai", "mistralai", "google", "a1", "a2", "a3", "a4"])
    app_page.goto(f"{COMPARE}?orgs={nine}")
    expect(app_page.locator("#compare-problems")).to_contain_text(
        "at most 8 organisations can be compared, not 9"
    )


def test_the_organisations_list_links_to_the_comparison(app_page: Page) -> None:
    app_page.goto("/organisations?from=2025-01-01")
    link = app_page.locator("#organisations-compare-link")
    expect(link).to_have_attribute("href", "/organisations/compare?from=2025-01-01")
    link.click()
    expect(app_page.locator("h1")).to_have_text("Compare organisations")
    # None named: the three most downloaded of the view are compared, and the page says so.
    expect(app_page.locator("#compare-shown")).to_contain_text("none named: the 3 with the most downloads")
    expect(legend(app_page, "organisations-compare-downloads")).to_have_count(3)


def test_individuals_as_international_online_regroups_the_country_charts(app_page: Page) -> None:
    app_page.goto("/segments")
    wait_for_charts(app_page, ("window-share",))
    expect(legend(app_page, "window-share")).not_to_contain_text(["International/Online"])
    app_page.locator("#control-individuals label", has_text="International/Online").click()
    expect(app_page).to_have_url(re.compile(r"individuals=international-online"))
    expect(legend(app_page, "window-share")).to_contain_text(["International/Online"])
    expect(legend(app_page, "size-by-country")).to_contain_text(["International/Online"])
    expect(chart(app_page, "window-share").locator(".chart-subtitle")).to_contain_text(
        "Individuals, communities and international organisations are one group: International/Online."
    )
    # On the compare page no chart groups countries: the control is greyed out with the reason.
    app_page.goto(f"{COMPARE}?individuals=international-online")
    expect(app_page.locator("#control-wrap-individuals")).to_have_class(re.compile("control--disabled"))
