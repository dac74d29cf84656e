"""The chart card every page is built from, and the download routes behind its links.

A card shows one chart of `dashboards.charts` (the only place figures are made) with its title, subtitle
(definition and scope), source line, a chart/table toggle and download links. Downloads are plain links to
Flask routes that take the view as URL parameters, so a file is exactly the view on screen, can be shared
or scripted, and works without JavaScript; the bytes come from `dashboards.export`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import dash_ag_grid as dag
import flask
import pandas as pd
import plotly.graph_objects as go
from dash import MATCH, Dash, Input, Output, Patch, State, dcc, html

from dashboards.charts import ChartResult, chart_ids, render_chart, scope_text
from dashboards.export import CHART_FORMATS, MEDIA_TYPES, REPORT_FORMATS, export_chart, export_report
from dashboards.figures import SOURCE_ANNOTATION
from dashboards.filters import Filters
from dashboards.state import app_state, filters_from_mapping, to_search

#: Formats offered as links on every card (HTML stays available by URL and in the report builder).
CARD_FORMATS: tuple[str, ...] = ("png", "svg", "pdf", "csv")
GRAPH_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["toImage"],
}
SCREEN_HEIGHT = 430


def chart_card(chart_id: str, *, wide: bool = False) -> html.Section:
    """An empty card; `render_card` fills it once the view is known (and again whenever it changes)."""

    def part(kind: str) -> dict[str, str]:
        return {"type": kind, "chart": chart_id}

    return html.Section(
        [
            html.Div(
                [
                    html.Div(
                        [
                            html.H3(id=part("chart-title"), className="chart-title"),
                            html.P(id=part("chart-subtitle"), className="chart-subtitle"),
                        ],
                        className="chart-heading",
                    ),
                    dcc.RadioItems(
                        id=part("chart-view"),
                        options=[{"label": "Chart", "value": "chart"}, {"label": "Table", "value": "table"}],
                        value="chart",
                        inline=True,
                        className="chart-view-toggle",
                    ),
                ],
                className="chart-header",
            ),
            html.Div(
                dcc.Graph(
                    id=part("chart-graph"),
                    config=GRAPH_CONFIG,
                    className="chart-graph",
                    style={"height": f"{SCREEN_HEIGHT}px"},
                ),
                id=part("chart-graph-view"),
            ),
            html.Div(
                dag.AgGrid(
                    id=part("chart-table"),
                    defaultColDef={
                        "sortable": True,
                        "resizable": True,
                        "filter": True,
                        "flex": 1,
                        "minWidth": 110,
                    },
                    dashGridOptions={
                        "pagination": True,
                        "paginationPageSize": 20,
                        "paginationPageSizeSelector": False,
                    },
                    className="ag-theme-alpine chart-table",
                    style={"height": f"{SCREEN_HEIGHT}px"},
                ),
                id=part("chart-table-view"),
                style={"display": "none"},
            ),
            html.Div(
                [
                    html.P(id=part("chart-source"), className="chart-source"),
                    html.Div(id=part("chart-downloads"), className="chart-downloads"),
                ],
                className="chart-footer",
            ),
        ],
        className="chart-card chart-card--wide" if wide else "chart-card",
        **{"data-chart": chart_id},
    )


def chart_url(chart_id: str, fmt: str, filters: Filters) -> str:
    return f"/download/chart/{chart_id}.{fmt}{to_search(filters)}"


def report_url(charts: list[str], fmt: str, filters: Filters) -> str:
    return f"/download/report.{fmt}{to_search(filters, {'charts': ','.join(charts)})}"


def _download_links(chart_id: str, filters: Filters) -> list[Any]:
    return [html.Span("Download", className="download-label")] + [
        html.A(
            fmt.upper(),
            href=chart_url(chart_id, fmt, filters),
            download="",
            className="download-link",
            title=f"Download this view as {fmt.upper()}",
            **{"data-format": fmt},
        )
        for fmt in CARD_FORMATS
    ]


def column_defs(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """AgGrid columns for a result frame: readable headers, numbers right-aligned with separators."""
    defs = []
    for column in frame.columns:
        spec: dict[str, Any] = {"field": column, "headerName": column.replace("_", " ")}
        if pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column]):
            spec["type"] = "rightAligned"
            spec["valueFormatter"] = {
                "function": "params.value == null ? '' : d3.format(',.4~r')(params.value)"
            }
        defs.append(spec)
    return defs


def table_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for an AgGrid: dates as ISO strings, missing values as None (JSON has no NaN)."""
    plain = frame.copy()
    for column in plain.columns:
        if pd.api.types.is_datetime64_any_dtype(plain[column]):
            plain[column] = plain[column].dt.strftime("%Y-%m-%d")
        elif plain[column].map(lambda value: isinstance(value, dt.date)).any():
            plain[column] = plain[column].map(
                lambda value: value.isoformat() if isinstance(value, dt.date) else value
            )
    return json.loads(plain.to_json(orient="records"))


def for_screen(result: ChartResult) -> go.Figure:
    """The chart without the title and source line that the card already shows as text (exports keep them)."""
    figure = go.Figure(result.figure)
    figure.layout.annotations = [note for note in figure.layout.annotations if note.name != SOURCE_ANNOTATION]
    figure.update_layout(title=None, margin={"t": 40, "b": 40, "l": 60, "r": 20}, autosize=True, height=None)
    return figure


def render(chart_id: str, filters: Filters) -> ChartResult:
    return render_chart(chart_id, app_state().warehouse, filters)


def register_callbacks(app: Dash) -> None:
    """Fill each card when the view changes; flip between chart and table without a server round trip."""

    @app.callback(
        Output({"type": "chart-graph", "chart": MATCH}, "figure"),
        Output({"type": "chart-title", "chart": MATCH}, "children"),
        Output({"type": "chart-subtitle", "chart": MATCH}, "children"),
        Output({"type": "chart-source", "chart": MATCH}, "children"),
        Output({"type": "chart-table", "chart": MATCH}, "rowData"),
        Output({"type": "chart-table", "chart": MATCH}, "columnDefs"),
        Output({"type": "chart-downloads", "chart": MATCH}, "children"),
        Input("filters", "data"),
        State({"type": "chart-graph", "chart": MATCH}, "id"),
    )
    def render_card(filter_params: dict | None, graph_id: dict) -> tuple:
        filters = filters_from_mapping(filter_params or {})
        result = render(graph_id["chart"], filters)
        return (
            for_screen(result),
            result.title,
            result.subtitle,
            result.source,
            table_records(result.data),
            column_defs(result.data),
            _download_links(result.chart_id, filters),
        )

    app.clientside_callback(
        """
        function(view) {
            const hidden = {display: "none"};
            return view === "table" ? [hidden, {}] : [{}, hidden];
        }
        """,
        Output({"type": "chart-graph-view", "chart": MATCH}, "style"),
        Output({"type": "chart-table-view", "chart": MATCH}, "style"),
        Input({"type": "chart-view", "chart": MATCH}, "value"),
    )


def register_quick_filter(app: Dash, input_id: str, grid_id: str) -> None:
    """Typing in `input_id` filters the rows of `grid_id` on any column (AgGrid's quick filter)."""

    @app.callback(Output(grid_id, "dashGridOptions"), Input(input_id, "value"), prevent_initial_call=True)
    def quick_filter(text: str | None) -> Patch:
        options = Patch()
        options["quickFilterText"] = text or ""
        return options


def _attachment(body: bytes, fmt: str, stem: str) -> flask.Response:
    response = flask.Response(body, mimetype=MEDIA_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


def _view_stem(name: str, filters: Filters) -> str:
    """File names say what they hold: chart, attribution, period and date range."""
    span = f"{filters.start or 'first'}_to_{filters.end or 'latest'}"
    return f"{name}_{filters.attribution}_{filters.period}_{span}"


def register_routes(server: flask.Flask) -> None:
    """`/download/chart/<id>.<fmt>` and `/download/report.<fmt>?charts=...`, the view in URL parameters."""

    @server.get("/download/chart/<chart_id>.<fmt>")
    def download_chart(chart_id: str, fmt: str) -> flask.Response:
        if chart_id not in chart_ids():
            flask.abort(404, f"unknown chart {chart_id!r}; known: {', '.join(chart_ids())}")
        if fmt not in CHART_FORMATS:
            flask.abort(404, f"unknown format {fmt!r}; use one of {', '.join(CHART_FORMATS)}")
        filters, _ = Filters.from_params(flask.request.args)
        return _attachment(export_chart(render(chart_id, filters), fmt), fmt, _view_stem(chart_id, filters))

    @server.get("/download/report.<fmt>")
    def download_report(fmt: str) -> flask.Response:
        if fmt not in REPORT_FORMATS:
            flask.abort(404, f"unknown report format {fmt!r}; use one of {', '.join(REPORT_FORMATS)}")
        filters, _ = Filters.from_params(flask.request.args)
        chosen = [c for c in flask.request.args.get("charts", "").split(",") if c in chart_ids()]
        if not chosen:
            flask.abort(400, "choose at least one chart, e.g. ?charts=cumulative-by-country,share-by-country")
        results = [render(chart_id, filters) for chart_id in chosen]
        body = export_report(results, fmt, view=scope_text(filters))
        return _attachment(body, fmt, _view_stem("report", filters))
