"""From a list to one organisation and one model: their pages show their charts and tables, and the
Methodology page holds every definition, a searchable registry, the snapshots and the view's data."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from pipelines import definitions
from tests.browser.test_downloads import download
from tests.browser.test_pages import wait_for_charts

pytestmark = pytest.mark.browser


def test_leaderboard_leads_to_an_organisation_and_its_models(app_page: Page, screenshot_dir: Path) -> None:
    app_page.goto("/organisations?period=week")
    first = app_page.locator("#organisations-grid .ag-row[row-index='0'] a").first
    expect(first).to_be_visible()
    organisation = first.inner_text()
    first.click()
    expect(app_page).to_have_url(re.compile(r"/organisations/[^/?]+\?period=week$"))
    expect(app_page.locator("h1")).to_have_text(organisation)
    wait_for_charts(app_page, ("organisation-series",))
    expect(app_page.locator("#organisation-models .ag-row").first).to_be_visible()
    models = app_page.locator(".entity-facts > div", has_text="Models").locator("span").nth(1).inner_text()
    # The rows come after the charts, all of them: the pager counts as many as the Models fact.
    pager = app_page.locator("#organisation-models .ag-paging-row-summary-panel")
    expect(pager).to_contain_text(f"of {models}")
    app_page.screenshot(path=str(screenshot_dir / "organisation.png"), full_page=True)

    model_link = app_page.locator("#organisation-models .ag-row[row-index='0'] a").first
    model_id = model_link.inner_text()
    model_link.click()
    expect(app_page).to_have_url(re.compile(rf"/models/{re.escape(model_id)}\?period=week$"))
    expect(app_page.locator("h1")).to_have_text(model_id)
    wait_for_charts(app_page, ("model-series", "model-ram"))
    for label in ("Publisher country", "Lineage country", "All-time downloads", "Derivatives"):
        expect(app_page.locator(".entity-facts")).to_contain_text(label)
    expect(app_page.locator("#model-lineage .lineage-step").first).to_contain_text(model_id)
    expect(app_page.locator("#model-history .ag-row").first).to_be_visible()
    app_page.screenshot(path=str(screenshot_dir / "model.png"), full_page=True)


def test_model_search_finds_models_and_a_model_shows_its_lineage(app_page: Page) -> None:
    app_page.goto("/models")
    expect(app_page.locator("#models-grid .ag-row").first).to_be_visible()
    app_page.locator("#models-search").fill("-gguf")  # the demo's quantisations, found in any case
    expect(app_page.locator("#models-count")).not_to_have_text(re.compile("^200 models"))
    cells = app_page.locator("#models-grid .ag-row [col-id='model']")
    expect(cells.first).to_contain_text("-GGUF")
    not_found = cells.filter(has_not_text=re.compile("-gguf", re.IGNORECASE))
    expect(not_found).to_have_count(0)  # retried until the grid has redrawn

    quantisation = cells.first.inner_text()  # a chain of two steps or more
    cells.first.locator("a").click()
    expect(app_page.locator("h1")).to_have_text(quantisation)
    steps = app_page.locator("#model-lineage .lineage-step")
    expect(steps.first).to_contain_text(quantisation)
    assert steps.count() >= 2
    expect(app_page.locator("#model-lineage .arrow").first).to_have_text(
        re.compile("^(quantized|finetune|adapter|merge) of")
    )
    expect(app_page.locator("#model-page")).to_contain_text(
        re.compile(r"Lineage country: .+ \(the publisher")
    )


def test_unknown_entities_get_a_page_not_an_error(app_page: Page) -> None:
    app_page.goto("/models/nobody/nothing")
    expect(app_page.locator("#model-page")).to_contain_text("No model 'nobody/nothing'")
    app_page.goto("/organisations/no-such-org")
    expect(app_page.locator("#organisation-page")).to_contain_text("No organisation 'no-such-org'")


def test_methodology_defines_everything_and_offers_the_view_data(app_page: Page) -> None:
    app_page.goto("/methodology?period=week")
    expect(app_page.locator("details.definition")).to_have_count(len(definitions.MEASURES))
    expect(app_page.locator("#snapshot-freshness")).to_contain_text("snapshots from")
    expect(app_page.locator("#coverage-summary")).to_contain_text("% of 30-day downloads")

    rows = app_page.locator("#registry-grid .ag-row")
    expect(rows.first).to_be_visible()
    app_page.locator("#registry-search").fill("Moonshot")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("moonshotai")

    name, body = download(app_page, app_page.locator("#data-csv"))
    assert name.endswith(".zip")  # one tidy CSV per chart, with metadata.json and a README
    with zipfile.ZipFile(io.BytesIO(body)) as package:
        charts = [chart["id"] for chart in json.loads(package.read("metadata.json"))["charts"]]
        shares = list(csv.DictReader(io.StringIO(package.read("share-by-country.csv").decode("utf-8"))))
    assert {"cumulative-by-country", "downloads-by-country", "share-by-country"} <= set(charts)
    assert shares and {"period", "country", "country_name", "share"} <= set(shares[0])
    _, parquet = download(app_page, app_page.locator("#data-parquet"))
    assert parquet.startswith(b"PAR1")
