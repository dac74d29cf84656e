"""One model: its download series, lineage chain, derivatives and RAM curve against its size class."""

from __future__ import annotations

from dash import html

PAGE = {
    "path_template": "/models/<namespace>/<name>",
    "name": "Model",
    "title": "Model · Open Weights Tracker",
    "order": 102,
    "nav": False,
}


def layout(namespace: str | None = None, name: str | None = None, **_url_values: str) -> html.Div:
    return html.Div([html.H1(f"{namespace}/{name}")], id="model-page")
