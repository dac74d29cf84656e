"""Derivatives: who builds on whose models (fine-tunes, quantisations, adapters, merges)."""

from __future__ import annotations

from dash import html

from dashboards.components import chart_card
from dashboards.state import filters_from_mapping

PAGE = {
    "path": "/derivatives",
    "name": "Derivatives",
    "title": "Derivatives · Open Weights Tracker",
    "order": 4,
    "unused_controls": {
        "attribution": "Not used here: derivatives are counted by the lineage country of their base model "
        "(or by relation), whatever the view's attribution."
    },
}


def layout(**url_values: str) -> html.Div:
    return html.Div(
        [
            html.H1("Derivatives"),
            html.P(
                "New models built on a base model, counted by the country at the root of the base model's "
                "lineage "
                "and by how they relate to it.",
                className="lede",
            ),
            html.Div(
                [
                    chart_card("derivatives-by-country", view=filters_from_mapping(url_values)),
                    chart_card("derivatives-by-relation"),
                    chart_card("top-base-models", wide=True),
                ],
                className="chart-grid",
            ),
        ]
    )
