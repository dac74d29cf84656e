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

PAGE = {"path": "/", "name": "Overview", "title": "Open Weights Tracker", "order": 0}


def layout(**url_values: str) -> html.Div:
    view = filters_from_mapping(url_values)
    if "downloads_all_time" in app_state().warehouse.measures():
        charts = [
            chart_card("cumulative-by-country", wide=True, view=view),
            chart_card("downloads-by-country"),
            chart_card("share-by-country"),
        ]
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


def _card(label: str, value: str, detail: str, key: str) -> html.Div:
    return html.Div(
        [
            html.Div(label, className="headline-label"),
            html.Div(value, className="headline-value"),
            html.Div(detail, className="headline-detail"),
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


def _share_card(code: str, headline: dict[str, Any], period: str) -> html.Div:
    share = headline["shares"].get(code)
    change = headline["change"].get(code)
    detail = period_label(headline["period"], period)
    if change is not None:
        detail += f", {change * 100:+.1f} points on the {period} before"
    value = "–" if share is None else f"{share:.1%}"
    return _card(f"{country_name(code)}: share of downloads", value, detail, f"share-{code}")


def _crossover_card(headline: dict[str, Any], countries: tuple[str, ...], period: str) -> html.Div:
    first, second = (country_name(code) for code in countries[:2])
    crossed = headline["crossover"]
    if crossed is not None:
        value, detail = period_label(crossed, period), f"first {period} {first} downloads passed {second}"
    elif headline["shares"].get(countries[0], 0) > headline["shares"].get(countries[1], 0):
        value, detail = (
            "Ahead throughout",
            f"{first} had more downloads than {second} in every {period} shown",
        )
    else:
        value, detail = "Not yet", f"{first} has not passed {second} in the dates shown"
    return _card(f"Crossover: {first} passes {second}", value, detail, "crossover")


def _leader_card(headline: dict[str, Any], period: str) -> html.Div:
    leader = headline["leader"]
    if leader is None:
        return _card("Leading organisation", "–", "no downloads in the view", "leader")
    detail = (
        f"{display_name(_text(leader['country']), with_flag=True)}, {leader['share']:.1%} of downloads in "
    )
    return _card(
        "Leading organisation",
        _text(leader["organization"]) or leader["namespace"],
        detail + period_label(headline["period"], period),
        "leader",
    )


def _text(value: object) -> str:
    """A label from a query value that may be missing (None or NaN for unregistered organisations)."""
    return "" if value is None or pd.isna(value) else str(value)


def headline_cards(headline: dict[str, Any], filters: Filters) -> list[html.Div]:
    """The numbers a visitor should take away, each saying which period or comparison it refers to."""
    cards = [_share_card(code, headline, filters.period) for code in filters.countries[:2]]
    if len(filters.countries) >= 2:
        cards.append(_crossover_card(headline, filters.countries, filters.period))
    cards.append(_leader_card(headline, filters.period))
    return cards


def register_callbacks(app: Dash) -> None:
    @app.callback(Output("headline-cards", "children"), Input("filters", "data"))
    def show_headline(filter_params: dict | None) -> list[html.Div]:
        filters = filters_from_mapping(filter_params or {})
        return headline_cards(app_state().warehouse.headline(filters), filters)
