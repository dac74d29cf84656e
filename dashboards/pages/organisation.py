"""One organisation: its facts, its download series, its models and the derivatives built on them."""

from __future__ import annotations

from dash import html

PAGE = {
    "path_template": "/organisations/<namespace>",
    "name": "Organisation",
    "title": "Organisation · Open Weights Tracker",
    "order": 101,
    "nav": False,
}


def layout(namespace: str | None = None, **_url_values: str) -> html.Div:
    return html.Div([html.H1(namespace or "Organisation")], id="organisation-page")
