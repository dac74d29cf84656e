"""The warehouse's names: its directory layout, the tables of `tables.duckdb`, the facts' columns and types,
the dimensions rollups group by. Builders and readers (`dashboards.query`) use these names, so a table or a
column is named in one place."""

from __future__ import annotations

import pyarrow as pa

WAREHOUSE_DIR = "warehouse"
POINTER = "CURRENT"
TABLES_FILE = "tables.duckdb"
#: Folder of a version holding the partitioned tables (`partitions`): <PARTS_DIR>/<table>/<YYYY-MM>.parquet,
#: and delta files `delta-<version>.parquet` beside them (`corrections`).
PARTS_DIR = "parts"

# Tables of `tables.duckdb`, by the module that writes them.
# facts: one row per model (key, id, latest metadata, last state), the clamped drops, the snapshots built in.
MODELS, META, STATE, ANOMALIES, SNAPSHOTS = "models", "meta", "state", "anomalies", "snapshots"
# dimensions: each model's attributed dimensions, and the per-organisation groups (`grp`) rollups key on.
DIMS, NS_GROUPS = "dims", "ns_groups"
# rollups: downloads per day / month and dimensions, per snapshot date, per release month, per group.
ROLL_DAY, ROLL_MONTH, ROLL_SNAP, ROLL_RELEASE = "roll_day", "roll_month", "roll_snap", "roll_release"
NS_DAY, NS_MONTH = "ns_day", "ns_month"
# top: running totals per group and the top-N candidates (`ns_top_*` per group, `org_top_*` per organisation).
NS_BEFORE, NS_INFO, NS_RANK, NS_MONTH_BOUND = "ns_before", "ns_info", "ns_rank", "ns_month_bound"
NS_TOP_GROUPS, NS_TOP_BEFORE, NS_TOP_INFO = "ns_top_groups", "ns_top_before", "ns_top_info"
NS_TOP_DAY = "ns_top_day"
ORG_TOP_GROUPS, ORG_TOP_BEFORE, ORG_TOP_INFO = "org_top_groups", "org_top_before", "org_top_info"
ORG_TOP_DAY, ORG_TOP_CUM, ROLL_CUM = "org_top_day", "org_top_cum", "roll_cum"
# ram: the best counts at each age of each size class.
RAM_REFERENCE = "ram_reference"
#: Every table a built version holds.
TABLES = (
    MODELS, META, STATE, ANOMALIES, SNAPSHOTS, DIMS, NS_GROUPS,
    ROLL_DAY, ROLL_MONTH, ROLL_SNAP, ROLL_RELEASE, NS_DAY, NS_MONTH,
    NS_BEFORE, NS_INFO, NS_RANK, NS_MONTH_BOUND, NS_TOP_GROUPS, NS_TOP_BEFORE, NS_TOP_INFO, NS_TOP_DAY,
    ORG_TOP_GROUPS, ORG_TOP_BEFORE, ORG_TOP_INFO, ORG_TOP_DAY, ORG_TOP_CUM, ROLL_CUM, RAM_REFERENCE,
)

#: Tables whose rows grow with history, and the date column whose month partitions them: stored as one
#: Parquet file per month (`partitions`), so a refresh rewrites only the months it changes.
PARTITIONED = {
    ROLL_DAY: "day", ROLL_SNAP: "date", ROLL_RELEASE: "month", ROLL_MONTH: "month",
    NS_DAY: "day", NS_MONTH: "month", NS_BEFORE: "month", NS_TOP_BEFORE: "month", NS_TOP_DAY: "day",
    ORG_TOP_BEFORE: "month", ORG_TOP_DAY: "day", ANOMALIES: "date",
}  # fmt: skip

#: Columns of a facts file (Parquet, sorted by key and date); types in FACT_SCHEMA.
FACT_COLUMNS = ("key", "date", "cum", "inc", "span", "baseline", "d30", "flag")
#: What a fact's row says about its count (`flag`).
FLAG_OK, FLAG_CLAMPED, FLAG_MISSING, FLAG_BASELINE, FLAG_NEW = 0, 1, 2, 3, 4
FACT_SCHEMA = pa.schema(
    [
        ("key", pa.int32()),
        ("date", pa.date32()),
        ("cum", pa.int64()),  # cleaned cumulative downloads (baseline + every inc so far)
        ("inc", pa.int64()),  # downloads attributed to the `span` days ending at `date`
        ("span", pa.int16()),
        ("baseline", pa.int64()),  # a first count that belongs to no period (first-seen rule)
        ("d30", pa.int64()),  # 30-day downloads as reported
        ("flag", pa.int8()),  # FLAG_*
    ]
)
#: Dimensions of the main rollups (every filter and breakdown of the dashboard).
ROLLUP_DIMS = (
    "publisher_country",
    "lineage_country",
    "first_party",
    "atom",
    "size_class",
    "task",
    "library",
    "relation",
)
#: Dimensions of the per-organisation rollup (what top-N by organisation can filter on).
NAMESPACE_DIMS = ("namespace", "organization", "first_party", "atom", "size_class", "task")
#: SQL of the organisation a row of `ns_groups` (or `dims`) belongs to: the registry's `organization`, which
#: namespaces of one organisation share (THUDM and zai-org, google and google-bert), else its own namespace.
#: The attribution's first-party rule keys organisations the same way.
ORG_KEY_SQL = "coalesce('organization:' || lower(organization), 'namespace:' || lower(namespace))"
#: The attributed dimensions of every model, with their types declared once: `dims` and the tables built
#: from it take these types whatever the data holds (a first build that sees only nulls in a column must
#: not leave it typed NULL, which no later value can be cast to).
DIMS_SCHEMA: dict[str, str] = {
    "key": "INTEGER",
    "model_id": "VARCHAR",
    "namespace": "VARCHAR",
    "organization": "VARCHAR",
    "publisher_country": "VARCHAR",
    "publisher_region": "VARCHAR",
    "lineage_root": "VARCHAR",
    "lineage_country": "VARCHAR",
    "lineage_region": "VARCHAR",
    "lineage_depth": "BIGINT",
    "base_model": "VARCHAR",
    "first_party": "BOOLEAN",
    "atom": "BOOLEAN",
    "root_atom": "BOOLEAN",
    "task": "VARCHAR",
    "library": "VARCHAR",
    "params_total": "BIGINT",
    "relation": "VARCHAR",
    "size_class": "VARCHAR",
    "created": "DATE",
    "grp": "INTEGER",
}
#: Snapshot columns `meta` keeps of each model's latest appearance.
META_COLUMNS = (
    "author",
    "base_models",
    "base_relation",
    "created_at",
    "pipeline_tag",
    "library_name",
    "params_total",
)


class WarehouseError(RuntimeError):
    """The warehouse cannot be built or read (no snapshots, no version yet, ...)."""
