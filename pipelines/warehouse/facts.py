"""Facts: snapshots differenced into one row per model and snapshot date (the series rules in the package
docstring), written as delta-encoded Parquet; plus the per-model tables the differencing keeps (models, meta,
state, anomalies, snapshots)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.definitions import SNAPSHOT_DAY_OFFSET
from pipelines.store import Store
from pipelines.warehouse.schema import (
    FACT_COLUMNS,
    FACT_SCHEMA,
    FLAG_BASELINE,
    FLAG_CLAMPED,
    FLAG_MISSING,
    FLAG_NEW,
    FLAG_OK,
    META_COLUMNS,
    WarehouseError,
)

_ROW_GROUP_ROWS = 131_072
_PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 6,
    "use_dictionary": False,
    "column_encoding": dict.fromkeys(FACT_COLUMNS, "DELTA_BINARY_PACKED"),
    "write_statistics": True,
}


def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE models (key INTEGER, model_id VARCHAR);
        CREATE TABLE meta (key INTEGER, model_id VARCHAR, author VARCHAR, base_models VARCHAR[],
            base_relation VARCHAR, created_at TIMESTAMPTZ, pipeline_tag VARCHAR, library_name VARCHAR,
            params_total BIGINT, first_date DATE, last_date DATE);
        CREATE TABLE state (key INTEGER, last_date DATE, last_raw BIGINT, last_raw_date DATE, cum BIGINT,
            last_d30 BIGINT);
        CREATE TABLE anomalies (key INTEGER, date DATE, previous BIGINT, reported BIGINT);
        CREATE TABLE snapshots (date DATE, rows BIGINT, source_kind VARCHAR, synthetic BOOLEAN,
            source VARCHAR, provenance VARCHAR);
        """
    )


def _record_snapshots(con: duckdb.DuckDBPyConnection, store: Store, dates: Sequence[dt.date]) -> None:
    rows = []
    for date in dates:
        prov = store.provenance(date)
        source = prov.get("source") or {}
        summary = {k: prov.get(k) for k in ("scope", "started_at", "finished_at", "skipped", "retries")}
        rows.append(
            (
                date,
                int(prov.get("rows") or 0),
                source.get("kind"),
                bool(prov.get("synthetic", False)),
                json.dumps(source, sort_keys=True),
                json.dumps(summary, sort_keys=True, default=str),
            )
        )
    if rows:
        con.executemany("INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?)", rows)


def _facts_for_batch(con: duckdb.DuckDBPyConnection, files: list[str], target: Path) -> None:
    """Difference the batch against each model's last state (rules in the module docstring).

    Reads only the count columns of every file; metadata comes from the batch's last snapshot (and, for a
    model new in this batch that left before its end, from the snapshots it was in).
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE counts AS
        SELECT date, model_id, downloads_all_time AS raw, downloads_30d AS d30, created_at::DATE AS created
        FROM read_parquet(?, hive_partitioning = true, hive_types = {'date': 'DATE'})
        """,
        [files],
    )
    con.execute(
        """
        INSERT INTO models
        SELECT (SELECT coalesce(max(key), -1) FROM models) + row_number() OVER (ORDER BY model_id), model_id
        FROM (SELECT DISTINCT model_id FROM (SELECT model_id FROM counts ANTI JOIN models USING (model_id)));
        CREATE OR REPLACE TEMP TABLE batch AS
        SELECT m.key, c.date, c.raw, c.d30, c.created FROM counts c JOIN models m USING (model_id);
        DROP TABLE counts;
        CREATE OR REPLACE TEMP TABLE prev_dates AS
        SELECT date, lag(date) OVER (ORDER BY date) AS previous
        FROM (SELECT DISTINCT date FROM snapshots);
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE batch_facts AS
        WITH rows AS (
            SELECT key, date, raw, d30, created, false AS from_state FROM batch WHERE raw IS NOT NULL
            UNION ALL
            SELECT s.key, s.last_raw_date, s.last_raw, NULL, NULL, true
            FROM state s SEMI JOIN batch b USING (key) WHERE s.last_raw IS NOT NULL
        ),
        known AS (
            SELECT key, date, raw, d30, created, from_state,
                lag(raw) OVER w AS prev_raw, lag(date) OVER w AS prev_raw_date
            FROM rows WINDOW w AS (PARTITION BY key ORDER BY date)
        ),
        classified AS (
            SELECT k.key, k.date, k.raw, k.d30, k.prev_raw, k.prev_raw_date, k.created,
                CASE
                    WHEN k.prev_raw IS NULL AND p.previous IS NOT NULL AND k.created > p.previous
                        THEN {FLAG_NEW}
                    WHEN k.prev_raw IS NULL THEN {FLAG_BASELINE}
                    WHEN k.raw < k.prev_raw THEN {FLAG_CLAMPED}
                    ELSE {FLAG_OK}
                END AS flag
            FROM known k JOIN prev_dates p USING (date)
            WHERE NOT k.from_state
            UNION ALL
            SELECT key, date, raw, d30, NULL, NULL, created, {FLAG_MISSING} FROM batch WHERE raw IS NULL
        ),
        valued AS (
            SELECT key, date, raw, d30, prev_raw, flag,
                CASE flag WHEN {FLAG_OK} THEN raw - prev_raw WHEN {FLAG_NEW} THEN raw ELSE 0 END AS inc,
                CASE flag
                    WHEN {FLAG_OK} THEN date - prev_raw_date
                    WHEN {FLAG_NEW} THEN greatest(date - {SNAPSHOT_DAY_OFFSET:d} - created + 1, 1)
                    ELSE 0
                END AS span,
                CASE flag WHEN {FLAG_BASELINE} THEN raw ELSE 0 END AS baseline
            FROM classified
        )
        SELECT v.key::INTEGER AS key, v.date, v.raw, v.prev_raw,
            (coalesce(s.cum, 0) + sum(v.baseline + v.inc) OVER (PARTITION BY v.key ORDER BY v.date
                ROWS UNBOUNDED PRECEDING))::BIGINT AS cum,
            v.inc::BIGINT AS inc, v.span::SMALLINT AS span, v.baseline::BIGINT AS baseline,
            v.d30::BIGINT AS d30, v.flag::TINYINT AS flag
        FROM valued v LEFT JOIN state s USING (key)
        """
    )
    con.execute(
        f"INSERT INTO anomalies SELECT key, date, prev_raw, raw FROM batch_facts WHERE flag = {FLAG_CLAMPED}"
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE new_state AS
        SELECT key, max(date) AS last_date,
            arg_max(raw, date) FILTER (WHERE raw IS NOT NULL) AS last_raw,
            max(date) FILTER (WHERE raw IS NOT NULL) AS last_raw_date,
            arg_max(cum, date) AS cum,
            arg_max(d30, date) AS last_d30
        FROM batch_facts GROUP BY key;
        DELETE FROM state WHERE key IN (SELECT key FROM new_state);
        INSERT INTO state
        SELECT n.key, n.last_date, coalesce(n.last_raw, o.last_raw),
            coalesce(n.last_raw_date, o.last_raw_date), n.cum, n.last_d30
        FROM new_state n LEFT JOIN (SELECT * FROM state) o USING (key);
        """
    )
    _update_meta(con, files)
    table = con.sql(f"SELECT {', '.join(FACT_COLUMNS)} FROM batch_facts ORDER BY key, date").to_arrow_table()
    _write_facts(table.cast(FACT_SCHEMA), target)
    con.execute("DROP TABLE batch; DROP TABLE batch_facts; DROP TABLE new_state")


def _update_meta(con: duckdb.DuckDBPyConnection, files: list[str]) -> None:
    """Latest metadata of the batch's models: from its last snapshot, else from their last appearance."""
    columns = ", ".join(META_COLUMNS)
    last_file = [f for f in files if f.rsplit("/", 2)[-2] == files[-1].rsplit("/", 2)[-2]]
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE latest AS
        SELECT m.key, s.model_id, {columns}
        FROM read_parquet(?) s JOIN models m USING (model_id)
        """,
        [last_file],
    )
    orphans = con.execute(
        """
        SELECT DISTINCT m.model_id FROM batch b JOIN models m USING (key)
        WHERE b.key NOT IN (SELECT key FROM latest) AND b.key NOT IN (SELECT key FROM meta)
        """
    ).fetchall()
    if orphans:
        con.execute(
            f"""
            INSERT INTO latest
            SELECT m.key, s.model_id, {", ".join(f"arg_max(s.{c}, s.date)" for c in META_COLUMNS)}
            FROM read_parquet(?, hive_partitioning = true, hive_types = {{'date': 'DATE'}}) s
            JOIN models m USING (model_id) WHERE s.model_id IN (SELECT unnest(?::VARCHAR[]))
            GROUP BY m.key, s.model_id
            """,
            [files, [row[0] for row in orphans]],
        )
    changed = " OR ".join(f"l.{c} IS DISTINCT FROM o.{c}" for c in META_COLUMNS)
    con.execute(
        f"""
        CREATE TEMP TABLE IF NOT EXISTS meta_changed (key INTEGER);
        INSERT INTO meta_changed
        SELECT l.key FROM latest l LEFT JOIN meta o USING (key)
        WHERE o.key IS NULL OR {changed};
        CREATE OR REPLACE TEMP TABLE seen AS
        SELECT key, min(date) AS first_date, max(date) AS last_date FROM batch GROUP BY key;
        CREATE OR REPLACE TEMP TABLE merged_meta AS
        SELECT l.*, least(s.first_date, coalesce(o.first_date, s.first_date)) AS first_date, s.last_date
        FROM latest l JOIN seen s USING (key) LEFT JOIN meta o USING (key);
        DELETE FROM meta WHERE key IN (SELECT key FROM merged_meta);
        INSERT INTO meta SELECT * FROM merged_meta;
        DROP TABLE latest; DROP TABLE seen; DROP TABLE merged_meta;
        """
    )


def _write_facts(table: pa.Table, target: Path) -> None:
    """Delta-encoded, zstd-compressed, row groups small enough for one model's history to be one read."""
    tmp = target.with_name(f".{target.name}.tmp")
    pq.write_table(table, tmp, row_group_size=_ROW_GROUP_ROWS, **_PARQUET_OPTIONS)
    tmp.replace(target)


def _facts_relation(files: Sequence[Path]) -> str:
    """A SQL relation over facts files (paths are ours, quoted as literals)."""
    if not files:
        raise WarehouseError("no facts files to read")
    listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    return f"read_parquet([{listed}])"
