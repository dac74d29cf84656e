"""Snapshots + registry -> the warehouse: compact download facts, attributed dimensions and rollups.

Layout (one directory per version; readers follow a pointer, so they never see a half-built warehouse)::

    <store>/warehouse/CURRENT                 {"version": "v000012"}, replaced atomically
    <store>/warehouse/v000012/manifest.json   dates and checksums built in, registry digest, sizes
    <store>/warehouse/v000012/facts/*.parquet one row per model and snapshot date (see FACT_COLUMNS)
    <store>/warehouse/v000012/parts/<table>/<YYYY-MM>.parquet
                                              tables growing with history (rollups, top-N days, anomalies):
                                              one zstd file per month of their date (`schema.PARTITIONED`)
    <store>/warehouse/v000012/tables.duckdb   what the number of models bounds: dims, meta, state, groups,
                                              snapshots, small lookups; the partitioned tables empty (types)

Facts are immutable Parquet files sorted by (model key, date) and written with delta encoding + zstd, so a
model-day costs a few bytes: the key and date runs are nearly free and the cumulative count of a model grows
by small steps. A new version hard-links the previous facts files and adds one file per refresh; it also
hard-links every month file of the partitioned tables that it does not change and rewrites the months it does
(normally the current one), and writes a fresh `tables.duckdb` from a work copy of the previous one, whose
size follows the number of models, not the days (`partitions`). So an incremental refresh costs about the
same after a month or years of history. A reader opens a version through `partitions.connect` (the tables
under their usual names, views built at opening from the version's own directory), so a refresh never blocks
it, and an old version stays readable until it is pruned (`KEEP_VERSIONS`).

Series rules (text in `pipelines.definitions`: gap_rule, clamping_rule, first_seen_rule, missing_rule):
per model, `inc` is the growth of the reported all-time count since the last reported value, clamped at 0,
attributed to the `span` days ending at `date`; `baseline` is a first count that belongs to no period; `cum`
is the cleaned cumulative count (baseline + every inc so far). Rollups spread each model's `inc` over its
days (`definitions.grouped_spread_sql`).

Modules, one job each: `schema` (names of tables, columns, files), `versions` (current and kept versions, the
pointer swap, pruning), `planning` (what a refresh must do), `build` (a refresh), `facts` (differencing),
`dimensions` (attribution into `dims`), `rollups`, `top` (top-N tables), `ram` (the RAM reference),
`maintenance` (compaction), `limits` (the build's memory budget), `partitions` (the month-partitioned
tables: a refresh's loading and writing, readers' connections), `cli`, `publish` (the warehouse published in
an Iceberg store, fetched by replicas instead of a build; imported from there). This package re-exports the
other modules' public names.
"""

from __future__ import annotations

import sys
import types

from pipelines.warehouse import build, maintenance, top, versions
from pipelines.warehouse.build import BATCH_ROWS, RefreshReport, refresh, refresh_for_readers
from pipelines.warehouse.cli import add_arguments, run
from pipelines.warehouse.dimensions import LINEAGE_CLOSURE_SQL
from pipelines.warehouse.facts import _create_tables, _facts_for_batch, _facts_relation
from pipelines.warehouse.limits import DEFAULT_MEMORY_LIMIT, BuildLimits
from pipelines.warehouse.maintenance import COMPACT_AFTER_FILES, COMPACT_CHUNK_ROWS
from pipelines.warehouse.planning import BUILD_VERSION, plan, untyped_columns
from pipelines.warehouse.ram import RAM_FILL_DAYS, ram_counts_sql, ram_reference_curve_sql
from pipelines.warehouse.rollups import _rollup_queries
from pipelines.warehouse.schema import (
    DIMS_SCHEMA,
    FACT_COLUMNS,
    FACT_SCHEMA,
    FLAG_BASELINE,
    FLAG_CLAMPED,
    FLAG_MISSING,
    FLAG_NEW,
    FLAG_OK,
    NAMESPACE_DIMS,
    ORG_KEY_SQL,
    POINTER,
    ROLLUP_DIMS,
    TABLES_FILE,
    WAREHOUSE_DIR,
    WarehouseError,
)
from pipelines.warehouse.top import TOP_CANDIDATES
from pipelines.warehouse.versions import (
    KEEP_VERSIONS,
    Version,
    current_name,
    current_version,
    kept_versions,
    warehouse_root,
)

__all__ = [
    "BATCH_ROWS",
    "BUILD_VERSION",
    "COMPACT_AFTER_FILES",
    "COMPACT_CHUNK_ROWS",
    "DEFAULT_MEMORY_LIMIT",
    "DIMS_SCHEMA",
    "FACT_COLUMNS",
    "FACT_SCHEMA",
    "FLAG_BASELINE",
    "FLAG_CLAMPED",
    "FLAG_MISSING",
    "FLAG_NEW",
    "FLAG_OK",
    "KEEP_VERSIONS",
    "LINEAGE_CLOSURE_SQL",
    "NAMESPACE_DIMS",
    "ORG_KEY_SQL",
    "POINTER",
    "RAM_FILL_DAYS",
    "ROLLUP_DIMS",
    "TABLES_FILE",
    "TOP_CANDIDATES",
    "WAREHOUSE_DIR",
    "BuildLimits",
    "RefreshReport",
    "Version",
    "WarehouseError",
    "_create_tables",
    "_facts_for_batch",
    "_facts_relation",
    "_rollup_queries",
    "add_arguments",
    "current_name",
    "current_version",
    "kept_versions",
    "plan",
    "ram_counts_sql",
    "ram_reference_curve_sql",
    "refresh",
    "refresh_for_readers",
    "run",
    "untyped_columns",
    "warehouse_root",
]

#: Tunables and the module that reads each: setting one on the package (tests shrink them with monkeypatch,
#: as when the warehouse was one module) sets it where it is read.
_TUNABLES: dict[str, types.ModuleType] = {
    "BATCH_ROWS": build,
    "COMPACT_AFTER_FILES": maintenance,
    "COMPACT_CHUNK_ROWS": maintenance,
    "KEEP_VERSIONS": versions,
    "TOP_CANDIDATES": top,
}


class _Package(types.ModuleType):
    """This package's module type: assigning a tunable assigns it in `_TUNABLES`' module too."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _TUNABLES:
            setattr(_TUNABLES[name], name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
