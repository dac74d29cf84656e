"""A view ending mid-month, through every export: the running month is marked on the figure spec that
kaleido renders (PNG, SVG, PDF), in the SVG and PDF text, in the HTML and in the CSV's `complete` column;
the derivative counts too."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from pypdf import PdfReader

from dashboards import export, figures
from dashboards.charts import render_chart
from dashboards.export import bare_csv, export_chart, export_report
from dashboards.filters import Filters

#: The chart store's snapshots end on 30 Sep 2025; this view ends on the 16th: September is 16 of 30 days.
MID_MONTH = Filters(start=dt.date(2025, 8, 1), end=dt.date(2025, 9, 16))
RUNNING = "Sep 2025 to date, 16 of 30 days"


@pytest.fixture
def rendered_specs(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Every figure spec handed to kaleido, recorded on its way (the real renderer still draws it)."""
    specs: list[dict] = []
    render = export._render_once

    def recording(spec: dict, opts: dict) -> bytes:
        specs.append(spec)
        return render(spec, opts)

    monkeypatch.setattr(export, "_render_once", recording)
    return specs


def incomplete_labels(spec: dict) -> list[str]:
    notes = spec["layout"].get("annotations", [])
    return [note["text"] for note in notes if note.get("name") == figures.INCOMPLETE_ANNOTATION]


def test_the_running_month_is_marked_in_every_format(chart_warehouse, rendered_specs):
    result = render_chart("downloads-by-country", chart_warehouse, MID_MONTH)
    payloads = {fmt: export_chart(result, fmt) for fmt in ("png", "svg", "pdf", "html")}
    payloads["csv"] = bare_csv(result, MID_MONTH)
    assert len(rendered_specs) == 3
    for spec in rendered_specs:  # PNG, SVG, PDF: the spec kaleido drew
        assert incomplete_labels(spec) == [RUNNING]
        dashed = [t for t in spec["data"] if t.get("meta", {}).get("complete") is False]
        series = ("China", "United States", "Rest of world", "Unattributed")
        assert {t["name"] for t in dashed} == {f"{name} (incomplete)" for name in series}
        assert all(t["line"]["dash"] == "dash" for t in dashed)
    assert RUNNING in payloads["svg"].decode("utf-8")
    pdf = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(payloads["pdf"])).pages)
    assert RUNNING in pdf
    assert RUNNING in payloads["html"].decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(payloads["csv"].decode("utf-8"))))
    by_month = {(row["period"][:7], row["complete"]) for row in rows}
    assert by_month == {("2025-08", "True"), ("2025-09", "False")}


def test_derivative_counts_mark_the_running_month_hatched_and_in_the_csv(chart_warehouse, rendered_specs):
    result = render_chart("derivatives-by-country", chart_warehouse, MID_MONTH)
    export_chart(result, "png")
    (spec,) = rendered_specs
    assert incomplete_labels(spec) == [RUNNING]
    for trace in spec["data"]:
        months = [str(x)[:7] for x in trace["x"]]
        shapes = trace["marker"]["pattern"]["shape"] if "pattern" in trace["marker"] else [""] * len(months)
        assert [shape == "/" for shape in shapes] == [month == "2025-09" for month in months], trace["name"]
    rows = list(csv.DictReader(io.StringIO(bare_csv(result, MID_MONTH).decode("utf-8"))))
    by_month = {(row["period"][:7], row["complete"]) for row in rows}
    assert by_month == {("2025-08", "True"), ("2025-09", "False")}


def test_a_report_marks_the_running_month_on_its_chart_pages(chart_warehouse):
    chart_ids = ("share-by-country", "derivatives-by-relation")
    results = [render_chart(chart_id, chart_warehouse, MID_MONTH) for chart_id in chart_ids]
    html = export_report(results, "html").decode("utf-8")
    assert html.count(RUNNING) >= 2
    pdf = PdfReader(io.BytesIO(export_report(results, "pdf")))
    chart_pages = [page.extract_text() for page in pdf.pages[-2:]]
    assert all(RUNNING in text for text in chart_pages)
