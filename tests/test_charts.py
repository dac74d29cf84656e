"""The chart registry on a small synthetic store: every chart plots exactly its data, says what it shows
(definition, scope, source, synthetic warning) and keeps one colour per country."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboards import charts, figures
from dashboards.charts import UnknownChartError, list_charts, render_chart
from dashboards.colors import (
    CATEGORY_COLOURS,
    COUNTRY_PALETTE,
    FIXED_COLOURS,
    country_colours,
    country_name,
    display_group,
    flag_emoji,
)
from dashboards.figures import SOURCE_ANNOTATION
from dashboards.filters import INDIVIDUAL, UNATTRIBUTED, UNATTRIBUTED_ORG, Filters
from pipelines import definitions

TIME_COLUMNS = ("period", "date")


def plotted_rows(trace, data: pd.DataFrame) -> tuple[list, list, pd.DataFrame]:
    """The trace's points and the rows of `data` its meta says it plots: an incomplete period's dashed
    trace plots the rows with `complete` false, less the points joining it to its complete neighbours."""
    meta = trace.meta
    rows = data[data[meta["column"]] == meta["key"]]
    if "complete" in meta:
        rows = rows[rows["complete"] == meta["complete"]]
    bridge = set(meta.get("bridge", ()))
    xs = [x for i, x in enumerate(trace.x) if i not in bridge]
    ys = [y for i, y in enumerate(trace.y) if i not in bridge]
    return xs, ys, rows


def same_values(column: str, plotted: list, expected: pd.Series) -> bool:
    if column in TIME_COLUMNS:
        return list(pd.to_datetime(pd.Series(plotted))) == list(pd.to_datetime(expected))
    return list(plotted) == list(expected)


def assert_plots_exactly(result: charts.ChartResult, data: pd.DataFrame) -> None:
    """Every trace shows exactly its rows of `data`, and every row of `data` is on some trace."""
    covered = 0
    for trace in result.figure.data:
        xs, ys, rows = plotted_rows(trace, data)
        assert same_values(trace.meta["x"], xs, rows[trace.meta["x"]]), (result.chart_id, trace.name)
        assert same_values(trace.meta["y"], ys, rows[trace.meta["y"]]), (result.chart_id, trace.name)
        covered += len(rows)
    assert covered == len(data), f"{result.chart_id}: {len(data) - covered} rows of its data are not plotted"


@pytest.fixture(scope="module")
def default_results(chart_warehouse) -> dict[str, charts.ChartResult]:
    return {spec.chart_id: render_chart(spec.chart_id, chart_warehouse, Filters()) for spec in list_charts()}


def test_the_documented_chart_ids_exist_and_are_listed_with_descriptions():
    ids = [spec.chart_id for spec in list_charts()]
    for required in (
        "cumulative-by-country",
        "downloads-by-country",
        "share-by-country",
        "top-organisations",
        "derivatives-by-country",
        "size-by-country",
    ):
        assert required in ids
    assert len(ids) == len(set(ids))
    assert all(spec.description for spec in list_charts())


def test_every_chart_plots_exactly_its_data_in_long_form(default_results):
    for chart_id, result in default_results.items():
        assert not result.data.empty, f"{chart_id} has no data on the demo store"
        assert result.figure.data, chart_id
        assert_plots_exactly(result, result.data)
        spec = charts.get_chart(chart_id)
        if spec.by_country:
            assert "country" in result.data.columns, chart_id
        if "period" in result.data.columns or "date" in result.data.columns:
            time_column = "period" if "period" in result.data.columns else "date"
            assert result.data[time_column].notna().all(), chart_id


def test_series_are_the_selected_countries_then_the_two_groups(default_results):
    countries = set(default_results["downloads-by-country"].data["country"])
    assert {"CN", "US"} <= countries
    assert countries <= {"CN", "US", "Rest of world", "Unattributed"}
    names = [trace.name for trace in default_results["downloads-by-country"].figure.data]
    assert names[:2] == ["China", "United States"]


def test_shares_stack_to_one_in_every_period(default_results):
    share = default_results["share-by-country"].data
    totals = share.groupby("period")["share"].sum()
    assert totals.between(0.999, 1.001).all()


def test_a_chart_says_what_it_shows_and_where_it_comes_from(default_results):
    result = default_results["downloads-by-country"]
    assert definitions.measure("downloads_period").definition in result.subtitle
    assert definitions.measure("publisher_country").definition in result.subtitle
    assert "All models" in result.subtitle
    assert "Hugging Face Hub" in result.source
    assert "Coverage:" in result.source and "%" in result.source
    assert "publisher country" in result.source
    layout = result.figure.layout
    assert result.title in layout.title.text
    assert layout.title.subtitle.text.replace("<br>", " ") == result.subtitle
    source_notes = [note for note in layout.annotations if note.name == SOURCE_ANNOTATION]
    assert len(source_notes) == 1


def test_charts_on_a_synthetic_store_carry_the_warning_in_the_figure(default_results):
    for result in default_results.values():
        assert result.synthetic
        note = next(note for note in result.figure.layout.annotations if note.name == SOURCE_ANNOTATION)
        assert charts.SYNTHETIC_WARNING in note.text


def test_lineage_attribution_and_other_scope_change_the_words_and_the_numbers(
    chart_warehouse, default_results
):
    view = Filters(attribution="lineage", scope="first-party", period="week")
    result = render_chart("downloads-by-country", chart_warehouse, view)
    assert definitions.measure("lineage_country").definition in result.subtitle
    assert "First-party" in result.subtitle
    assert "lineage country" in result.title and "per week" in result.title
    assert "lineage country" in result.source
    assert_plots_exactly(result, result.data)
    assert not result.data.equals(default_results["downloads-by-country"].data)


def test_log_scale_applies_to_the_value_axis(chart_warehouse):
    result = render_chart("cumulative-by-country", chart_warehouse, Filters(log_scale=True))
    assert result.figure.layout.yaxis.type == "log"
    assert "Log scale." in result.subtitle
    share = render_chart("share-by-country", chart_warehouse, Filters(log_scale=True))
    assert share.figure.layout.yaxis.type != "log"  # a 100% stack has no log form
    assert "log" not in share.subtitle.lower()


def test_date_range_limits_the_plotted_points(chart_warehouse, default_results):
    all_dates = pd.to_datetime(default_results["cumulative-by-country"].data["date"])
    start = (all_dates.min() + (all_dates.max() - all_dates.min()) / 2).date()
    result = render_chart("cumulative-by-country", chart_warehouse, Filters(start=start))
    assert pd.to_datetime(result.data["date"]).min().date() >= start
    assert str(start) in result.subtitle
    assert_plots_exactly(result, result.data)


def test_an_unknown_chart_id_names_the_known_ones(chart_warehouse):
    with pytest.raises(UnknownChartError, match="share-by-country"):
        render_chart("china-vs-usa", chart_warehouse, Filters())


def test_country_colours_are_fixed_for_the_protagonists_and_stable_for_others():
    assert country_colours(["CN", "US"]) == {"CN": FIXED_COLOURS["CN"], "US": FIXED_COLOURS["US"]}
    alone = country_colours(["FR"])["FR"]
    with_others = country_colours(["CN", "US", "FR", "Rest of world"])["FR"]
    assert alone == with_others
    many = country_colours(["CN", "US", "FR", "DE", "GB", "JP", "KR", "Rest of world", "Unattributed"])
    assert len(set(many.values())) == len(many)


def test_the_same_country_has_the_same_colour_in_every_chart(default_results):
    colours: dict[str, set[str]] = {}
    for result in default_results.values():
        for trace in result.figure.data:
            if trace.meta["column"] != "country":
                continue
            colour = trace.marker.color if trace.type == "bar" else trace.line.color
            colours.setdefault(trace.meta["key"], set()).add(colour)
    assert colours["CN"] == {FIXED_COLOURS["CN"]}
    assert colours["US"] == {FIXED_COLOURS["US"]}


def test_country_names_and_flags():
    assert country_name("CN") == "China"
    assert country_name("Rest of world") == "Rest of world"
    assert flag_emoji("CN") == "\U0001f1e8\U0001f1f3"
    assert flag_emoji("Unattributed") == ""


def test_periods_the_snapshots_only_partly_cover_are_marked_in_data_figure_and_subtitle(chart_warehouse):
    # The chart store's snapshots run from 18 Jul 2025 to Tuesday 30 Sep 2025. Weeks start on Mondays: the
    # week of 14 Jul has 18-20 Jul (3 of 7 days), the week of 29 Sep has 29-30 Sep (2 of 7 days).
    weekly = render_chart("downloads-by-country", chart_warehouse, Filters(period="week"))
    first_label = "Week of 14 Jul 2025 from 18 Jul 2025, 3 of 7 days"
    # The last snapshot (30 September) holds the downloads up to 29 September (day-label rule): 1 day.
    last_label = "Week of 29 Sep 2025 to date, 1 of 7 days"
    assert first_label in weekly.subtitle and last_label in weekly.subtitle
    incomplete = weekly.data.loc[~weekly.data["complete"], "period"]
    assert sorted(set(pd.to_datetime(incomplete).dt.date)) == [dt.date(2025, 7, 14), dt.date(2025, 9, 29)]
    notes = [a.text for a in weekly.figure.layout.annotations if a.name == figures.INCOMPLETE_ANNOTATION]
    assert notes == [first_label, last_label]
    dashed = [t for t in weekly.figure.data if t.meta.get("complete") is False]
    assert dashed and all(t.line.dash == "dash" for t in dashed)
    assert_plots_exactly(weekly, weekly.data)
    # The whole of August: every period complete, nothing marked.
    august = render_chart(
        "downloads-by-country",
        chart_warehouse,
        Filters(start=dt.date(2025, 8, 1), end=dt.date(2025, 8, 31)),
    )
    assert "Incomplete" not in august.subtitle and august.data["complete"].all()
    # Derivatives count models by creation: with the view from 1 Aug, July is not shown and August and
    # September are whole (the store ends on 30 Sep); a view ending on 15 Sep cuts September to 15 days.
    august_to_mid_september = Filters(start=dt.date(2025, 8, 1), end=dt.date(2025, 9, 15))
    cut = render_chart("derivatives-by-relation", chart_warehouse, august_to_mid_september)
    assert "Sep 2025 to date, 15 of 30 days" in cut.subtitle
    shown = cut.data.groupby("period")["complete"].first()
    assert shown.to_dict() == {pd.Timestamp("2025-08-01"): True, pd.Timestamp("2025-09-01"): False}
    hatched = [t for t in cut.figure.data if t.marker.pattern.shape is not None]
    assert hatched and all("/" in t.marker.pattern.shape for t in hatched)


def test_a_view_without_data_says_so_instead_of_drawing_empty_axes(chart_warehouse):
    result = render_chart("downloads-by-country", chart_warehouse, Filters(task="no-such-task"))
    assert result.data.empty and not result.figure.data
    assert any("No data in this view" in (note.text or "") for note in result.figure.layout.annotations)
    outside = render_chart("downloads-by-country", chart_warehouse, Filters(start=dt.date(2030, 1, 1)))
    assert outside.data.empty and not outside.figure.data
    notes = [note.text or "" for note in outside.figure.layout.annotations]
    assert any("No snapshots in the selected dates" in note for note in notes)
    assert "no snapshots in the selected dates" in outside.source


def drawn(figure) -> tuple:
    """What a figure shows, without its words: every trace's kind, name and points, and the axis scales."""
    traces = tuple(
        (t.type, t.name, tuple(map(str, t.x)), tuple(map(str, t.y)), t.orientation) for t in figure.data
    )
    return traces, figure.layout.xaxis.type, figure.layout.yaxis.type


#: Each filter the subtitle must follow, flipped from the default view.
FLIPS: dict[str, Filters] = {
    "period": Filters(period="week"),
    "attribution": Filters(attribution="lineage"),
    "log scale": Filters(log_scale=True),
    "countries": Filters(countries=("CN",)),
    "dates": Filters(start=dt.date(2025, 9, 1)),
}


@pytest.mark.parametrize("chart_id", [spec.chart_id for spec in list_charts()])
def test_the_subtitle_changes_exactly_when_the_figure_does(chart_id, chart_warehouse, default_results):
    """A subtitle says what the chart uses: a filter that changes the figure changes the subtitle, and one
    the chart ignores (attribution on a chart with a fixed rule, log on a 100% stack, the period on totals
    over the dates) leaves both alone."""
    before = default_results[chart_id]
    for flip, view in FLIPS.items():
        after = render_chart(chart_id, chart_warehouse, view)
        figure_changed = drawn(after.figure) != drawn(before.figure)
        subtitle_changed = after.subtitle != before.subtitle
        assert figure_changed == subtitle_changed, (chart_id, flip, before.subtitle, after.subtitle)


def test_subtitles_describe_their_own_chart(default_results, chart_warehouse):
    lineage_of_base = "by the lineage country of their base"
    for chart_id in ("derivatives-by-relation", "top-base-models"):
        assert lineage_of_base not in default_results[chart_id].subtitle
    assert "Countries:" not in default_results["derivatives-by-relation"].subtitle
    for chart_id in ("top-organisations", "size-by-country", "task-by-country", "library-by-country"):
        subtitle = default_results[chart_id].subtitle
        assert "summed over the days of each" not in subtitle
        assert "Totals over the selected dates." in subtitle
    per_month = "Per month: downloads summed over the days of each month."
    assert per_month in default_results["downloads-by-country"].subtitle


def trace_colour(trace) -> str:
    if trace.type == "bar":
        return trace.marker.color
    return trace.fillcolor if trace.stackgroup else trace.line.color


@pytest.mark.parametrize("countries", [("CN", "US"), ("CN", "US", "FR", "DE", "GB", "JP", "KR")])
def test_no_colour_means_two_things_on_any_page(chart_warehouse, countries):
    """On each page's figures a colour is one country group, or one category that is not a country
    (relation, concentration measure), never both; China and the US keep their colours everywhere."""
    from tests.browser.support import PAGE_CHARTS

    view = Filters(countries=countries)
    for path, chart_ids in {**PAGE_CHARTS, "/report": tuple(charts.chart_ids())}.items():
        meanings: dict[str, set[tuple[str, str]]] = {}
        for chart_id in chart_ids:
            for trace in render_chart(chart_id, chart_warehouse, view).figure.data:
                kind = "country" if trace.meta["column"] in ("country", "group") else trace.meta["column"]
                meanings.setdefault(trace_colour(trace), set()).add((kind, trace.meta["key"]))
        shared = {colour: meaning for colour, meaning in meanings.items() if len(meaning) > 1}
        assert not shared, (path, shared)
    assert not COUNTRY_PALETTE & set(CATEGORY_COLOURS.values())
    assert country_colours(["CN", "US"]) == {"CN": "#D55E00", "US": "#0072B2"}  # vermillion, blue


def test_unattributed_groups_have_one_name_and_one_colour():
    grey = FIXED_COLOURS[UNATTRIBUTED]
    assert country_colours([INDIVIDUAL, UNATTRIBUTED_ORG, UNATTRIBUTED]) == {
        INDIVIDUAL: grey,
        UNATTRIBUTED_ORG: grey,
        UNATTRIBUTED: grey,
    }
    assert display_group(INDIVIDUAL, ("CN", "US")) == display_group(UNATTRIBUTED_ORG, ("CN",)) == UNATTRIBUTED
