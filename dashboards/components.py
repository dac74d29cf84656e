"""The chart card every page is built from, and the download routes behind its links.

A card shows one chart of `dashboards.charts` (the only place figures are made) with its title, subtitle
(definition and scope), source line, a chart/table toggle and download links. Downloads are plain links to
Flask routes that take the view as URL parameters, so a file is exactly the view on screen, can be shared
or scripted, and works without JavaScript; the bytes come from `dashboards.export`.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import dash_ag_grid as dag
import flask
import pandas as pd
import plotly.graph_objects as go
from dash import MATCH, ClientsideFunction, Dash, Input, Output, Patch, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from dashboards import figures, numbers
from dashboards.charts import SYNTHETIC_WARNING, ChartResult, chart_ids, render_chart, scope_text, source_info
from dashboards.cluster import cached
from dashboards.comparison import check_orgs
from dashboards.export import (
    CHART_FORMATS,
    LAYOUTS,
    MEDIA_TYPES,
    REPORT_FORMATS,
    chart_package,
    export_chart,
    export_report,
    tidy_data,
    wide_data,
)
from dashboards.figures import SOURCE_ANNOTATION
from dashboards.filters import Filters, check_task, parse_params
from dashboards.state import JOB_QUEUE_KEY, app_state, filters_from_mapping, to_search, with_store_dates
from pipelines import definitions

#: Formats offered as links on every card (HTML stays available by URL and in the report builder).
CARD_FORMATS: tuple[str, ...] = ("png", "svg", "pdf", "csv")
#: Formats of the view's data on Methodology & data.
DATA_FORMATS: tuple[str, ...] = ("csv", "parquet")
GRAPH_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["toImage"],
}
SCREEN_HEIGHT = 430


def card_key(chart_id: str, params: Mapping[str, str] | None = None) -> str:
    """Unique id of a card on a page: its chart id, plus the entity it shows for detail charts."""
    return chart_id + (f"?{urlencode(sorted(params.items()))}" if params else "")


def card_anchor(key: str) -> str:
    """The card's element id, the `#anchor` of a link to it ("copy link"): `chart-` and its key."""
    return "chart-" + re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-")


#: What a card's chart/table toggle offers; "wide" (one column per country) only for time series by country.
VIEW_OPTIONS: list[dict[str, str]] = [
    {"label": "Chart", "value": "chart"},
    {"label": "Table", "value": "table"},
]
WIDE_OPTION: dict[str, str] = {"label": "Wide table", "value": "wide"}


def embed_path(chart_id: str, params: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The embed page of a chart (`dashboards.embed`) and the entity parameters it needs, URL-encoded."""
    return f"/embed/chart/{chart_id}", urlencode(sorted((params or {}).items()))


def _share(chart_id: str, params: Mapping[str, str] | None) -> html.Div:
    """"Copy link" and "Embed" (assets/share.js builds both from the page's URL, the view, when clicked)."""
    path, query = embed_path(chart_id, params)
    return html.Div(
        [
            html.Button("Copy link", className="share-button", title="Copy a link to this chart in this view",
                        **{"data-share": "link"}),
            html.Button("Embed", className="share-button", title="HTML to show this chart in another page",
                        **{"data-share": "embed"}),
            html.Div(className="share-panel", role="status"),
        ],
        className="chart-share",
        **{"data-embed-path": path, "data-embed-query": query},
    )  # fmt: skip


def chart_card(
    chart_id: str,
    params: Mapping[str, str] | None = None,
    *,
    wide: bool = False,
    view: Filters | None = None,
) -> html.Section:
    """A card for one chart. Given the `view`, it is drawn with the page (a page's first chart: one round trip
    sooner, and not queued behind the others); otherwise `render_card` fills it once that first chart is drawn
    (assets/after-first-chart.js: the browser draws one chart at a time, so the first comes sooner alone).
    Either way `render_card` redraws it whenever the view changes."""
    key = card_key(chart_id, params)
    spec: dict[str, Any] = {"chart": chart_id, "params": dict(params or {})}
    shown: dict[str, Any] = {}
    if view is not None:
        spec["view"] = view.to_params()
        shown = card_contents(render(chart_id, view, params), view, spec["params"])

    def part(kind: str) -> dict[str, str]:
        return {"type": kind, "card": key}

    return html.Section(
        [
            dcc.Store(id=part("chart-spec"), data=spec),
            dcc.Store(id=part("chart-wanted")),
            html.Div(
                [
                    html.Div(
                        [
                            html.H3(shown.get("title"), id=part("chart-title"), className="chart-title"),
                            html.P(
                                shown.get("subtitle"), id=part("chart-subtitle"), className="chart-subtitle"
                            ),
                        ],
                        className="chart-heading",
                    ),
                    dcc.RadioItems(
                        id=part("chart-view"),
                        options=shown.get("views", VIEW_OPTIONS),
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
                    **({"figure": shown["figure"]} if shown else {}),  # not None: the graph's default
                ),
                id=part("chart-graph-view"),
            ),
            # The table is made when first asked for (`show_table`): a grid is costly to create in the
            # browser, and most visitors look at the chart.
            html.Div(id=part("chart-table-view"), style={"display": "none"}),
            html.Div(
                [
                    html.P(shown.get("source"), id=part("chart-source"), className="chart-source"),
                    html.Div(shown.get("downloads"), id=part("chart-downloads"), className="chart-downloads"),
                ],
                className="chart-footer",
            ),
            _share(chart_id, params),
        ],
        className="chart-card chart-card--wide" if wide else "chart-card",
        id=card_anchor(key),
        **{"data-chart": chart_id, **({"data-with-page": "true"} if view is not None else {})},
    )


#: What a card shows of a rendered chart: its parts' names, and the (component type, property) each fills.
CARD_PARTS: dict[str, tuple[str, str]] = {
    "figure": ("chart-graph", "figure"),
    "title": ("chart-title", "children"),
    "subtitle": ("chart-subtitle", "children"),
    "source": ("chart-source", "children"),
    "downloads": ("chart-downloads", "children"),
    "views": ("chart-view", "options"),
}


def card_contents(result: ChartResult, filters: Filters, params: Mapping[str, str]) -> dict[str, Any]:
    """Each part of a card (CARD_PARTS) for a rendered chart."""
    wide = not result.unavailable and wide_data(result, filters) is not None
    return {
        "figure": for_screen(result),
        "title": result.title,
        "subtitle": result.subtitle,
        "source": result.source,
        "downloads": _download_links(result.chart_id, filters, params, wide=wide),
        "views": [*VIEW_OPTIONS, WIDE_OPTION] if wide else VIEW_OPTIONS,
    }


def chart_url(chart_id: str, fmt: str, filters: Filters, params: Mapping[str, str] | None = None) -> str:
    return f"/download/chart/{chart_id}.{fmt}{to_search(filters, params)}"


def report_url(charts: list[str], fmt: str, filters: Filters) -> str:
    return f"/download/report.{fmt}{to_search(filters, {'charts': ','.join(charts)})}"


def _download_links(
    chart_id: str, filters: Filters, params: Mapping[str, str], *, wide: bool = False
) -> list[Any]:
    wide_link = html.A(
        "Wide CSV",
        href=chart_url(chart_id, "csv", filters, {**params, "layout": "wide"}),
        download="",
        className="download-link",
        title="Download this view's data with one column per country, in a zip with metadata.json and README",
        **{"data-format": "csv-wide"},
    )
    return [html.Span("Download", className="download-label")] + [
        html.A(
            fmt.upper(),
            href=chart_url(chart_id, fmt, filters, params),
            download="",
            className="download-link",
            title=(
                "Download this view's data as CSV, in a zip with its metadata.json and README"
                if fmt == "csv"
                else f"Download this view as {fmt.upper()}"
            ),
            **{"data-format": fmt},
        )
        for fmt in CARD_FORMATS
    ] + ([wide_link] if wide else [])


#: Column defaults that make a grid's columns share its width (at least 110 px each).
FILL_COLUMNS = {"flex": 1, "minWidth": 110}


def data_grid(
    grid_id: Any,
    *,
    height: str,
    page_size: int = 20,
    column_defaults: Mapping[str, Any] | None = None,
    class_name: str = "",
    **props: Any,
) -> dag.AgGrid:
    """A sortable, filterable, paginated table: every grid of the dashboard looks and pages the same way."""
    return dag.AgGrid(
        id=grid_id,
        defaultColDef={"sortable": True, "resizable": True, "filter": True, **(column_defaults or {})},
        dashGridOptions={
            "pagination": True,
            "paginationPageSize": page_size,
            "paginationPageSizeSelector": False,
        },
        className=f"ag-theme-alpine {class_name}".strip(),
        style={"height": height},
        **props,
    )


def table_after_charts(table_id: str, request: Mapping[str, str]) -> html.Div:
    """A place for the table `table_id`, made once the page's first chart is drawn and the browser is idle
    (assets/after-first-chart.js): a table's thousands of rows, and ag-grid's code, parsed and laid out
    first held the first chart back by ~0.3 s. `request` is what the table's maker
    (`register_table_after_charts`) is given."""
    return html.Div(
        [
            html.Div(id=f"{table_id}-slot"),
            dcc.Store(id={"type": "table-request", "table": table_id}, data=dict(request)),
            dcc.Store(id={"type": "table-wanted", "table": table_id}),
        ]
    )


def register_table_after_charts(
    app: Dash, table_id: str, make_table: Callable[[dict[str, str]], Any]
) -> None:
    """Put `make_table(request)` (a grid, or components around one) in the place `table_after_charts` made,
    when its stores ask for it."""

    @app.callback(
        Output(f"{table_id}-slot", "children"),
        Input({"type": "table-wanted", "table": table_id}, "data"),
        State({"type": "table-request", "table": table_id}, "data"),
        prevent_initial_call=True,
    )
    def fill_table(_wanted: Any, request: dict[str, str]) -> Any:
        return make_table(request)


def fact(label: str, value: Any) -> html.Div:
    """A labelled value in a page's fact row (text or a component such as a link)."""
    return html.Div([html.Span(label), html.Span(value)])


def column_defs(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """AgGrid columns for a result frame: readable headers, numbers right-aligned and written by the app's
    one rule (`dashboards.numbers`: counts exact, shares as percentages)."""
    defs = []
    for column in frame.columns:
        spec: dict[str, Any] = {"field": column, "headerName": column.replace("_", " ")}
        if pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column]):
            spec["type"] = "rightAligned"
            spec["valueFormatter"] = numbers.grid_formatter(numbers.column_kind(column, frame[column]))
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
    """The chart without the title and source line that the card already shows as text (exports keep them).

    Changes `result.figure` in place: every render makes a fresh result, and copying a figure costs more
    than the whole query on small views."""
    figure = result.figure
    figure.layout.annotations = [note for note in figure.layout.annotations if note.name != SOURCE_ANNOTATION]
    figure.update_layout(title=None, margin={"t": 40, "b": 40}, autosize=True, height=None)
    return figure


#: Charts of one organisation or one model: id -> (names of their URL parameters, how to render them).
DetailRenderer = Callable[..., ChartResult]
_DETAIL_CHARTS: dict[str, tuple[tuple[str, ...], DetailRenderer]] = {}


def detail_chart(chart_id: str, *params: str) -> Callable[[DetailRenderer], DetailRenderer]:
    """Register a chart about one entity; `render(warehouse, filters, **params)` returns its ChartResult."""

    def register(render_detail: DetailRenderer) -> DetailRenderer:
        _DETAIL_CHARTS[chart_id] = (params, render_detail)
        return render_detail

    return register


def known_chart(chart_id: str) -> bool:
    return chart_id in _DETAIL_CHARTS or chart_id in chart_ids()


def render(chart_id: str, filters: Filters, params: Mapping[str, str] | None = None) -> ChartResult:
    """A registered chart (`dashboards.charts`) or a detail chart of a page, for the view; through the
    replicas' shared cache when there is one (`dashboards.cluster`), keyed by store, warehouse version, chart
    and view, so a new snapshot is never answered from an older one's cache."""
    state = app_state()
    warehouse = state.warehouse

    def draw() -> ChartResult:
        if chart_id in _DETAIL_CHARTS:
            names, render_detail = _DETAIL_CHARTS[chart_id]
            return render_detail(warehouse, filters, **{name: (params or {}).get(name, "") for name in names})
        return render_chart(chart_id, warehouse, filters)

    key = f"{state.store.root}|{warehouse.version.path.name}|{chart_id}|{to_search(filters, params)}"
    result, hit = cached(key, draw)
    flask.g.setdefault("owt_cache", []).append(hit)
    return result


def framed_result(
    chart_id: str, figure: go.Figure, data: pd.DataFrame, title: str, measures: tuple[str, ...], scope: str
) -> ChartResult:
    """A detail chart framed like every registered chart: definitions from `pipelines.definitions`, the
    store's source line, the synthetic warning when it applies."""
    source = source_info(app_state().warehouse, Filters())
    source_line = source.line("publisher")
    subtitle = " ".join([*(definitions.measure(m).definition for m in measures), scope])
    figures.frame(
        figure,
        title=title,
        subtitle=subtitle,
        source=source_line,
        warning=SYNTHETIC_WARNING if source.synthetic else None,
    )
    return ChartResult(
        chart_id=chart_id,
        figure=figure,
        data=data.reset_index(drop=True),
        title=title,
        subtitle=subtitle,
        source=source_line,
        synthetic=source.synthetic,
        measure_ids=measures,
    )


def chart_params(chart_id: str, values: Mapping[str, str]) -> dict[str, str]:
    """The entity parameters (namespace, model) a chart takes, picked from URL values."""
    names = _DETAIL_CHARTS[chart_id][0] if chart_id in _DETAIL_CHARTS else ()
    return {name: values[name] for name in names if name in values}


def missing_params(chart_id: str, params: Mapping[str, str]) -> list[str]:
    """The entity parameters a chart of one organisation or model needs and `params` lacks."""
    return [name for name in _DETAIL_CHARTS.get(chart_id, ((),))[0] if not params.get(name)]


def register_callbacks(app: Dash) -> None:
    """Fill each card once it is wanted (`chart_card`) and when the view changes; flip between chart and table
    without a server round trip."""

    @app.callback(
        Output({"type": "chart-spec", "card": MATCH}, "data"),
        *(Output({"type": kind, "card": MATCH}, prop) for kind, prop in CARD_PARTS.values()),
        Input("filters", "data"),
        Input({"type": "chart-wanted", "card": MATCH}, "data"),
        State({"type": "chart-spec", "card": MATCH}, "data"),
        prevent_initial_call=True,
    )
    def render_card(filter_params: dict | None, wanted: Any, spec: dict) -> tuple:
        filters = filters_from_mapping(filter_params or {})
        view = filters.to_params()
        if spec.get("view") == view or not wanted:
            raise PreventUpdate  # drawn for this view already (with the page), or not wanted yet
        shown = card_contents(render(spec["chart"], filters, spec["params"]), filters, spec["params"])
        return ({**spec, "view": view}, *(shown[name] for name in CARD_PARTS))

    @app.callback(
        Output({"type": "chart-table-view", "card": MATCH}, "children"),
        Input({"type": "chart-view", "card": MATCH}, "value"),
        Input({"type": "chart-spec", "card": MATCH}, "data"),
        State("filters", "data"),
        prevent_initial_call=True,
    )
    def show_table(shown_as: str, spec: dict, filter_params: dict | None) -> dag.AgGrid:
        """The card's points as a table, made when the table is first shown and again when the view changes
        (`render_card` records each view in the card's spec)."""
        if shown_as not in ("table", "wide"):
            raise PreventUpdate
        filters = filters_from_mapping(filter_params or {})
        result = render(spec["chart"], filters, spec["params"])
        wide = wide_data(result, filters, names=True) if shown_as == "wide" else None
        data = result.data if wide is None else wide
        return data_grid(
            {"type": "chart-table", "card": ctx.outputs_list["id"]["card"]},
            height=f"{SCREEN_HEIGHT}px",
            column_defaults=FILL_COLUMNS,
            class_name="chart-table",
            rowData=table_records(data),
            columnDefs=column_defs(data),
        )

    app.clientside_callback(
        ClientsideFunction("owt", "cardWanted"),
        Output({"type": "chart-wanted", "card": MATCH}, "data"),
        Input({"type": "chart-spec", "card": MATCH}, "data"),
        State({"type": "chart-wanted", "card": MATCH}, "data"),
    )

    app.clientside_callback(
        ClientsideFunction("owt", "tableWanted"),
        Output({"type": "table-wanted", "table": MATCH}, "data"),
        Input({"type": "table-request", "table": MATCH}, "data"),
    )

    app.clientside_callback(
        """
        function(view) {
            const hidden = {display: "none"};
            return view === "chart" ? [{}, hidden] : [hidden, {}];
        }
        """,
        Output({"type": "chart-graph-view", "card": MATCH}, "style"),
        Output({"type": "chart-table-view", "card": MATCH}, "style"),
        Input({"type": "chart-view", "card": MATCH}, "value"),
    )


def register_quick_filter(app: Dash, input_id: str, grid_id: str) -> None:
    """Typing in `input_id` filters the rows of `grid_id` on any column (AgGrid's quick filter)."""

    @app.callback(Output(grid_id, "dashGridOptions"), Input(input_id, "value"), prevent_initial_call=True)
    def quick_filter(text: str | None) -> Patch:
        options = Patch()
        options["quickFilterText"] = text or ""
        return options


def view_data(filters: Filters) -> pd.DataFrame:
    """Every registered chart's tidy data for the view (`export.tidy_data`: codes and names, counts as
    integers), long form, with the chart id as first column (the Parquet download)."""
    frames = [
        tidy_data(render(chart_id, filters), filters).assign(chart=chart_id) for chart_id in chart_ids()
    ]
    combined = pd.concat(frames, ignore_index=True)
    return combined[["chart", *(c for c in combined.columns if c != "chart")]]


def _bad_request(message: str) -> flask.Response:
    """A 400 whose plain-text body says which parameter is wrong and why (scripts print it as it is)."""
    return flask.Response(f"{message}\n", status=400, mimetype="text/plain")


def _view_of_request(args: Mapping[str, Any]) -> Filters:
    """The view a download URL asks for; any parameter that cannot be used aborts with a 400 naming it (a
    download must be the view asked for, never a default in its place)."""
    filters, problems = parse_params(args)
    filters = with_store_dates(filters)
    filters, task_problems = check_task(filters, app_state().tasks)
    problems += task_problems + check_orgs(app_state().warehouse, filters)
    if problems:
        flask.abort(_bad_request("; ".join(f"{p.param}={p.value!r}: {p.message}" for p in problems)))
    return filters


def _demo_note() -> str:
    state = app_state()
    if not state.demo:
        return ""
    return (
        f"The store {state.configured_store.root} has no snapshot, so these files come from the synthetic "
        f"demo store {state.store.root}."
    )


def _attachment(body: bytes, fmt: str, stem: str) -> flask.Response:
    response = flask.Response(body, mimetype=MEDIA_TYPES.get(fmt, "application/vnd.apache.parquet"))
    safe_stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem)
    response.headers["Content-Disposition"] = f'attachment; filename="{safe_stem}.{fmt}"'
    return response


def _view_stem(name: str, filters: Filters) -> str:
    """File names say what they hold: chart, attribution, period and date range."""
    span = f"{filters.start or 'first'}_to_{filters.end or 'latest'}"
    return f"{name}_{filters.attribution}_{filters.period}_{span}"


def report_charts(args: Mapping[str, Any]) -> list[str]:
    """The chart ids a report asks for (`charts=a,b`), in order, once each; a 400 naming unknown ones."""
    asked = [c.strip() for c in str(args.get("charts", "")).split(",") if c.strip()]
    unknown = [c for c in asked if c not in chart_ids()]
    if unknown:
        known = ", ".join(chart_ids())
        flask.abort(_bad_request(f"charts: unknown chart id(s) {', '.join(unknown)}; known: {known}"))
    chosen = list(dict.fromkeys(asked))
    if not chosen:
        example = "?charts=cumulative-by-country,top-organisations"
        flask.abort(_bad_request(f"charts: choose at least one chart id, e.g. {example}"))
    return chosen


def report_file(filters: Filters, chosen: list[str], fmt: str) -> tuple[bytes, str, str]:
    """A report of the charts `chosen` for the view: (body, file format, file stem)."""
    results = [render(chart_id, filters) for chart_id in chosen]
    return export_report(results, fmt, view=scope_text(filters)), fmt, _view_stem("report", filters)


def view_data_file(filters: Filters, fmt: str) -> tuple[bytes, str, str]:
    """The data of every chart for the view: a CSV package (zip) or one Parquet file."""
    stem = _view_stem("view-data", filters)
    if fmt == "csv":  # one tidy CSV per chart, with metadata.json and a README, in a zip
        results = [render(chart_id, filters) for chart_id in chart_ids()]
        source = source_info(app_state().warehouse, filters)
        return chart_package(results, filters, source, demo_note=_demo_note()), "zip", stem
    buffer = io.BytesIO()
    view_data(filters).to_parquet(buffer, index=False)
    return buffer.getvalue(), fmt, stem


def hand_off(kind: str, fmt: str, query: str) -> flask.Response | None:
    """With a shared job queue (`dashboards.jobs`, Redis configured), the response that queues this long
    work for a worker instead of doing it here; None when this process does it itself."""
    queue = flask.current_app.config.get(JOB_QUEUE_KEY)
    if queue is None or not queue.shared:
        return None
    return queue.hand_off(kind, fmt, query)


def register_routes(server: flask.Flask) -> None:
    """`/download/chart/<id>.<fmt>` and `/download/report.<fmt>?charts=...`, the view in URL parameters."""

    @server.get("/download/chart/<chart_id>.<fmt>")
    def download_chart(chart_id: str, fmt: str) -> flask.Response:
        if not known_chart(chart_id):
            return _bad_request(f"unknown chart id {chart_id!r}; known: {', '.join(chart_ids())}")
        if fmt not in CHART_FORMATS:
            return _bad_request(f"unknown format {fmt!r}; use one of {', '.join(CHART_FORMATS)}")
        filters = _view_of_request(flask.request.args)
        params = chart_params(chart_id, flask.request.args)
        missing = missing_params(chart_id, params)
        if missing:
            return _bad_request(f"{chart_id} shows one entity: missing parameter {', '.join(missing)}")
        result = render(chart_id, filters, params)
        if result.unavailable:
            flask.abort(409, result.unavailable)
        stem = _view_stem("_".join([chart_id, *params.values()]), filters)
        if fmt == "csv":  # the CSV with what it is: a zip package (see dashboards.export)
            layout = flask.request.args.get("layout", "long")
            if layout not in LAYOUTS:
                return _bad_request(f"layout={layout!r}: must be one of {', '.join(LAYOUTS)}")
            source = source_info(app_state().warehouse, filters)
            package = chart_package([result], filters, source, demo_note=_demo_note(), layout=layout)
            return _attachment(package, "zip", stem + ("_wide" if layout == "wide" else ""))
        return _attachment(export_chart(result, fmt), fmt, stem)

    @server.get("/download/data.<fmt>")
    def download_view_data(fmt: str) -> flask.Response:
        if fmt not in DATA_FORMATS:
            return _bad_request(f"unknown data format {fmt!r}; use one of {', '.join(DATA_FORMATS)}")
        filters = _view_of_request(flask.request.args)
        queued = hand_off("data", fmt, flask.request.query_string.decode("ascii", "replace"))
        if queued is not None:
            return queued
        return _attachment(*view_data_file(filters, fmt))

    @server.get("/download/report.<fmt>")
    def download_report(fmt: str) -> flask.Response:
        if fmt not in REPORT_FORMATS:
            return _bad_request(f"unknown report format {fmt!r}; use one of {', '.join(REPORT_FORMATS)}")
        filters = _view_of_request(flask.request.args)
        chosen = report_charts(flask.request.args)
        queued = hand_off("report", fmt, flask.request.query_string.decode("ascii", "replace"))
        if queued is not None:
            return queued
        return _attachment(*report_file(filters, chosen, fmt))
