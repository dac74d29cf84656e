"""Models: search every model in the store by words of its id; each result links to the model's own page.

The query and the result page live in the URL (`/models?q=qwen3+4b&page=2`), so a search can be shared and
back/forward work: the page is drawn from them without waiting for a callback. Typing updates the results
(page 1) and rewrites the URL in place (`history.replaceState`, so typing adds no history entries and does not
redraw the page); the pager's links are ordinary links.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashboards.colors import display_name
from dashboards.components import FILL_COLUMNS, data_grid
from dashboards.filters import Filters
from dashboards.numbers import grid_formatter
from dashboards.search import (
    MAX_QUERY_CHARS,
    PAGE_SIZE,
    RULE_TEXT,
    page_count,
    parse_page,
    query_in_url_script,
    search_terms,
)
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
#: URL parameters of this page (besides the view's).
QUERY_PARAM, PAGE_PARAM = "q", "page"
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


def _one(value: str | list[str] | None) -> str:
    """A URL value as text (the last one when the parameter is repeated)."""
    if isinstance(value, list | tuple):
        return str(value[-1]) if value else ""
    return "" if value is None else str(value)


def layout(**url_values: str) -> html.Div:
    """The page for the URL's query and page number (no query: the most downloaded models): the list does
    not wait for a callback, nor for the grid's code to load before one may be sent."""
    view = filters_from_mapping(url_values)
    text = _one(url_values.get(QUERY_PARAM))[:MAX_QUERY_CHARS].strip()
    page, page_problem = parse_page(_one(url_values.get(PAGE_PARAM)) or None)
    rows, count, pager = search_results(text, page, view, page_problem)
    return html.Div(
        [
            html.H1("Models"),
            html.P(
                f"Search models by words of their id (organisation or name). {RULE_TEXT}", className="lede"
            ),
            dcc.Input(
                id="models-search",
                type="search",
                value=text,
                placeholder="e.g. qwen3 4b, llama gguf...",
                debounce=0.3,
                maxLength=MAX_QUERY_CHARS,
                className="search-input",
            ),
            dcc.Store(id="models-shown", data={"text": text, "view": view.to_params()}),
            dcc.Store(id="models-url"),
            html.P(count, id="models-count", className="hint"),
            html.Nav(pager, id="models-pager", className="pager", **{"aria-label": "Result pages"}),
            data_grid(
                "models-grid",
                height="640px",
                page_size=PAGE_SIZE,
                column_defaults=FILL_COLUMNS,
                class_name="grid--server-paged",
                columnDefs=COLUMNS,
                rowData=rows,
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


def page_href(text: str, page: int, view: Filters) -> str:
    """The URL of one result page of a search, keeping the view (page 1 and an empty query are left out)."""
    extra: Mapping[str, str] = {
        **({QUERY_PARAM: text} if text else {}),
        **({PAGE_PARAM: str(page)} if page > 1 else {}),
    }
    params = {**view.to_params(), **extra}
    return f"{PAGE['path']}?{urlencode(params, safe=',')}" if params else PAGE["path"]


def pager(text: str, page: int, pages: int, view: Filters) -> list:
    """Previous / 'Page n of N' / Next, as links (absent at either end)."""
    items: list = []
    if page > 1:
        items.append(dcc.Link("‹ Previous", href=page_href(text, page - 1, view), id="models-previous"))
    items.append(html.Span(f"Page {page:,} of {pages:,}", id="models-page"))
    if page < pages:
        items.append(dcc.Link("Next ›", href=page_href(text, page + 1, view), id="models-next"))
    return items


def count_text(text: str, page: int, total: int, shown: int) -> str:
    """How many models match and which of them this page shows."""
    terms = search_terms(text)
    what = f"{total:,} models" + (f" match {' + '.join(terms)}" if terms else "")
    if not shown:
        return f"{what}; none on page {page:,}" if total else f"{what}."
    first = (page - 1) * PAGE_SIZE + 1
    return f"{what}; showing {first:,}-{first + shown - 1:,}, most downloaded (all-time) first."


def search_results(
    text: str, page: int, view: Filters, problem: str | None = None
) -> tuple[list[dict], str, list]:
    """Grid rows of one page of the models matching `text` (links keep the view), the count line (with why
    the page asked for was not used) and the pager. A page past the last shows the last."""
    warehouse = app_state().warehouse
    found, total = warehouse.search_models(text, page=page, per_page=PAGE_SIZE)
    pages = page_count(total)
    if page > pages:
        problem = f"there is no page {page:,} (the last is {pages:,}); showing page {pages:,}"
        page = pages
        found, total = warehouse.search_models(text, page=page, per_page=PAGE_SIZE)
    count = count_text(text, page, total, len(found))
    if problem:
        count = f"{count} Note: {problem}."
    return result_rows(found, to_search(view)), count, pager(text, page, pages, view)


def register_callbacks(app: Dash) -> None:
    @app.callback(
        Output("models-grid", "rowData"),
        Output("models-count", "children"),
        Output("models-pager", "children"),
        Output("models-shown", "data"),
        Input("models-search", "value"),
        Input("filters", "data"),
        State("models-shown", "data"),
    )
    def search_models(text: str | None, filter_params: dict | None, shown: dict) -> tuple:
        view = filters_from_mapping(filter_params or {})
        wanted = {"text": (text or "")[:MAX_QUERY_CHARS].strip(), "view": view.to_params()}
        if wanted == shown:
            raise PreventUpdate  # listed with the page already
        return *search_results(wanted["text"], 1, view), wanted

    # The typed query goes into the address bar (page 1) without a new history entry or a redraw.
    app.clientside_callback(
        query_in_url_script(QUERY_PARAM, reset=(PAGE_PARAM,)),
        Output("models-url", "data"),
        Input("models-search", "value"),
        prevent_initial_call=True,
    )
