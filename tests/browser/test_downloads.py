"""Every download link returns a real file of the view on screen: PNG/SVG/PDF by their signatures, the CSV
package's table row for row what the chart plots, and the report builder's PDF and self-contained HTML."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_pages import chart, wait_for_charts

pytestmark = pytest.mark.browser

SIGNATURES = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}
VIEW = "/?period=week&countries=CN,US,FR"
CHART = "downloads-by-country"
#: The display groups' codes in files (the chart's legend shows the names).
GROUP_LABELS = {"REST_OF_WORLD": "Rest of world", "UNATTRIBUTED": "Unattributed"}


def download(page: Page, link) -> tuple[str, bytes]:
    with page.expect_download() as info:
        link.click()
    result = info.value
    return result.suggested_filename, open(result.path(), "rb").read()


def plotted_traces(page: Page, chart_id: str) -> list[dict]:
    """What plotly drew (typed arrays decoded): each trace's meta (the data rows it plots), x and y."""
    return page.evaluate(
        """(chartId) => document
            .querySelector(`.chart-card[data-chart="${chartId}"] .js-plotly-plot`)._fullData
            .map(trace => ({meta: trace.meta, x: Array.from(trace.x), y: Array.from(trace.y)}))""",
        chart_id,
    )


def same_point(plotted: object, written: str) -> bool:
    if isinstance(plotted, int | float):
        return math.isclose(float(written), plotted, rel_tol=1e-9)
    return str(plotted)[:10] == written[:10]  # dates: plotly may add a time part


def test_chart_downloads_are_valid_files_of_the_view(app_page: Page) -> None:
    app_page.goto(VIEW)
    wait_for_charts(app_page, (CHART,))
    links = chart(app_page, CHART).locator("a.download-link")
    expect(links.first).to_have_attribute(
        "href", f"/download/chart/{CHART}.png?period=week&countries=CN,US,FR"
    )
    files = {
        fmt: download(app_page, chart(app_page, CHART).locator(f"a.download-link[data-format={fmt}]"))
        for fmt in ("png", "svg", "pdf", "csv")
    }

    for fmt, (name, body) in files.items():
        suffix = "zip" if fmt == "csv" else fmt  # a chart's CSV comes packaged with its metadata
        assert name == f"{CHART}_publisher_week_first_to_latest.{suffix}"
        if fmt in SIGNATURES:
            assert body.startswith(SIGNATURES[fmt]), fmt
    assert b"<svg" in files["svg"][1][:500]

    with zipfile.ZipFile(io.BytesIO(files["csv"][1])) as package:
        assert json.loads(package.read("metadata.json"))["synthetic"] is True
        table = package.read(f"{CHART}.csv").decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(table)))
    for row in rows:
        row["country"] = GROUP_LABELS.get(row["country"], row["country"])
    traces = plotted_traces(app_page, CHART)
    assert {trace["meta"]["key"] for trace in traces} >= {"CN", "US", "FR"}
    covered = 0
    for trace in traces:
        meta = trace["meta"]
        mine = [row for row in rows if row[meta["column"]] == str(meta["key"])]
        if "complete" in meta:  # a series split at its incomplete periods (drawn dashed)
            mine = [row for row in mine if row["complete"] == str(meta["complete"])]
        bridge = set(meta.get("bridge", ()))  # points joining the dashed part to its complete neighbours
        xs = [x for i, x in enumerate(trace["x"]) if i not in bridge]
        ys = [y for i, y in enumerate(trace["y"]) if i not in bridge]
        assert len(mine) == len(xs), meta
        assert all(same_point(x, row[meta["x"]]) for x, row in zip(xs, mine, strict=True)), meta
        assert all(same_point(y, row[meta["y"]]) for y, row in zip(ys, mine, strict=True)), meta
        covered += len(mine)
    assert covered == len(rows), "every CSV row is a plotted point"

    card = chart(app_page, CHART)
    card.get_by_text("Table", exact=True).click()
    expect(card.locator(".js-plotly-plot")).to_be_hidden()
    expect(card.locator(".ag-row").first).to_be_visible()
    expect(card.locator(".ag-paging-row-summary-panel")).to_contain_text(f"of {len(rows)}")
    card.get_by_text("Chart", exact=True).click()
    expect(card.locator(".js-plotly-plot")).to_be_visible()


def test_report_builder_downloads_a_pdf_and_a_self_contained_html(app_page: Page) -> None:
    app_page.goto("/report?period=week")
    pdf_link = app_page.locator("#report-pdf")
    expect(pdf_link).to_have_attribute(
        "href",
        "/download/report.pdf?period=week&charts="
        "cumulative-by-country,downloads-by-country,share-by-country,top-organisations",
    )
    app_page.locator("#report-charts").get_by_text("Top", exact=False).first.click()  # deselect one chart
    expect(pdf_link).not_to_have_attribute(
        "href",
        "/download/report.pdf?period=week&charts="
        "cumulative-by-country,downloads-by-country,share-by-country,top-organisations",
    )
    _, pdf = download(app_page, pdf_link)
    assert pdf.startswith(b"%PDF-")
    _, page = download(app_page, app_page.locator("#report-html"))
    text = page.decode("utf-8")
    assert text.lstrip().lower().startswith("<!doctype html>")
    assert re.search(r"<script[^>]*\ssrc=", text) is None, "plotly.js is inlined, nothing loads from a CDN"
    assert "Downloads per week" in text
