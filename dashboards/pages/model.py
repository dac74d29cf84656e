"""One model: who publishes it, its countries, its lineage chain, its download history, its Relative Adoption
Metric against its size class (a lookup in the warehouse's per-age reference table) and how many models
derive from it."""

from __future__ import annotations

import dash_ag_grid as dag
import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output, dcc, html

from dashboards import figures
from dashboards.charts import ChartResult
from dashboards.colors import country_colours, display_name
from dashboards.components import (
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
from dashboards.filters import UNATTRIBUTED, Filters
from dashboards.numbers import count
from dashboards.query import per_version
from dashboards.state import app_state, filters_from_mapping

PAGE = {
    "path_template": "/models/<namespace>/<name>",
    "name": "Model",
    "title": "Model · Open Weights Tracker",
    "order": 102,
    "nav": False,
    "only_controls": ("log_scale",),
    "controls_note": "This page shows one model in every snapshot: only the scale applies here. The other "
    "filters are hidden and kept in the links for the other pages.",
}
#: Enough to list every lineage root in any store when counting one model's derivatives.
MAX_BASE_MODELS = 1_000_000
ALL_SNAPSHOTS = "Scope: this model, every snapshot; the view's filters do not apply."
RAM_SCOPE = (
    "Scope: this model against every model of its size class in the store, at the same age in days; the "
    "view's filters do not apply."
)


def find_model(model_id: str) -> pd.Series | None:
    """The model's row by exact id (`Warehouse.model_row`), or None; looked up once per warehouse version, as
    the page and both its charts need it."""
    return _find_model(app_state().warehouse, model_id)


@per_version(maxsize=256)
def _find_model(warehouse, model_id: str) -> pd.Series | None:
    return warehouse.model_row(model_id)


def _derivative_counts() -> pd.DataFrame:
    """Derivatives per lineage root over the whole store (every model page counts its own in it), once per
    warehouse version."""
    return _derivatives_per_root(app_state().warehouse)


@per_version(maxsize=4)
def _derivatives_per_root(warehouse) -> pd.DataFrame:
    return warehouse.top_base_models(Filters(), n=MAX_BASE_MODELS)


@per_version(maxsize=256)
def _model_history(warehouse, model_id: str) -> pd.DataFrame:
    """`Warehouse.model_history`, once per warehouse version: the page's chart and its table both need it."""
    return warehouse.model_history(model_id)


@detail_chart("model-series", "model")
def model_series(warehouse, filters: Filters, model: str) -> ChartResult:
    history = _model_history(warehouse, model)
    data = history[["date", "downloads_all_time"]].assign(model=model)[
        ["date", "model", "downloads_all_time"]
    ]
    figure = _model_line(data, "date", "downloads_all_time", model, "All-time downloads", filters.log_scale)
    return framed_result(
        "model-series", figure, data, f"All-time downloads: {model}", ("downloads_all_time",), ALL_SNAPSHOTS
    )


@detail_chart("model-ram", "model")
def model_ram(warehouse, filters: Filters, model: str) -> ChartResult:
    """RAM v2 at every age the model has a count and its size class has ten: 1 is the 10th-best trajectory."""
    curve = warehouse.ram(model)
    size = curve["size_class"].iloc[0] if len(curve) else None
    data = curve.dropna(subset=["ram"]).assign(model=model)[
        ["age_days", "date", "model", "downloads_all_time", "reference", "ram"]
    ]
    # A ratio, on a log scale: 10x above and 10x below the 10th-best line are equally far from it.
    figure = _model_line(data, "age_days", "ram", model, "RAM v2 (log scale)", log_scale=True)
    figure.update_traces(hovertemplate="Day %{x}<br>RAM v2: %{y:.2f}<extra></extra>")
    figure.update_xaxes(title_text="Days since release")
    if size is not None:
        figure.add_hline(y=1, line_dash="dot", line_color="#666666")
        # On a log axis an annotation's y is log10 of the value: 0 puts the label on the line at RAM 1
        # (add_hline's own label would take y=1 as 10 and float far above the line).
        figure.add_annotation(
            text=f"1 = reference: best 10th-best {size} count at this age or younger (see Methodology)",
            x=1,
            xref="paper",
            y=0,
            yref="y",
            xanchor="right",
            yanchor="bottom",
            showarrow=False,
            font={"size": 11, "color": "#333333"},
        )
    title = f"Relative Adoption Metric v2: {model} ({size or 'no size class: not comparable'})"
    return framed_result("model-ram", figure, data, title, ("ram_v2",), RAM_SCOPE)


def _model_line(data: pd.DataFrame, x: str, y: str, model: str, y_title: str, log_scale: bool) -> go.Figure:
    """One line for the model, in its publisher country's colour."""
    return figures.line_by_group(
        data,
        x=x,
        y=y,
        group="model",
        order=[model],
        colours={model: _colour(model)},
        names={model: model},
        y_title=y_title,
        log_scale=log_scale,
    )


def _colour(model_id: str) -> str:
    """The colour of the model's publisher country."""
    row = find_model(model_id)
    country = row["publisher_country"] if row is not None else UNATTRIBUTED
    return country_colours([country])[country]


def _derivatives_fact(model_id: str) -> html.Div:
    """Models whose lineage root is this model (all dates); models built on a derivative count too."""
    roots = _derivative_counts()
    mine = roots[roots["base_model"] == model_id]
    return fact("Derivatives (as lineage root)", count(mine["derivatives"].sum()))


def _lineage_panel(model_id: str, lineage_country: str | None) -> html.Section:
    """Where the lineage goes; `show_lineage` fills it after the page is drawn, as the chain is the page's
    slowest query (0.2 s on 300k models) and the charts need not wait for it."""
    return html.Section(
        [
            html.H2("Lineage"),
            dcc.Store(id="model-lineage-of", data={"model": model_id, "country": lineage_country}),
            html.Div(id="model-lineage-chain"),
        ],
        className="panel",
    )


def _lineage(model_id: str, lineage_country: str | None) -> list[html.Ol | html.P]:
    """The chain model -> base -> ... -> root, each step with its organisation and publisher country; the
    arrow between two steps names how the first derives from the second."""
    chain = app_state().warehouse.lineage_chain(model_id)
    steps: list[html.Li] = []
    for index, step in enumerate(chain.itertuples(index=False)):
        if index:
            previous = chain.iloc[index - 1]
            gap = int(step.depth - previous["depth"]) - 1
            via = f" via {gap} model{'s' * (gap > 1)} outside the store" if gap > 0 else ""
            steps.append(html.Li(f"{previous['relation'] or 'derived'} of{via} →", className="arrow"))
        name = dcc.Link(step.model_id, href=f"/models/{step.model_id}") if step.in_store else step.model_id
        owner = step.organization or step.namespace or "no namespace"
        country = display_name(step.country, with_flag=True) if step.country else "country unknown"
        steps.append(html.Li([name, html.Small(f" ({owner}, {country})")], className="lineage-step"))
    root = (
        "this model is its own root"
        if len(chain) < 2
        else f"the publisher country of {chain.iloc[-1]['model_id']}"
    )
    return [
        html.Ol(steps, id="model-lineage", className="lineage", style={"listStyle": "none", "padding": 0}),
        html.P(f"Lineage country: {display_name(lineage_country or '', with_flag=True)} ({root})."),
    ]


def layout(namespace: str | None = None, name: str | None = None, **url_values: str) -> html.Div:
    model_id = f"{namespace}/{name}"
    back = dcc.Link("← Search models", href="/models")
    row = find_model(model_id)
    if row is None:
        return html.Div(
            [back, html.H1(model_id), html.P(f"No model {model_id!r} in this store.")], id="model-page"
        )
    params = {"model": row["model_id"]}
    facts = [
        fact("Publisher", dcc.Link(row["namespace"], href=f"/organisations/{row['namespace']}")),
        fact("Publisher country", display_name(row["publisher_country"] or "", with_flag=True)),
        fact("Lineage country", display_name(row["lineage_country"] or "", with_flag=True)),
        fact("30-day downloads", count(row["downloads_30d"])),
        fact("All-time downloads", count(row["downloads_all_time"])),
        _derivatives_fact(row["model_id"]),
    ]
    return html.Div(
        [
            back,
            html.H1(row["model_id"]),
            html.Div(facts, className="entity-facts"),
            _lineage_panel(row["model_id"], row["lineage_country"]),
            html.Div(
                [
                    chart_card("model-series", params, wide=True, view=filters_from_mapping(url_values)),
                    chart_card("model-ram", params, wide=True),
                ],
                className="chart-grid",
            ),
            html.Section(
                [
                    html.H2("Snapshot history"),
                    table_after_charts("model-history", params),
                ],
                className="panel",
            ),
        ],
        id="model-page",
    )


def _history_grid(request: dict[str, str]) -> dag.AgGrid:
    """The model's row in every snapshot."""
    history = _model_history(app_state().warehouse, request["model"])
    return data_grid(
        "model-history",
        height="560px",
        column_defaults={"flex": 1},
        rowData=table_records(history),
        columnDefs=column_defs(history),
    )


def register_callbacks(app: Dash) -> None:
    register_table_after_charts(app, "model-history", _history_grid)

    @app.callback(Output("model-lineage-chain", "children"), Input("model-lineage-of", "data"))
    def show_lineage(model: dict) -> list[html.Ol | html.P]:
        return _lineage(model["model"], model["country"])
