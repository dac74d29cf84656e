"""The chart registry: every chart the dashboard shows or exports, under a stable id.

`render_chart(chart_id, warehouse, filters)` runs the chart's query, keeps exactly the points it plots
(`ChartResult.data`, the CSV export), draws the figure from that frame, and frames it with a title, a subtitle
(the definition and scope in use, from `pipelines.definitions`) and a source line (snapshots, dates,
attribution rule, coverage; a warning when the store is synthetic). Pages, the report and
`python -m dashboards export` all go through here, so a chart looks and means the same everywhere.

Ids are part of the public interface (URLs, scheduled exports): never rename one; add a new id instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import pandas as pd
import plotly.graph_objects as go

from dashboards import figures, timeview
from dashboards.budget import seconds_left
from dashboards.colors import (
    MEASURE_COLOURS,
    RELATION_COLOURS,
    country_colours,
    country_name,
    country_order,
    display_group,
)
from dashboards.filters import REST_OF_WORLD, SIZE_CLASSES, UNATTRIBUTED, Filters
from dashboards.metrics import first_crossover, period_coverage
from dashboards.query import per_version
from pipelines import definitions

if TYPE_CHECKING:  # charts only call the warehouse's query methods
    from dashboards.query import Warehouse

#: The query layer's label for models without a value of a breakdown (e.g. no parameter count).
UNKNOWN_CATEGORY = "unknown"
SYNTHETIC_WARNING = "SYNTHETIC DEMO DATA: generated for testing, not real Hugging Face Hub figures."
TOP_N = 20
_MONTH_TICKS_MAX = 14  # label every month up to this many, else let plotly thin them out

#: Measures computed from the Hub's all-time counts (differences or sums of them).
ALL_TIME_MEASURES = frozenset(
    {"downloads_all_time", "downloads_period", "cumulative", "share", "hhi", "gini"}
)
THIRTY_DAY_CHART = "downloads-30d-by-country"

_SCOPE_TEXT = {
    "all": "All models",
    "first-party": "First-party models only",
    "atom": "ATOM Project's tracked LLMs",
}


class UnknownChartError(KeyError):
    """A chart id that is not in the registry (the message lists the valid ids)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class ChartResult:
    """A rendered chart: the figure, exactly the points it plots, and the words around it."""

    chart_id: str
    figure: go.Figure
    data: pd.DataFrame
    title: str
    subtitle: str
    source: str
    synthetic: bool
    measure_ids: tuple[str, ...]
    #: Why the store cannot give this chart (e.g. no all-time counts), in words; None when it is drawn.
    unavailable: str | None = None

    @property
    def explanations(self) -> list[tuple[str, str]]:
        """(label, long explanation) of every definition the chart relies on, for reports and Methodology."""
        return [(m.label, m.explanation) for m in map(definitions.measure, self.measure_ids)]


#: What a chart's draw function returns: the plotted points and the bare figure drawn from them.
Drawn = tuple[pd.DataFrame, go.Figure]


#: Which country a chart groups by: the view's attribution, always one rule, or none (not by country).
CountryRule = Literal["view", "publisher", "lineage"] | None
#: What a chart's periods add up: downloads between snapshots (a period counts from the first snapshot
#: shown to the last), models created (counted from the view's start to the last snapshot), or no periods
#: (totals over the selected dates, or values at each snapshot date).
Periods = Literal["snapshots", "created"] | None


@dataclass(frozen=True)
class ChartSpec:
    """A registered chart. `title` may use {country_rule} and {period}; `measures` name definitions."""

    chart_id: str
    title: str
    description: str
    measures: tuple[str, ...]
    country_rule: CountryRule
    draw: Callable[[Warehouse, Filters], Drawn]
    #: A period the snapshots only partly cover is low: such periods are marked (see `Periods`).
    periods: Periods = None
    #: How the chart aggregates over time when it has no periods (a sentence of its subtitle).
    over_time: str = "Totals over the selected dates."

    @property
    def by_country(self) -> bool:
        return self.country_rule is not None

    @property
    def needs_all_time(self) -> bool:
        """Whether the chart is computed from all-time counts (a 30-day-only history cannot give it)."""
        return bool(ALL_TIME_MEASURES.intersection(self.measures))

    def attribution(self, filters: Filters) -> str | None:
        """The country rule in use for this chart under a view: publisher, lineage or None."""
        return filters.attribution if self.country_rule == "view" else self.country_rule


_REGISTRY: dict[str, ChartSpec] = {}


def _chart(
    chart_id: str,
    title: str,
    description: str,
    measures: tuple[str, ...],
    *,
    country_rule: CountryRule = "view",
    periods: Periods = None,
    over_time: str = "Totals over the selected dates.",
):
    def register(draw: Callable[[Warehouse, Filters], Drawn]) -> Callable[[Warehouse, Filters], Drawn]:
        spec = ChartSpec(chart_id, title, description, measures, country_rule, draw, periods, over_time)
        _REGISTRY[chart_id] = spec
        return draw

    return register


def list_charts() -> list[ChartSpec]:
    """Every chart, in the order the report shows them."""
    return list(_REGISTRY.values())


def chart_ids() -> list[str]:
    return list(_REGISTRY)


def get_chart(chart_id: str) -> ChartSpec:
    try:
        return _REGISTRY[chart_id]
    except KeyError:
        raise UnknownChartError(
            f"unknown chart id {chart_id!r}; known ids: {', '.join(_REGISTRY)} (see --list)"
        ) from None


def _series_style(
    countries: Iterable[str], filters: Filters
) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """Draw order, colours and legend names for the country values present in a result."""
    present = list(dict.fromkeys(countries))
    order = country_order([c for c in filters.countries if c in present] + present)
    return order, country_colours(order), {code: country_name(code) for code in order}


def _by_country(data: pd.DataFrame, filters: Filters) -> tuple[list[str], dict[str, str], dict[str, str]]:
    return _series_style(data["country"], filters)


def _ranked_bars(data: pd.DataFrame, label: str, value: str, x_title: str, filters: Filters) -> go.Figure:
    """A ranking (one bar per row) coloured by the rows' display group."""
    order, colours, names = _series_style(data["group"], filters)
    return figures.ranked_bars(
        data,
        order=order,
        label=label,
        value=value,
        group="group",
        colours=colours,
        names=names,
        x_title=x_title,
        log_scale=filters.log_scale,
    )


def _lines_by_country(data: pd.DataFrame, x: str, y: str, y_title: str, filters: Filters) -> go.Figure:
    """One line per country group of `data` (long form: `x`, `country`, `y`)."""
    order, colours, names = _by_country(data, filters)
    return figures.line_by_group(
        data,
        x=x,
        y=y,
        group="country",
        order=order,
        colours=colours,
        names=names,
        y_title=y_title,
        log_scale=filters.log_scale,
    )


def _with_group(data: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Rankings keep each row's own country and add its display `group` (what its colour and legend show)."""
    return data.assign(group=[display_group(code, filters.countries) for code in data["country"]])


# ---- the charts (registration order = report order) -------------------------------------------------------


@_chart(
    "cumulative-by-country",
    "All-time downloads by {country_rule}",
    "Cumulative (all-time) downloads over time, one line per country group.",
    ("cumulative",),
    over_time="At each snapshot date.",
)
def _cumulative(warehouse: Warehouse, filters: Filters) -> Drawn:
    data = warehouse.cumulative_by_country(filters)[["date", "country", "downloads_all_time"]]
    return data, _lines_by_country(data, "date", "downloads_all_time", "All-time downloads", filters)


@_chart(
    "downloads-by-country",
    "Downloads per {period} by {country_rule}",
    "Downloads in each period (day/week/month), one line per country group.",
    ("downloads_period",),
    periods="snapshots",
)
def _downloads(warehouse: Warehouse, filters: Filters) -> Drawn:
    columns, y_title = ["period", "country", "downloads"], f"Downloads per {filters.period}"
    if timeview.rolling_applies("downloads-by-country", filters):
        read = warehouse.downloads_by_country(timeview.widened(filters))[columns]
        data = timeview.rolled(read, filters, "downloads")
        y_title = f"{y_title}, {filters.rolling}-day average"
    else:
        data = warehouse.downloads_by_country(filters)[columns]
    return data, _lines_by_country(data, "period", "downloads", y_title, filters)


@_chart(
    "share-by-country",
    "Share of downloads per {period} by {country_rule}",
    "Each country group's share of all downloads in each period (100% stacked).",
    ("share",),
    periods="snapshots",
)
def _share(warehouse: Warehouse, filters: Filters) -> Drawn:
    data = warehouse.share_by_country(filters)[["period", "country", "share"]]
    order, colours, names = _by_country(data, filters)
    fig = figures.stacked_share(
        data, x="period", y="share", group="country", order=order, colours=colours, names=names
    )
    return data, fig


@_chart(
    THIRTY_DAY_CHART,
    "30-day downloads by {country_rule}",
    "The Hub's rolling 30-day downloads as reported at each snapshot date, one line per country group "
    "(drawn from 30-day counts alone, so also for histories without all-time counts).",
    ("downloads_30d",),
)
def _downloads_30d(warehouse: Warehouse, filters: Filters) -> Drawn:
    data = warehouse.downloads_30d_by_country(filters)[["date", "country", "downloads_30d"]]
    return data, _lines_by_country(data, "date", "downloads_30d", "30-day downloads", filters)


@_chart(
    "top-organisations",
    f"Top {TOP_N} organisations by downloads",
    f"The {TOP_N} organisations with the most downloads in the selected dates, by publisher country.",
    ("downloads_period",),
    country_rule="publisher",
)
def _top_organisations(warehouse: Warehouse, filters: Filters) -> Drawn:
    ranked = warehouse.top_organisations(filters, n=TOP_N)
    # An unregistered namespace has no organisation name: its bar is labelled with the namespace.
    ranked = ranked.assign(organization=ranked["organization"].fillna(ranked["namespace"]))
    data = _with_group(ranked[["organization", "namespace", "country", "downloads"]], filters)
    return data, _ranked_bars(data, "organization", "downloads", "Downloads in the selected dates", filters)


@_chart(
    "derivatives-by-country",
    "New derivatives per {period} by lineage country of their base",
    "Models created in each period with a base model (fine-tunes, quantisations, adapters, merges), "
    "stacked by the country of their base model's lineage root.",
    ("derivative_share",),
    country_rule="lineage",
    periods="created",
)
def _derivatives_by_country(warehouse: Warehouse, filters: Filters) -> Drawn:
    raw = warehouse.derivatives_by_country(filters)
    data = raw.groupby(["period", "country"], as_index=False, sort=True)["new_derivatives"].sum()
    order, colours, names = _by_country(data, filters)
    fig = figures.bars_by_group(
        data,
        category="period",
        value="new_derivatives",
        group="country",
        order=order,
        colours=colours,
        names=names,
        value_title=f"New derivatives per {filters.period}",
        stacked=True,
        log_scale=filters.log_scale,
    )
    return data, fig


@_chart(
    "derivatives-by-relation",
    "New derivatives per {period} by relation to their base",
    "Models created in each period with a base model, stacked by relation "
    "(fine-tune, quantised, adapter, merge).",
    ("derivative_share",),
    country_rule=None,
    periods="created",
)
def _derivatives_by_relation(warehouse: Warehouse, filters: Filters) -> Drawn:
    raw = warehouse.derivatives_by_country(filters)
    data = raw.groupby(["period", "relation"], as_index=False, sort=True)["new_derivatives"].sum()
    order = [r for r in RELATION_COLOURS if r in set(data["relation"])] + sorted(
        set(data["relation"]) - set(RELATION_COLOURS)
    )
    fig = figures.bars_by_group(
        data,
        category="period",
        value="new_derivatives",
        group="relation",
        order=order,
        colours=RELATION_COLOURS,
        names={r: r.capitalize() for r in order},
        value_title=f"New derivatives per {filters.period}",
        stacked=True,
        log_scale=filters.log_scale,
    )
    return data, fig


@_chart(
    "size-by-country",
    "Downloads by model size class and {country_rule}",
    "Downloads in the selected dates by total-parameter size class (ATOM classes), "
    "one bar per country group.",
    ("downloads_period", "size_class"),
)
def _size(warehouse: Warehouse, filters: Filters) -> Drawn:
    data = warehouse.size_by_country(filters)[["size_class", "country", "downloads"]]
    order, colours, names = _by_country(data, filters)
    fig = figures.bars_by_group(
        data,
        category="size_class",
        value="downloads",
        group="country",
        order=order,
        colours=colours,
        names=names,
        value_title="Downloads in the selected dates",
        category_order=[*SIZE_CLASSES, UNKNOWN_CATEGORY],
        log_scale=filters.log_scale,
    )
    return data, fig


def _category_by_country(warehouse_method: str, category: str, axis_title: str):
    def draw(warehouse: Warehouse, filters: Filters) -> Drawn:
        data = getattr(warehouse, warehouse_method)(filters)[[category, "country", "downloads"]]
        order, colours, names = _by_country(data, filters)
        ranking = data.groupby(category, sort=False)["downloads"].sum().sort_values(ascending=False)
        fig = figures.bars_by_group(
            data,
            category=category,
            value="downloads",
            group="country",
            order=order,
            colours=colours,
            names=names,
            value_title="Downloads in the selected dates",
            category_order=list(ranking.index),
            horizontal=True,
            log_scale=filters.log_scale,
        )
        fig.update_yaxes(title_text=axis_title)
        return data, fig

    return draw


_chart(
    "task-by-country",
    "Downloads by task and {country_rule}",
    "Downloads in the selected dates by the model's Hub task (pipeline tag), one bar per country group.",
    ("downloads_period",),
)(_category_by_country("task_by_country", "task", "Task (Hub pipeline tag)"))

_chart(
    "library-by-country",
    "Downloads by library and {country_rule}",
    "Downloads in the selected dates by the model's library (transformers, gguf, mlx, ...), "
    "one bar per country group.",
    ("downloads_period",),
)(_category_by_country("library_by_country", "library", "Library"))


@_chart(
    "top-base-models",
    f"Top {TOP_N} base models by number of derivatives",
    f"The {TOP_N} base models with the most derivatives created in the selected dates, by lineage country.",
    ("derivative_share",),
    country_rule="lineage",
)
def _top_base_models(warehouse: Warehouse, filters: Filters) -> Drawn:
    ranked = warehouse.top_base_models(filters, n=TOP_N)
    data = _with_group(ranked[["base_model", "country", "derivatives"]], filters)
    x_title = "Derivatives created in the selected dates"
    return data, _ranked_bars(data, "base_model", "derivatives", x_title, filters)


@_chart(
    "concentration",
    "Concentration of downloads across organisations",
    "Herfindahl-Hirschman index (left axis) and Gini coefficient (right axis) of organisations' download "
    "shares in each period.",
    ("hhi", "gini"),
    country_rule=None,
    periods="snapshots",
)
def _concentration(warehouse: Warehouse, filters: Filters) -> Drawn:
    wide = warehouse.concentration(filters)
    data = wide.melt(id_vars="period", value_vars=["hhi", "gini"], var_name="measure", value_name="value")
    fig = figures.line_by_group(
        data,
        x="period",
        y="value",
        group="measure",
        order=["hhi", "gini"],
        colours=MEASURE_COLOURS,
        names={"hhi": "HHI (0-10,000, left)", "gini": "Gini (0-1, right)"},
        y_title="HHI",
    )
    fig.update_traces(selector={"name": "Gini (0-1, right)"}, yaxis="y2")
    fig.update_layout(
        yaxis2={
            "title": "Gini",
            "overlaying": "y",
            "side": "right",
            "range": [0, 1],
            "tickmode": "linear",
            "tick0": 0,
            "dtick": 0.2,
            "showgrid": False,
        }
    )
    return data, fig


# ---- framing: title, subtitle, source --------------------------------------------------------------------


def _title(spec: ChartSpec, filters: Filters) -> str:
    return spec.title.format(country_rule=f"{filters.attribution} country", period=filters.period)


def scope_text(filters: Filters) -> str:
    """The view in words: scope, segment and dates (shared by subtitles, report title pages and pages). The
    scale is not part of it: a chart's subtitle says "Log scale." only when that chart is drawn on one."""
    parts = [_SCOPE_TEXT[filters.scope]]
    if filters.task:
        parts.append(f"task {filters.task}")
    if filters.size_class:
        parts.append(f"size class {filters.size_class}")
    if filters.start or filters.end:
        start = filters.start.isoformat() if filters.start else "first snapshot"
        end = filters.end.isoformat() if filters.end else "latest snapshot"
        parts.append(f"{start} to {end}")
    return ", ".join(parts)


def describe_view(filters: Filters) -> str:
    """The whole view in one line, for report title pages and the command line's summary."""
    shown = ", ".join(country_name(code) for code in filters.countries)
    return (
        f"Countries: {shown} (others grouped as {REST_OF_WORLD} / {UNATTRIBUTED}). "
        f"Attribution: {filters.attribution} country. Period: {filters.period}. Scope: {scope_text(filters)}."
        + (" Scale: log, on the charts that allow one." if filters.log_scale else "")
    )


def _measure_ids(spec: ChartSpec, filters: Filters) -> tuple[str, ...]:
    """The chart's measures, then its country rule (publisher or lineage) when it groups by country."""
    rule = spec.attribution(filters)
    return (*spec.measures, *([f"{rule}_country"] if rule else []))


def _time_text(spec: ChartSpec, filters: Filters) -> str:
    """How the chart adds up time: per period (downloads summed over its days, or models by creation), at
    each snapshot date, or totals over the selected dates."""
    if spec.periods == "snapshots":
        return f"Per {filters.period}: downloads summed over the days of each {filters.period}."
    if spec.periods == "created":
        return f"Per {filters.period}: models counted in the {filters.period} they were created."
    return spec.over_time


def _log_axis(fig: go.Figure) -> bool:
    return "log" in (fig.layout.xaxis.type, fig.layout.yaxis.type)


def _subtitle(spec: ChartSpec, filters: Filters, fig: go.Figure) -> str:
    """The subtitle from what the chart uses: its measures' definitions, its country rule and countries (if
    it groups by country), how it adds up time, its scale as drawn (log only when an axis is), the scope."""
    sentences = []
    for measure in map(definitions.measure, _measure_ids(spec, filters)):
        prefix = f"{measure.label}: " if measure.kind == "dimension" else ""
        sentences.append(prefix + measure.definition)
    if spec.by_country:
        shown = ", ".join(country_name(code) for code in filters.countries)
        sentences.append(f"Countries: {shown}; others as {REST_OF_WORLD} and {UNATTRIBUTED}.")
    sentences.append(_time_text(spec, filters))
    if _log_axis(fig):
        sentences.append("Log scale.")
    sentences.append(f"Scope: {scope_text(filters)}.")
    return " ".join(sentences)


_RULE_TEXT = {
    "publisher": "publisher country (ATOM rule)",
    "lineage": "lineage country (root of the base-model chain)",
}
_SOURCE_KIND_TEXT = {
    "hub-api": "Hub API snapshots",
    "backfill": "imported history: hub-stats dumps or dated tables",
    "synthetic": "synthetic demo",
}


@dataclass(frozen=True)
class SourceInfo:
    """Where a view's numbers come from; `line(rule)` words it for a chart grouped by that country rule."""

    span: str
    kinds: str
    coverage: dict[str, float]
    synthetic: bool
    first: dt.date | None = None
    last: dt.date | None = None
    quarantined: tuple[str, ...] = ()  # dates in the view whose snapshot failed its checksum (left out)

    def line(self, attribution: str | None) -> str:
        kinds = f" ({self.kinds})" if self.kinds else ""
        parts = [f"Source: Hugging Face Hub model metadata, {self.span}{kinds}."]
        if self.quarantined:
            parts.append(
                f"Missing: the snapshot(s) of {', '.join(self.quarantined)} failed their checksum and are "
                "left out."
            )
        if attribution:
            parts.append(f"Attribution: {_RULE_TEXT[attribution]}.")
            parts.append(
                f"Coverage: {self.coverage[attribution]:.1%} of 30-day downloads have a known country."
            )
        parts.append("Open Weights Tracker.")
        return " ".join(parts)


@per_version(maxsize=64)
def source_info(warehouse: Warehouse, filters: Filters) -> SourceInfo:
    """The snapshots behind a view (dates, kinds, synthetic or not) and its coverage under each rule; kept
    per warehouse version and view, as every chart of a page needs the same one (three queries)."""
    snapshots = warehouse.snapshots()
    dates = pd.to_datetime(snapshots["date"]).dt.date
    # A view's last day is held by the snapshot dated the day after (day-label rule).
    end = filters.end + dt.timedelta(days=definitions.SNAPSHOT_DAY_OFFSET) if filters.end else dt.date.max
    used = snapshots[(dates >= (filters.start or dt.date.min)) & (dates <= end)]
    used_dates = pd.to_datetime(used["date"]).dt.date
    if len(used):
        span = f"{len(used)} snapshots from {used_dates.min()} to {used_dates.max()}"
    else:
        span = "no snapshots in the selected dates"
    kinds = ", ".join(_SOURCE_KIND_TEXT.get(kind, kind) for kind in dict.fromkeys(used["source_kind"]))
    coverage = {
        rule: warehouse.coverage(replace(filters, attribution=rule)) for rule in ("publisher", "lineage")
    }
    return SourceInfo(
        span=span,
        kinds=kinds,
        coverage=coverage,
        synthetic=bool(used["synthetic"].any()),
        first=used_dates.min() if len(used) else None,
        last=used_dates.max() if len(used) else None,
        quarantined=tuple(
            day
            for day in sorted(warehouse.version.manifest.get("quarantined") or {})
            if (filters.start or dt.date.min) <= dt.date.fromisoformat(day) <= (filters.end or dt.date.max)
        ),
    )


def _period_name(start: dt.date, period: str) -> str:
    if period == "month":
        return start.strftime("%b %Y")
    return f"week of {start:%-d %b %Y}" if period == "week" else start.isoformat()


def incomplete_periods(periods: pd.Series, period: str, first: dt.date, last: dt.date) -> dict[dt.date, str]:
    """The periods that [first, last] (the days counted) covers only in part, each with its label, e.g.
    'Dec 2026 to date, 3 of 31 days' (definitions: `incomplete_period`)."""
    labels = {}
    for start in sorted(set(pd.to_datetime(periods).dt.date)):
        days, total = period_coverage(start, period, first, last)
        if days < total:
            name = _period_name(start, period)
            cut = "to date" if start >= first else f"from {first:%-d %b %Y}"
            text = f"{name} {cut}, {days} of {total} days"
            labels[start] = text[0].upper() + text[1:]
    return labels


def mark_periods(
    data: pd.DataFrame, fig: go.Figure, period: str, counted: tuple[dt.date, dt.date] | None
) -> tuple[pd.DataFrame, str]:
    """`data` with its `complete` column, the figure's incomplete periods drawn as such (in place), and the
    subtitle's sentence naming them ('' when every period is complete). `counted`: the days counted."""
    labels = incomplete_periods(data["period"], period, *counted) if counted else {}
    data = data.assign(complete=~pd.to_datetime(data["period"]).dt.date.isin(list(labels)))
    figures.mark_incomplete(fig, "period", labels)
    note = f"Incomplete periods, marked on the chart: {'; '.join(labels.values())}." if labels else ""
    return data, note


def _counted_days(spec: ChartSpec, filters: Filters, source: SourceInfo) -> tuple[dt.date, dt.date] | None:
    """The days a period chart counts: downloads from the first snapshot shown to the last day the last one
    holds (day-label rule); derivatives created from the view's start (all earlier models are in the
    snapshots) to that same day."""
    if source.first is None or source.last is None:
        return None
    first = source.first if spec.periods == "snapshots" else (filters.start or dt.date.min)
    return first, definitions.last_counted_day(source.last)


def _crossover_text(a: str, b: str) -> str:
    return f"Crossover: {country_name(a)} passes {country_name(b)}"


def no_data_text(warehouse: Warehouse, source: SourceInfo) -> str:
    """Why a chart of the view is empty: no snapshot in its dates (and which dates have some), or its
    filters."""
    if source.first is not None:
        return figures.NO_DATA_TEXT
    dates = pd.to_datetime(warehouse.snapshots()["date"]).dt.date
    return figures.NO_SNAPSHOTS_TEXT.format(first=dates.min(), last=dates.max())


def _label_months(fig: go.Figure, months: int) -> None:
    """Label monthly periods as months (plotly's automatic ticks fall on weeks when the range is short)."""
    fig.update_xaxes(tickformat="%b %Y", **({"dtick": "M1"} if months <= _MONTH_TICKS_MAX else {}))


def render_chart(
    chart_id: str, warehouse: Warehouse, filters: Filters, *, source: SourceInfo | None = None
) -> ChartResult:
    """Query, draw and frame one chart. Pass `source` (from `source_info`) to share it across many charts.

    Period charts get a `complete` column in their data and their incomplete periods drawn as such; the
    downloads chart marks the crossover of the view's first two countries (definitions: `crossover`)."""
    seconds_left()  # a web request past its time budget stops before the next chart
    spec = get_chart(chart_id)
    unavailable = unavailable_reason(spec, warehouse)
    if unavailable:
        data, fig = pd.DataFrame(), figures.mark_empty(go.Figure(), unavailable)
    else:
        data, fig = spec.draw(warehouse, filters)
    data = data.reset_index(drop=True)
    source = source or source_info(warehouse, filters)
    notes = []
    periodic = bool(spec.periods) and not unavailable
    if periodic:
        data, note = mark_periods(data, fig, filters.period, _counted_days(spec, filters, source))
        notes.append(note)
    if chart_id == "downloads-by-country" and len(filters.countries) >= 2 and not unavailable:
        a, b = filters.countries[:2]
        crossed = first_crossover(data.rename(columns={"period": "time"}), a, b)
        if crossed is not None:
            figures.mark_crossover(fig, crossed, _crossover_text(a, b))
            notes.append(f"Crossover marked: {definitions.measure('crossover').definition}")
    if timeview.rolling_applies(chart_id, filters) and not unavailable:
        notes.append(timeview.rolling_note(filters))
    if data.empty and not unavailable:
        figures.mark_empty(fig, no_data_text(warehouse, source))
    elif "period" in data.columns and filters.period == "month":
        _label_months(fig, data["period"].nunique())
    source_line = source.line(spec.attribution(filters))
    title = _title(spec, filters)
    subtitle = " ".join(filter(None, [_subtitle(spec, filters, fig), *notes]))
    figures.frame(
        fig,
        title=title,
        subtitle=subtitle,
        source=source_line,
        warning=SYNTHETIC_WARNING if source.synthetic else None,
    )
    return ChartResult(
        chart_id=chart_id,
        figure=fig,
        data=data,
        title=title,
        subtitle=subtitle,
        source=source_line,
        synthetic=source.synthetic,
        measure_ids=_measure_ids(spec, filters),
        unavailable=unavailable,
    )


def unavailable_reason(spec: ChartSpec, warehouse: Warehouse) -> str | None:
    """Why the store cannot give this chart, in words (None when it can): charts computed from all-time
    counts cannot be drawn from a history of 30-day counts only, and an empty chart would look like zero."""
    if not spec.needs_all_time or "downloads_all_time" in warehouse.measures():
        return None
    return (
        "Cannot be drawn from this store: its snapshots hold no all-time download counts "
        "(downloadsAllTime), which this chart is computed from; only 30-day counts. "
        f"The 30-day chart ({THIRTY_DAY_CHART}) shows what they support."
    )
