"""Methodology & data: every definition, the organisation registry, the snapshots behind the numbers, the
caveats, and the data of the current view to download."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from dash import Dash, Input, Output, dcc, html

from dashboards import channels, tokens
from dashboards.colors import display_name
from dashboards.components import column_defs, data_grid, register_quick_filter, table_records
from dashboards.filters import Filters
from dashboards.state import app_state, filters_from_mapping, to_search
from pipelines import definitions
from pipelines.events import SHIPPED_EVENTS, SHIPPED_VERIFICATION, EventsError, events_file, load_events
from pipelines.published import PUBLISHED_FIGURES
from pipelines.registry import load_registry

PAGE = {
    "path": "/methodology",
    "name": "Methodology & data",
    "title": "Methodology & data · Open Weights Tracker",
    "order": 6,
}

#: What users ask about the numbers (from the project's landscape review).
CAVEATS: tuple[str, ...] = (
    "The Hub counts a download on every GET or HEAD of a repository's query file (config.json by default) "
    "and on every .gguf file, so repositories holding many quantisations count once per file, CI cache "
    "checks inflate counts, and the Hub's counting rules have changed retroactively.",
    "The Hub has no history API: a time series exists only from dated snapshots (ours, or imported "
    "metadata dumps). All-time counters are not guaranteed to grow; decreases are kept in the raw data, "
    "flagged and clamped to zero in period downloads.",
    "createdAt is 2022-03-02T23:29:04Z for every repository created before the Hub stored creation dates, "
    "so release-date based measures (derivatives per period, RAM) cannot place those older models.",
    "Country attribution of some organisations is contested (AI21 Labs: US vs Israel; Hugging Face: US vs "
    "France/multinational; Stability AI: UK; Google DeepMind: US/UK). The registry below records each "
    "choice, its source and notes.",
    "Namespaces missing from the registry are not guessed: they count as unregistered organisations or "
    "individuals, shown as Unattributed; the coverage figure says how much of the downloads that leaves out.",
    "A registered organisation whose headquarters are not confirmed has the country 'unknown' and counts as "
    "Unattributed too, never as International: only organisations with no single country (a distributed "
    "collaboration) are International, and coverage counts neither as a known country.",
)


def layout(**_url_values: str) -> html.Div:
    registry = load_registry().to_frame()
    registry["country"] = registry["country"].map(lambda code: display_name(code, with_flag=True))
    return html.Div(
        [
            html.H1("Methodology & data"),
            html.P(
                "Every chart names the measure it shows; this page defines each one, lists the organisations "
                "and snapshots the numbers come from, and offers the data behind the current view.",
                className="lede",
            ),
            html.Section(
                [html.H2("Data of the current view"), html.Div(id="view-downloads")],
                className="panel",
                id="data-downloads",
            ),
            html.Section([html.H2("Definitions"), *_definitions()], className="panel", id="definitions"),
            html.Section(
                [
                    html.H2("Channels: where downloads are counted"),
                    *(
                        html.P([html.Strong(f"{heading}. "), text], id=f"channel-{number}")
                        for number, (heading, text) in enumerate(channels.methodology(app_state().store))
                    ),
                ],
                className="panel",
                id="channels",
            ),
            html.Section(
                [html.H2("Reproducing published figures"), *_published_figures()],
                className="panel",
                id="published-figures",
            ),
            html.Section(
                [html.H2("Caveats"), html.Ul([html.Li(text) for text in CAVEATS])],
                className="panel",
                id="caveats",
            ),
            html.Section(
                [
                    html.H2("Channel: OpenRouter (inference tokens)"),
                    html.P(tokens.coverage_text(app_state().store)),
                ],
                className="panel",
                id="channel-openrouter",
            ),
            html.Section(
                [
                    html.H2("Organisation registry"),
                    html.P(id="coverage-summary"),
                    dcc.Input(
                        id="registry-search",
                        type="search",
                        placeholder="Search organisations, countries, sources...",
                        debounce=False,
                        className="search-input",
                    ),
                    data_grid(
                        "registry-grid",
                        height="560px",
                        page_size=15,
                        column_defaults={"wrapText": False},
                        rowData=table_records(registry),
                        columnDefs=column_defs(registry),
                        columnSize="responsiveSizeToFit",
                    ),
                ],
                className="panel",
                id="registry",
            ),
            _events_section(),
            html.Section(
                [
                    html.H2("Snapshots"),
                    html.P(id="snapshot-freshness"),
                    data_grid(
                        "snapshot-grid",
                        height="520px",
                        page_size=15,
                        column_defaults={"flex": 1},
                        columnSize="responsiveSizeToFit",
                    ),
                ],
                className="panel",
                id="snapshots",
            ),
        ]
    )


def _events_section() -> html.Section:
    """The dated events time charts can mark (`events` view parameter), each with its source."""
    path = events_file()
    intro = (
        "Time charts can mark what happened when: open-weight releases and policy events (Events on time "
        "charts in the filter bar, `events=release,policy` in a link, `--events` in exports). From "
        f"{path.name}; a date is the announcement's when the notes say so. Check the file with "
    )
    try:
        events = load_events(path)
    except (OSError, EventsError) as error:
        return html.Section(
            [html.H2("Events"), html.P([intro, html.Code("python -m pipelines events check"), "."]),
             html.P(f"The events file cannot be used: {error}", className="banner banner--stale")],
            className="panel", id="events",
        )  # fmt: skip
    rows = [
        html.Tr([html.Td(e.date.isoformat()), html.Td(e.kind), html.Td(e.title), html.Td(e.organisation),
                 html.Td(html.A("source", href=e.source_url, target="_blank", rel="noopener")),
                 html.Td(e.notes)])
        for e in events
    ]  # fmt: skip
    header = html.Tr([html.Th(name) for name in ("date", "kind", "event", "organisation", "source", "notes")])
    shipped = path == SHIPPED_EVENTS  # another file (OWT_EVENTS) was not verified here
    verified = [html.P(SHIPPED_VERIFICATION, className="hint", id="events-verification")] * shipped
    return html.Section(
        [
            html.H2("Events"),
            html.P([intro, html.Code("python -m pipelines events check"), "."]),
            *verified,
            html.Div(  # scrolls on its own on a narrow screen, not the page
                html.Table([html.Thead(header), html.Tbody(rows)], className="events-table"),
                className="events-table-wrap",
            ),
        ],
        className="panel",
        id="events",
    )


def _definitions() -> list[html.Details]:
    return [
        html.Details(
            [
                html.Summary([html.Strong(m.label), f" — {m.definition}"]),
                *(html.P(paragraph) for paragraph in m.explanation.split("\n\n")),
                html.P(f"Source: {m.source}", className="hint"),
            ],
            className="definition",
            id=f"definition-{m.id}",
        )
        for m in definitions.MEASURES.values()
    ]


def _published_figures() -> list:
    """For each published figure: the options of this tool that come closest, the command that makes it,
    and why the numbers can differ (texts in `pipelines.published`)."""
    intro = html.P(
        "The published analyses define their figures differently from each other and from this tool. For "
        "each one: the options that come closest (scope, attribution, dates, how individuals are grouped), "
        "the command that exports it from the store shown here, and why the numbers can still differ."
    )
    return [
        intro,
        *(
            html.Details(
                [
                    html.Summary([html.Strong(figure.figure), f" — {figure.value}"]),
                    html.P(f"Source: {figure.source}.", className="hint"),
                    html.P([html.Strong("Closest options: "), figure.options]),
                    html.Pre(html.Code(figure.command), className="command"),
                    html.P([html.Strong("Why the numbers can differ: "), figure.differences]),
                ],
                className="published-figure",
                open=True,
            )
            for figure in PUBLISHED_FIGURES
        ),
    ]


def register_callbacks(app: Dash) -> None:
    register_quick_filter(app, "registry-search", "registry-grid")

    @app.callback(
        Output("view-downloads", "children"),
        Output("coverage-summary", "children"),
        Output("snapshot-freshness", "children"),
        Output("snapshot-grid", "rowData"),
        Output("snapshot-grid", "columnDefs"),
        Input("filters", "data"),
    )
    def show_view_data(filter_params: dict | None) -> tuple:
        filters = filters_from_mapping(filter_params or {})
        warehouse = app_state().warehouse
        coverage = (
            f"{warehouse.coverage(filters):.1%} of 30-day downloads in the view's latest snapshot come from "
            f"models whose {filters.attribution} country is known (registered, single-country organisations)."
        )
        return _view_downloads(filters), coverage, *_snapshot_list(warehouse.snapshots())


def _view_downloads(filters: Filters) -> list:
    search = to_search(filters)
    return [
        html.P(
            "Every chart's plotted data for the view set above (dates, period, countries, attribution, "
            "scope, task, size). CSV: a zip with one tidy CSV per chart (integer counts, country codes "
            "beside their names), metadata.json (definitions, source, filters, snapshot dates, synthetic "
            "flag, version, licence) and a README; each chart's own package is on its card. Parquet: the "
            "same tables in one, with a `chart` column."
        ),
        html.A(
            "Download CSV", href=f"/download/data.csv{search}", download="", className="button", id="data-csv"
        ),
        html.A(
            "Download Parquet",
            href=f"/download/data.parquet{search}",
            download="",
            className="button",
            id="data-parquet",
        ),
    ]


def _snapshot_list(snapshots: pd.DataFrame) -> tuple[str, list[dict], list[dict]]:
    """A sentence on coverage and freshness, and one grid row per snapshot (newest first)."""
    if snapshots.empty:
        return "No snapshots yet.", [], []
    dates = pd.to_datetime(snapshots["date"]).dt.date
    latest = dates.max()
    age = (dt.date.today() - latest).days
    table = pd.DataFrame(
        {
            "date": dates,
            "rows": snapshots["rows"],
            "source": snapshots["source_kind"],
            "synthetic": snapshots["synthetic"].map({True: "yes", False: "no"}),
            "provenance": snapshots["provenance"],
        }
    ).sort_values("date", ascending=False)
    kinds = ", ".join(f"{kind}: {count}" for kind, count in snapshots["source_kind"].value_counts().items())
    sentence = (
        f"{len(snapshots):,} snapshots from {dates.min()} to {latest} ({kinds}). "
        f"The newest is {age} day{'s' if age != 1 else ''} old."
    )
    return sentence, table_records(table), column_defs(table)
