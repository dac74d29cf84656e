"""Plotly figures from long-form query results: a few chart shapes, and the frame that makes a figure
self-describing (title, subtitle with the definition and scope, source line) so that a PNG pasted into an
article still says what it shows and where it comes from.

Builders take exactly the DataFrame that is exported as CSV and draw one trace per series from it, nothing
else, so the figure and its CSV cannot disagree.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from pipelines.events import Event

#: Liberation Sans is metric-compatible with Arial; WenQuanYi Micro Hei carries the CJK glyphs.
FONT_FAMILY = "Liberation Sans, Arial, WenQuanYi Micro Hei, Noto Sans CJK SC, sans-serif"
#: Export size in CSS pixels (16:9), also the size the text wrapping below is tuned for.
EXPORT_WIDTH = 1200
EXPORT_HEIGHT = 675
_SUBTITLE_CHARS_PER_LINE = 150
_SOURCE_CHARS_PER_LINE = 170
_TEXT_CHARS_PER_LINE = 150
_NOTE_CHARS_PER_LINE = 70  # a note across a chart's plot area
_TEXT_LINES_PER_PAGE = 30
_LINE_HEIGHT_PX = 17
_LEFT_MARGIN_PX = 70
_MAX_LABEL_MARGIN_PX = 460
_LABEL_CHAR_PX = 6.5
_TEXT_COLOUR = "#333333"
#: `name` of the source-line annotation, for screens that show the source as text instead.
SOURCE_ANNOTATION = "chart-source"
_MUTED_COLOUR = "#666666"
_WARNING_COLOUR = "#B00020"
#: The heat map's scale, white to blue (colour-blind safe: one hue, lightness carries the value).
HEAT_COLOURS = ("#F7FBFF", "#4A98C9")

#: Every figure of the dashboard is drawn on plotly_white. As plotly's default it is given to each figure at
#: creation, already validated; setting it on a figure afterwards re-validates it (~30 ms a figure).
pio.templates.default = "plotly_white"


def _series_meta(column: str, key: object, x: str, y: str) -> dict[str, object]:
    """What a trace plots, kept on the trace (`trace.meta`): the rows of `data` where `column == key`;
    `x` and `y` name the data columns behind the trace's x and y. Maps every trace back to its CSV rows."""
    return {"column": column, "key": key, "x": x, "y": y}


def _value_scale(log_scale: bool) -> dict[str, str]:
    """Axis type; on a log axis label only 1, 2 and 5 of each decade (all nine digits crowd the axis)."""
    return {"type": "log", "dtick": "D2"} if log_scale else {"type": "linear"}


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, break_long_words=False) or [""]


def line_by_group(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    group: str,
    order: Sequence[str],
    colours: Mapping[str, str],
    names: Mapping[str, str],
    y_title: str,
    log_scale: bool = False,
) -> go.Figure:
    """One line per group (country), in the given order, with the group's fixed colour."""
    fig = go.Figure()
    for key in order:
        rows = data[data[group] == key]
        if rows.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=rows[x],
                y=rows[y],
                name=names.get(key, key),
                meta=_series_meta(group, key, x, y),
                mode="lines+markers" if len(rows) <= 24 else "lines",
                line={"color": colours.get(key), "width": 2.5},
                hovertemplate=f"%{{x}}<br>{names.get(key, key)}: %{{y:,.0f}}<extra></extra>",
            )
        )
    fig.update_yaxes(title_text=y_title, **_value_scale(log_scale))
    return fig


def stacked_share(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    group: str,
    order: Sequence[str],
    colours: Mapping[str, str],
    names: Mapping[str, str],
) -> go.Figure:
    """100% stacked areas of shares in [0, 1] (stacked as given, so the stack visibly sums to 100%)."""
    fig = go.Figure()
    for key in order:
        rows = data[data[group] == key]
        if rows.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=rows[x],
                y=rows[y],
                name=names.get(key, key),
                meta=_series_meta(group, key, x, y),
                mode="lines",
                stackgroup="share",
                line={"color": colours.get(key), "width": 0.5},
                fillcolor=colours.get(key),
                hovertemplate=f"%{{x}}<br>{names.get(key, key)}: %{{y:.1%}}<extra></extra>",
            )
        )
    fig.update_yaxes(title_text="Share of downloads", tickformat=".0%", range=[0, 1])
    return fig


def bars_by_group(
    data: pd.DataFrame,
    *,
    category: str,
    value: str,
    group: str,
    order: Sequence[str],
    colours: Mapping[str, str],
    names: Mapping[str, str],
    value_title: str,
    category_order: Sequence[str] | None = None,
    stacked: bool = False,
    horizontal: bool = False,
    log_scale: bool = False,
) -> go.Figure:
    """Bars per category (a period, a size class, a task), one colour per group, side by side or stacked.

    Horizontal bars suit long category names (tasks, libraries): they read without rotation, first on top.
    """
    fig = go.Figure()
    # Horizontal groups draw the first trace at the bottom: add traces in reverse, reverse the legend.
    for key in reversed(order) if horizontal else order:
        rows = data[data[group] == key]
        if rows.empty:
            continue
        name = names.get(key, key)
        if horizontal:
            axes = {"x": rows[value], "y": rows[category], "orientation": "h"}
            meta = _series_meta(group, key, value, category)
            hover = f"%{{y}}<br>{name}: %{{x:,.0f}}<extra></extra>"
        else:
            axes = {"x": rows[category], "y": rows[value]}
            meta = _series_meta(group, key, category, value)
            hover = f"%{{x}}<br>{name}: %{{y:,.0f}}<extra></extra>"
        fig.add_trace(
            go.Bar(**axes, name=name, meta=meta, marker_color=colours.get(key), hovertemplate=hover)
        )
    fig.update_layout(
        barmode="stack" if stacked else "group", legend_traceorder="reversed" if horizontal else "normal"
    )
    value_axis = {"title_text": value_title, **_value_scale(log_scale)}
    category_axis: dict[str, object] = {"automargin": True}
    if category_order is not None:
        ordered = list(category_order)
        category_axis.update(categoryorder="array", categoryarray=ordered[::-1] if horizontal else ordered)
    if horizontal:
        fig.update_layout(margin={"l": _label_margin(data[category])})
        fig.update_xaxes(**value_axis)
        fig.update_yaxes(**category_axis)
    else:
        fig.update_yaxes(**value_axis)
        fig.update_xaxes(**category_axis)
    return fig


def heat_squares(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    colour: str,
    text: Sequence[str],
    series: tuple[str, object],
    x_order: Sequence[str],
    y_order: Sequence[str],
    names: Mapping[str, str],
    x_title: str,
    y_title: str,
    colour_title: str,
) -> go.Figure:
    """A heat map drawn as one square marker per row of `data` (plotly.js's basic bundle, which the pages
    load, has no heatmap trace): at (`x`, `y`), coloured by `colour` on one blue scale, `text` written on it.
    Axes list `x_order` left to right and `y_order` top down, labelled with `names`; `series` is the
    (column, value) all rows share, the trace's meta."""
    side = max(len(x_order), len(y_order), 1)
    fig = go.Figure(
        go.Scatter(
            x=list(data[x]),
            y=list(data[y]),
            mode="markers+text",
            text=list(text),
            textfont={"color": _TEXT_COLOUR},
            line={"color": HEAT_COLOURS[-1]},
            marker={
                "symbol": "square",
                "size": max(18, min(72, 330 // side)),
                "color": list(data[colour]),
                "colorscale": [[0, HEAT_COLOURS[0]], [1, HEAT_COLOURS[-1]]],
                "cmin": 0,
                "showscale": True,
                "colorbar": {"title": {"text": colour_title}},
                "line": {"width": 1, "color": "#FFFFFF"},
            },
            hovertemplate=f"{y_title}: %{{y}}<br>{x_title}: %{{x}}<br>%{{text}}<extra></extra>",
            meta=_series_meta(series[0], series[1], x, y),
            showlegend=False,
        )
    )
    fig.update_xaxes(
        title_text=x_title,
        categoryorder="array",
        categoryarray=list(x_order),
        tickvals=list(x_order),
        ticktext=[names.get(v, v) for v in x_order],
        showgrid=False,
        side="top",
    )
    fig.update_yaxes(
        title_text=y_title,
        categoryorder="array",
        categoryarray=list(y_order)[::-1],
        tickvals=list(y_order),
        ticktext=[names.get(v, v) for v in y_order],
        showgrid=False,
        automargin=True,
    )
    return fig


def _label_margin(labels: Iterable[object]) -> int:
    """Left margin (px) that fits the longest category label, so the frame can align the source under it."""
    longest = max((len(str(label)) for label in labels), default=0)
    return int(min(_MAX_LABEL_MARGIN_PX, max(_LEFT_MARGIN_PX, 20 + _LABEL_CHAR_PX * longest)))


def ranked_bars(
    data: pd.DataFrame,
    *,
    label: str,
    value: str,
    group: str,
    order: Sequence[str],
    colours: Mapping[str, str],
    names: Mapping[str, str],
    x_title: str,
    log_scale: bool = False,
) -> go.Figure:
    """Horizontal bars, largest on top, coloured by group; one trace per group so the legend names them.

    The rows keep their order in `data` (the query's ranking); the y axis is told that order explicitly.
    """
    fig = go.Figure()
    for key in order:
        rows = data[data[group] == key]
        if rows.empty:
            continue
        fig.add_trace(
            go.Bar(
                x=rows[value],
                y=rows[label],
                orientation="h",
                name=names.get(key, key),
                meta=_series_meta(group, key, value, label),
                marker_color=colours.get(key),
                hovertemplate=f"%{{y}} ({names.get(key, key)}): %{{x:,.0f}}<extra></extra>",
            )
        )
    # One bar per category, so stacking never stacks; plotly would reverse a stacked legend, keep it in order.
    fig.update_layout(barmode="stack", legend_traceorder="normal", margin={"l": _label_margin(data[label])})
    fig.update_yaxes(categoryorder="array", categoryarray=list(data[label])[::-1], automargin=True)
    fig.update_xaxes(title_text=x_title, **_value_scale(log_scale))
    return fig


#: `name` of the annotations labelling an incomplete period, and of the crossover's line and label.
INCOMPLETE_ANNOTATION = "incomplete-period"
CROSSOVER_ANNOTATION = "crossover"


def _split_line(trace: go.Scatter, incomplete: np.ndarray) -> list[go.Scatter]:
    """A line as a solid trace over its complete points and a dashed one over the incomplete points, joined
    to their complete neighbours. The dashed trace's meta lists those joining points (`bridge`: positions in
    its x) and both say which rows they plot (`complete`), so every row stays on exactly one trace."""
    xs, ys = list(trace.x), list(trace.y)
    solid = go.Scatter(
        trace,
        x=[x for x, i in zip(xs, incomplete, strict=True) if not i],
        y=[y for y, i in zip(ys, incomplete, strict=True) if not i],
        meta={**trace.meta, "complete": True},
    )
    dashed_x: list = []
    dashed_y: list = []
    bridge: list[int] = []
    for position, is_incomplete in enumerate(incomplete):
        if not is_incomplete:
            continue
        if dashed_x:
            dashed_x.append(None)  # a gap between the first and the last period
            dashed_y.append(None)
            bridge.append(len(dashed_x) - 1)
        for neighbour in (position - 1, position, position + 1):
            if 0 <= neighbour < len(xs) and (neighbour == position or not incomplete[neighbour]):
                if neighbour != position:
                    bridge.append(len(dashed_x))
                dashed_x.append(xs[neighbour])
                dashed_y.append(ys[neighbour])
    dashed = go.Scatter(
        trace,
        x=dashed_x,
        y=dashed_y,
        meta={**trace.meta, "complete": False, "bridge": bridge},
        mode="lines+markers",
        line={"color": trace.line.color, "width": trace.line.width, "dash": "dash"},
        marker={"symbol": "circle-open", "size": 9, "color": trace.line.color},
        showlegend=False,
        legendgroup=trace.name,
        name=f"{trace.name} (incomplete)",
        hovertemplate=(trace.hovertemplate or "").replace("<extra>", " (incomplete period)<extra>") or None,
    )
    solid.legendgroup = trace.name
    return [solid, dashed]


def mark_incomplete(fig: go.Figure, x: str, labels: Mapping[object, str]) -> go.Figure:
    """Draw the periods in `labels` (period start -> label) as incomplete, in place: lines dashed with open
    markers, bars hatched, stacked areas veiled, each period labelled at the top of the plot."""
    if not labels:
        return fig
    marked = {pd.Timestamp(start) for start in labels}
    traces, dashed = [], []  # the dashed parts after every series, so traces list the series first
    stacked: set[pd.Timestamp] = set()
    for trace in fig.data:
        meta = trace.meta or {}
        if meta.get("x") != x:
            traces.append(trace)
            continue
        incomplete = pd.to_datetime(pd.Series(list(trace.x))).isin(marked).to_numpy()
        if not incomplete.any():
            traces.append(trace)
        elif trace.type == "bar":
            colour = trace.marker.color
            trace.marker.pattern = {"shape": ["/" if i else "" for i in incomplete], "fillmode": "replace",
                                    "fgcolor": colour, "solidity": 0.35}  # fmt: skip
            trace.marker.line = {"color": colour, "width": 1.5}
            traces.append(trace)
        elif trace.stackgroup:
            stacked.update(pd.to_datetime(pd.Series(list(trace.x))))
            traces.append(trace)
        else:
            solid, rest = _split_line(trace, incomplete)
            traces.append(solid)
            dashed.append(rest)
    fig.data = ()
    fig.add_traces([*traces, *dashed])
    _veil_stacked(fig, sorted(stacked), marked)
    for start, label in labels.items():
        at_end = _is_last(fig, x, pd.Timestamp(start))  # the label reads leftwards from the last period
        fig.add_annotation(
            name=INCOMPLETE_ANNOTATION,
            text=label,
            x=pd.Timestamp(start),
            xref="x",
            y=1,
            yref="paper",
            yanchor="top",
            xanchor="right" if at_end else "left",
            showarrow=False,
            font={"size": 11, "color": _TEXT_COLOUR},
            bgcolor="rgba(255,255,255,0.8)",
        )
    return fig


def _veil_stacked(fig: go.Figure, xs: list[pd.Timestamp], marked: set[pd.Timestamp]) -> None:
    """Stacked areas cannot be dashed: a white veil and a dotted edge fade the stretch between an incomplete
    period and its complete neighbour."""
    for position, x in enumerate(xs):
        if x not in marked:
            continue
        neighbour = xs[position - 1] if position > 0 else (xs[1] if len(xs) > 1 else x)
        fig.add_vrect(
            x0=min(x, neighbour),
            x1=max(x, neighbour),
            fillcolor="white",
            opacity=0.55,
            layer="above",
            line={"color": _TEXT_COLOUR, "width": 1, "dash": "dot"},
            name=INCOMPLETE_ANNOTATION,
        )


def _is_last(fig: go.Figure, x: str, when: pd.Timestamp) -> bool:
    """Whether `when` is the latest x of the traces plotting `x` (a period at the end of the chart)."""
    latest = max(
        (pd.Timestamp(v) for t in fig.data if (t.meta or {}).get("x") == x for v in t.x if v is not None),
        default=when,
    )
    return when >= latest


def _add_vertical_line(fig: go.Figure, name: str, at: pd.Timestamp, line: dict[str, object],
                       **style: object) -> None:
    """A line at date `at` across the plot's whole height, named so exports and tests find the marks of
    one kind (crossover, event); `style` adds shape properties such as opacity."""
    fig.add_shape(name=name, type="line", x0=at, x1=at, xref="x", y0=0, y1=1, yref="paper", line=line,
                  **style)


def mark_crossover(fig: go.Figure, when: object, text: str) -> go.Figure:
    """A dotted vertical line at the crossover period, labelled, in place."""
    at = pd.Timestamp(when)
    _add_vertical_line(fig, CROSSOVER_ANNOTATION, at, {"color": _TEXT_COLOUR, "width": 1.5, "dash": "dot"})
    fig.add_annotation(
        name=CROSSOVER_ANNOTATION,
        text=f"{text}, {at:%b %Y}" if at.day == 1 else f"{text}, {at:%-d %b %Y}",
        x=at,
        xref="x",
        y=0.9,
        yref="paper",
        xanchor="left",
        showarrow=False,
        font={"size": 11, "color": _TEXT_COLOUR},
        bgcolor="rgba(255,255,255,0.8)",
    )
    return fig


#: `name` of the shapes and labels that mark events (data/events.csv) on a time chart.
EVENT_ANNOTATION = "event"
EVENT_COLOURS: dict[str, str] = {"release": "#4C78A8", "policy": "#B0413E"}
_EVENT_LABEL_CHARS = 26


def _event_label(title: str) -> str:
    """A short label for a marker: the title up to its first bracket or colon, cut to a few words."""
    short = title.split(" (")[0].split(":")[0]
    return short if len(short) <= _EVENT_LABEL_CHARS else short[: _EVENT_LABEL_CHARS - 1].rstrip() + "…"


def mark_events(fig: go.Figure, events: Iterable[Event]) -> go.Figure:
    """A thin vertical line at each event's date with a short upright label; hovering the label gives the
    date, the whole title, the organisation and the source. In place."""
    for event in events:
        at = pd.Timestamp(event.date)
        colour = EVENT_COLOURS.get(event.kind, _MUTED_COLOUR)
        line = {"color": colour, "width": 1, "dash": "dash"}
        _add_vertical_line(fig, EVENT_ANNOTATION, at, line, opacity=0.7)
        fig.add_annotation(
            name=EVENT_ANNOTATION,
            text=_event_label(event.title),
            hovertext=(
                f"{at:%-d %b %Y} · {event.kind}<br>{event.title}<br>{event.organisation}"
                f"<br>Source: {event.source_url}"
            ),
            x=at,
            xref="x",
            y=1,
            yref="paper",
            yanchor="top",
            xanchor="left",
            textangle=-90,
            showarrow=False,
            font={"size": 10, "color": colour},
            bgcolor="rgba(255,255,255,0.7)",
        )
    return fig


def frame(fig: go.Figure, *, title: str, subtitle: str, source: str, warning: str | None = None) -> go.Figure:
    """Give a figure its title, subtitle, source line (and a red warning such as synthetic data), in place.

    Margins grow with the wrapped text, so long definitions never overlap the plot.
    """
    subtitle_lines = _wrap(subtitle, _SUBTITLE_CHARS_PER_LINE)
    source_lines = _wrap(source, _SOURCE_CHARS_PER_LINE)
    if warning:
        source_lines = [f"<b style='color:{_WARNING_COLOUR}'>{warning}</b>", *source_lines]
    left = fig.layout.margin.l or _LEFT_MARGIN_PX  # builders with long category labels set a wider one
    top = 60 + _LINE_HEIGHT_PX * len(subtitle_lines)
    bottom = 70 + _LINE_HEIGHT_PX * len(source_lines)
    fig.update_layout(
        font={"family": FONT_FAMILY, "size": 13, "color": _TEXT_COLOUR},
        title={
            "text": f"<b>{title}</b>",
            "x": 0.01,
            "xanchor": "left",
            "y": 0.98,
            "yanchor": "top",
            "yref": "container",
            "font": {"size": 20},
            "subtitle": {"text": "<br>".join(subtitle_lines), "font": {"size": 13, "color": _MUTED_COLOUR}},
        },
        margin={"t": top + 20, "b": bottom, "l": left, "r": 30},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        hovermode="closest",
    )
    fig.add_annotation(
        name=SOURCE_ANNOTATION,
        text="<br>".join(source_lines),
        xref="paper",
        yref="paper",
        x=0,
        y=0,
        xshift=-(left - 12),
        yshift=-(bottom - 8),
        xanchor="left",
        yanchor="bottom",
        align="left",
        showarrow=False,
        font={"size": 11, "color": _MUTED_COLOUR},
    )
    return fig


#: What an empty chart says: in general, and when the dates hold no snapshot at all.
NO_DATA_TEXT = "No data in this view: widen the dates or remove a filter."
NO_SNAPSHOTS_TEXT = "No snapshots in the selected dates: the store has snapshots from {first} to {last}."


def mark_empty(fig: go.Figure, text: str = NO_DATA_TEXT) -> go.Figure:
    """Say so when a view has no data (or `text`: why there can be none), instead of showing empty axes that
    look like a failure."""
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.add_annotation(
        text="<br>".join(_wrap(text, _NOTE_CHARS_PER_LINE)),
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        showarrow=False,
        font={"size": 16, "color": _MUTED_COLOUR},
    )
    return fig


def _paragraph_lines(heading: str, body: str) -> list[str]:
    lines = [f"<b>{heading}</b>"] if heading else []
    for line in body.split("\n"):
        lines.extend(_wrap(line, _TEXT_CHARS_PER_LINE))
    return [*lines, ""]


def text_page(
    title: str, paragraphs: Sequence[tuple[str, str]], *, footer: str = "", warning: str | None = None
) -> go.Figure:
    """A figure holding only text (a report's title or definitions page), so the whole report goes through
    the same renderer and fonts as the charts. `paragraphs` are (heading, body) pairs; body lines may break
    at newlines; a warning goes first, in red."""
    lines = [line for heading, body in paragraphs for line in _paragraph_lines(heading, body)]
    if warning:
        lines = [f"<b style='color:{_WARNING_COLOUR}'>{warning}</b>", "", *lines]
    fig = go.Figure()
    fig.update_layout(
        font={"family": FONT_FAMILY, "size": 14, "color": _TEXT_COLOUR},
        title={"text": f"<b>{title}</b>", "x": 0.04, "xanchor": "left", "font": {"size": 26}},
        xaxis={"visible": False},
        yaxis={"visible": False},
        margin={"t": 90, "b": 40, "l": 50, "r": 50},
        showlegend=False,
    )
    fig.add_annotation(
        text="<br>".join(lines),
        xref="paper",
        yref="paper",
        x=0,
        y=1,
        xanchor="left",
        yanchor="top",
        align="left",
        showarrow=False,
    )
    if footer:
        fig.add_annotation(
            text=footer,
            xref="paper",
            yref="paper",
            x=0,
            y=0,
            xanchor="left",
            yanchor="bottom",
            showarrow=False,
            font={"size": 11, "color": _MUTED_COLOUR},
        )
    return fig


def text_pages(title: str, paragraphs: Sequence[tuple[str, str]]) -> list[go.Figure]:
    """As many text pages as the paragraphs need (a paragraph never splits across pages)."""
    pages: list[list[tuple[str, str]]] = [[]]
    used = 0
    for paragraph in paragraphs:
        needed = len(_paragraph_lines(*paragraph))
        if pages[-1] and used + needed > _TEXT_LINES_PER_PAGE:
            pages.append([])
            used = 0
        pages[-1].append(paragraph)
        used += needed
    return [
        text_page(title if number == 0 else f"{title} (continued)", page) for number, page in enumerate(pages)
    ]



def share_ranges(
    data: pd.DataFrame,
    *,
    x: str,
    group: str,
    order: Sequence[str],
    colours: Mapping[str, str],
    names: Mapping[str, str],
    y_title: str,
) -> go.Figure:
    """Shares known only within bounds: per group a line at `share_low` (what is attributed) with a bar at
    each point up to `share_high` (the most it could be); points of a period the data covers only in part
    (`complete` false) are open circles."""
    fig = go.Figure()
    for key in order:
        rows = data[data[group] == key]
        if rows.empty:
            continue
        name, colour = names.get(key, key), colours.get(key)
        complete = rows["complete"] if "complete" in rows else pd.Series(True, index=rows.index)
        fig.add_trace(
            go.Scatter(
                x=rows[x],
                y=rows["share_low"],
                customdata=rows["share_high"],
                name=name,
                meta=_series_meta(group, key, x, "share_low"),
                mode="lines+markers",
                line={"color": colour, "width": 2.5},
                marker={"color": colour, "size": 7,
                        "symbol": ["circle" if done else "circle-open" for done in complete]},
                error_y={"type": "data", "symmetric": False, "array": rows["share_high"] - rows["share_low"],
                         "arrayminus": [0] * len(rows), "color": colour, "thickness": 1.5, "width": 3},
                hovertemplate=f"%{{x}}<br>{name}: %{{y:.1%}} to %{{customdata:.1%}}<extra></extra>",
            )
        )
    fig.update_yaxes(title_text=y_title, tickformat=".0%", rangemode="tozero")
    return fig
