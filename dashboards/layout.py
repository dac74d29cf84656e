"""The frame around every page: navigation, banners about the data, the view controls and their URL sync.

The controls live outside the page container, so a view chosen on one page carries over to the next; the
URL (`?from=...&countries=...`) is the single source of truth and one callback keeps URL and controls in
step (two callbacks would form a cycle, see docs in dash-stack §5).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import dash
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from dashboards.colors import COUNTRY_NAMES, display_name
from dashboards.filters import (
    ATTRIBUTIONS,
    CHANNEL_CHOICES,
    EVENT_KINDS,
    FLOW_CELLS,
    FLOW_MEASURES,
    INDIVIDUAL_GROUPINGS,
    PERIODS,
    SCOPES,
    SIZE_CLASSES,
    Filters,
)
from dashboards.state import (
    CONTROL_IDS,
    DATE_RANGE_ID,
    STALE_AFTER_DAYS,
    app_state,
    control_values,
    filters_from_controls,
    parse_search,
    to_search,
    with_store_dates,
)
from pipelines.definitions import DATE_PRESETS, ROLLING_WINDOWS
from pipelines.integrity import describe as describe_quarantine

FILTERS_STORE_ID = "filters"
URL_ID = "url"
NOTES_ID = "url-notes"

SCOPE_LABELS: dict[str, str] = {
    "all": "All models",
    "first-party": "First-party only",
    "atom": "ATOM tracked LLMs",
}
ATTRIBUTION_LABELS: dict[str, str] = {"publisher": "Publisher", "lineage": "Lineage"}
PERIOD_LABELS: dict[str, str] = {"day": "Day", "week": "Week", "month": "Month"}
CHANNEL_LABELS: dict[str, str] = {"hf": "Hugging Face", "modelscope": "ModelScope", "all": "Both"}
EVENT_LABELS: dict[str, str] = {"release": "Releases", "policy": "Policy"}
#: How the grouping of individuals reads on its control (definitions: `individuals_grouping`).
INDIVIDUALS_LABELS: dict[str, str] = {
    "unattributed": "Unattributed",
    "international-online": "International/Online",
}

#: (Filters field, control property) in the order the sync callback lists them.
_CONTROL_PROPS: tuple[tuple[str, str, str], ...] = (
    ("start_date", DATE_RANGE_ID, "start_date"),
    ("end_date", DATE_RANGE_ID, "end_date"),
    *((field, control_id, "value") for field, control_id in CONTROL_IDS.items()),
)


def shell() -> html.Div:
    """The app layout (a function, so banners reflect the store at each page load)."""
    state = app_state()
    return html.Div(
        [
            dcc.Location(id=URL_ID, refresh=False),
            dcc.Store(id=FILTERS_STORE_ID),
            _header(),
            *_banners(),
            _controls(),
            html.P(id=CONTROLS_NOTE_ID, className="controls-note"),
            html.Div(id=NOTES_ID, role="status"),
            html.Main(dash.page_container, className="page"),
            html.Footer(
                [
                    "Open Weights Tracker · data: Hugging Face Hub snapshots in ",
                    html.Code(str(state.store.root)),
                    " · ",
                    dcc.Link("Methodology & data", href="/methodology"),
                ],
                className="site-footer",
            ),
        ],
        className="app",
    )


def _header() -> html.Header:
    pages = sorted(dash.page_registry.values(), key=lambda page: page["order"] or 0)
    links = [
        dcc.Link(
            page["name"],
            href=page["path"],
            id={"type": "nav-link", "path": page["path"]},
            className="nav-link",
        )
        for page in pages
        if page.get("nav", True)
    ]
    return html.Header(
        [
            html.Div(
                [
                    html.Span("Open Weights Tracker", className="brand-name"),
                    html.Span("open-model downloads by origin country", className="brand-tagline"),
                ],
                className="brand",
            ),
            html.Nav(links, className="nav"),
        ],
        className="site-header",
    )


def _banners() -> list[html.Div]:
    """Warnings every page carries: synthetic data (and how to get real data), stale data."""
    state = app_state()
    banners = []
    if state.synthetic():
        stand_in = (
            f"The store {state.configured_store.root} is empty, so this is the generated demo store. "
            if state.demo
            else ""
        )
        banners.append(
            html.Div(
                [
                    html.Strong("Synthetic data. "),
                    stand_in,
                    "Every number on these pages is made up to show how the dashboard works. "
                    "Pull real data with ",
                    html.Code("python -m pipelines snapshot"),
                    " (today's Hub counters) and ",
                    html.Code("python -m pipelines backfill"),
                    " (history from Hub metadata dumps), then restart the dashboard.",
                ],
                className="banner banner--synthetic",
                id="banner-synthetic",
            )
        )
    banners.extend(_integrity_banners(state))
    stale = state.stale_days()
    if stale is not None:
        banners.append(
            html.Div(
                [
                    html.Strong("Stale data. "),
                    f"The newest snapshot is {stale} days old (more than {STALE_AFTER_DAYS}). "
                    "Take a new one with ",
                    html.Code("python -m pipelines snapshot"),
                    " or check the scheduler.",
                ],
                className="banner banner--stale",
                id="banner-stale",
            )
        )
    return banners


#: The view's fields in the order the filter bar shows them (dates first); each has a wrapper and a reason.
CONTROL_FIELDS: tuple[str, ...] = ("dates", *CONTROL_IDS)
#: Controls of one page's views only (the cross-border views): hidden unless the page lists them in
#: `page_controls`, kept in the links like every other.
PAGE_ONLY_CONTROLS: tuple[str, ...] = ("pair", "flow_measure", "flow_cells")
FLOW_MEASURE_LABELS: dict[str, str] = {"count": "New derivatives", "downloads": "Their downloads"}
FLOW_CELL_LABELS: dict[str, str] = {"count": "Counts", "share": "Row shares"}
CONTROLS_NOTE_ID = "controls-note"


def _wrap_id(field: str) -> str:
    return f"control-wrap-{field}"


def _reason_id(field: str) -> str:
    return f"control-reason-{field}"



def _integrity_banners(state: Any) -> list[html.Div]:
    """Snapshots left out because they failed their checksum; an older version served because the refresh
    failed (the charts are right for what they cover, but not complete)."""
    banners = []
    version = state.warehouse.version
    quarantined = version.manifest.get("quarantined") or {}
    if quarantined:
        banners.append(
            html.Div(
                [html.Strong("Missing dates. "), describe_quarantine(quarantined) + "."],
                className="banner banner--stale",
                id="banner-quarantined",
            )
        )
    failure = state.warehouse.refresh_error()
    if failure:
        banners.append(
            html.Div(
                [
                    html.Strong("Older data. "),
                    f"Refreshing the warehouse failed ({failure}), so this serves the version built at "
                    f"{version.manifest.get('built_at', '?')} ({version.path.name}). Run ",
                    html.Code("python -m pipelines warehouse"),
                    " to see the error and refresh.",
                ],
                className="banner banner--stale",
                id="banner-refresh-failed",
            )
        )
    return banners


def _labelled(label: str, field: str, control: Any, class_name: str = "") -> html.Div:
    return html.Div(
        [
            html.Label(label, className="control-label"),
            control,
            html.Span(id=_reason_id(field), className="control-reason"),
        ],
        className=f"control {class_name}",
        id=_wrap_id(field),
    )


def _page_for(pathname: str | None) -> dict[str, Any] | None:
    """The registered page serving `pathname` (a path, or a template such as /organisations/<namespace>)."""
    current = (pathname or "/").rstrip("/") or "/"
    for page in dash.page_registry.values():
        template = page.get("path_template")
        if template:
            pattern = "^" + re.sub(r"<[^>]+>", "[^/]+(?:/[^/]+)*", template.rstrip("/")) + "$"
            if re.match(pattern, current):
                return page
        elif page["path"] == current:
            return page
    return None


def control_states(page: Mapping[str, Any] | None) -> tuple[dict[str, tuple[str, str]], str]:
    """Per field, (class name, reason) on a page, and the page's note: a control the page does not use is
    disabled with its reason (`unused_controls` of the page), or hidden on pages that use only a few
    (`only_controls`, explained by `controls_note`)."""
    unused: Mapping[str, str] = (page or {}).get("unused_controls", {})
    only = (page or {}).get("only_controls")
    own = (page or {}).get("page_controls", ())
    states = {}
    for field in CONTROL_FIELDS:
        if (only is not None and field not in only) or (field in PAGE_ONLY_CONTROLS and field not in own):
            states[field] = ("control control--hidden", "")
        elif field == "channel" and not (page or {}).get("uses_channel"):
            states[field] = ("control control--hidden", "")  # only pages with channel charts show it
        elif field in unused:
            states[field] = ("control control--disabled", unused[field])
        else:
            states[field] = ("control", "")
    return states, (page or {}).get("controls_note", "")


def _controls() -> html.Div:
    state = app_state()
    dates = state.store.dates()
    defaults = control_values(Filters())
    country_options = [
        {"label": display_name(code), "value": code}
        for code in sorted(COUNTRY_NAMES, key=lambda code: (code not in ("CN", "US"), COUNTRY_NAMES[code]))
    ]
    return html.Div(
        [
            _labelled(
                "Dates",
                "dates",
                dcc.DatePickerRange(
                    id=DATE_RANGE_ID,
                    min_date_allowed=dates[0].isoformat() if dates else None,
                    max_date_allowed=dates[-1].isoformat() if dates else None,
                    display_format="YYYY-MM-DD",
                    clearable=True,
                    start_date_placeholder_text="first snapshot",
                    end_date_placeholder_text="latest",
                ),
                "control--dates",
            ),
            _labelled(
                "Date preset",
                "preset",
                dcc.Dropdown(
                    id=CONTROL_IDS["preset"],
                    options=[{"label": label, "value": key} for key, label in DATE_PRESETS.items()],
                    value=defaults["preset"],
                    placeholder="Custom dates",
                    clearable=False,
                    searchable=False,
                ),
                "control--preset",
            ),
            _labelled(
                "Daily: rolling average",
                "rolling",
                dcc.RadioItems(
                    id=CONTROL_IDS["rolling"],
                    options=[{"label": "Off", "value": 0}]
                    + [{"label": f"{days} days", "value": days} for days in ROLLING_WINDOWS],
                    value=defaults["rolling"],
                    inline=True,
                ),
            ),
            _labelled(
                "Period",
                "period",
                dcc.RadioItems(
                    id=CONTROL_IDS["period"],
                    options=[{"label": PERIOD_LABELS[p], "value": p} for p in PERIODS],
                    value=defaults["period"],
                    inline=True,
                ),
            ),
            _labelled(
                "Countries (others: rest of world)",
                "countries",
                dcc.Dropdown(
                    id=CONTROL_IDS["countries"],
                    options=country_options,
                    value=defaults["countries"],
                    multi=True,
                    clearable=False,
                ),
                "control--countries",
            ),
            _labelled(
                "Country of",
                "attribution",
                dcc.RadioItems(
                    id=CONTROL_IDS["attribution"],
                    options=[{"label": ATTRIBUTION_LABELS[a], "value": a} for a in ATTRIBUTIONS],
                    value=defaults["attribution"],
                    inline=True,
                ),
            ),
            _labelled(
                "Scope",
                "scope",
                dcc.Dropdown(
                    id=CONTROL_IDS["scope"],
                    options=[{"label": SCOPE_LABELS[s], "value": s} for s in SCOPES],
                    value=defaults["scope"],
                    clearable=False,
                ),
            ),
            _labelled(
                "Task",
                "task",
                dcc.Dropdown(
                    id=CONTROL_IDS["task"],
                    options=[{"label": "All tasks", "value": ""}]
                    + [{"label": task, "value": task} for task in state.tasks],
                    value=defaults["task"],
                    clearable=False,
                ),
            ),
            _labelled(
                "Size",
                "size_class",
                dcc.Dropdown(
                    id=CONTROL_IDS["size_class"],
                    options=[{"label": "All sizes", "value": ""}]
                    + [{"label": size, "value": size} for size in SIZE_CLASSES],
                    value=defaults["size_class"],
                    clearable=False,
                ),
            ),
            _labelled(
                "Channel",
                "channel",
                dcc.RadioItems(
                    id=CONTROL_IDS["channel"],
                    options=[{"label": CHANNEL_LABELS[c], "value": c} for c in CHANNEL_CHOICES],
                    value=defaults["channel"],
                    inline=True,
                ),
            ),
            _labelled(
                "Individuals as",
                "individuals",
                dcc.RadioItems(
                    id=CONTROL_IDS["individuals"],
                    options=[
                        {"label": INDIVIDUALS_LABELS[grouping], "value": grouping}
                        for grouping in INDIVIDUAL_GROUPINGS
                    ],
                    value=defaults["individuals"],
                    inline=True,
                ),
            ),
            _labelled(
                "Scale",
                "log_scale",
                dcc.Checklist(
                    id=CONTROL_IDS["log_scale"],
                    options=[{"label": "Log", "value": "log"}],
                    value=defaults["log_scale"],
                    inline=True,
                ),
            ),
            _labelled(
                "Events on time charts",
                "events",
                dcc.Checklist(
                    id=CONTROL_IDS["events"],
                    options=[{"label": EVENT_LABELS[kind], "value": kind} for kind in EVENT_KINDS],
                    value=defaults["events"],
                    inline=True,
                ),
            ),
            _labelled(
                "Cross-border pair",
                "pair",
                dcc.Dropdown(
                    id=CONTROL_IDS["pair"],
                    options=country_options,
                    value=defaults["pair"],
                    multi=True,
                    clearable=False,
                ),
                "control--countries",
            ),
            _labelled(
                "Derivatives measure",
                "flow_measure",
                dcc.RadioItems(
                    id=CONTROL_IDS["flow_measure"],
                    options=[{"label": FLOW_MEASURE_LABELS[m], "value": m} for m in FLOW_MEASURES],
                    value=defaults["flow_measure"],
                    inline=True,
                ),
            ),
            _labelled(
                "Matrix cells",
                "flow_cells",
                dcc.RadioItems(
                    id=CONTROL_IDS["flow_cells"],
                    options=[{"label": FLOW_CELL_LABELS[c], "value": c} for c in FLOW_CELLS],
                    value=defaults["flow_cells"],
                    inline=True,
                ),
            ),
        ],
        className="controls",
        id="controls",
    )


def _notes_view(notes: list[str]) -> html.Div | None:
    if not notes:
        return None
    return html.Div(
        [
            html.Strong("Some link parameters were not understood and use defaults: "),
            html.Ul([html.Li(note) for note in notes]),
        ],
        className="banner banner--note",
    )


def register_callbacks(app: Dash) -> None:
    """URL <-> controls (one callback, branching on what changed) and query-preserving navigation links."""

    @app.callback(
        Output(URL_ID, "search"),
        Output(FILTERS_STORE_ID, "data"),
        Output(NOTES_ID, "children"),
        *(Output(control_id, prop) for _, control_id, prop in _CONTROL_PROPS),
        Input(URL_ID, "search"),
        *(Input(control_id, prop) for _, control_id, prop in _CONTROL_PROPS),
    )
    def sync_url_and_controls(search: str | None, *values: Any) -> tuple[Any, ...]:
        if ctx.triggered_id in (None, URL_ID):
            filters, notes = parse_search(search, app_state().tasks)
            shown = control_values(filters)
            return (
                no_update,
                filters.to_params(),
                _notes_view(notes),
                *(shown[field] for field, _, _ in _CONTROL_PROPS),
            )
        chosen = {field: value for (field, _, _), value in zip(_CONTROL_PROPS, values, strict=True)}
        # A preset sets the dates; picking dates leaves the preset: each then shows the other's effect.
        if ctx.triggered_id == CONTROL_IDS["preset"]:
            chosen.update(start_date=None, end_date=None)
            redrawn = ("start_date", "end_date")
        elif ctx.triggered_id == DATE_RANGE_ID:
            chosen["preset"], redrawn = None, ("preset",)
        else:
            redrawn = ()
        filters, notes = filters_from_controls(chosen, kept=parse_search(search)[0])
        filters = with_store_dates(filters)
        new_search = to_search(filters)
        shown = control_values(filters)
        return (
            new_search if new_search != (search or "") else no_update,
            filters.to_params(),
            _notes_view(notes),
            *(shown[field] if field in redrawn else no_update for field, _, _ in _CONTROL_PROPS),
        )

    @app.callback(
        *(Output(_wrap_id(field), "className") for field in CONTROL_FIELDS),
        *(Output(_wrap_id(field), "title") for field in CONTROL_FIELDS),
        *(Output(_reason_id(field), "children") for field in CONTROL_FIELDS),
        Output(CONTROLS_NOTE_ID, "children"),
        Input(URL_ID, "pathname"),
    )
    def show_the_controls_the_page_uses(pathname: str | None) -> tuple:
        states, note = control_states(_page_for(pathname))
        classes = [states[field][0] for field in CONTROL_FIELDS]
        reasons = [states[field][1] for field in CONTROL_FIELDS]
        return (*classes, *reasons, *reasons, note)

    @app.callback(
        Output({"type": "nav-link", "path": ALL}, "href"),
        Output({"type": "nav-link", "path": ALL}, "className"),
        Input(URL_ID, "search"),
        Input(URL_ID, "pathname"),
        State({"type": "nav-link", "path": ALL}, "id"),
    )
    def keep_view_in_navigation(search: str | None, pathname: str | None, link_ids: list[dict]) -> tuple:
        current = pathname or "/"
        hrefs = [f"{link['path']}{search or ''}" for link in link_ids]
        classes = [
            "nav-link nav-link--active" if _is_section(current, link["path"]) else "nav-link"
            for link in link_ids
        ]
        return hrefs, classes


def _is_section(pathname: str, section: str) -> bool:
    if section == "/":
        return pathname == "/"
    return pathname == section or pathname.startswith(section.rstrip("/") + "/")
