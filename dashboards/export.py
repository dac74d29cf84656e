"""Export rendered charts as files: PNG/SVG/PDF (kaleido + the system chromium), CSV, self-contained HTML,
and reports (one PDF or one HTML holding several charts with their definitions and sources).

A chart's CSV is a package, as Our World in Data ships its downloads: a zip of the tidy CSV (ISO or fixed
bucket codes in `country` beside a `country_name`, whole numbers as integers, categories in their natural
order), `metadata.json` (title, definitions, source, filters, snapshot dates, synthetic flag, version,
licence) and a README, so the file says what it is wherever it travels (`chart_package`, `tidy_data`).

One kaleido chromium serves the whole process (first export ~1.5 s to start it), driven from its own
event-loop thread. Every static export holds `_EXPORT_LOCK`, which makes it safe from Dash's threaded
callbacks and lets a crashed browser be replaced by the next caller. kaleido reloads its page (4.8 MB of
plotly.js) after every render, two thirds of a warm export; `_WarmKaleido` reloads only every
`RENDERS_PER_RELOAD` renders.
MathJax is off because its CDN is not reachable offline (and would make every export seconds slower).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime as dt
import html
import io
import json
import os
import sys
import threading
import tomllib
import zipfile
from collections.abc import Coroutine, Iterator, Sequence
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeVar

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from pypdf import PdfWriter

from dashboards import figures
from dashboards.budget import BudgetExceeded, seconds_left
from dashboards.charts import (
    SYNTHETIC_WARNING,
    UNKNOWN_CATEGORY,
    ChartResult,
    SourceInfo,
    UnknownChartError,
    describe_view,
    get_chart,
)
from dashboards.colors import RELATION_COLOURS, country_name, country_order
from dashboards.filters import (
    INTERNATIONAL_ONLINE_GROUP,
    PARAM_NAMES,
    REST_OF_WORLD,
    SIZE_CLASSES,
    UNATTRIBUTED,
    Filters,
)
from pipelines import definitions

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
    "zip": "application/zip",
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
#: Under load, a fresh browser's page sometimes answers every render with this JavaScript error (kaleido
#: addressed the page before its script ran; seen in about one start in three on a loaded 2-core machine): a
#: tiny render checks each new browser, and one that fails so is replaced, up to _START_ATTEMPTS times.
_PAGE_NOT_READY = "kaleido_scopes is not defined"
_START_ATTEMPTS = 3


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
    for attempt in range(1, _START_ATTEMPTS + 1):
        browser = _Browser()
        try:
            browser.render({"data": [], "layout": {}}, {"format": "svg", "width": 10, "height": 10})
        except Exception as error:
            browser.close()
            if _PAGE_NOT_READY not in str(error) or attempt == _START_ATTEMPTS:
                raise  # as a failed render: `_image` tries once more with a fresh browser
            continue
        _browser = browser
        break
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
    """One chart as an image or HTML file's bytes; HTML embeds plotly.js (works offline). A CSV needs the
    view it shows: `chart_package` (or `bare_csv`)."""
    if result.unavailable:
        raise ExportError(f"{result.chart_id}: {result.unavailable}")
    if fmt == "csv":
        raise ExportError("a chart's CSV is made by chart_package (the zip) or bare_csv, with its view")
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


# ---- CSV packages ----------------------------------------------------------------------------------------

PROJECT_DIR = Path(__file__).resolve().parent.parent
#: The display groups' codes in exported files: `country` always holds a code (ISO 3166-1 alpha-2, a registry
#: bucket such as INTL, or one of these), `country_name` the name shown on the chart.
GROUP_CODES: dict[str, str] = {
    REST_OF_WORLD: "REST_OF_WORLD",
    UNATTRIBUTED: "UNATTRIBUTED",
    INTERNATIONAL_ONLINE_GROUP: "INTERNATIONAL_ONLINE",
}
#: Columns of country values: codes in the file, each followed by `<column>_name`, the name charts show.
COUNTRY_COLUMNS: tuple[str, ...] = ("country", "publisher_country", "lineage_country")
#: Columns that count downloads or models: exact integers in every file.
COUNT_COLUMNS: tuple[str, ...] = (
    "downloads", "downloads_all_time", "new_derivatives", "derivatives", "models",
    "tokens", "unattributed_tokens", "total_tokens",
)
COLUMN_TEXT: dict[str, str] = {
    "date": "snapshot date (UTC), YYYY-MM-DD",
    "period": "first day of the period (day; week starting Monday; month), YYYY-MM-DD",
    "complete": "true when the snapshots cover the whole period; false for a period still running or cut "
    "by the selected dates (its total is low for that reason)",
    "country": "ISO 3166-1 alpha-2 code, or a bucket: REST_OF_WORLD (countries not selected, international "
    "organisations), UNATTRIBUTED (unregistered organisations and individuals), INTERNATIONAL_ONLINE "
    "(individuals and international organisations, when the view groups them so), INTL, UNATTRIBUTED_ORG, "
    "INDIVIDUAL",
    "country_name": "the name the chart shows for `country`",
    "group": "the series (country code or bucket) the row is drawn in",
    "downloads": "downloads (an integer count)",
    "downloads_all_time": "all-time downloads at the snapshot (an integer count)",
    "new_derivatives": "derivative models created in the period (an integer count)",
    "derivatives": "derivative models created in the selected dates (an integer count)",
    "share": "share of the period's downloads, 0 to 1",
    "size_class": "ATOM size class by total parameters (unknown: no parameter count)",
    "measure": "what `value` is: hhi (Herfindahl-Hirschman index, 0-10,000) or gini (Gini coefficient, 0-1) "
    "for concentration; new_derivatives or downloads (of new derivatives) for the cross-border charts",
    "value": "the measure's value",
    "openness": "open (OpenRouter links the model to a Hugging Face model) or closed",
    "tokens": "OpenRouter tokens of the group's attributed models in the period (an integer count)",
    "unattributed_tokens": "OpenRouter tokens of the period no model can be attributed for (other, stealth, "
    "router and delisted models)",
    "total_tokens": "every OpenRouter token ranked in the period (top 50 models a day and other)",
    "share_low": "tokens / total_tokens: the share the attributed tokens give (the least it can be)",
    "share_high": "(tokens + unattributed_tokens) / total_tokens: the most the share can be",
    "organisation": "the organisation compared (registry organisation, else its namespace)",
    "models": "models (an integer count): created in the period, or of the group in the snapshot holding the "
    "selected dates' last day",
    "coverage": "share of the selected dates' downloads whose country is known (an ISO code), 0 to 1",
    "series": "leader (the organisation with the most downloads in the period) or next (the next N combined)",
    "organisations": "the organisations of the row, in rank order, separated by '; '",
    "publisher_country": "the derivative publisher's country: ISO 3166-1 alpha-2 code (cross-border charts)",
    "publisher_country_name": "the name the chart shows for `publisher_country`",
    "lineage_country": "the country at the root of the base-model chain: ISO code, or a bucket as for "
    "`country`",
    "lineage_country_name": "the name the chart shows for `lineage_country`",
    "row_share": "the cell's `value` divided by its row's (publisher country's) total, 0 to 1",
    "direction": "which cross-border flow of the pair: <publisher>-published derivatives of <lineage> bases",
    "family": "base family: the organisation of the derivative's lineage root (see the base family rule)",
}
#: What may be done with the numbers: they are derived from public Hub metadata; the project, and the
#: registry it attributes with (partly ATOM's, Apache-2.0), are Apache-2.0.
DATA_LICENCE = (
    "Derived from public Hugging Face Hub model metadata (download counters), subject to the Hub's terms of "
    "service; Open Weights Tracker and its organisation registry (data/orgs.csv, partly from ATOM "
    "tracked-models) are Apache-2.0. Cite as: Open Weights Tracker, from Hugging Face Hub snapshots."
)


@cache
def project_version() -> str:
    """The project's version, from pyproject.toml (the project is run from its checkout, not installed)."""
    with open(PROJECT_DIR / "pyproject.toml", "rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def _category_ranks(frame: pd.DataFrame, column: str, filters: Filters) -> pd.Series:
    """Each row's position in its column's natural order: countries as the legend lists them, size classes
    by size, relations as the chart stacks them, tasks and libraries by total downloads as charted."""
    values = frame[column]
    if column == "country":
        order = country_order([c for c in filters.countries if c in set(values)] + list(values))
    elif column == "size_class":
        order = [*SIZE_CLASSES, UNKNOWN_CATEGORY]
    elif column == "relation":
        order = list(RELATION_COLOURS)
    elif column in ("task", "library") and "downloads" in frame:
        order = list(frame.groupby(column, sort=False)["downloads"].sum().sort_values(ascending=False).index)
    else:
        order = list(dict.fromkeys(values))
    position = {value: rank for rank, value in enumerate(order)}
    return values.map(lambda value: position.get(value, len(position)))


def tidy_data(result: ChartResult, filters: Filters) -> pd.DataFrame:
    """The chart's points as a tidy table: one row per plotted point, time first, categories in their natural
    order (rankings keep their rank order), codes beside display names, counts as integers."""
    data = result.data.copy()
    ranking = "group" in data.columns
    if not ranking:
        keys = [c for c in ("date", "period") if c in data.columns]
        keys += [c for c in ("size_class", "task", "library", "relation", "measure", "country") if c in data]
        ranked = {key: (_category_ranks(data, key, filters) if key not in ("date", "period") else data[key])
                  for key in keys}
        if keys:
            order = pd.DataFrame(ranked).sort_values(keys, kind="stable").index
            data = data.loc[order].reset_index(drop=True)
    for column in ("date", "period"):
        if column in data.columns:
            data[column] = pd.to_datetime(data[column]).dt.strftime("%Y-%m-%d")
    for column in COUNT_COLUMNS:
        if column in data.columns:
            data[column] = data[column].round().astype("Int64")
    for column in COUNTRY_COLUMNS:
        if column in data.columns:
            names = data[column].map(lambda code: country_name(code) if isinstance(code, str) else "")
            data[column] = data[column].map(lambda code: GROUP_CODES.get(code, code))
            data.insert(data.columns.get_loc(column) + 1, f"{column}_name", names)
    if ranking:
        data["group"] = data["group"].map(lambda code: GROUP_CODES.get(code, code))
    return data


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


#: Layouts of a chart's table: long (one row per plotted point) or wide (one column per country).
LAYOUTS: tuple[str, ...] = ("long", "wide")
_NOT_SPREAD = ("country", "country_name", "complete")


def wide_data(result: ChartResult, filters: Filters, *, names: bool = False) -> pd.DataFrame | None:
    """A time series by country as a wide table: one row per date or period, one column per country (its
    code, or its name with `names`), `complete` kept beside the time; None for a chart that is not a time
    series of one value by country (its long table is its only layout)."""
    data = tidy_data(result, filters)
    time = next((column for column in ("date", "period") if column in data.columns), None)
    values = [column for column in data.columns if column not in (time, *_NOT_SPREAD)]
    if time is None or "country" not in data.columns or len(values) != 1 or data.empty:
        return None
    countries = list(dict.fromkeys(data["country"]))  # time first, then legend order (tidy_data)
    wide = data.pivot(index=time, columns="country", values=values[0])[countries]
    if "complete" in data.columns:
        wide.insert(0, "complete", data.groupby(time)["complete"].all())
    if names:
        wide = wide.rename(columns=dict(zip(data["country"], data["country_name"], strict=True)))
    return wide.reset_index().rename_axis(columns=None)


def chart_table(result: ChartResult, filters: Filters, layout: str = "long") -> tuple[pd.DataFrame, str]:
    """The table a chart exports in a layout, and the layout it has: wide asked of a chart that cannot be
    spread gives its long table (and says so)."""
    wide = wide_data(result, filters) if layout == "wide" else None
    return (wide, "wide") if wide is not None else (tidy_data(result, filters), "long")


def _column_text(column: str, long_form: pd.DataFrame) -> str:
    """What a column holds; a wide table's country columns hold the long table's value for that country."""
    if column in COLUMN_TEXT or "country" not in long_form.columns:
        return COLUMN_TEXT.get(column, "")
    value = next(c for c in long_form.columns if c not in ("date", "period", *_NOT_SPREAD))
    name = long_form.loc[long_form["country"] == column, "country_name"]
    return f"{COLUMN_TEXT.get(value, value)}, for {name.iloc[0] if len(name) else column}"


def bare_csv(result: ChartResult, filters: Filters, layout: str = "long") -> bytes:
    """Only the chart's table (`python -m dashboards export` writes it for an --out ending in .csv)."""
    return _csv(chart_table(result, filters, layout)[0])


def _attribution(result: ChartResult) -> str | None:
    """The country rule a chart groups by (its measures name it), None when it is not by country."""
    rules = [m.removesuffix("_country") for m in result.measure_ids if m.endswith("_country")]
    return rules[0] if rules else None


def _description(result: ChartResult) -> str:
    try:
        return get_chart(result.chart_id).description
    except UnknownChartError:  # a chart of one organisation or model page
        return result.subtitle


def channels_of(result: ChartResult, filters: Filters) -> list[str]:
    """The usage channels a chart's numbers come from (`hf`, `modelscope`, `openrouter`)."""
    if result.channel != "hf":  # a chart of one other channel (OpenRouter's tokens)
        return [result.channel]
    from dashboards.channels import channels_of as of_chart

    return of_chart(result.chart_id, filters)
def _events(result: ChartResult) -> list[dict[str, str]]:
    return [
        {"date": e.date.isoformat(), "kind": e.kind, "title": e.title, "source_url": e.source_url}
        for e in result.events
    ]


def package_metadata(
    results: Sequence[ChartResult],
    filters: Filters,
    source: SourceInfo,
    *,
    demo_note: str = "",
    layout: str = "long",
) -> dict[str, object]:
    """What `metadata.json` says about the package's charts: enough to read the numbers without the app.
    `layout`: the table layout asked for (each chart says the one it has, see `chart_table`)."""
    synthetic = any(result.synthetic for result in results)
    tables = [chart_table(result, filters, layout) for result in results]
    view = {param: None for param in PARAM_NAMES.values()} | {
        PARAM_NAMES[name]: value for name, value in _all_params(filters).items()
    }
    return {
        "title": results[0].title if len(results) == 1 else "Open Weights Tracker data",
        "charts": [
            {
                "id": result.chart_id,
                "file": f"{result.chart_id}.csv",
                "title": result.title,
                "subtitle": result.subtitle,
                "description": _description(result),
                "definitions": [
                    {"label": label, "definition": text} for label, text in result.explanations
                ],
                "attribution": _attribution(result),
                "source": result.source,
                "channels": channels_of(result, filters),
                "licence": result.licence or DATA_LICENCE,
                "citation": result.citation,
                "layout": table_layout,
                "columns": {
                    column: _column_text(column, tidy_data(result, filters)) for column in table.columns
                },
                "events": _events(result),
            }
            for result, (table, table_layout) in zip(results, tables, strict=True)
        ],
        "filters": view,
        "channels": sorted({name for result in results for name in channels_of(result, filters)}),
        "view": describe_view(filters),
        "snapshots": {
            "first": source.first.isoformat() if source.first else None,
            "last": source.last.isoformat() if source.last else None,
            "described": source.span,
            "kinds": source.kinds,
        },
        "synthetic": synthetic,
        "synthetic_warning": SYNTHETIC_WARNING if synthetic else None,
        "demo_store": demo_note or None,
        "source": "Hugging Face Hub model metadata (download counters), dated snapshots",
        "attribution_rules": {
            rule: definitions.measure(f"{rule}_country").definition for rule in ("publisher", "lineage")
        },
        "project": {"name": "Open Weights Tracker", "version": project_version()},
        "licence": DATA_LICENCE,
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _all_params(filters: Filters) -> dict[str, object]:
    """Every view field (defaults included) as the value a URL parameter would carry."""
    params: dict[str, object] = {}
    for name in PARAM_NAMES:
        value = getattr(filters, name)
        if isinstance(value, dt.date):
            value = value.isoformat()
        params[name] = list(value) if isinstance(value, tuple) else value
    return params


def _readme(metadata: dict[str, object]) -> str:
    charts: list[dict[str, str]] = metadata["charts"]  # type: ignore[assignment]
    project: dict[str, str] = metadata["project"]  # type: ignore[assignment]
    lines = [f"# {metadata['title']}", ""]
    if metadata["synthetic"]:
        lines += [f"**{SYNTHETIC_WARNING}**", ""]
    if metadata["demo_store"]:
        lines += [str(metadata["demo_store"]), ""]
    lines += ["Files:", ""]
    lines += [f"- `{chart['file']}`: {chart['title']}. {chart['description']}" for chart in charts]
    lines += [
        "- `metadata.json`: definitions, source, filters, snapshot dates, synthetic flag, version, licence.",
        "",
        f"View: {metadata['view']}",
        "",
        charts[0]["source"],
        "",
        *(f"`{chart['file']}`: {chart['citation']} Licence: {chart['licence']}.\n" for chart in charts
          if chart.get("citation")),
        "Counts are exact integers. `country` holds ISO 3166-1 alpha-2 codes or fixed bucket codes "
        "(REST_OF_WORLD, UNATTRIBUTED, INTERNATIONAL_ONLINE, INTL, UNATTRIBUTED_ORG, INDIVIDUAL); "
        "`country_name` the chart's "
        "label. A `complete` column, where present, is false for a period the snapshots cover only in part.",
        *(
            ["", "Wide tables (`layout` in metadata.json): one row per date or period, one column per "
             "country code, holding the long table's value for that country."]
            if any(chart["layout"] == "wide" for chart in charts) else []
        ),
        "",
        f"Licence: {metadata['licence']}",
        "",
        f"Open Weights Tracker {project['version']}, generated {metadata['generated_at']}.",
        "",
    ]
    return "\n".join(lines)


def chart_package(
    results: Sequence[ChartResult],
    filters: Filters,
    source: SourceInfo,
    *,
    demo_note: str = "",
    layout: str = "long",
) -> bytes:
    """A zip of each chart's tidy CSV (`<chart-id>.csv`), `metadata.json` and `README.md`.

    `source` is the view's `charts.source_info`; `demo_note` says when the demo store stood in for an empty
    one. One chart makes a chart's download, every chart the view's data (Methodology & data). A wide
    `layout` spreads each time series by country into one column per country (`chart_table`)."""
    if not results:
        raise ExportError("a package needs at least one chart")
    metadata = package_metadata(results, filters, source, demo_note=demo_note, layout=layout)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for result in results:
            archive.writestr(f"{result.chart_id}.csv", _csv(chart_table(result, filters, layout)[0]))
        archive.writestr("metadata.json", json.dumps(metadata, indent=2, ensure_ascii=False) + "\n")
        archive.writestr("README.md", _readme(metadata))
    return buffer.getvalue()
