"""Overview: the China vs US story in four numbers and three charts."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, html

from dashboards.components import chart_card
from dashboards.state import app_state, filters_from_mapping

PAGE = {"path": "/", "name": "Overview", "title": "Open Weights Tracker", "order": 0}


def layout(**_url_values: str) -> html.Div:
    return html.Div(
        [
            html.H1("Open models by origin country"),
            html.P(
                "Downloads of open-weight models on the Hugging Face Hub, attributed to the country of the "
                "organisation behind each model (or of the model it derives from).",
                className="lede",
            ),
            html.Div(id="headline-cards", className="headline-cards"),
            html.Div(
                [
                    chart_card("cumulative-by-country", wide=True),
                    chart_card("downloads-by-country"),
                    chart_card("share-by-country"),
                ],
                className="chart-grid",
            ),
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


def headline_cards(headline: dict[str, Any]) -> list[html.Div]:
    """The four numbers a visitor should take away, each with the period or comparison it refers to."""
    raise NotImplementedError


def register_callbacks(app: Dash) -> None:
    @app.callback(Output("headline-cards", "children"), Input("filters", "data"))
    def show_headline(filter_params: dict | None) -> list[html.Div]:
        filters = filters_from_mapping(filter_params or {})
        return headline_cards(app_state().warehouse.headline(filters))
