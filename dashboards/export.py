"""Export rendered charts as files: PNG/SVG/PDF (kaleido + the system chromium), CSV, self-contained HTML,
and reports (one PDF or one HTML holding several charts with their definitions and sources).

kaleido's sync server keeps one chromium for the whole process (first export ~1.5 s, then ~0.15 s) but is not
thread-safe: concurrent calls can receive each other's images. Every static export therefore holds
`_EXPORT_LOCK`, which makes it safe from Dash's threaded callbacks. MathJax is off because its CDN is not
reachable offline (and would make every export seconds slower). See ../shared/docs/dash-stack.md §2.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import os
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Literal

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from pypdf import PdfWriter

from dashboards import figures
from dashboards.charts import SYNTHETIC_WARNING, ChartResult

ChartFormat = Literal["png", "svg", "pdf", "csv", "html"]
ReportFormat = Literal["pdf", "html"]
CHART_FORMATS: tuple[ChartFormat, ...] = ("png", "svg", "pdf", "csv", "html")
REPORT_FORMATS: tuple[ReportFormat, ...] = ("pdf", "html")
MEDIA_TYPES: dict[str, str] = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "csv": "text/csv",
    "html": "text/html",
}
#: PNG is rendered at twice the CSS size: crisp on high-density screens and in print.
PNG_SCALE = 2


def _import_kaleido() -> ModuleType:
    """kaleido's logger (logistro) parses sys.argv when first imported and exits on any option abbreviating
    one of its own (our `--log` would), so it must not see the host program's arguments."""
    argv = sys.argv
    sys.argv = argv[:1]
    try:
        import kaleido
    finally:
        sys.argv = argv
    return kaleido


kaleido = _import_kaleido()
_EXPORT_LOCK = threading.Lock()
_server_started = False


class ExportError(ValueError):
    """An export that cannot be made (unknown format, no chromium, ...), with what to do about it."""


def _start_browser() -> None:
    """Start the process-wide kaleido server once (callers hold _EXPORT_LOCK)."""
    global _server_started
    if _server_started:
        return
    # Without a browser kaleido's server thread dies and every later export would wait forever: look first.
    from choreographer.browsers.chromium import Chromium

    browser = Chromium.find_browser(skip_local=False)
    if not browser or not os.access(browser, os.X_OK):
        raise ExportError(
            f"no Chrome/Chromium for image export (found {browser!r}); install it with "
            "`apt-get install chromium`, or set BROWSER_PATH to a Chrome/Chromium binary"
        )
    kaleido.start_sync_server(mathjax=False, silence_warnings=True)
    _server_started = True


def _stop_browser() -> None:
    """Stop the kaleido server (callers hold _EXPORT_LOCK); the next export starts a fresh browser."""
    global _server_started
    kaleido.stop_sync_server(silence_warnings=True)
    _server_started = False


def _image(fig: go.Figure, fmt: str, *, scale: float = 1) -> bytes:
    """Render through the shared browser, restarting it once if it fails.

    A crashed chromium makes the export fail and leaves kaleido's server thread dead, after which every call
    would wait forever; stopping the server on any failure and retrying once with a fresh browser keeps a
    long-running dashboard exporting. kaleido is called directly rather than through plotly.io, which
    passes per-call browser options that a running server ignores (with a warning on every export).
    """
    spec = fig.to_dict()
    opts = {"format": fmt, "width": figures.EXPORT_WIDTH, "height": figures.EXPORT_HEIGHT, "scale": scale}
    with _EXPORT_LOCK:
        try:
            return _render_once(spec, opts)
        except ExportError:
            raise
        except Exception:
            pass  # most likely a crashed browser: one more try with a fresh one
        try:
            return _render_once(spec, opts)
        except Exception as error:
            raise ExportError(f"image export failed twice, with a fresh browser too: {error}") from error


def _render_once(spec: dict, opts: dict) -> bytes:
    """One render (callers hold _EXPORT_LOCK); on failure the server stops, so the next render restarts it."""
    _start_browser()
    try:
        return kaleido.calc_fig_sync(spec, opts=opts)
    except Exception:
        _stop_browser()
        raise


def export_chart(result: ChartResult, fmt: str) -> bytes:
    """One chart as a file's bytes. CSV is exactly `result.data`; HTML embeds plotly.js (works offline)."""
    if fmt == "csv":
        return result.data.to_csv(index=False).encode("utf-8")
    if fmt == "html":
        return pio.to_html(
            result.figure, include_plotlyjs=True, full_html=True, config={"displaylogo": False}
        ).encode("utf-8")
    if fmt in ("png", "svg", "pdf"):
        return _image(result.figure, fmt, scale=PNG_SCALE if fmt == "png" else 1)
    raise ExportError(f"unknown chart format {fmt!r}; use one of {', '.join(CHART_FORMATS)}")


def file_name(result: ChartResult, fmt: str) -> str:
    """The download name of a chart file, e.g. `share-by-country.png`."""
    return f"{result.chart_id}.{fmt}"


def _generated_at() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _title_paragraphs(results: Sequence[ChartResult], view: str) -> list[tuple[str, str]]:
    charts = "\n".join(f"{number}. {result.title}" for number, result in enumerate(results, 1))
    return [("View", view), ("Source", results[0].source), ("Charts", charts)]


def _definitions(results: Sequence[ChartResult]) -> list[tuple[str, str]]:
    """Each definition the charts rely on, once, in the order the charts first need it."""
    seen: dict[str, str] = {}
    for result in results:
        for label, explanation in result.explanations:
            seen.setdefault(label, explanation)
    return list(seen.items())


def export_report(
    results: Sequence[ChartResult], fmt: str, *, title: str = "Open Weights Tracker report", view: str = ""
) -> bytes:
    """Several charts as one document: a title page, the definitions, then each chart (framed as on screen).

    PDF pages are rendered one by one by the same kaleido browser and joined with pypdf, so every page keeps
    vector text and the CJK font; HTML inlines plotly.js once and works offline.
    """
    if not results:
        raise ExportError("a report needs at least one chart")
    if fmt == "pdf":
        return _report_pdf(results, title=title, view=view)
    if fmt == "html":
        return _report_html(results, title=title, view=view)
    raise ExportError(f"unknown report format {fmt!r}; use one of {', '.join(REPORT_FORMATS)}")


def _report_pdf(results: Sequence[ChartResult], *, title: str, view: str) -> bytes:
    title_page = figures.text_page(
        title,
        _title_paragraphs(results, view),
        footer=f"Generated {_generated_at()}",
        warning=SYNTHETIC_WARNING if any(result.synthetic for result in results) else None,
    )
    definition_pages = figures.text_pages("Definitions", _definitions(results))
    pages = [title_page, *definition_pages, *(result.figure for result in results)]
    writer = PdfWriter()
    for page in pages:
        writer.append(io.BytesIO(_image(page, "pdf")))
    writer.add_metadata({"/Title": title, "/Creator": "Open Weights Tracker"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _report_html(results: Sequence[ChartResult], *, title: str, view: str) -> bytes:
    escape = html.escape
    sections = []
    for number, result in enumerate(results, 1):
        chart = pio.to_html(
            result.figure,
            include_plotlyjs=False,
            full_html=False,
            config={"displaylogo": False},
            default_width="100%",
            default_height=f"{figures.EXPORT_HEIGHT}px",
        )
        explanation = "".join(
            f"<p><b>{escape(label)}.</b> {escape(text)}</p>" for label, text in result.explanations
        )
        # The figure itself shows the title, subtitle and source; the heading is there for the contents list.
        sections.append(
            f'<section id="{escape(result.chart_id)}"><h2>{number}. {escape(result.title)}</h2>{chart}'
            f"<details><summary>Definitions</summary>{explanation}</details></section>"
        )
    toc = "".join(f'<li><a href="#{escape(r.chart_id)}">{escape(r.title)}</a></li>' for r in results)
    warning = (
        f'<p class="warning">{escape(SYNTHETIC_WARNING)}</p>' if any(r.synthetic for r in results) else ""
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: {figures.FONT_FAMILY}; color: #333; max-width: {figures.EXPORT_WIDTH + 40}px;
       margin: 2em auto; padding: 0 1em; }}
.source {{ color: #666; font-size: 0.85em; }}
.warning {{ color: #B00020; font-weight: bold; }}
section {{ margin-top: 3em; page-break-before: always; }}
</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<h1>{escape(title)}</h1>{warning}
<p>{escape(view)}</p><p class="source">Generated {_generated_at()}. {escape(results[0].source)}</p>
<ol>{toc}</ol>
{"".join(sections)}
</body></html>
"""
    return page.encode("utf-8")
