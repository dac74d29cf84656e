"""Exports through the real kaleido + chromium: file signatures, CSV = plotted points, CJK text, reports, and
the lock that keeps concurrent exports from receiving each other's images."""

from __future__ import annotations

import contextlib
import io
import re
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import psutil
import pytest
from pypdf import PdfReader

from dashboards.charts import render_chart
from dashboards.export import ExportError, bare_csv, export_chart, export_report
from dashboards.filters import Filters

SIGNATURES = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}


@pytest.fixture(scope="module")
def share(chart_warehouse):
    return render_chart("share-by-country", chart_warehouse, Filters())


def pdf_text(payload: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(payload)).pages)


def test_png_svg_pdf_have_their_signatures_and_the_chart_title(share):
    png = export_chart(share, "png")
    assert png.startswith(SIGNATURES["png"])
    svg = export_chart(share, "svg").decode("utf-8")
    assert svg.lstrip().startswith("<svg") and share.title in svg
    pdf = export_chart(share, "pdf")
    assert pdf.startswith(SIGNATURES["pdf"])
    assert share.title in pdf_text(pdf)


#: The display groups' codes in files, written out here (not taken from the code under test).
GROUP_LABELS = {"REST_OF_WORLD": "Rest of world", "UNATTRIBUTED": "Unattributed"}


def test_csv_holds_exactly_the_plotted_points(chart_warehouse):
    view = Filters(countries=("CN", "US", "FR"))
    for chart_id in ("cumulative-by-country", "top-organisations", "size-by-country"):
        result = render_chart(chart_id, chart_warehouse, view)
        from_csv = pd.read_csv(io.BytesIO(bare_csv(result, view)), keep_default_na=False)
        columns = list(from_csv.columns)
        assert columns[columns.index("country") + 1] == "country_name"
        assert set(from_csv["country_name"]) >= {"China", "United States"}
        written = from_csv.drop(columns="country_name").replace(
            {"country": GROUP_LABELS, "group": GROUP_LABELS}
        )[list(result.data.columns)]
        plotted = result.data.astype(str)  # the charts' own test proves `data` is exactly what is plotted
        for column in ("date", "period"):
            if column in plotted:
                plotted[column] = plotted[column].str[:10]
        # The same rows, in natural order in the file (the figure's traces may list categories otherwise).
        assert sorted(map(tuple, written.astype(str).values)) == sorted(map(tuple, plotted.values))


def test_html_is_self_contained(share):
    page = export_chart(share, "html").decode("utf-8")
    assert '<script src="http' not in page
    assert "plotly.js v" in page or "Plotly" in page
    assert share.title in page


def test_chinese_organisation_names_render_as_text(cjk_warehouse):
    result = render_chart("top-organisations", cjk_warehouse, Filters())
    cjk_names = [name for name in result.data["organization"] if re.search(r"[\u4e00-\u9fff]", name)]
    assert cjk_names, "the override registry should give at least one organisation a Chinese name"
    svg = export_chart(result, "svg").decode("utf-8")
    assert cjk_names[0] in svg
    chinese = re.findall(r"[\u4e00-\u9fff]+", cjk_names[0])[0]  # PDF text may space a change of font
    assert chinese in pdf_text(export_chart(result, "pdf"))


def test_report_pdf_has_a_title_page_definitions_and_every_chart(chart_warehouse):
    results = [
        render_chart(c, chart_warehouse, Filters()) for c in ("downloads-by-country", "top-organisations")
    ]
    pdf = export_report(results, "pdf", view="test view")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1 + 1 + len(results)  # title, definitions (one page here), charts
    first, definitions_page = reader.pages[0].extract_text(), reader.pages[1].extract_text()
    assert "Open Weights Tracker report" in first and "test view" in first
    assert "SYNTHETIC DEMO DATA" in first
    assert "Downloads in the period" in definitions_page
    for page, result in zip(reader.pages[2:], results, strict=True):
        assert result.title in page.extract_text()


def test_report_html_inlines_plotly_once_and_has_every_chart(chart_warehouse):
    results = [
        render_chart(c, chart_warehouse, Filters()) for c in ("cumulative-by-country", "share-by-country")
    ]
    page = export_report(results, "html").decode("utf-8")
    assert page.count("* plotly.js v") == 1
    assert '<script src="http' not in page
    for result in results:
        assert result.title in page and f'id="{result.chart_id}"' in page


def test_unknown_formats_are_refused_with_the_known_ones(share):
    with pytest.raises(ExportError, match="png, svg, pdf, csv, html"):
        export_chart(share, "gif")
    with pytest.raises(ExportError, match="pdf, html"):
        export_report([share], "png")


def test_concurrent_exports_each_get_their_own_image(chart_warehouse):
    """kaleido's server is not thread-safe; the export lock must keep every caller's answer its own."""
    results = [
        render_chart(chart_id, chart_warehouse, Filters())
        for chart_id in (
            "cumulative-by-country",
            "downloads-by-country",
            "share-by-country",
            "size-by-country",
        )
    ]
    jobs = [results[i % len(results)] for i in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        svgs = list(pool.map(lambda result: export_chart(result, "svg").decode("utf-8"), jobs))
    for result, svg in zip(jobs, svgs, strict=True):
        assert result.title in svg
        assert all(other.title not in svg for other in results if other.title != result.title)


def _cmdline(process: psutil.Process) -> list[str]:
    """Its command line, or nothing if it has just exited."""
    try:
        return process.cmdline()
    except psutil.NoSuchProcess:
        return []


def test_a_crashed_browser_is_replaced_and_the_export_still_succeeds(share):
    """If kaleido's chromium dies (OOM killer, crash), the next export restarts it instead of hanging."""
    assert export_chart(share, "png").startswith(SIGNATURES["png"])
    children = psutil.Process().children()
    wrappers = [child for child in children if "choreographer" in " ".join(_cmdline(child))]
    assert wrappers, "kaleido's browser should be a child of this process"
    for wrapper in wrappers:
        for process in [*wrapper.children(recursive=True), wrapper]:
            with contextlib.suppress(psutil.NoSuchProcess):  # a child may exit with its parent first
                process.kill()
    assert export_chart(share, "svg").decode("utf-8").lstrip().startswith("<svg")
