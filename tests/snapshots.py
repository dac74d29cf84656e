"""Write small, hand-made snapshots into a store, the way real writers do (SNAPSHOT_SCHEMA + Store.publish).

`write_snapshot(store, date, rows)` with rows such as `model("Qwen/Qwen3-8B", downloads=500)` or
`model("unsloth/Qwen3-8B-GGUF", parents=["Qwen/Qwen3-8B"], relation="quantized")`. Any helper may reuse it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.schema import COLUMNS, SNAPSHOT_SCHEMA
from pipelines.store import Store

_CREATED = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
#: Creation time of `counts` rows: a model older than any snapshot of the tests.
OLD = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def model(
    model_id: str,
    *,
    downloads: int = 100,
    downloads_all_time: int | None = None,
    parents: Iterable[str] = (),
    relation: str | None = None,
    **columns: Any,
) -> dict[str, Any]:
    """One snapshot row: author from the id, all-time = 10x the 30-day count unless given, relation
    `finetune` when there are parents and no relation is given."""
    parent_list = list(parents)
    row: dict[str, Any] = {
        "model_id": model_id,
        "author": model_id.split("/")[0],
        "downloads_30d": downloads,
        "downloads_all_time": downloads * 10 if downloads_all_time is None else downloads_all_time,
        "likes": 0,
        "created_at": _CREATED,
        "last_modified": _CREATED,
        "pipeline_tag": "text-generation",
        "library_name": "transformers",
        "params_total": None,
        "gated": "false",
        "tags": [],
        "base_models": parent_list,
        "base_relation": (relation or "finetune") if parent_list else relation,
        "hub_id": None,
    }
    row.update(columns)
    return row


def counts(model_id: str, all_time: int | None, **columns: Any) -> dict[str, Any]:
    """A snapshot row of an old model with this all-time count (None: the Hub returned none), 10 downloads in
    30 days; `columns` as `model` takes them (parents=..., pipeline_tag=...)."""
    row = model(model_id, downloads=10, created_at=OLD, **columns)
    row["downloads_all_time"] = all_time
    return row


def write_snapshot(
    store: Store, date: dt.date, rows: Iterable[dict[str, Any]], *, replace: bool = False
) -> Path:
    """Publish `rows` (see `model`) as the snapshot of `date`; returns the snapshot directory."""
    records = list(rows)
    table = pa.Table.from_pylist([{c: r.get(c) for c in COLUMNS} for r in records], schema=SNAPSHOT_SCHEMA)
    staged = store.staging_dir(date)
    staged.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, staged / "part-00000.parquet")
    return store.publish(staged, date, {"source": {"kind": "synthetic"}, "synthetic": True}, replace=replace)
