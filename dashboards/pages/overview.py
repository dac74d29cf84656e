"""Overview: the China vs US story in four numbers and three charts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from dash import Dash, Input, Output, html

from dashboards.charts import THIRTY_DAY_CHART
from dashboards.colors import country_name, display_name
from dashboards.components import chart_card
from dashboards.filters import Filters
from dashboards.state import app_state, filters_from_mapping
from pipelines.channels import channel_store
from pipelines.definitions import CROSSOVER_MARGIN, CROSSOVER_PERIODS
from pipelines.periods import period_end

PAGE = {"path": "/", "name": "Overview", "title": "Open Weights Tracker", "order": 0, "uses_channel": True}


def layout(**url_values: str) -> html.Div:
    view = filters_from_mapping(url_values)
    if "downloads_all_time" in app_state().warehouse.measures():
        charts = [
            chart_card("cumulative-by-country", wide=True, view=view),
            chart_card("downloads-by-country"),
            chart_card("share-by-country"),
        ]
        if channel_store(app_state().store, "modelscope").dates():  # the channels, named, side by side
            charts += [chart_card("china-us-share-by-channel"), chart_card("downloads-by-channel")]
        note = []
    else:  # a history of 30-day counts only: the one measure it has, and why the others are missing
        charts = [chart_card(THIRTY_DAY_CHART, wide=True, view=view)]
        note = [
            html.P(
                "This store's snapshots hold 30-day download counts only, no all-time counts: downloads per "
                "period, shares and cumulative downloads cannot be computed from them, so the Overview shows "
                "the 30-day counts as reported.",
                className="lede",
                **{"data-note": "thirty-day-only"},
            )
        ]
    return html.Div(
        [
            html.H1("Open models by origin country"),
            html.P(
                "Downloads of open-weight models on the Hugging Face Hub, attributed to the country of the "
                "organisation behind each model (or of the model it derives from).",
                className="lede",
            ),
            *note,
            html.Div(id="headline-cards", className="headline-cards"),
            html.Div(charts, className="chart-grid"),
        ]
    )


def _card(label: str, value: str, detail: str, key: str, measure: str, synthetic: bool) -> html.Div:
    """A headline card: what it measures (`measure`: series, attribution, period, dates), the number, the
    detail; a red mark when the data is synthetic, so a cropped screenshot still says so."""
    return html.Div(
        [
            html.Div(label, className="headline-label"),
            html.Div(value, className="headline-value"),
            html.Div(detail, className="headline-detail"),
            html.Div(measure, className="headline-measure"),
            html.Div("Synthetic data", className="headline-synthetic") if synthetic else None,
        ],
        className="headline-card",
        **{"data-headline": key},
    )


def period_label(start: dt.date | None, period: str) -> str:
    """How a period reads in a sentence: 'October 2026', 'the week of 2026-10-05', '2026-10-05'."""
    if start is None:
        return "no complete period"
    start = pd.Timestamp(start).date()
    if period == "month":
        return start.strftime("%B %Y")
    return f"the week of {start.isoformat()}" if period == "week" else start.isoformat()


def _span(start: dt.date, period: str) -> str:
    """The dates of a period: '1-30 Nov 2026', '30 Nov-6 Dec 2026', '3 Dec 2026'."""
    end = period_end(start, period)
    if start == end:
        return f"{start:%-d %b %Y}"
    first = f"{start:%-d}" if start.month == end.month else f"{start:%-d %b}"
    return f"{first}-{end:%-d %b %Y}"


def _measure_line(series: str, filters: Filters, when: str) -> str:
    """The card's measure: series, attribution rule, period and dates, in the view's terms."""
    return f"{series} · {filters.attribution} country · {when}"


def _dates(filters: Filters) -> str:
    start = filters.start.isoformat() if filters.start else "first snapshot"
    end = filters.end.isoformat() if filters.end else "latest snapshot"
    return f"{start} to {end}"


def _share_card(code: str, headline: dict[str, Any], filters: Filters) -> html.Div:
    period, latest = filters.period, headline["period"]
    measure = f"Share of downloads per {period}"
    synthetic = headline.get("synthetic", False)
    label = f"{country_name(code)}: share of downloads"
    if latest is None:
        when = f"no complete {period} in {_dates(filters)}"
        return _card(label, "–", f"no complete {period} in the selected dates", f"share-{code}",
                     _measure_line(measure, filters, when), synthetic)  # fmt: skip
    share = headline["shares"].get(code)
    change = headline["change"].get(code)
    detail = f"{period_label(latest, period)}, the latest complete {period}"
    if change is not None:
        detail += f"; {change * 100:+.1f} points on {period_label(headline['previous'], period)}"
    value = "–" if share is None else f"{share:.1%}"
    return _card(label, value, detail, f"share-{code}",
                 _measure_line(measure, filters, _span(latest, period)), synthetic)  # fmt: skip


def _crossover_card(headline: dict[str, Any], filters: Filters) -> html.Div:
    period = filters.period
    first, second = (country_name(code) for code in filters.countries[:2])
    crossed = headline["crossover"]
    rule = (
        f"first complete {period} after which {first} stays {CROSSOVER_MARGIN:.0%} or more ahead of "
        f"{second} for {CROSSOVER_PERIODS}+ complete {period}s"
    )
    if crossed is not None:
        value, detail = period_label(crossed, period), f"{rule}; marked on Downloads per {period}"
    else:
        value, detail = "–", f"not in the selected dates: no {rule}"
    measure = _measure_line(f"Downloads per {period}", filters, _dates(filters))
    return _card(f"Crossover: {first} passes {second}", value, detail, "crossover", measure,
                 headline.get("synthetic", False))  # fmt: skip


def _leader_card(headline: dict[str, Any], filters: Filters) -> html.Div:
    period, latest = filters.period, headline["period"]
    leader = headline["leader"]
    synthetic = headline.get("synthetic", False)
    measure_name = f"Share of downloads per {period}, by organisation"
    if leader is None or latest is None:
        measure = _measure_line(measure_name, filters, _dates(filters))
        detail = f"no complete {period} with downloads in the view"
        return _card("Leading organisation", "–", detail, "leader", measure, synthetic)
    detail = (
        f"{display_name(_text(leader['country']), with_flag=True)}, {leader['share']:.1%} of downloads in "
        f"{period_label(latest, period)}"
    )
    # Organisations are ranked by their own (publisher) country whatever the view's attribution.
    measure = f"Downloads per {period} by organisation · publisher country · {_span(latest, period)}"
    name = _text(leader["organization"]) or leader["namespace"]
    return _card("Leading organisation", name, detail, "leader", measure, synthetic)


def _text(value: object) -> str:
    """A label from a query value that may be missing (None or NaN for unregistered organisations)."""
    return "" if value is None or pd.isna(value) else str(value)


def headline_cards(headline: dict[str, Any], filters: Filters) -> list[html.Div]:
    """The numbers a visitor should take away, each naming its measure, attribution, period and dates; all
    from complete periods only (the running period is never a headline)."""
    cards = [_share_card(code, headline, filters) for code in filters.countries[:2]]
    if len(filters.countries) >= 2:
        cards.append(_crossover_card(headline, filters))
    cards.append(_leader_card(headline, filters))
    return cards


def register_callbacks(app: Dash) -> None:
    @app.callback(Output("headline-cards", "children"), Input("filters", "data"))
    def show_headline(filter_params: dict | None) -> list[html.Div]:
        filters = filters_from_mapping(filter_params or {})
        return headline_cards(app_state().warehouse.headline(filters), filters)
