"""Segments: downloads by model size class, task and library, per country group."""

from __future__ import annotations

from dash import html

from dashboards.components import chart_card
from dashboards.state import filters_from_mapping

PAGE = {
    "path": "/segments",
    "name": "Segments",
    "title": "Segments · Open Weights Tracker",
    "order": 5,
    "unused_controls": {
        "period": "Not used here: these charts are totals over the selected dates.",
        "events": "Not used here: events are marked on charts drawn over time.",
    },
}


def layout(**url_values: str) -> html.Div:
    return html.Div(
        [
            html.H1("Segments"),
            html.P(
                "Where each country's downloads come from: model size, task and library.", className="lede"
            ),
            html.Div(
                [
                    chart_card("size-by-country", wide=True, view=filters_from_mapping(url_values)),
                    chart_card("task-by-country"),
                    chart_card("library-by-country"),
                    chart_card("window-share", wide=True),
                ],
                className="chart-grid",
            ),
        ]
    )
