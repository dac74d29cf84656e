"""One organisation: who it is (from the registry), its monthly downloads, its models, and the derivatives
others built on its models."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

import dash_ag_grid as dag
import pandas as pd
from dash import Dash, dcc, html

from dashboards import figures
from dashboards.charts import ChartResult, mark_periods, source_info
from dashboards.colors import DIRECTION_COLOURS, country_colours, country_name, country_order, display_name
from dashboards.components import (
    FILL_COLUMNS,
    chart_card,
    column_defs,
    data_grid,
    detail_chart,
    fact,
    framed_result,
    register_table_after_charts,
    table_after_charts,
    table_records,
)
from dashboards.crossborder import organisation_flows
from dashboards.filters import INDIVIDUAL, UNATTRIBUTED, UNATTRIBUTED_ORG, Filters
from dashboards.numbers import count
from dashboards.query import per_version
from dashboards.state import app_state, to_search
from pipelines.registry import load_registry

PAGE = {
    "path_template": "/organisations/<namespace>",
    "name": "Organisation",
    "title": "Organisation · Open Weights Tracker",
    "order": 101,
    "nav": False,
    "only_controls": ("log_scale",),
    "controls_note": "This page shows all of the organisation's models in every snapshot: only the scale "
    "applies here. The other filters are hidden and kept in the links for the other pages.",
}
ALL_SNAPSHOTS = "Scope: all of the organisation's models, every snapshot; the view's filters do not apply."


def organisation_name(namespace: str) -> tuple[str, str]:
    """(display name, country code) from the registry; unregistered namespaces keep their name."""
    org = load_registry().lookup(namespace)
    return (org.organization, org.country) if org else (namespace, "")


@per_version(maxsize=64)
def organisation_tables(warehouse, namespace: str) -> dict[str, pd.DataFrame]:
    """`Warehouse.organisation`, asked once per warehouse version: the page and its two charts (three
    requests at once) all need it, and on a large store it is the slowest query the page makes."""
    return warehouse.organisation(namespace)


@detail_chart("organisation-series", "namespace")
def organisation_series(warehouse, filters: Filters, namespace: str) -> ChartResult:
    name, country = organisation_name(namespace)
    data = organisation_tables(warehouse, namespace)["series"].assign(organisation=name)
    data = data[["period", "organisation", "downloads"]]
    figure = figures.line_by_group(
        data,
        x="period",
        y="downloads",
        group="organisation",
        order=[name],
        colours={name: country_colours([country or UNATTRIBUTED])[country or UNATTRIBUTED]},
        names={name: name},
        y_title="Downloads per month",
        log_scale=filters.log_scale,
    )
    source = source_info(warehouse, Filters())
    counted = (source.first, source.last) if source.first and source.last else None
    data, note = mark_periods(data, figure, "month", counted)
    return framed_result(
        "organisation-series",
        figure,
        data,
        f"Downloads per month: {name}",
        ("downloads_period",),
        " ".join(filter(None, [ALL_SNAPSHOTS, note])),
    )


@detail_chart("organisation-derivatives", "namespace")
def organisation_derivatives(warehouse, filters: Filters, namespace: str) -> ChartResult:
    name, _ = organisation_name(namespace)
    raw = organisation_tables(warehouse, namespace)["derivatives"]
    # Individuals and unregistered organisations are one group, named and coloured as on every other chart.
    grouped = raw.assign(
        country=[
            UNATTRIBUTED if not isinstance(code, str) or code in (INDIVIDUAL, UNATTRIBUTED_ORG) else code
            for code in raw["publisher_country"]
        ]
    )
    data = grouped.groupby(["relation", "country"], as_index=False, sort=True)["models"].sum()
    order = country_order(sorted(set(data["country"])))
    figure = figures.bars_by_group(
        data[["relation", "country", "models"]],
        category="relation",
        value="models",
        group="country",
        order=order,
        colours=country_colours(order),
        names={code: country_name(code) for code in order},
        value_title="Derivative models",
        stacked=True,
        log_scale=filters.log_scale,
    )
    return framed_result(
        "organisation-derivatives",
        figure,
        data[["relation", "country", "models"]],
        f"Models built on {name}'s models, by relation and publisher country",
        ("lineage_country", "publisher_country"),
        ALL_SNAPSHOTS,
    )


#: The two directions of the organisation's flows, in the order drawn, with their legend names.
FLOW_DIRECTIONS = {
    "built on": "Built on: its derivatives' bases, by lineage country",
    "built upon by": "Built upon by: others' derivatives of its models, by publisher country",
}


@detail_chart("organisation-built-on", "namespace")
def organisation_built_on(warehouse, filters: Filters, namespace: str) -> ChartResult:
    """Which countries' bases the organisation's models derive from, and who derives from its models."""
    name, _ = organisation_name(namespace)
    namespaces = tuple(organisation_tables(warehouse, namespace)["namespaces"]["namespace"]) or (namespace,)
    data = organisation_flows(warehouse, namespaces)[["direction", "country", "derivatives"]]
    ranking = data.groupby("country", sort=False)["derivatives"].sum().sort_values(ascending=False)
    countries = list(ranking.index)
    figure = figures.bars_by_group(
        data,
        category="country",
        value="derivatives",
        group="direction",
        order=list(FLOW_DIRECTIONS),
        colours=dict(zip(FLOW_DIRECTIONS, DIRECTION_COLOURS, strict=True)),
        names=FLOW_DIRECTIONS,
        value_title="Derivative models",
        category_order=countries,
        log_scale=filters.log_scale,
    )
    figure.update_xaxes(tickvals=countries, ticktext=[country_name(code) for code in countries])
    return framed_result(
        "organisation-built-on",
        figure,
        data,
        f"{name}: built on, and built upon by, by country",
        ("lineage_country", "publisher_country", "cross_border"),
        "Derivatives of other organisations' models only (its own fine-tunes of its own bases are left "
        "out); individuals and unregistered publishers as their own groups. " + ALL_SNAPSHOTS,
    )


def _models_grid(request: dict[str, str]) -> dag.AgGrid:
    """The organisation's models, each id a link to its page (keeping the view)."""
    rows = organisation_tables(app_state().warehouse, request["namespace"])["models"].copy()
    search = request["search"]
    rows["model_id"] = [f"[{model_id}](/models/{quote(model_id)}{search})" for model_id in rows["model_id"]]
    columns = column_defs(rows)
    columns[0].update({"cellRenderer": "markdown", "minWidth": 280})
    return data_grid(
        "organisation-models",
        height="560px",
        column_defaults=FILL_COLUMNS,
        rowData=table_records(rows),
        columnDefs=columns,
    )


def register_callbacks(app: Dash) -> None:
    register_table_after_charts(app, "organisation-models", _models_grid)


def layout(namespace: str | None = None, **url_values: str) -> html.Div:
    namespace = namespace or ""
    org = load_registry().lookup(namespace)
    tables = organisation_tables(app_state().warehouse, namespace)
    models = tables["models"]
    back = dcc.Link("← All organisations", href="/organisations")
    if org is None and models.empty:
        return html.Div(
            [back, html.H1(namespace), html.P(f"No organisation {namespace!r} in this store.")],
            id="organisation-page",
        )
    view = Filters.from_params(url_values)[0]
    search = to_search(view)
    facts = [
        fact("Country", display_name(org.country, with_flag=True) if org else "not in the registry"),
        fact("Kind", org.kind if org else "–"),
        fact("Namespaces", ", ".join(tables["namespaces"]["namespace"]) or namespace),
        fact("Models", count(len(models))),
        fact("All-time downloads", count(models["downloads_all_time"].fillna(0).sum())),
    ]
    params = {"namespace": namespace}
    return html.Div(
        [
            back,
            html.H1(org.organization if org else namespace),
            html.P([html.Code(namespace), f" · {org.notes}" if org and org.notes else ""], className="lede"),
            html.Div(facts, className="entity-facts"),
            html.P(f"Registry source: {org.source}", className="hint") if org else None,
            dcc.Link(
                "Compare with other organisations →",
                href=f"/organisations/compare{to_search(replace(view, orgs=(namespace,)))}",
                id="organisation-compare-link",
            ),
            html.Div(
                [
                    chart_card("organisation-series", params, view=view),
                    chart_card("organisation-derivatives", params),
                    chart_card("organisation-built-on", params, wide=True),
                ],
                className="chart-grid",
            ),
            html.Section(
                [
                    html.H2("Models"),
                    table_after_charts("organisation-models", {"namespace": namespace, "search": search}),
                ],
                className="panel",
            ),
        ],
        id="organisation-page",
    )
