"""Inference: OpenRouter's tokens by open and closed models and by country, a channel beside the downloads."""

from __future__ import annotations

from dash import html

from dashboards.components import chart_card
from dashboards.state import filters_from_mapping

_TOKENS_ONLY = "Not used here: OpenRouter tokens are counted per model, whatever the Hub's {what}."

PAGE = {
    "path": "/inference",
    "name": "Inference",
    "title": "Inference (OpenRouter) · Open Weights Tracker",
    "order": 5.5,
    "unused_controls": {
        "attribution": "Not used here: an OpenRouter model's country is the publisher country of the Hub "
        "model it links to.",
        "scope": _TOKENS_ONLY.format(what="scope"),
        "task": _TOKENS_ONLY.format(what="task"),
        "size_class": _TOKENS_ONLY.format(what="size classes"),
        "log_scale": "Not used here: these charts are shares.",
    },
}


def layout(**url_values: str) -> html.Div:
    return html.Div(
        [
            html.H1("Inference"),
            html.P(
                "Use, not downloads: the tokens OpenRouter serves each day, by open and closed models and by "
                "the country of the open ones. Tokens are never added to downloads.",
                className="lede",
            ),
            html.Div(
                [
                    chart_card(
                        "openrouter-open-share-by-country", wide=True, view=filters_from_mapping(url_values)
                    ),
                    chart_card("openrouter-open-vs-closed", wide=True),
                ],
                className="chart-grid",
            ),
        ]
    )
