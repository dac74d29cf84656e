"""Models: search the models in the store; each links to its own page."""

from __future__ import annotations

from dash import html

PAGE = {"path": "/models", "name": "Models", "title": "Models · Open Weights Tracker", "order": 2}


def layout(**_url_values: str) -> html.Div:
    return html.Div([html.H1("Models")])
