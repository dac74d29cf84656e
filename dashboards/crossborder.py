"""Cross-border building: who builds on whose models (derivative publisher country x base lineage country).

Metrics layer: read-only queries over the warehouse's `dims` (each model's publisher and lineage attribution)
and facts (each model's downloads), through `Warehouse.read`. Every rule comes from `pipelines.definitions`:
which derivatives are new in a view (`Warehouse.new_derivatives_where`, the derivatives charts' rule), what is
cross-border (`cross_border_sql`), a derivative's base family (`base_family_sql`) and the downloads of a gap
that fall inside the selected dates (`spread_between_sql`). Results are small long-form DataFrames.

Country groups (`flow_group`): the view's selected ISO codes each their own, other ISO codes `Rest of world`,
and the values that are not a country kept apart (International, Unregistered organisation, Individual /
community): unknown publishers are shown, never dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from dashboards.colors import country_name
from dashboards.filters import INDIVIDUAL, INTERNATIONAL, REST_OF_WORLD, UNATTRIBUTED_ORG, Filters
from dashboards.query import per_version
from pipelines.definitions import (
    SNAPSHOT_DAY_OFFSET,
    base_family_sql,
    cross_border_sql,
    spread_between_sql,
)

if TYPE_CHECKING:
    from dashboards.query import Warehouse

#: The value column of each flow measure.
MEASURE_COLUMNS = {"count": "new_derivatives", "downloads": "downloads"}
#: Groups that are not countries, in the order they follow the countries (never merged, never dropped).
NOT_COUNTRIES = (INTERNATIONAL, UNATTRIBUTED_ORG, INDIVIDUAL)
OTHER_FAMILIES = "Other families"
TOP_FAMILIES = 8

_FIRST_DAY, _LAST_DAY = dt.date(1, 1, 1), dt.date(9999, 12, 31)


def flow_group(code: str | None, selected: Sequence[str]) -> str:
    """The row or column of the flow matrix a country value belongs to (see the module's docstring)."""
    if code is None:
        return UNATTRIBUTED_ORG
    if code in selected or code in NOT_COUNTRIES:
        return code
    return REST_OF_WORLD


def group_order(groups: Sequence[str], selected: Sequence[str]) -> list[str]:
    """Selected countries as the view lists them, then Rest of world, then the values that are not
    countries."""
    present = set(groups)
    return [g for g in (*selected, REST_OF_WORLD, *NOT_COUNTRIES) if g in present]


def _kept(f: Filters) -> Filters:
    """The part of a view the queries depend on, so views differing only in display share kept results."""
    return Filters(
        start=f.start,
        end=f.end,
        period=f.period,
        scope=f.scope,
        task=f.task,
        size_class=f.size_class,
        pair=f.pair,
    )


def _new_derivatives(
    warehouse: Warehouse, f: Filters, downloads: bool, only: str = "true", only_params: Sequence[object] = ()
) -> tuple[str, list[object]]:
    """`WITH ... derivative AS (...)`: the view's new derivatives (those matching `only` too), each with its
    downloads in the selected dates, read from the facts when `downloads` (else 0)."""
    where, params = warehouse.new_derivatives_where(f)
    start, end = f.start or _FIRST_DAY, f.end or _LAST_DAY
    if downloads:
        # A fact adds `inc` downloads on the `span` days ending on its last counted day (day-label rule);
        # the view's first and last days are days gap_from..gap_to of that gap (gap rule, telescoped).
        first_day = f"(f.date - {SNAPSHOT_DAY_OFFSET:d} - f.span::INTEGER + 1)"
        counted = f"""
            SELECT key, sum({spread_between_sql("gap_from", "gap_to", "inc", "span")})::BIGINT AS downloads
            FROM (
                SELECT f.key, f.inc, f.span::BIGINT AS span, ?::DATE - {first_day} + 1 AS gap_from,
                    ?::DATE - {first_day} + 1 AS gap_to
                FROM read_parquet(?::VARCHAR[]) f SEMI JOIN new USING (key)
                WHERE f.inc > 0 AND f.date >= ?::DATE + {SNAPSHOT_DAY_OFFSET:d} AND {first_day} <= ?::DATE
            ) GROUP BY key
        """
        counted_params = [start, end, warehouse.facts_files(), start, end]
    else:
        counted, counted_params = "SELECT NULL::INTEGER AS key, 0::BIGINT AS downloads WHERE false", []
    sql = f"""
        WITH new AS (
            SELECT key, created, coalesce(publisher_country, '{UNATTRIBUTED_ORG}') AS publisher_country,
                coalesce(lineage_country, '{UNATTRIBUTED_ORG}') AS lineage_country, lineage_root
            FROM dims WHERE {where} AND ({only})
        ), counted AS ({counted}), derivative AS (
            SELECT n.*, coalesce(c.downloads, 0) AS downloads FROM new n LEFT JOIN counted c USING (key)
        )
    """
    return sql, [*params, *only_params, *counted_params]


def _wants_downloads(f: Filters) -> bool:
    return f.flow_measure == "downloads"


@per_version(maxsize=32)
def _cells(warehouse: Warehouse, f: Filters, downloads: bool) -> pd.DataFrame:
    """publisher_country, lineage_country (as attributed), new_derivatives, downloads. Downloads come from the
    daily rollup when it holds the same answer (`rollup_cell_downloads`), else from the facts."""
    rolled = rollup_cell_downloads(warehouse, f) if downloads else None
    counts = facts_cells(warehouse, f, downloads and rolled is None)
    if rolled is None:
        return counts
    keys = ["publisher_country", "lineage_country"]
    merged = counts.drop(columns="downloads").merge(rolled, on=keys, how="outer")
    merged = merged.fillna({"new_derivatives": 0, "downloads": 0}).sort_values(keys, ignore_index=True)
    return merged.astype({"new_derivatives": "int64", "downloads": "int64"})


def facts_cells(warehouse: Warehouse, f: Filters, downloads: bool) -> pd.DataFrame:
    """`_cells` from `dims`, each derivative's downloads summed from the facts (when `downloads`)."""
    with_sql, params = _new_derivatives(warehouse, f, downloads)
    sql = f"""{with_sql}
        SELECT publisher_country, lineage_country, count(*)::BIGINT AS new_derivatives,
            sum(downloads)::BIGINT AS downloads
        FROM derivative GROUP BY ALL ORDER BY ALL
    """
    return warehouse.read(sql, params)


def rollup_cell_downloads(warehouse: Warehouse, f: Filters) -> pd.DataFrame | None:
    """publisher_country, lineage_country, downloads of the view's new derivatives from the daily rollup
    (grouped by both countries and relation), when that is their answer: a view without dates (every
    derivative is new, also one without a creation date, and all its downloads count), outside the ATOM scope
    (the rollup has no lineage root's ATOM flag). Reading the facts instead costs seconds on a large store
    (the default view); None otherwise."""
    if f.start is not None or f.end is not None or f.scope == "atom":
        return None
    where, params = warehouse.new_derivatives_where(f)  # no dates: only rollup columns (relation, task, size)
    sql = f"""
        SELECT coalesce(publisher_country, '{UNATTRIBUTED_ORG}') AS publisher_country,
            coalesce(lineage_country, '{UNATTRIBUTED_ORG}') AS lineage_country,
            sum(downloads)::BIGINT AS downloads
        FROM roll_day WHERE {where} GROUP BY ALL HAVING sum(downloads) <> 0 OR sum(baseline) <> 0
    """
    return warehouse.read(sql, params)


@per_version(maxsize=32)
def _pair_derivatives(warehouse: Warehouse, f: Filters, downloads: bool) -> pd.DataFrame:
    """period (of creation), publisher_country, lineage_country, family, new_derivatives, downloads: the
    view's new cross-border derivatives in the pair's two directions."""
    a, b = f.pair
    only = (
        f"{cross_border_sql('publisher_country', 'lineage_country')} AND ((publisher_country = ? AND "
        "lineage_country = ?) OR (publisher_country = ? AND lineage_country = ?))"
    )
    with_sql, params = _new_derivatives(warehouse, f, downloads, only, [a, b, b, a])
    sql = f"""{with_sql}, by_root AS (
            SELECT date_trunc(?, created)::DATE AS period, publisher_country, lineage_country,
                split_part(lineage_root, '/', 1) AS root_namespace, count(*)::BIGINT AS new_derivatives,
                sum(downloads)::BIGINT AS downloads
            FROM derivative GROUP BY ALL
        ), families AS (  -- only the roots at hand: ns_groups has a row per namespace and segment
            SELECT lower(namespace) AS namespace, min(organization) AS organization FROM ns_groups
            WHERE lower(namespace) IN (SELECT lower(root_namespace) FROM by_root) GROUP BY 1
        )
        SELECT r.period, r.publisher_country, r.lineage_country,
            {base_family_sql("r.root_namespace", "fam.organization")} AS family,
            sum(r.new_derivatives)::BIGINT AS new_derivatives, sum(r.downloads)::BIGINT AS downloads
        FROM by_root r LEFT JOIN families fam ON fam.namespace = lower(r.root_namespace)
        GROUP BY ALL ORDER BY ALL
    """
    return warehouse.read(sql, [*params, f.period])


def flow_matrix(warehouse: Warehouse, f: Filters) -> pd.DataFrame:
    """publisher_country, lineage_country (groups, see `flow_group`), new_derivatives, downloads, value (the
    view's measure), row_share (of `value` within the publisher row): every cell of the groups present,
    zeros included, rows and columns in `group_order`."""
    raw = _cells(warehouse, _kept(f), _wants_downloads(f))
    selected = f.countries
    grouped = raw.assign(
        publisher_country=[flow_group(code, selected) for code in raw["publisher_country"]],
        lineage_country=[flow_group(code, selected) for code in raw["lineage_country"]],
    )
    sums = grouped.groupby(["publisher_country", "lineage_country"])[["new_derivatives", "downloads"]].sum()
    rows = group_order(grouped["publisher_country"], selected)
    columns = group_order(grouped["lineage_country"], selected)
    grid = pd.MultiIndex.from_product([rows, columns], names=["publisher_country", "lineage_country"])
    cells = sums.reindex(grid, fill_value=0).reset_index()
    cells["value"] = cells[MEASURE_COLUMNS[f.flow_measure]]
    totals = cells.groupby("publisher_country", sort=False)["value"].transform("sum")
    cells["row_share"] = (cells["value"] / totals.where(totals > 0)).fillna(0.0)
    return cells.astype({"new_derivatives": "int64", "downloads": "int64", "value": "int64"})


def direction_label(publisher: str, lineage: str) -> str:
    """A cross-border direction in words: 'China-published derivatives of United States bases'."""
    return f"{country_name(publisher)}-published derivatives of {country_name(lineage)} bases"


def _pair_rows(warehouse: Warehouse, f: Filters) -> pd.DataFrame:
    """The view's derivatives in the pair's two cross-border directions, with their `direction`."""
    raw = _pair_derivatives(warehouse, _kept(f), _wants_downloads(f))
    a, b = f.pair
    frames = []
    for publisher, lineage in ((a, b), (b, a)):
        rows = raw[(raw["publisher_country"] == publisher) & (raw["lineage_country"] == lineage)]
        frames.append(rows.assign(direction=direction_label(publisher, lineage)))
    return pd.concat(frames, ignore_index=True)


def crossborder_series(warehouse: Warehouse, f: Filters) -> pd.DataFrame:
    """period, direction, publisher_country, lineage_country, new_derivatives, downloads, value: per period of
    creation, the pair's cross-border derivatives each way (both directions in every period shown, zeros
    included)."""
    rows = _pair_rows(warehouse, f).dropna(subset=["period"])
    keys = ["period", "direction", "publisher_country", "lineage_country"]
    sums = rows.groupby(keys, as_index=False)[["new_derivatives", "downloads"]].sum()
    a, b = f.pair
    directions = pd.DataFrame(
        {
            "direction": [direction_label(a, b), direction_label(b, a)],
            "publisher_country": [a, b],
            "lineage_country": [b, a],
        }
    )
    periods = pd.DataFrame({"period": pd.Series(sorted(set(sums["period"])), dtype=sums["period"].dtype)})
    grid = periods.merge(directions, how="cross")
    series = grid.merge(sums, on=keys, how="left").fillna({"new_derivatives": 0, "downloads": 0})
    series = series.astype({"new_derivatives": "int64", "downloads": "int64"})
    series["value"] = series[MEASURE_COLUMNS[f.flow_measure]]
    return series.sort_values(["period", "direction"], ignore_index=True)


def crossborder_families(warehouse: Warehouse, f: Filters) -> pd.DataFrame:
    """direction, family, new_derivatives, downloads, value: the pair's cross-border derivatives in the
    selected dates by base family, the TOP_FAMILIES largest of each direction (by the view's measure) and
    the rest as OTHER_FAMILIES, largest first."""
    rows = _pair_rows(warehouse, f)
    column = MEASURE_COLUMNS[f.flow_measure]
    sums = rows.groupby(["direction", "family"], as_index=False)[["new_derivatives", "downloads"]].sum()
    sums = sums.sort_values(["direction", column, "family"], ascending=[True, False, True])
    rank = sums.groupby("direction").cumcount()
    sums.loc[rank >= TOP_FAMILIES, "family"] = OTHER_FAMILIES
    kept = sums.groupby(["direction", "family"], as_index=False, sort=False)[
        ["new_derivatives", "downloads"]
    ].sum()
    kept["value"] = kept[column]
    kept["other"] = kept["family"] == OTHER_FAMILIES
    kept = kept.sort_values(["direction", "other", "value"], ascending=[True, True, False])
    return kept.drop(columns="other").reset_index(drop=True)


@per_version(maxsize=64)
def organisation_flows(warehouse: Warehouse, namespaces: tuple[str, ...]) -> pd.DataFrame:
    """direction ('built on' / 'built upon by'), country, derivatives, over all snapshots: the lineage
    countries of the bases its derivatives build on (bases of other organisations), and the publisher
    countries of other organisations' derivatives of its models. Country values as attributed (ISO codes,
    International, Unregistered organisation, Individual / community)."""
    mine = [name.lower() for name in namespaces]
    # One pass: a derivative is "built on" when only its own namespace is the organisation's, "built upon by"
    # when only its lineage root's is.
    sql = f"""
        WITH derivative AS (
            SELECT list_contains(?::VARCHAR[], lower(namespace)) AS own,
                list_contains(?::VARCHAR[], lower(split_part(lineage_root, '/', 1))) AS own_root,
                coalesce(publisher_country, '{UNATTRIBUTED_ORG}') AS publisher_country,
                coalesce(lineage_country, '{UNATTRIBUTED_ORG}') AS lineage_country
            FROM dims WHERE relation <> 'original'
        )
        SELECT CASE WHEN own THEN 'built on' ELSE 'built upon by' END AS direction,
            CASE WHEN own THEN lineage_country ELSE publisher_country END AS country,
            count(*)::BIGINT AS derivatives
        FROM derivative WHERE own <> own_root
        GROUP BY ALL ORDER BY direction, derivatives DESC, country
    """
    return warehouse.read(sql, [mine, mine])

