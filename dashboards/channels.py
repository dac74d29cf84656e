"""Downloads by channel: the Hub beside ModelScope, never added into one unlabelled total.

Reads the ModelScope channel's published snapshots (`<store>/channels/modelscope/`) with DuckDB, turns their
cumulative counts into downloads per day with the Hub's own rules (`pipelines.definitions.model_facts` and
`daily_downloads`: clamping, first-seen, gap and day-label rules), attributes each model to the organisation
behind its weights (`pipelines.channels.attribution`), and registers the channel charts: downloads per
channel by country, each organisation's downloads by channel, and China's and the US's shares with and
without ModelScope. The Hub's side comes from the warehouse as on every other chart.

The view's `channel` (URL `channel=`, `--channel`) picks what the channel charts show: `hf`, `modelscope`
or `all` (both, each series named with its channel). The view's scope, task and size filters select Hub
models; ModelScope has no such fields, so its series always hold every model of the crawled owners.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import plotly.graph_objects as go

from dashboards import figures
from dashboards.charts import _chart, _series_style
from dashboards.colors import display_group
from dashboards.filters import Filters
from pipelines import definitions
from pipelines.channels import CHANNELS, channel_store
from pipelines.channels.attribution import Attributed, attribute_all, coverage
from pipelines.channels.modelscope import NAMESPACES_FILE, load_namespaces
from pipelines.registry import Registry, load_registry
from pipelines.store import PROVENANCE_FILE, Store

if TYPE_CHECKING:
    from dashboards.query import Warehouse

MODELSCOPE = "modelscope"
#: What each value of the view's `channel` shows on the channel charts.
CHANNEL_VIEWS: dict[str, tuple[str, ...]] = {
    "hf": ("hf",), "modelscope": (MODELSCOPE,), "all": ("hf", MODELSCOPE)
}
COMBINED = "Hugging Face + ModelScope"
_SEPARATOR = " · "


def channel_label(channel: str) -> str:
    return CHANNELS[channel].label


# ---------------------------------------------------------------------------------------------- reading


def _snapshot_key(store: Store) -> tuple[tuple[str, float], ...]:
    """The published snapshots of the ModelScope store and their provenance times (the cache key)."""
    held = channel_store(store, MODELSCOPE)
    return tuple(
        (day.isoformat(), (held.snapshot_dir(day) / PROVENANCE_FILE).stat().st_mtime) for day in held.dates()
    )


def observations(store: Store) -> pd.DataFrame:
    """date, channel_model_id, value, hub_model_id, created: every published ModelScope observation."""
    return _observations(str(store.root), _snapshot_key(store)).copy()


@functools.lru_cache(maxsize=4)
def _observations(root: str, key: tuple[tuple[str, float], ...]) -> pd.DataFrame:
    held = channel_store(Store(Path(root)), MODELSCOPE)
    files = [str(f) for day, _ in key for f in held.data_files(dt.date.fromisoformat(day))]
    columns = ["date", "channel_model_id", "value", "hub_model_id", "created"]
    if not files:
        return pd.DataFrame(columns=columns)
    con = duckdb.connect()
    try:
        frame = con.execute(
            """
            SELECT CAST(date AS DATE) AS date, channel_model_id, value, hub_model_id,
                TRY_CAST(left(json_extract_string(attributes, '$.created_at'), 10) AS DATE) AS created
            FROM read_parquet(?, hive_partitioning = true)
            WHERE metric = 'downloads' AND semantics = 'cumulative'
            ORDER BY channel_model_id, date
            """,
            [files],
        ).df()
    finally:
        con.close()
    for column in ("date", "created"):  # calendar days, as the series rules take them
        frame[column] = [None if pd.isna(day) else day.date() for day in frame[column]]
    return frame


def daily(store: Store) -> pd.DataFrame:
    """channel_model_id, day, downloads: ModelScope downloads per day by the Hub's series rules."""
    return _daily(str(store.root), _snapshot_key(store)).copy()


@functools.lru_cache(maxsize=4)
def _daily(root: str, key: tuple[tuple[str, float], ...]) -> pd.DataFrame:
    frame = _observations(root, key)
    dates = sorted(set(frame["date"]))
    rows = []
    for model_id, sightings in frame.groupby("channel_model_id", sort=True):
        series = [
            (d, None if pd.isna(v) else int(v), None if pd.isna(c) else c)
            for d, v, c in zip(sightings["date"], sightings["value"], sightings["created"], strict=True)
        ]
        per_day = definitions.daily_downloads(definitions.model_facts(series, dates))
        rows += [(model_id, day, n) for day, n in per_day.items()]
    return pd.DataFrame(rows, columns=["channel_model_id", "day", "downloads"])


def _hub_models(store: Store, names: set[str]) -> list[tuple[str, dt.datetime | None]]:
    """The Hub models of the latest Hub snapshot named like the mirrored models (for name matching)."""
    dates = store.dates()
    if not dates or not names:
        return []
    latest = store.read_table(dates[-1], ["model_id", "created_at"])  # files or, on a replica, a scan
    con = duckdb.connect()
    try:
        con.register("latest", latest)
        rows = con.execute(
            "SELECT model_id, created_at FROM latest WHERE lower(split_part(model_id, '/', 2)) IN "
            "(SELECT unnest(?::VARCHAR[]))",
            [sorted(names)],
        ).fetchall()
    finally:
        con.close()
    return [(model_id, created) for model_id, created in rows]


def attribution(store: Store, registry: Registry | None = None) -> pd.DataFrame:
    """channel_model_id, namespace, organization, country, method, upstream: who is behind each ModelScope
    model of the latest snapshot (mirrors matched to their original Hub model). Kept per snapshots, Hub
    snapshot, registry and namespace table."""
    registry = registry if registry is not None else load_registry()
    hub_dates = store.dates()
    table = NAMESPACES_FILE.stat().st_mtime if NAMESPACES_FILE.is_file() else 0.0
    key = (str(store.root), _snapshot_key(store), hub_dates[-1] if hub_dates else None, table)
    return _attribution(*key, registry).copy()


@functools.lru_cache(maxsize=4)
def _attribution(
    root: str, key: tuple[tuple[str, float], ...], _hub: dt.date | None, _table: float, registry: Registry
) -> pd.DataFrame:
    store = Store(Path(root))
    frame = _observations(root, key)
    latest = frame[frame["date"] == frame["date"].max()] if len(frame) else frame
    names = {model_id.split("/", 1)[1].lower() for model_id in latest["channel_model_id"]}
    attributed = attribute_all(
        zip(latest["channel_model_id"], latest["hub_model_id"], strict=True),
        load_namespaces(registry, NAMESPACES_FILE),
        registry,
        _hub_models(store, names),
    )
    return pd.DataFrame([a.__dict__ for a in attributed], columns=[
        "channel_model_id", "namespace", "organization", "country", "method", "upstream"
    ])


def modelscope_coverage(store: Store, registry: Registry | None = None) -> dict[str, Any] | None:
    """How much of ModelScope's latest cumulative downloads is attributed (None without a snapshot)."""
    frame = observations(store)
    if frame.empty:
        return None
    latest = frame[frame["date"] == frame["date"].max()]
    pairs = zip(latest["channel_model_id"], latest["value"], strict=True)
    downloads = {model_id: int(value) for model_id, value in pairs if pd.notna(value)}
    rows = [Attributed(**row) for row in attribution(store, registry).to_dict("records")]
    return {"date": latest["date"].max().isoformat(), **coverage(rows, downloads)}


# ------------------------------------------------------------------------------------------ chart data


def _period_start(day: pd.Series, period: str) -> pd.Series:
    """The first day of each day's period, as the warehouse's `date_trunc` (ISO weeks start on Monday)."""
    days = pd.to_datetime(day)
    if period == "month":
        return (days - pd.to_timedelta(days.dt.day - 1, unit="D")).dt.date
    if period == "week":
        return (days - pd.to_timedelta(days.dt.weekday, unit="D")).dt.date
    return days.dt.date


def modelscope_by_country(warehouse: Warehouse, f: Filters, registry: Registry | None = None) -> pd.DataFrame:
    """period, country, downloads: ModelScope downloads per period in the view's dates, by the country of
    the organisation behind the weights, grouped for display like the Hub's."""
    store = warehouse.store
    per_day = daily(store)
    if f.start:
        per_day = per_day[per_day["day"] >= f.start]
    if f.end:
        per_day = per_day[per_day["day"] <= f.end]
    who = attribution(store, registry)[["channel_model_id", "country"]]
    joined = per_day.merge(who, on="channel_model_id", how="left")
    joined["country"] = [display_group(c if isinstance(c, str) else None, f.countries) for c in
                         joined.country]
    joined["period"] = _period_start(joined["day"], f.period)
    out = joined.groupby(["period", "country"], as_index=False)["downloads"].sum()
    out = out[out["downloads"] > 0]
    return out.sort_values(["period", "country"], ignore_index=True)


def downloads_by_channel(warehouse: Warehouse, f: Filters) -> pd.DataFrame:
    """period, channel, country, downloads: each shown channel's downloads per period by country, one row
    per channel (never summed across channels)."""
    frames = []
    for channel in CHANNEL_VIEWS[f.channel]:
        part = warehouse.downloads_by_country(f) if channel == "hf" else modelscope_by_country(warehouse, f)
        frames.append(part.assign(channel=channel))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out["period"] = pd.to_datetime(out["period"]).dt.date
    return out[["period", "channel", "country", "downloads"]].sort_values(
        ["period", "channel", "country"], ignore_index=True
    )


def china_us_share(warehouse: Warehouse, f: Filters) -> pd.DataFrame:
    """period, basis, country, downloads, share: each selected country's share of all downloads in view,
    counted on the Hub alone and on the Hub and ModelScope together (periods ModelScope covers)."""
    both = downloads_by_channel(warehouse, replace(f, channel="all"))
    hub = both[both["channel"] == "hf"]
    covered = set(both.loc[both["channel"] == MODELSCOPE, "period"])
    in_covered = both[both["period"].isin(covered)]
    combined = in_covered.groupby(["period", "country"], as_index=False)["downloads"].sum()
    out = []
    for basis, part in ((channel_label("hf"), hub), (COMBINED, combined)):
        totals = part.groupby("period")["downloads"].transform("sum")
        part = part.assign(basis=basis, share=part["downloads"] / totals)
        out.append(part[part["country"].isin(f.countries)])
    frame = pd.concat(out, ignore_index=True)
    return frame[["period", "basis", "country", "downloads", "share"]].sort_values(
        ["period", "basis", "country"], ignore_index=True
    )


def organisations_by_channel(warehouse: Warehouse, f: Filters, n: int = 15) -> pd.DataFrame:
    """organization, country, channel, downloads: the top organisations (by the shown channels together)
    with their downloads in the view's dates on each channel, one row per channel."""
    frames = []
    channels = CHANNEL_VIEWS[f.channel]
    if "hf" in channels:
        hub = warehouse.top_organisations(f, n=200)[["organization", "country", "downloads"]]
        frames.append(hub.assign(channel="hf"))
    if MODELSCOPE in channels:
        per_day = daily(warehouse.store)
        if f.start:
            per_day = per_day[per_day["day"] >= f.start]
        if f.end:
            per_day = per_day[per_day["day"] <= f.end]
        who = attribution(warehouse.store).dropna(subset=["organization"])
        ms = per_day.merge(who, on="channel_model_id").groupby(["organization", "country"], as_index=False)[
            "downloads"
        ].sum()
        frames.append(ms.assign(channel=MODELSCOPE))
    data = pd.concat(frames, ignore_index=True)
    data = data[data["downloads"] > 0].astype({"downloads": "int64"})
    top = data.groupby("organization")["downloads"].sum().nlargest(n).index  # ranking only, never plotted
    data = data[data["organization"].isin(top)]
    return data[["organization", "country", "channel", "downloads"]].sort_values(
        ["organization", "channel"], ignore_index=True
    )


# ---------------------------------------------------------------------------------------------- charts


def _series(data: pd.DataFrame, f: Filters, key: str) -> tuple[pd.DataFrame, list[str], dict, dict]:
    """`data` with its `group`: the country for the Hub's rows (the country's colour, as on every chart),
    '<country> · <channel>' for the others (a tint of it; hatched or dashed too); their order, colours and
    legend names ('China, ModelScope')."""
    hub = channel_label("hf")
    pairs = zip(data["country"], data[key], strict=True)
    data = data.assign(group=[c if k == hub else f"{c}{_SEPARATOR}{k}" for c, k in pairs])
    countries, base, country_names = _series_style(data["country"], f)
    order, colours, names = [], {}, {}
    for country in countries:
        for channel in dict.fromkeys(data[key]):
            group = country if channel == hub else f"{country}{_SEPARATOR}{channel}"
            order.append(group)
            colours[group] = base[country] if channel == hub else _tint(base[country])
            names[group] = f"{country_names[country]}, {channel}"
    return data, order, colours, names


def _tint(colour: str, white: float = 0.45) -> str:
    """`colour` (#RRGGBB) mixed with white: the same country on another channel."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(v + (255 - v) * white):02X}" for v in rgb)


def _named(key: str) -> str:
    return channel_label(key) if key in CHANNELS else key


@_chart(
    "downloads-by-channel",
    "Downloads per {period} by channel and {country_rule}",
    "Downloads in each period on each channel (Hugging Face, ModelScope), side by side per country group; "
    "channels are never added together.",
    ("downloads_period", "channel_downloads"),
    periods="snapshots",
)
def _downloads_by_channel(warehouse: Warehouse, f: Filters) -> tuple[pd.DataFrame, go.Figure]:
    data = downloads_by_channel(warehouse, f)
    data["channel"] = data["channel"].map(channel_label)
    data, order, colours, names = _series(data, f, "channel")
    fig = figures.bars_by_group(
        data, category="period", value="downloads", group="group", order=order, colours=colours,
        names=names, value_title="Downloads", log_scale=f.log_scale,
    )
    for trace in fig.data:
        if trace.name.endswith(channel_label(MODELSCOPE)):
            trace.marker.pattern = {"shape": "/"}  # the channel is told by the hatching, not only the legend
    return data, fig


@_chart(
    "china-us-share-by-channel",
    "China vs US, Hugging Face + ModelScope downloads",
    "Each selected country's share of all downloads per period, on Hugging Face alone (solid) and on "
    "Hugging Face and ModelScope together (dashed), for the periods ModelScope covers.",
    ("share", "channel_downloads"),
    periods="snapshots",
)
def _china_us_share(warehouse: Warehouse, f: Filters) -> tuple[pd.DataFrame, go.Figure]:
    data, order, colours, names = _series(china_us_share(warehouse, f), f, "basis")
    fig = figures.line_by_group(
        data, x="period", y="share", group="group", order=order, colours=colours, names=names,
        y_title="Share of downloads",
    )
    fig.update_yaxes(tickformat=".0%")
    for trace in fig.data:
        if trace.name.endswith(COMBINED):
            trace.line.dash = "dash"
    return data, fig


@_chart(
    "organisation-downloads-by-channel",
    "Organisations' downloads by channel",
    "Each top organisation's downloads in the selected dates on each channel, bars side by side "
    "(ModelScope mirrors count for the organisation whose model they re-host).",
    ("downloads_period", "channel_downloads"),
    country_rule=None,  # ranked by organisation: the view's country rule does not change it
)
def _organisations_by_channel(warehouse: Warehouse, f: Filters) -> tuple[pd.DataFrame, go.Figure]:
    data = organisations_by_channel(warehouse, f)
    data["channel"] = data["channel"].map(channel_label)
    fig = figures.bars_by_group(
        data, category="organization", value="downloads", group="channel",
        order=[channel_label(c) for c in CHANNEL_VIEWS[f.channel]],
        colours={channel_label("hf"): "#ff9d00", channel_label(MODELSCOPE): "#624aff"},
        names={}, value_title="Downloads", horizontal=True, log_scale=f.log_scale,
    )
    return data, fig


CHANNEL_CHARTS = ("downloads-by-channel", "china-us-share-by-channel", "organisation-downloads-by-channel")


def source_line(warehouse: Warehouse, f: Filters, hub_line: str, chart_id: str) -> str:
    """The source line of a channel chart: each channel it shows, named, with its snapshots and coverage."""
    channels = ("hf", MODELSCOPE) if chart_id == "china-us-share-by-channel" else CHANNEL_VIEWS[f.channel]
    parts = [f"Channels: {', '.join(channel_label(c) for c in channels)}."]
    if "hf" in channels:
        parts.append(hub_line.replace("Open Weights Tracker.", "").strip())
    if MODELSCOPE in channels:
        dates = channel_store(warehouse.store, MODELSCOPE).dates()
        covered = modelscope_coverage(warehouse.store)
        span = f"{len(dates)} snapshots from {dates[0]} to {dates[-1]}" if dates else "no snapshots yet"
        share = f"; {covered['share_attributed']:.1%} of its downloads attributed" if covered else ""
        parts.append(
            f"Source: ModelScope OpenAPI (cumulative downloads), {span}{share}. Attribution: the "
            "organisation behind the weights (mirrors by their original Hub model)."
        )
    parts.append("Open Weights Tracker.")
    return " ".join(parts)


def channels_of(chart_id: str, f: Filters) -> list[str]:
    """The channels a chart's numbers come from (exports name them in metadata.json)."""
    if chart_id == "china-us-share-by-channel":
        return ["hf", MODELSCOPE]
    return list(CHANNEL_VIEWS[f.channel]) if chart_id in CHANNEL_CHARTS else ["hf"]


def coverage_text(store: Store) -> str:
    """Methodology's sentence on the ModelScope channel's coverage (or why there is none yet)."""
    try:
        covered = modelscope_coverage(store)
    except Exception as error:  # a bad namespace table: say so on the page, never fail it
        return f"ModelScope coverage cannot be computed: {error}"
    if covered is None:
        return "No ModelScope snapshot in this store yet (see `pipelines snapshot --channel modelscope`)."
    return (
        f"ModelScope, snapshot of {covered['date']}: {covered['models']:,} models, "
        f"{covered['share_attributed']:.1%} of their cumulative downloads attributed "
        f"({covered['models_official']:,} models of official owners, "
        f"{covered['models_mirror-hub-id']:,} mirrors by linked Hub id, "
        f"{covered['models_mirror-name']:,} by name, {covered['models_unattributed']:,} unattributed)."
    )


def methodology(store: Store) -> list[tuple[str, str]]:
    """Methodology's channel section: each channel's counting rule and coverage, as (heading, text)."""
    return [
        (
            "Hugging Face",
            "Counts a download on each GET or HEAD of a model's query file (config.json by default; every "
            ".gguf file too). Downloads per period are differences of the all-time counter between dated "
            "snapshots (see Downloads in the period). Coverage: the share of 30-day downloads whose "
            "country is known, under the registry below.",
        ),
        (
            "ModelScope",
            definitions.measure("channel_downloads").explanation
            + " Owners crawled: data/modelscope_namespaces.csv (official owners and the mirror namespaces), "
            "every model of each listed through the OpenAPI, proved complete against its reported total. "
            + coverage_text(store),
        ),
    ]
