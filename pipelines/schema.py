"""The snapshot data contract: one row per model per snapshot date.

This is the only place the column set of a raw snapshot is defined. Every writer (Hub crawl, backfill,
synthetic demo) produces exactly this schema, so every reader can rely on it. Nulls mean "the Hub gave no
value", never zero.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1

#: Relations the Hub emits in `base_model:<relation>:<id>` tags. Others are kept verbatim and reported.
KNOWN_RELATIONS = ("finetune", "quantized", "adapter", "merge")

_TIMESTAMP = pa.timestamp("ms", tz="UTC")

SNAPSHOT_SCHEMA = pa.schema(
    [
        pa.field("model_id", pa.string(), nullable=False),  # "namespace/name"
        pa.field("author", pa.string(), nullable=False),  # the namespace (user or organisation)
        pa.field("downloads_30d", pa.int64()),  # Hub `downloads`: rolling 30-day count at snapshot time
        pa.field("downloads_all_time", pa.int64()),  # Hub `downloadsAllTime`; null when not returned
        pa.field("likes", pa.int64()),
        pa.field("created_at", _TIMESTAMP),
        pa.field("last_modified", _TIMESTAMP),
        pa.field("pipeline_tag", pa.string()),
        pa.field("library_name", pa.string()),
        pa.field("params_total", pa.int64()),  # safetensors total parameter count
        pa.field("gated", pa.string()),  # "false" | "auto" | "manual"; null when not returned
        pa.field("tags", pa.list_(pa.string())),
        pa.field("base_models", pa.list_(pa.string())),  # parents from `base_model:<relation>:<id>` tags
        pa.field("base_relation", pa.string()),  # relation to the first parent; unknown strings kept verbatim
        pa.field("hub_id", pa.string()),  # the Hub's `_id` (ObjectId), stable across renames
    ],
    metadata={"owt_schema_version": str(SCHEMA_VERSION)},
)

COLUMNS = tuple(SNAPSHOT_SCHEMA.names)
