"""Report builder: pick charts, download them as one PDF or one self-contained HTML file of the view."""

from __future__ import annotations

from dash import Dash, Input, Output, dcc, html

from dashboards.charts import list_charts
from dashboards.components import report_url
from dashboards.state import filters_from_mapping

PAGE = {"path": "/report", "name": "Report", "title": "Report builder · Open Weights Tracker", "order": 7}
DEFAULT_CHARTS = ("cumulative-by-country", "downloads-by-country", "share-by-country", "top-organisations")


def layout(**_url_values: str) -> html.Div:
    charts = list_charts()
    return html.Div(
        [
            html.H1("Report builder"),
            html.P(
                "Choose charts; the report uses the view set above "
                "(dates, period, countries, attribution, scope) "
                "and holds a title page, the definitions, then each chart with its source.",
                className="lede",
            ),
            dcc.Checklist(
                id="report-charts",
                options=[
                    {
                        "label": " "
                        + chart.title.format(
                            country_rule="country",
                            period="period",
                            next="N",
                            flow="New derivatives or their downloads",
                        ),
                        "value": chart.chart_id,
                    }
                    for chart in charts
                ],
                value=[chart_id for chart_id in DEFAULT_CHARTS if chart_id in {c.chart_id for c in charts}],
                className="report-charts",
            ),
            html.Div(
                [
                    html.A("Download PDF report", id="report-pdf", download="", className="button"),
                    html.A("Download HTML report", id="report-html", download="", className="button"),
                ],
                className="report-actions",
            ),
            html.P(id="report-hint", className="hint"),
        ]
    )


def register_callbacks(app: Dash) -> None:
    @app.callback(
        Output("report-pdf", "href"),
        Output("report-html", "href"),
        Output("report-hint", "children"),
        Input("report-charts", "value"),
        Input("filters", "data"),
    )
    def report_links(chosen: list[str], filter_params: dict | None) -> tuple:
        if not chosen:
            return None, None, "Choose at least one chart."
        filters = filters_from_mapping(filter_params or {})
        return (
            report_url(chosen, "pdf", filters),
            report_url(chosen, "html", filters),
            f"{len(chosen)} chart(s) selected.",
        )
