"""Organisations compared: downloads, cumulative downloads, share of all downloads, models released and
derivatives of up to 8 organisations side by side, and the leading organisation against the next N.

The organisations and N are the view's `orgs` and `next` URL parameters (also `--orgs` and `--next` of
`python -m dashboards export`), edited with this page's own inputs; an organisation id is a Hub namespace,
as in `/organisations/<namespace>`.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlencode

from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboards.comparison import DEFAULT_COMPARED, check_orgs, compared
from dashboards.components import chart_card
from dashboards.filters import LEADER_NEXT_MAX, MAX_COMPARED, PARAM_NAMES, Filters, parse_params
from dashboards.layout import URL_ID
from dashboards.state import app_state, to_search

PATH = "/organisations/compare"
PAGE = {
    "path": PATH,
    "name": "Compare organisations",
    "title": "Compare organisations · Open Weights Tracker",
    "order": 100,
    "nav": False,
    "unused_controls": {
        "countries": "Not used here: organisations are compared with each other, not grouped by country.",
        "attribution": "Not used here: an organisation's models are its own, whatever their base.",
        "individuals": "Not used here: no chart on this page groups countries.",
    },
}
CHARTS = (
    "organisations-compare-downloads",
    "organisations-compare-cumulative",
    "organisations-compare-share",
    "organisations-compare-releases",
    "organisations-compare-derivatives",
)
LEADER_CHART = "leader-vs-next"
_ORGS, _NEXT = PARAM_NAMES["orgs"], PARAM_NAMES["leader_next"]


def problems_of(search_params: dict[str, str]) -> tuple[Filters, list[str]]:
    """The view of the URL's parameters, and what is wrong with its organisations or N, in words: ids the
    store does not have (listed), more than MAX_COMPARED, a malformed id or N."""
    filters, problems = parse_params(search_params)
    messages = [
        f"{problem.param}={problem.value!r}: {problem.message}." for problem in problems
        if problem.param in (_ORGS, _NEXT)
    ]  # fmt: skip
    messages += [f"{problem.message}." for problem in check_orgs(app_state().warehouse, filters)]
    return filters, messages


def _problems_view(messages: list[str]) -> list:
    if not messages:
        return []
    return [
        html.Strong("Some organisations cannot be compared: "),
        html.Ul([html.Li(message) for message in messages]),
    ]


def _shown(filters: Filters) -> list:
    """The organisations compared, each linked to its page, and why these when the view names none."""
    organisations = compared(app_state().warehouse, filters)
    links = []
    for row in organisations.itertuples(index=False):
        if links:
            links.append(", ")
        href = f"/organisations/{quote(row.asked)}{to_search(filters)}"
        links.append(dcc.Link(row.organisation, href=href))
    why = (
        []
        if filters.orgs
        else [f" (none named: the {DEFAULT_COMPARED} with the most downloads in the selected dates)"]
    )
    return ["Compared: ", *links, *why] if links else ["No organisation to compare in this view."]


def layout(**url_values: str) -> html.Div:
    filters, messages = problems_of(url_values)
    return html.Div(
        [
            html.H1("Compare organisations"),
            html.P(
                f"Up to {MAX_COMPARED} organisations side by side: their downloads, all-time downloads, "
                "share of all downloads, models released and the derivatives others build on their models; "
                "and, per period, the leading organisation against the next N combined.",
                className="lede",
            ),
            html.Div(
                [
                    html.Label("Organisations (Hub namespaces, comma-separated)", htmlFor="compare-orgs"),
                    dcc.Input(
                        id="compare-orgs",
                        type="text",
                        value=",".join(filters.orgs) or url_values.get(_ORGS, ""),
                        placeholder="Qwen,meta-llama,deepseek-ai",
                        debounce=True,
                        className="search-input",
                    ),
                    html.Label("Next N (leader vs next)", htmlFor="compare-next"),
                    dcc.Input(
                        id="compare-next",
                        type="number",
                        min=1,
                        max=LEADER_NEXT_MAX,
                        step=1,
                        value=filters.leader_next,
                        debounce=True,
                    ),
                    html.Button("Compare", id="compare-apply", n_clicks=0),
                ],
                className="panel compare-form",
            ),
            html.Div(
                _problems_view(messages),
                id="compare-problems",
                role="alert",
                className="banner banner--note" if messages else "",
            ),
            html.P(_shown(filters), id="compare-shown"),
            html.Div(
                [
                    chart_card(CHARTS[0], wide=True, view=filters),
                    *(chart_card(chart_id) for chart_id in CHARTS[1:]),
                    chart_card(LEADER_CHART, wide=True),
                ],
                className="chart-grid",
            ),
        ]
    )


def register_callbacks(app: Dash) -> None:
    @app.callback(
        Output(URL_ID, "search", allow_duplicate=True),
        Input("compare-apply", "n_clicks"),
        Input("compare-orgs", "n_submit"),
        State("compare-orgs", "value"),
        State("compare-next", "value"),
        State(URL_ID, "search"),
        prevent_initial_call=True,
    )
    def compare_these(
        _clicks: int, _submitted: int, orgs: str | None, next_n: int | None, search: str | None
    ) -> str:
        """The URL with the organisations and N typed in (the other parameters as they were)."""
        params = {name: values[-1] for name, values in parse_qs((search or "").lstrip("?")).items()}
        params.pop(_ORGS, None)
        params.pop(_NEXT, None)
        names = ",".join(part.strip() for part in (orgs or "").split(",") if part.strip())
        if names:
            params[_ORGS] = names
        if next_n is not None and str(next_n) != str(Filters().leader_next):
            params[_NEXT] = str(next_n)
        new = f"?{urlencode(params, safe=',')}" if params else ""
        return new if new != (search or "") else no_update

    @app.callback(
        Output("compare-problems", "children"),
        Output("compare-problems", "className"),
        Output("compare-shown", "children"),
        Input(URL_ID, "search"),
        State(URL_ID, "pathname"),
        prevent_initial_call=True,
    )
    def say_what_is_compared(search: str | None, pathname: str | None):
        if (pathname or "").rstrip("/") != PATH:
            return no_update, no_update, no_update
        params = {name: values[-1] for name, values in parse_qs((search or "").lstrip("?")).items()}
        filters, messages = problems_of(params)
        return _problems_view(messages), "banner banner--note" if messages else "", _shown(filters)
