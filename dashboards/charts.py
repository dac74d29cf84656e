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
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd
import plotly.graph_objects as go

from dashboards import comparison, crossborder, figures, timeview, tokens
from dashboards.budget import seconds_left
from dashboards.colors import (
    DIRECTION_COLOURS,
    LEADER_COLOURS,
    MEASURE_COLOURS,
    ORGANISATION_COLOURS,
    RELATION_COLOURS,
    country_colours,
    country_name,
    country_order,
    display_group,
)
from dashboards.filters import (
    INTERNATIONAL_ONLINE_GROUP,
    MAX_COMPARED,
    REST_OF_WORLD,
    SIZE_CLASSES,
    UNATTRIBUTED,
    Filters,
)
from dashboards.metrics import first_crossover, period_coverage
from dashboards.query import per_version
from pipelines import definitions
from pipelines.events import Event, EventsError, events_file, load_events
from pipelines.periods import period_end

if TYPE_CHECKING:  # charts only call the warehouse's query methods
    from dashboards.query import Warehouse

#: The query layer's label for models without a value of a breakdown (e.g. no parameter count).
UNKNOWN_CATEGORY = "unknown"
SYNTHETIC_WARNING = "SYNTHETIC DEMO DATA: generated for testing, not real Hugging Face Hub figures."
TOP_N = 20
_MONTH_TICKS_MAX = 14  # label every month up to this many, else let plotly thin them out

#: Measures computed from the Hub's all-time counts (differences or sums of them).
ALL_TIME_MEASURES = frozenset(
    {"downloads_all_time", "downloads_period", "cumulative", "share", "hhi", "gini", "window_share"}
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
    #: The usage channel counted (`pipelines.channels.CHANNELS`), and its data's licence and required
    #: citation when it has its own (None: the Hub's, the package's licence).
    channel: str = "hf"
    licence: str | None = None
    citation: str | None = None
    #: The events (data/events.csv) marked on the chart: the view's kinds, within the dates it shows.
    events: tuple[Event, ...] = ()

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
#: (totals over the selected dates, or values at each snapshot date); "days": a channel's own daily values
#: (tokens) summed over each period.
Periods = Literal["snapshots", "created", "days"] | None


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
    #: The channel's own source (dates, licence, citation) for a chart of another channel than the Hub.
    source: Callable[[Warehouse, Filters], SourceInfo] | None = None
    #: The measures the chart shows under a view, when they depend on it (else `measures`).
    view_measures: Callable[[Filters], tuple[str, ...]] | None = None

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
    source: Callable[[Warehouse, Filters], SourceInfo] | None = None,
    view_measures: Callable[[Filters], tuple[str, ...]] | None = None,
):
    def register(draw: Callable[[Warehouse, Filters], Drawn]) -> Callable[[Warehouse, Filters], Drawn]:
        spec = ChartSpec(
            chart_id,
            title,
            description,
            measures,
            country_rule,
            draw,
            periods,
            over_time,
            source=source,
            view_measures=view_measures,
        )
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
    return data.assign(
        group=[display_group(code, filters.countries, filters.individuals) for code in data["country"]]
    )


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


# -- cross-border building (dashboards.crossborder): who builds on whose models ---------------------------

_FLOW_WORDS = {"count": "New derivatives", "downloads": "Downloads of new derivatives"}
_FLOW_MEASURE_IDS = {"count": "derivative_share", "downloads": "derivative_downloads"}


def _flow_measures(filters: Filters) -> tuple[str, ...]:
    """The cross-border charts' definitions: the measure shown, the lineage rule, the cross-border rule."""
    return (_FLOW_MEASURE_IDS[filters.flow_measure], "lineage_country", "cross_border")


def _flow_value_text(value: float, filters: Filters) -> str:
    return f"{value:.0%}" if filters.flow_cells == "share" else f"{value:,.0f}"


@_chart(
    "derivative-flows",
    "{flow} by publisher country and base lineage country",
    "Flow matrix: new derivatives (or their downloads) by the derivative's publisher country (rows) and "
    "the lineage country of its base (columns), as counts or row shares (view parameters measure, cells).",
    ("derivative_share", "lineage_country", "cross_border"),
    country_rule="publisher",
    over_time="Totals over the selected dates: derivatives created in them. International, unregistered and "
    "individual publishers and bases keep rows and columns of their own.",
    view_measures=lambda f: (*_flow_measures(f), *(("flow_row_share",) if f.flow_cells == "share" else ())),
)
def _derivative_flows(warehouse: Warehouse, filters: Filters) -> Drawn:
    cells = crossborder.flow_matrix(warehouse, filters)
    data = pd.DataFrame(
        {
            "country": cells["publisher_country"],
            "lineage_country": cells["lineage_country"],
            "measure": crossborder.MEASURE_COLUMNS[filters.flow_measure],
            "value": cells["value"],
            "row_share": cells["row_share"],
        }
    )
    if data["value"].sum() == 0:
        data = data.iloc[0:0]
    shown = "row_share" if filters.flow_cells == "share" else "value"
    rows = crossborder.group_order(data["country"], filters.countries)
    columns = crossborder.group_order(data["lineage_country"], filters.countries)
    fig = figures.heat_squares(
        data,
        x="lineage_country",
        y="country",
        colour=shown,
        text=[_flow_value_text(v, filters) for v in data[shown]],
        series=("measure", crossborder.MEASURE_COLUMNS[filters.flow_measure]),
        x_order=columns,
        y_order=rows,
        names={code: country_name(code) for code in {*rows, *columns}},
        x_title="Lineage country of the base",
        y_title="Publisher country of the derivative",
        colour_title="Share of the row" if shown == "row_share" else _FLOW_WORDS[filters.flow_measure],
    )
    if data.empty:
        fig.data = ()
    return data, fig


def _directions(filters: Filters) -> tuple[list[str], dict[str, str]]:
    a, b = filters.pair
    order = [crossborder.direction_label(a, b), crossborder.direction_label(b, a)]
    return order, dict(zip(order, DIRECTION_COLOURS, strict=True))


@_chart(
    "crossborder-series",
    "Cross-border derivatives per {period}: {flow}",
    "New derivatives (or their downloads) per period whose publisher country differs from their base's, "
    "both ways for the chosen pair of countries (view parameter pair, default CN,US).",
    ("derivative_share", "lineage_country", "cross_border"),
    country_rule=None,
    periods="created",
    view_measures=_flow_measures,
)
def _crossborder_series(warehouse: Warehouse, filters: Filters) -> Drawn:
    series = crossborder.crossborder_series(warehouse, filters)
    data = series[["period", "direction", "publisher_country", "lineage_country", "value"]]
    if data["value"].sum() == 0:
        data = data.iloc[0:0]
    order, colours = _directions(filters)
    fig = figures.line_by_group(
        data,
        x="period",
        y="value",
        group="direction",
        order=order,
        colours=colours,
        names={d: d for d in order},
        y_title=f"{_FLOW_WORDS[filters.flow_measure]} per {filters.period}",
        log_scale=filters.log_scale,
    )
    return data, fig


@_chart(
    "crossborder-families",
    "Cross-border derivatives by base family: {flow}",
    "The chosen pair's cross-border derivatives in the selected dates by the family of their base (the "
    f"organisation at the root of its lineage), the {crossborder.TOP_FAMILIES} largest of each direction.",
    ("derivative_share", "base_family", "cross_border"),
    country_rule=None,
    over_time="Totals over the selected dates: derivatives created in them.",
    view_measures=lambda f: (_FLOW_MEASURE_IDS[f.flow_measure], "base_family", "cross_border"),
)
def _crossborder_families(warehouse: Warehouse, filters: Filters) -> Drawn:
    data = crossborder.crossborder_families(warehouse, filters)[["direction", "family", "value"]]
    data = data[data["value"] > 0].reset_index(drop=True)
    order, colours = _directions(filters)
    ranking = data.groupby("family", sort=False)["value"].sum()
    families = [f for f in ranking.sort_values(ascending=False).index if f != crossborder.OTHER_FAMILIES]
    fig = figures.bars_by_group(
        data,
        category="family",
        value="value",
        group="direction",
        order=order,
        colours=colours,
        names={d: d for d in order},
        value_title=f"{_FLOW_WORDS[filters.flow_measure]} in the selected dates",
        category_order=[*families, *([crossborder.OTHER_FAMILIES] if len(ranking) > len(families) else [])],
        horizontal=True,
        log_scale=filters.log_scale,
    )
    fig.update_yaxes(title_text="Base family (organisation of the lineage root)")
    return data, fig


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


# ---- issue 13, points 3-4: organisations compared, the leader vs the next N, shares over a window ----------


def _organisation_style(warehouse: Warehouse, filters: Filters) -> tuple[list[str], dict[str, str]]:
    """The compared organisations' names in the order asked, and a colour each."""
    names = list(comparison.compared(warehouse, filters)["organisation"])
    return names, dict(zip(names, ORGANISATION_COLOURS, strict=False))


def _organisation_lines(y: str, y_title: str, query: Callable[[Warehouse, Filters], pd.DataFrame]):
    """A chart of one line per compared organisation (long form: time, organisation, `y`)."""

    def draw(warehouse: Warehouse, filters: Filters) -> Drawn:
        data = query(warehouse, filters)
        order, colours = _organisation_style(warehouse, filters)
        fig = figures.line_by_group(
            data,
            x=data.columns[0],
            y=y,
            group="organisation",
            order=order,
            colours=colours,
            names={name: name for name in order},
            y_title=y_title.format(period=filters.period),
            log_scale=filters.log_scale and y != "share",
        )
        if y == "share":
            fig.update_yaxes(tickformat=".0%")
            fig.update_traces(hovertemplate="%{x}<br>%{fullData.name}: %{y:.1%}<extra></extra>")
        return data, fig

    return draw


def _organisation_bars(value: str, value_title: str, query: Callable[[Warehouse, Filters], pd.DataFrame]):
    """Bars per period, one per compared organisation (long form: period, organisation, `value`)."""

    def draw(warehouse: Warehouse, filters: Filters) -> Drawn:
        data = query(warehouse, filters)
        order, colours = _organisation_style(warehouse, filters)
        fig = figures.bars_by_group(
            data,
            category="period",
            value=value,
            group="organisation",
            order=order,
            colours=colours,
            names={name: name for name in order},
            value_title=value_title.format(period=filters.period),
            log_scale=filters.log_scale,
        )
        return data, fig

    return draw


_COMPARED = (
    f"The organisations named in the view (orgs=, up to {MAX_COMPARED}; else the "
    f"{comparison.DEFAULT_COMPARED} most downloaded in the selected dates), each with all its namespaces"
)
_chart(
    "organisations-compare-downloads",
    "Downloads per {period}: organisations compared",
    f"{_COMPARED}: downloads in each period, one line per organisation.",
    ("downloads_period", "organisation_downloads"),
    country_rule=None,
    periods="snapshots",
)(_organisation_lines("downloads", "Downloads per {period}", comparison.organisation_downloads))
_chart(
    "organisations-compare-cumulative",
    "All-time downloads: organisations compared",
    f"{_COMPARED}: cumulative (all-time) downloads at each snapshot date, one line per organisation.",
    ("cumulative", "organisation_downloads"),
    country_rule=None,
    over_time="At each snapshot date.",
)(_organisation_lines("downloads_all_time", "All-time downloads", comparison.organisation_cumulative))
_chart(
    "organisations-compare-share",
    "Share of all downloads per {period}: organisations compared",
    f"{_COMPARED}: each one's share of all downloads in the view in each period.",
    ("share", "organisation_downloads"),
    country_rule=None,
    periods="snapshots",
)(_organisation_lines("share", "Share of all downloads", comparison.organisation_downloads))
_chart(
    "organisations-compare-releases",
    "Models released per {period}: organisations compared",
    f"{_COMPARED}: models created in each period in its namespaces.",
    ("models_released",),
    country_rule=None,
    periods="created",
)(_organisation_bars("models", "Models created per {period}", comparison.organisation_releases))
_chart(
    "organisations-compare-derivatives",
    "Derivatives of their models per {period}: organisations compared",
    f"{_COMPARED}: others' models created in each period on a base whose lineage root is the organisation's.",
    ("organisation_derivatives",),
    country_rule=None,
    periods="created",
)(_organisation_bars("new_derivatives", "New derivatives per {period}", comparison.organisation_derivatives))


@_chart(
    "leader-vs-next",
    "The leading organisation vs the next {next} combined, per {period}",
    "ATOM's chart: per period, the organisation with the most downloads and the next N organisations "
    "combined (next=N, default 8).",
    ("downloads_period", "leader_vs_next"),
    country_rule=None,
    periods="snapshots",
)
def _leader_vs_next(warehouse: Warehouse, filters: Filters) -> Drawn:
    data = comparison.leader_vs_next(warehouse, filters)
    next_name = f"Next {filters.leader_next} combined"
    names = {"leader": "Leading organisation", "next": next_name}
    fig = figures.bars_by_group(
        data,
        category="period",
        value="downloads",
        group="series",
        order=["leader", "next"],
        colours=LEADER_COLOURS,
        names=names,
        value_title=f"Downloads per {filters.period}",
        log_scale=filters.log_scale,
    )
    for series, name in names.items():  # hovering a bar names the organisations behind it
        rows = data[data["series"] == series]
        fig.update_traces(
            selector={"name": name},
            customdata=rows["organisations"].str.replace("; ", "<br>", regex=False),
            hovertemplate=f"%{{x}}<br>{name}: %{{y:,.0f}}<br>%{{customdata}}<extra></extra>",
        )
    return data, fig


@_chart(
    "window-share",
    "Share of downloads over the selected dates by {country_rule}",
    "Each country group's share of all downloads over the whole selected dates as one number, with its "
    "downloads, models and the coverage (the form of published figures).",
    ("window_share",),
)
def _window_share(warehouse: Warehouse, filters: Filters) -> Drawn:
    shares = comparison.window_share(warehouse, filters)
    order, colours, names = _by_country(shares, filters)
    data = shares.set_index("country").loc[order].reset_index()
    fig = figures.ranked_bars(
        data,
        label="country",
        value="share",
        group="country",
        order=order,
        colours=colours,
        names=names,
        x_title="Share of downloads over the selected dates",
    )
    fig.update_traces(
        texttemplate="%{x:.1%}",
        textposition="outside",
        hovertemplate="%{fullData.name}: %{x:.1%} of downloads<extra></extra>",
    )
    fig.update_yaxes(tickvals=list(data["country"]), ticktext=[names[code] for code in data["country"]])
    largest = float(data["share"].max()) if len(data) else 0.0
    fig.update_xaxes(tickformat=".0%", range=[0, min(1.0, largest * 1.2 + 0.05)])  # room for the labels
    return data, fig


# ---- framing: title, subtitle, source --------------------------------------------------------------------


def _title(spec: ChartSpec, filters: Filters) -> str:
    return spec.title.format(
        country_rule=f"{filters.attribution} country",
        period=filters.period,
        next=filters.leader_next,
        flow=_FLOW_WORDS[filters.flow_measure],
    )


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
        f"Countries: {shown} (others grouped as {_other_groups(filters)}). "
        f"Attribution: {filters.attribution} country. Period: {filters.period}. Scope: {scope_text(filters)}."
        + (" Scale: log, on the charts that allow one." if filters.log_scale else "")
    )


def _measure_ids(spec: ChartSpec, filters: Filters) -> tuple[str, ...]:
    """The chart's measures, then its country rule (publisher or lineage) when it groups by country."""
    rule = spec.attribution(filters)
    grouping = ("individuals_grouping",) if rule and _online(filters) else ()
    measures = spec.view_measures(filters) if spec.view_measures else spec.measures
    return (*measures, *([f"{rule}_country"] if rule else []), *grouping)


def _online(filters: Filters) -> bool:
    """Whether the view groups individuals and international organisations as International/Online."""
    return filters.individuals != Filters().individuals


def _other_groups(filters: Filters) -> str:
    """The groups of the countries not selected, in words."""
    groups = [INTERNATIONAL_ONLINE_GROUP] if _online(filters) else []
    return ", ".join([*groups, REST_OF_WORLD]) + f" and {UNATTRIBUTED}"


def _time_text(spec: ChartSpec, filters: Filters) -> str:
    """How the chart adds up time: per period (downloads summed over its days, or models by creation), at
    each snapshot date, or totals over the selected dates."""
    if spec.periods == "snapshots":
        return f"Per {filters.period}: downloads summed over the days of each {filters.period}."
    if spec.periods == "created":
        return f"Per {filters.period}: models counted in the {filters.period} they were created."
    if spec.periods == "days":
        return f"Per {filters.period}: tokens summed over the UTC days of each {filters.period}."
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
        sentences.append(f"Countries: {shown}; others as {_other_groups(filters)}.")
    sentences.append(_time_text(spec, filters))
    if _log_axis(fig):
        sentences.append("Log scale.")
    if spec.source is None:
        sentences.append(f"Scope: {scope_text(filters)}.")
    else:  # another channel: no Hub scope, task or size filter applies; the dates do
        start, end = filters.start or "the first day", filters.end or "the last day held"
        sentences.append(f"Days: {start} to {end}.")
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
    #: Another channel's: its key, licence, required citation, and why it has no data (see ChartResult).
    channel: str = "hf"
    licence: str | None = None
    citation: str | None = None
    unavailable: str | None = None

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
    if source.first is not None or source.channel != "hf":
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
    unmarked = replace(filters, events=())  # the events marked change neither numbers nor source
    source = spec.source(warehouse, filters) if spec.source else (source or source_info(warehouse, unmarked))
    unavailable = unavailable_reason(spec, warehouse) or source.unavailable
    if unavailable:
        data, fig = pd.DataFrame(), figures.mark_empty(go.Figure(), unavailable)
    else:
        # The events marked do not change the numbers: the queries' kept results serve any events choice.
        data, fig = spec.draw(warehouse, unmarked)
    data = data.reset_index(drop=True)
    notes = []
    periodic = spec.periods in ("snapshots", "created") and not unavailable  # "days": the draw marks them
    if periodic:
        data, note = mark_periods(data, fig, filters.period, _counted_days(spec, filters, source))
        notes.append(note)
    if chart_id == "downloads-by-country" and len(filters.countries) >= 2 and not unavailable:
        a, b = filters.countries[:2]
        crossed = first_crossover(data.rename(columns={"period": "time"}), a, b)
        if crossed is not None:
            figures.mark_crossover(fig, crossed, _crossover_text(a, b))
            notes.append(f"Crossover marked: {definitions.measure('crossover').definition}")
    shown_events, events_text = chart_events(data, filters)
    figures.mark_events(fig, shown_events)
    if timeview.rolling_applies(chart_id, filters) and not unavailable:
        notes.append(timeview.rolling_note(filters))
    if data.empty and not unavailable:
        figures.mark_empty(fig, no_data_text(warehouse, source))
    elif "period" in data.columns and filters.period == "month":
        # The months the axis spans, not the months with data: sparse periods (models created in a few
        # months of several years) would otherwise get a label for every month of the span.
        first, last = pd.to_datetime(data["period"]).agg(["min", "max"])
        _label_months(fig, (last.year - first.year) * 12 + last.month - first.month + 1)
    source_line = source.line(spec.attribution(filters))
    if chart_id in channels.CHANNEL_CHARTS:  # each channel named, with its own snapshots and coverage
        source_line = channels.source_line(warehouse, filters, source_line, chart_id)
    source_line = " ".join(filter(None, [source_line, events_text]))
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
        channel=source.channel,
        licence=source.licence,
        citation=source.citation,
        events=shown_events,
    )


def time_span(data: pd.DataFrame, filters: Filters) -> tuple[dt.date, dt.date] | None:
    """The dates a time chart shows: its first to its last snapshot date, or the first day of its first
    period to the last day of its last, within the view's dates; None for a chart not drawn over time."""
    column = next((name for name in ("period", "date") if name in data.columns), None)
    if column is None or data.empty:
        return None
    times = pd.to_datetime(data[column]).dt.date
    first, last = times.min(), times.max()
    if column == "period":
        last = period_end(last, filters.period)
    return max(first, filters.start or first), min(last, filters.end or last)


@functools.lru_cache(maxsize=4)
def _events_at(path: str, modified_ns: int) -> tuple[Event, ...]:
    """The events of a file as last modified (an edited file is read again)."""
    return load_events(Path(path))


def chart_events(data: pd.DataFrame, filters: Filters) -> tuple[tuple[Event, ...], str]:
    """The events a chart of the view marks (the view's kinds, within the dates the chart shows: `time_span`)
    and the source line's sentence naming where they come from ('' when the view shows none)."""
    span = time_span(data, filters)
    if not filters.events or span is None:
        return (), ""
    path = events_file()
    try:
        events = _events_at(str(path), path.stat().st_mtime_ns)
    except (OSError, EventsError) as error:
        problem = error.problems[0] if isinstance(error, EventsError) else error
        return (), f"Events not shown: {problem}; check it with `python -m pipelines events check {path}`."
    shown = tuple(e for e in events if e.kind in filters.events and span[0] <= e.date <= span[1])
    kinds = " and ".join(filters.events)
    return shown, f"Events ({kinds}): {len(shown)} marked, from {path.name}, each with its source there."


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


# ---- OpenRouter: inference tokens, on charts of their own (never added to downloads) ----------------------

OPENNESS_COLOURS = {"open": "#225522", "closed": "#555555"}  # Tol dark green and a grey no other series takes
OPENNESS_NAMES = {"open": "Open models (on the Hub)", "closed": "Closed models"}
_TOKEN_AXIS = "Share of OpenRouter tokens"


@dataclass(frozen=True)
class ChannelSourceInfo(SourceInfo):
    """The source of a chart of another channel: its own citation and licence, then its days."""

    def line(self, attribution: str | None) -> str:
        parts = [self.citation or "", f"Licence: {self.licence}.", f"Channel: {self.span}."]
        if attribution:
            parts.append(
                "Attribution: open or closed by OpenRouter's link to a Hugging Face model; country: "
                f"{_RULE_TEXT[attribution]} of the linked Hub model."
            )
        parts.append("Open Weights Tracker.")
        return " ".join(filter(None, parts))


def _openrouter_source(warehouse: Warehouse, filters: Filters) -> SourceInfo:
    """The OpenRouter vintages behind a view's token charts, with OpenRouter's required citation."""
    held = tokens.token_source(warehouse.store, filters)
    days = f"{held.first} to {held.last}" if held.first else "no day in the selected dates"
    span = (
        f"OpenRouter inference tokens per UTC day (rankings-daily), {days}, from the newest of "
        f"{held.vintages} daily vintage(s) ({held.latest_vintage})"
    )
    return ChannelSourceInfo(
        span=span,
        kinds="",
        coverage={},
        synthetic=held.synthetic,
        first=held.first,
        last=held.last,
        channel="openrouter",
        licence=held.licence,
        citation=held.citation,
        unavailable=None if held.vintages else (
            "No OpenRouter data in this store: run `python -m pipelines snapshot --channel openrouter` "
            "(needs OPENROUTER_API_KEY)."
        ),
    )


@_chart(
    "openrouter-open-share-by-country",
    "Open models' share of OpenRouter tokens per {period}, by publisher country",
    "Tokens of open models (linked to a Hugging Face model) as a share of all OpenRouter tokens in each "
    "period, one line per country group; the bars reach up to the share the unattributed tokens allow.",
    ("token_share", "openrouter_attribution"),
    country_rule="publisher",
    periods="days",
    source=_openrouter_source,
)
def _openrouter_by_country(warehouse: Warehouse, filters: Filters) -> Drawn:
    data = tokens.open_share_by_country(warehouse.store, filters)
    order, colours, names = _by_country(data, filters)
    fig = figures.share_ranges(
        data, x="period", group="country", order=order, colours=colours, names=names, y_title=_TOKEN_AXIS
    )
    return data, fig


@_chart(
    "openrouter-open-vs-closed",
    "Open vs closed models' share of OpenRouter tokens per {period}",
    "Tokens of open models (linked to a Hugging Face model) and of closed ones as shares of all OpenRouter "
    "tokens in each period; the bars reach up to the share the unattributed tokens allow.",
    ("token_share", "openrouter_attribution"),
    country_rule=None,
    periods="days",
    source=_openrouter_source,
)
def _openrouter_open_vs_closed(warehouse: Warehouse, filters: Filters) -> Drawn:
    data = tokens.open_vs_closed(warehouse.store, filters)
    order = [kind for kind in OPENNESS_COLOURS if kind in set(data["openness"])]
    fig = figures.share_ranges(
        data, x="period", group="openness", order=order, colours=OPENNESS_COLOURS, names=OPENNESS_NAMES,
        y_title=_TOKEN_AXIS,
    )
    return data, fig


from dashboards import channels  # noqa: E402  (registers the channel charts, which use this registry)
