"""Models: search every model in the store by id; each result links to the model's own page."""

from __future__ import annotations

from urllib.parse import quote

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashboards.colors import display_name
from dashboards.components import FILL_COLUMNS, data_grid
from dashboards.filters import Filters
from dashboards.numbers import grid_formatter
from dashboards.state import app_state, filters_from_mapping, to_search

PAGE = {
    "path": "/models",
    "name": "Models",
    "title": "Models · Open Weights Tracker",
    "order": 2,
    "only_controls": (),
    "controls_note": "The model search covers every model in the latest snapshot, so the view's filters are "
    "hidden here; they are kept in the links for the other pages.",
}
RESULT_LIMIT = 200
_NUMBER = grid_formatter("count")
COLUMNS: list[dict] = [
    {"field": "model", "headerName": "Model", "cellRenderer": "markdown", "minWidth": 320},
    {"field": "publisher_country", "headerName": "Publisher country", "minWidth": 150},
    {"field": "lineage_country", "headerName": "Lineage country", "minWidth": 150},
    {
        "field": "downloads_30d",
        "headerName": "30-day downloads",
        "valueFormatter": _NUMBER,
        "type": "rightAligned",
    },
    {
        "field": "downloads_all_time",
        "headerName": "All-time",
        "valueFormatter": _NUMBER,
        "type": "rightAligned",
        "sort": "desc",
    },
]


def layout(**url_values: str) -> html.Div:
    """The page with the most downloaded models already listed (no search text yet): the list does not wait
    for a callback, nor for the grid's code to load before one may be sent."""
    view = filters_from_mapping(url_values)
    rows, count = search_results("", view)
    return html.Div(
        [
            html.H1("Models"),
            html.P(
                "Search models by id (organisation or name); the most downloaded matches come first.",
                className="lede",
            ),
            dcc.Input(
                id="models-search",
                type="search",
                placeholder="e.g. qwen, llama, gguf...",
                debounce=0.3,
                className="search-input",
            ),
            dcc.Store(id="models-shown", data={"text": "", "view": view.to_params()}),
            html.P(count, id="models-count", className="hint"),
            data_grid(
                "models-grid", height="640px", column_defaults=FILL_COLUMNS, columnDefs=COLUMNS, rowData=rows
            ),
        ]
    )


def result_rows(found: pd.DataFrame, search: str) -> list[dict]:
    rows = found.copy()
    rows["model"] = [f"[{model_id}](/models/{quote(model_id)}{search})" for model_id in rows["model_id"]]
    for column in ("publisher_country", "lineage_country"):
        rows[column] = rows[column].map(lambda code: display_name(code or "", with_flag=True))
    rows = rows.astype(object).where(rows.notna(), None)
    return rows[[c["field"] for c in COLUMNS]].to_dict("records")


def search_results(text: str, view: Filters) -> tuple[list[dict], str]:
    """Grid rows of the models matching `text` (links keep the view), and how many there are."""
    found = app_state().warehouse.model_search(text, limit=RESULT_LIMIT)
    rows = result_rows(found, to_search(view))
    more = " (the first ones; refine the search)" if len(rows) == RESULT_LIMIT else ""
    return rows, f"{len(rows):,} models{more}"


def register_callbacks(app: Dash) -> None:
    @app.callback(
        Output("models-grid", "rowData"),
        Output("models-count", "children"),
        Output("models-shown", "data"),
        Input("models-search", "value"),
        Input("filters", "data"),
        State("models-shown", "data"),
    )
    def search_models(text: str | None, filter_params: dict | None, shown: dict) -> tuple:
        view = filters_from_mapping(filter_params or {})
        wanted = {"text": (text or "").strip(), "view": view.to_params()}
        if wanted == shown:
            raise PreventUpdate  # listed with the page already
        return *search_results(wanted["text"], view), wanted
