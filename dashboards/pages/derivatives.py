"""Derivatives: who builds on whose models (fine-tunes, quantisations, adapters, merges)."""

from __future__ import annotations

from dash import html

from dashboards.components import chart_card
from dashboards.state import filters_from_mapping
from pipelines import definitions

PAGE = {
    "path": "/derivatives",
    "name": "Derivatives",
    "title": "Derivatives · Open Weights Tracker",
    "order": 4,
    "unused_controls": {
        "attribution": "Not used here: derivatives are counted by the lineage country of their base model "
        "(or by relation), whatever the view's attribution."
    },
    # The cross-border views' own parameters (pair, measure, cells) show here only.
    "page_controls": ("pair", "flow_measure", "flow_cells"),
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
            html.H2("Cross-border building: who builds on whose models"),
            html.P(
                [
                    "Derivatives by the country of their publisher and the country of their base. "
                    + definitions.measure("cross_border").definition
                    + " Choose the pair, the measure (new derivatives or their downloads) and the matrix "
                    "cells (counts or row shares) above; individuals and unregistered publishers keep rows "
                    "of their own.",
                ],
                className="lede",
            ),
            html.Div(
                [
                    chart_card("derivative-flows", wide=True),
                    chart_card("crossborder-series"),
                    chart_card("crossborder-families"),
                ],
                className="chart-grid",
                id="crossborder",
            ),
        ]
    )
