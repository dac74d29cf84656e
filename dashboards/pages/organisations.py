"""Organisations: the leaderboard (sortable, searchable) and the top organisations by country."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pandas as pd
from dash import Dash, Input, Output, dcc, html

from dashboards.colors import display_name
from dashboards.components import (
    chart_card,
    data_grid,
    register_table_after_charts,
    table_after_charts,
    table_records,
)
from dashboards.filters import Filters
from dashboards.numbers import grid_formatter
from dashboards.query import per_version
from dashboards.search import MAX_QUERY_CHARS, RULE_TEXT, matches, query_in_url_script, search_terms
from dashboards.state import app_state, filters_from_mapping, to_search

PAGE = {
    "path": "/organisations",
    "name": "Organisations",
    "title": "Organisations · Open Weights Tracker",
    "order": 1,
    "unused_controls": {
        "period": "Not used here: organisations are ranked by their downloads over the selected dates.",
        "attribution": "Not used here: an organisation belongs to its own (publisher) country.",
        "events": "Not used here: events are marked on charts drawn over time.",
        "rolling": "Not used here: organisations are ranked by their downloads over the selected dates.",
    },
}
LEADERBOARD_SIZE = 500
#: A search ranks every organisation; this many of the matches are listed (the count says how many match).
SEARCH_ROWS = 2_000
EVERY_ORGANISATION = 10**7
QUERY_PARAM = "q"
LEADERBOARD_ID = "organisations-leaderboard"
_NUMBER = grid_formatter("count")
_PERCENT = grid_formatter("change")
_SHARE = grid_formatter("share")
#: Why a Growth cell can be empty (the column's tooltip, and a note when the whole column is).
GROWTH_RULE = (
    "Growth compares the selected dates with as many days (whole months: as many months) just before them. "
    "It is empty where the snapshots do not cover that earlier range, or the organisation had no downloads "
    "in it."
)

COLUMNS: list[dict] = [
    {
        "field": "rank",
        "headerName": "#",
        "minWidth": 70,
        "maxWidth": 90,
        "filter": False,
        "type": "rightAligned",
    },
    {"field": "organisation", "headerName": "Organisation", "cellRenderer": "markdown", "minWidth": 220},
    {"field": "country", "headerName": "Country", "minWidth": 150},
    {
        "field": "downloads",
        "headerName": "Downloads in period",
        "valueFormatter": _NUMBER,
        "type": "rightAligned",
        "sort": "desc",
    },
    {
        "field": "downloads_all_time",
        "headerName": "All-time",
        "valueFormatter": _NUMBER,
        "type": "rightAligned",
    },
    {
        "field": "growth",
        "headerName": "Growth",
        "headerTooltip": GROWTH_RULE,
        "valueFormatter": _PERCENT,
        "type": "rightAligned",
    },
    {"field": "n_models", "headerName": "Models", "valueFormatter": _NUMBER, "type": "rightAligned"},
    {"field": "share", "headerName": "Share", "valueFormatter": _SHARE, "type": "rightAligned"},
]


def layout(**url_values: str) -> html.Div:
    text = str(url_values.get(QUERY_PARAM) or "")[:MAX_QUERY_CHARS].strip()
    return html.Div(
        [
            html.H1("Organisations"),
            html.P(
                "Who publishes the most downloaded open models, and from where. "
                "Click an organisation for its "
                "models, series and derivatives.",
                className="lede",
            ),
            dcc.Link(
                "Compare organisations side by side →",
                href=f"/organisations/compare{to_search(filters_from_mapping(url_values))}",
                id="organisations-compare-link",
            ),
            html.Div(
                [chart_card("top-organisations", wide=True, view=filters_from_mapping(url_values))],
                className="chart-grid",
            ),
            html.Section(
                [html.H2("Leaderboard"), table_after_charts(LEADERBOARD_ID, {QUERY_PARAM: text})],
                className="panel",
            ),
        ]
    )


def leaderboard(request: dict[str, str]) -> list[Any]:
    """The leaderboard's search box and grid, made after the chart (`table_after_charts`); `fill_leaderboard`
    fills the grid once it is there."""
    return [
        html.P(id="organisations-growth-note", className="chart-subtitle"),
        dcc.Input(
            id="organisations-search",
            type="search",
            value=request.get(QUERY_PARAM, ""),
            placeholder="Search organisations, e.g. qwen, deep seek...",
            debounce=0.3,
            maxLength=MAX_QUERY_CHARS,
            className="search-input",
        ),
        dcc.Store(id="organisations-url"),
        html.P(id="organisations-count", className="hint"),
        data_grid(
            "organisations-grid",
            height="640px",
            columnDefs=COLUMNS,
            columnSize="responsiveSizeToFit",
        ),
    ]


def leaderboard_rows(frame: pd.DataFrame, search: str) -> list[dict]:
    """Grid rows: rank, a link to the organisation's page (keeping the view), its country with flag."""
    rows = frame.reset_index(drop=True).copy()
    if "rank" not in rows:
        rows.insert(0, "rank", range(1, len(rows) + 1))
    rows["organisation"] = [
        f"[{namespace if pd.isna(name) else name}](/organisations/{quote(namespace)}{search})"
        for name, namespace in zip(rows["organization"], rows["namespace"], strict=True)
    ]
    rows["country"] = rows["country"].map(lambda code: display_name(code, with_flag=True))
    return table_records(rows[[c["field"] for c in COLUMNS]])


def register_callbacks(app: Dash) -> None:
    register_table_after_charts(app, LEADERBOARD_ID, leaderboard)

    @app.callback(
        Output("organisations-grid", "rowData"),
        Output("organisations-growth-note", "children"),
        Output("organisations-count", "children"),
        Input("filters", "data"),
        Input("organisations-search", "value"),
    )
    def fill_leaderboard(filter_params: dict | None, text: str | None) -> tuple[list[dict], str, str]:
        filters = filters_from_mapping(filter_params or {})
        frame, count = search_organisations(filters, text or "")
        return leaderboard_rows(frame, to_search(filters)), growth_note(frame, filters), count

    app.clientside_callback(
        query_in_url_script(QUERY_PARAM),
        Output("organisations-url", "data"),
        Input("organisations-search", "value"),
        prevent_initial_call=True,
    )


@per_version(maxsize=8)
def every_organisation(warehouse: Any, filters: Filters) -> pd.DataFrame:
    """Every organisation ranked by downloads in the view (`rank`), kept per warehouse version and view:
    ranking them all takes seconds on 300k models, and each word typed searches the same ranking again."""
    ranked = warehouse.top_organisations(filters, n=EVERY_ORGANISATION)
    return ranked.assign(rank=range(1, len(ranked) + 1))


def search_organisations(filters: Filters, text: str) -> tuple[pd.DataFrame, str]:
    """The leaderboard rows for a search (`dashboards.search`: every word in the namespace or the
    organisation's name), ranked by downloads in the view among all organisations (`rank`), and the count
    line. Without words: the top LEADERBOARD_SIZE."""
    terms = search_terms(text)
    warehouse = app_state().warehouse
    if not terms:
        frame = warehouse.top_organisations(filters, n=LEADERBOARD_SIZE)
        return frame, f"The {len(frame):,} organisations with the most downloads in the selected dates."
    ranked = every_organisation(warehouse, filters)
    pairs = zip(ranked["namespace"], ranked["organization"], strict=True)
    found = ranked[pd.Series([matches(terms, *pair) for pair in pairs], index=ranked.index, dtype=bool)]
    listed = ""
    if len(found) > SEARCH_ROWS:
        listed = f"; the {SEARCH_ROWS:,} most downloaded are listed, refine the search"
    count = f"{len(found):,} organisations match {' + '.join(terms)}{listed}. {RULE_TEXT}"
    return found.head(SEARCH_ROWS), count


def growth_note(frame: pd.DataFrame, filters: Filters) -> str:
    """Why the Growth column is empty, when all of it is (else its header's tooltip says the rule)."""
    if frame.empty or frame["growth"].notna().any():
        return ""
    hint = (
        " Choose a start date (Dates) with snapshots before it to see growth."
        if filters.start is None
        else " Choose a later start date to see growth."
    )
    return f"{GROWTH_RULE}{hint}"
