"""Export rendered charts as files: PNG/SVG/PDF (kaleido + the system chromium), CSV, self-contained HTML,
and reports (one PDF or one HTML holding several charts with their definitions and sources).

One kaleido chromium serves the whole process (first export ~1.5 s to start it), driven from its own
event-loop thread. Every static export holds `_EXPORT_LOCK`, which makes it safe from Dash's threaded
callbacks and lets a crashed browser be replaced by the next caller. kaleido reloads its page (4.8 MB of
plotly.js) after every render, two thirds of a warm export; `_WarmKaleido` reloads only every
`RENDERS_PER_RELOAD` renders.
MathJax is off because its CDN is not reachable offline (and would make every export seconds slower). See
../shared/docs/dash-stack.md §2.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime as dt
import html
import io
import os
import sys
import threading
from collections.abc import Coroutine, Iterator, Sequence
from types import ModuleType
from typing import Any, Literal, TypeVar

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from pypdf import PdfWriter

from dashboards import figures
from dashboards.budget import BudgetExceeded, seconds_left
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
#: kaleido's page draws each figure in a fresh element that plotly purges, and a PDF resets the image and page
#: style it prints, so renders do not depend on each other; a reload now and then bounds what a page open for
#: days could accumulate.
RENDERS_PER_RELOAD = 100
#: Longer than kaleido's own limit for one render (90 s), so its error, not ours, says what went wrong.
_CALL_TIMEOUT_S = 120
Result = TypeVar("Result")


class ExportError(ValueError):
    """An export that cannot be made (unknown format, no chromium, ...), with what to do about it."""


class ExportBusy(ExportError):
    """Too many exports waiting for the browser already (the web app answers 429)."""


@contextlib.contextmanager
def _browser_turn() -> Iterator[None]:
    """Hold _EXPORT_LOCK, waiting for it no longer than the time budget."""
    left = seconds_left()
    if not _EXPORT_LOCK.acquire(timeout=-1 if left is None else left):
        seconds_left()
        raise BudgetExceeded("the export waited too long for the browser; try again")
    try:
        yield
    finally:
        _EXPORT_LOCK.release()


class _WarmKaleido(kaleido.Kaleido):
    """kaleido's browser, keeping its page (and plotly.js in it) loaded between renders."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self._renders_since_reload = 0

    async def _return_kaleido_tab(self, tab: object) -> None:
        self._renders_since_reload += 1
        if self._renders_since_reload < RENDERS_PER_RELOAD:
            await self.tabs_ready.put(tab)
            return
        self._renders_since_reload = 0
        await super()._return_kaleido_tab(tab)


class _Browser:
    """One kaleido chromium and the event-loop thread that drives it (callers hold _EXPORT_LOCK)."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kaleido", daemon=True)
        self._thread.start()
        try:
            self._kaleido: _WarmKaleido = self._call(self._open())
        except BaseException:
            self._stop_loop()
            raise

    @staticmethod
    async def _open() -> _WarmKaleido:
        browser = _WarmKaleido(mathjax=False)
        await browser.open()
        return browser

    def _call(self, coroutine: Coroutine[Any, Any, Result], timeout: float = _CALL_TIMEOUT_S) -> Result:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def render(self, spec: dict, opts: dict, timeout: float = _CALL_TIMEOUT_S) -> bytes:
        return self._call(self._kaleido.calc_fig(spec, opts=opts), timeout)

    def close(self) -> None:
        try:
            self._call(self._kaleido.close())
        except Exception:  # a crashed browser has nothing left to close
            pass
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_CALL_TIMEOUT_S)


_browser: _Browser | None = None


def _start_browser() -> _Browser:
    """The process-wide browser, started on first use (callers hold _EXPORT_LOCK)."""
    global _browser
    if _browser is not None:
        return _browser
    # Without a browser kaleido fails deep inside its start-up: look first and say what to install.
    from choreographer.browsers.chromium import Chromium

    path = Chromium.find_browser(skip_local=False)
    if not path or not os.access(path, os.X_OK):
        raise ExportError(
            f"no Chrome/Chromium for image export (found {path!r}); install it with "
            "`apt-get install chromium`, or set BROWSER_PATH to a Chrome/Chromium binary"
        )
    _browser = _Browser()
    return _browser


def _stop_browser() -> None:
    """Stop the browser (callers hold _EXPORT_LOCK); the next export starts a fresh one."""
    global _browser
    if _browser is not None:
        _browser.close()
        _browser = None


@atexit.register
def _stop_browser_at_exit() -> None:
    """Close chromium with the process; an export still running then is abandoned rather than waited for."""
    locked = _EXPORT_LOCK.acquire(timeout=5)
    try:
        _stop_browser()
    finally:
        if locked:
            _EXPORT_LOCK.release()


def _image(fig: go.Figure, fmt: str, *, scale: float = 1) -> bytes:
    """Render through the shared browser, restarting it once if it fails.

    A crashed chromium makes the export fail and leaves kaleido's server thread dead, after which every call
    would wait forever; stopping the server on any failure and retrying once with a fresh browser keeps a
    long-running dashboard exporting. kaleido is called directly rather than through plotly.io, which
    passes per-call browser options that a running server ignores (with a warning on every export).
    """
    spec = fig.to_dict()
    opts = {"format": fmt, "width": figures.EXPORT_WIDTH, "height": figures.EXPORT_HEIGHT, "scale": scale}
    with _browser_turn():
        try:
            return _render_once(spec, opts)
        except (ExportError, BudgetExceeded):
            raise
        except Exception:
            seconds_left()  # out of time: BudgetExceeded; else most likely a crashed browser: one more try
        try:
            return _render_once(spec, opts)
        except Exception as error:
            raise ExportError(f"image export failed twice, with a fresh browser too: {error}") from error


def _render_once(spec: dict, opts: dict) -> bytes:
    """One render (callers hold _EXPORT_LOCK); on failure the browser stops, so the next one restarts it."""
    browser = _start_browser()
    left = seconds_left()  # a budget spent already ends here, leaving the browser as it is
    try:
        return browser.render(spec, opts, _CALL_TIMEOUT_S if left is None else min(left, _CALL_TIMEOUT_S))
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
