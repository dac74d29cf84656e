"""Maintenance: compaction of facts files into one model-major file, in bounded memory."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from pipelines.warehouse.facts import _PARQUET_OPTIONS, _ROW_GROUP_ROWS, _facts_relation
from pipelines.warehouse.schema import FACT_COLUMNS, FACT_SCHEMA

#: Facts files above this count are merged into one model-major file at the next refresh.
COMPACT_AFTER_FILES = 24
#: Rows per compaction step (bounds memory when merging facts files).
COMPACT_CHUNK_ROWS = 8_000_000


def _compact(con: duckdb.DuckDBPyConnection, staging: Path, *, everything: bool) -> None:
    """Merge facts files into one model-major file (long runs per model compress best).

    After a build from scratch every file is merged. After incremental refreshes, once there are more than
    COMPACT_AFTER_FILES files, all but the largest (the history merged before) are merged, so a refresh never
    rewrites the whole history. Streams key ranges of about COMPACT_CHUNK_ROWS rows: bounded memory.
    """
    files = sorted((staging / "facts").glob("*.parquet"))
    if not everything:
        if len(files) <= COMPACT_AFTER_FILES:
            return
        files.remove(max(files, key=lambda f: f.stat().st_size))
    if len(files) < 2:
        return
    facts = _facts_relation(files)
    rows, keys, first, last = con.execute(
        f"SELECT count(*), max(key) + 1, min(date), max(date) FROM {facts}"
    ).fetchall()[0]
    target = staging / "facts" / f"facts-{first.isoformat()}-{last.isoformat()}-c.parquet"
    tmp = target.with_name(f".{target.name}.tmp")
    step = max(1, keys * COMPACT_CHUNK_ROWS // max(rows, 1))
    with pq.ParquetWriter(tmp, FACT_SCHEMA, **_PARQUET_OPTIONS) as writer:
        for low in range(0, keys, step):
            chunk = con.sql(
                f"SELECT {', '.join(FACT_COLUMNS)} FROM {facts} WHERE key >= {low} AND key < {low + step} "
                "ORDER BY key, date"
            ).to_arrow_table()
            writer.write_table(chunk.cast(FACT_SCHEMA), row_group_size=_ROW_GROUP_ROWS)
    tmp.replace(target)
    for f in files:
        if f != target:
            f.unlink()
