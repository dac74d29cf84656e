"""`/embed/chart/<id>?<view>`: one chart alone, with its title, subtitle and source line, for an iframe.

The page is plain HTML with plotly.js's basic bundle and the figure (no Dash app, navigation, filters or other
charts), so an article that embeds it loads one chart. It takes the same view parameters as the dashboard's
URL (and the entity parameters of an organisation's or a model's chart), checked like a download's: a value
that cannot be used answers 400 naming it (an embed must show the view the snippet asked for, never a
default in its place); an unknown chart id answers 404 with the known ones.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import flask
import plotly.io as pio

from dashboards.charts import SYNTHETIC_WARNING, chart_ids
from dashboards.components import (
    _view_of_request,
    chart_params,
    for_screen,
    known_chart,
    missing_params,
    render,
)
from dashboards.figures import FONT_FAMILY
from dashboards.state import to_search

#: plotly.js's basic bundle, served with the dashboard's assets (a versioned URL: browsers keep it).
PLOTLY_ASSET = "plotly-basic.min.js"
_PLOTLY_FILE = Path(__file__).resolve().parent / "assets" / PLOTLY_ASSET
EMBED_HEIGHT_PX = 420
_STYLE = f"""
body {{ font-family: {FONT_FAMILY}; color: #333; margin: 0; padding: 8px 12px; background: #fff; }}
h1 {{ font-size: 18px; margin: 0 0 4px; }}
.chart-subtitle {{ font-size: 12px; color: #555; margin: 0 0 6px; }}
.chart-source {{ font-size: 11px; color: #666; margin: 6px 0 0; }}
.warning {{ color: #B00020; font-weight: bold; font-size: 12px; margin: 0 0 4px; }}
.chart-graph {{ height: {EMBED_HEIGHT_PX}px; }}
"""


def _page(title: str, body: str, head: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Open Weights Tracker</title><style>{_STYLE}</style>{head}</head>"
        f"<body>{body}</body></html>\n"
    )


def _message(status: int, heading: str, text: str) -> flask.Response:
    """A small page saying what is wrong, readable inside the iframe that asked for it."""
    body = f'<h1>{escape(heading)}</h1><p class="embed-error">{escape(text)}</p>'
    return flask.Response(_page(heading, body), status=status, mimetype="text/html")


def register_routes(server: flask.Flask) -> None:
    """Serve `/embed/chart/<chart_id>` on the dashboard's server."""

    @server.get("/embed/chart/<chart_id>")
    def embed_chart(chart_id: str) -> flask.Response:
        if not known_chart(chart_id):
            known = ", ".join(chart_ids())
            return _message(404, "Unknown chart", f"No chart has the id {chart_id!r}. Known ids: {known}.")
        filters = _view_of_request(flask.request.args)  # a parameter that cannot be used: 400 naming it
        params = chart_params(chart_id, flask.request.args)
        missing = missing_params(chart_id, params)
        if missing:
            text = f"{chart_id} shows one entity: missing parameter {', '.join(missing)}."
            return _message(400, "Missing parameter", text)
        result = render(chart_id, filters, params)
        if result.unavailable:
            return _message(409, result.title, result.unavailable)
        plot = pio.to_html(
            for_screen(result),
            include_plotlyjs=False,
            full_html=False,
            div_id="embed-graph",
            default_height=f"{EMBED_HEIGHT_PX}px",
            config={"displaylogo": False, "responsive": True},
        )
        warning = f'<p class="warning">{escape(SYNTHETIC_WARNING)}</p>' if result.synthetic else ""
        tracker = f"/{to_search(filters)}"
        body = (
            f'<figure class="embed" data-chart="{escape(chart_id)}" style="margin:0">'
            f'<h1 class="chart-title">{escape(result.title)}</h1>'
            f'<p class="chart-subtitle">{escape(result.subtitle)}</p>{warning}'
            f'<div class="chart-graph">{plot}</div>'
            f'<p class="chart-source">{escape(result.source)} '
            f'<a href="{escape(tracker)}" target="_blank" rel="noopener">Open in the tracker</a></p>'
            "</figure>"
        )
        head = f'<script src="/assets/{PLOTLY_ASSET}?m={int(_PLOTLY_FILE.stat().st_mtime)}"></script>'
        return flask.Response(_page(result.title, body, head), mimetype="text/html")
