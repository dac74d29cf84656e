"""Snapshots + registry -> the warehouse: compact download facts, attributed dimensions and rollups.

Layout (one directory per version; readers follow a pointer, so they never see a half-built warehouse)::

    <store>/warehouse/CURRENT                 {"version": "v000012"}, replaced atomically
    <store>/warehouse/v000012/manifest.json   dates and checksums built in, registry digest, sizes
    <store>/warehouse/v000012/facts/*.parquet one row per model and snapshot date (see FACT_COLUMNS)
    <store>/warehouse/v000012/tables.duckdb   dims, meta, state, anomalies, snapshots, rollups

Facts are immutable Parquet files sorted by (model key, date) and written with delta encoding + zstd, so a
model-day costs a few bytes: the key and date runs are nearly free and the cumulative count of a model grows
by small steps. A new version hard-links the previous facts files and adds one file per refresh; the small
DuckDB file holding everything that depends on the registry is copied and updated. A reader opens that file
read-only, so a refresh never blocks it, and an old version stays readable until it is pruned
(`KEEP_VERSIONS`).

Series rules (text in `pipelines.definitions`: gap_rule, clamping_rule, first_seen_rule, missing_rule):
per model, `inc` is the growth of the reported all-time count since the last reported value, clamped at 0,
attributed to the `span` days ending at `date`; `baseline` is a first count that belongs to no period; `cum`
is the cleaned cumulative count (baseline + every inc so far). Rollups spread each model's `inc` over its
days (`definitions.grouped_spread_sql`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock

from pipelines.attribution import RULES_VERSION, attribute
from pipelines.definitions import (
    RAM_REFERENCE_RANK,
    SNAPSHOT_DAY_OFFSET,
    atom_tracked_ids,
    grouped_spread_sql,
    size_class_sql,
)
from pipelines.integrity import Checked, check_snapshots, describe
from pipelines.lineage import ParentCache
from pipelines.periods import next_month
from pipelines.registry import Registry, load_registry
from pipelines.store import Store, write_json_atomic

WAREHOUSE_DIR = "warehouse"
POINTER = "CURRENT"
TABLES_FILE = "tables.duckdb"
KEEP_VERSIONS = 3
#: Bump when the build below changes meaning, so existing warehouses are rebuilt.
#: 10: the gap rule spreads each model's growth on its own (9 spread a group's sum); a snapshot's growth
#: ends on the day before its date (day-label rule; 9 ended it on the date).
#: 11: top organisations, concentration and candidates group namespaces by registry organisation.
BUILD_VERSION = 11
#: Snapshot rows processed per batch (bounds memory of the first build of a large store).
BATCH_ROWS = 4_000_000
#: Facts files above this count are merged into one model-major file at the next refresh.
COMPACT_AFTER_FILES = 24

FACT_COLUMNS = ("key", "date", "cum", "inc", "span", "baseline", "d30", "flag")
#: Rows per compaction step (bounds memory when merging facts files).
COMPACT_CHUNK_ROWS = 8_000_000
_ROW_GROUP_ROWS = 131_072
_PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 6,
    "use_dictionary": False,
    "column_encoding": dict.fromkeys(FACT_COLUMNS, "DELTA_BINARY_PACKED"),
    "write_statistics": True,
}
FLAG_OK, FLAG_CLAMPED, FLAG_MISSING, FLAG_BASELINE, FLAG_NEW = 0, 1, 2, 3, 4
_FACT_SCHEMA = pa.schema(
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
#: Organisations with the most downloads in the store whose daily rows are kept in a small table, so top-N
#: over any date range reads them only (exact while their N-th beats every other organisation's store total).
TOP_CANDIDATES = 2000
#: A model's count stands for the days after its snapshot until the next one, for at most this many days.
RAM_FILL_DAYS = 7
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
_META_COLUMNS = (
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


@dataclasses.dataclass(frozen=True)
class Version:
    """One built warehouse version: its directory and manifest."""

    path: Path
    manifest: dict[str, Any]

    @property
    def tables(self) -> Path:
        return self.path / TABLES_FILE

    @property
    def facts_dir(self) -> Path:
        return self.path / "facts"

    def facts_files(self) -> list[Path]:
        return sorted(self.facts_dir.glob("*.parquet"))


@dataclasses.dataclass(frozen=True)
class RefreshReport:
    """What a refresh did, for the summary line and for callers."""

    version: str
    mode: str  # "unchanged" | "incremental" | "rollups" | "full"
    new_dates: int
    models: int
    seconds: float
    reason: str
    quarantined: dict[str, str] = dataclasses.field(default_factory=dict)  # date -> why it was left out


def warehouse_root(store: Store) -> Path:
    return store.root / WAREHOUSE_DIR


def current_name(store: Store) -> str | None:
    """The name of the version the pointer names (cheap: readers check it before every query)."""
    pointer = warehouse_root(store) / POINTER
    try:
        return json.loads(pointer.read_text(encoding="utf-8"))["version"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        return None


def current_version(store: Store) -> Version | None:
    """The version the pointer names (None before the first build)."""
    name = current_name(store)
    if name is None:
        return None
    path = warehouse_root(store) / name
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        return None
    return Version(path, json.loads(manifest_path.read_text(encoding="utf-8")))


def kept_versions(store: Store) -> list[Version]:
    """Every complete version still kept (up to KEEP_VERSIONS), newest first: where a reader falls back to
    when the current one cannot be read."""
    root = warehouse_root(store)
    paths = sorted((p for p in root.glob("v[0-9]*") if (p / "manifest.json").is_file()), reverse=True)
    return [Version(p, json.loads((p / "manifest.json").read_text(encoding="utf-8"))) for p in paths]


def _snapshot_checksums(store: Store, dates: Iterable[dt.date]) -> dict[str, str]:
    """date -> sha256 over the snapshot's recorded file checksums (cheap: provenance only)."""
    out = {}
    for date in dates:
        files = store.provenance(date).get("files") or []
        out[date.isoformat()] = ",".join(sorted(f"{f['name']}:{f['sha256']}" for f in files))
    return out


def _checked_snapshots(store: Store) -> Checked:
    """The snapshots a build may read (see `pipelines.integrity`); an error when none is left."""
    checked = check_snapshots(store)
    if not checked.dates:
        raise WarehouseError(f"nothing to build in {store.root}: {describe(checked.quarantined)}")
    return checked


def _inputs_key(registry: Registry, parents: ParentCache) -> dict[str, Any]:
    return {
        "build_version": BUILD_VERSION,
        "rules_version": RULES_VERSION,
        "registry_digest": registry.digest,
        "parents_digest": parents.digest,
        "atom_digest": hashlib.sha256("\n".join(atom_tracked_ids()).encode("utf-8")).hexdigest(),
    }


def untyped_columns(version: Version) -> list[str]:
    """`table.column` of every column of this version typed NULL (left by builds that inferred types from a
    first snapshot holding only nulls there; no later value can be stored in such a column)."""
    con = duckdb.connect(str(version.tables), read_only=True)
    try:
        rows = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'main' AND data_type = '\"NULL\"' ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()
    return [f"{table}.{column}" for table, column in rows]


def plan(store: Store, registry: Registry, parents: ParentCache | None = None) -> tuple[str, str]:
    """What a refresh would do and why: ("unchanged"|"incremental"|"rollups"|"full", reason)."""
    parents = parents if parents is not None else ParentCache.of(store)
    if not store.dates():
        raise WarehouseError(
            f"no snapshots in {store.root}: take one (`python -m pipelines snapshot`) or backfill "
            "(`python -m pipelines backfill`)"
        )
    checked = _checked_snapshots(store)  # quarantined snapshots count as absent
    dates = checked.dates
    version = current_version(store)
    if version is None:
        return "full", "no warehouse yet"
    built = version.manifest.get("snapshots", {})
    if version.manifest.get("build_version") != BUILD_VERSION:
        return "full", "the warehouse build rules changed"
    if set(built) & set(checked.quarantined):
        return "full", "a snapshot built in failed its checksum"
    untyped = untyped_columns(version)
    if untyped:
        return "full", "repairing columns an older build left without a type: " + ", ".join(untyped)
    checksums = _snapshot_checksums(store, [d for d in dates if d.isoformat() in built])
    if set(built) - set(checksums):
        return "full", "a snapshot built in was removed"
    if any(built[k] != v for k, v in checksums.items()):
        return "full", "a snapshot built in was replaced"
    new = [d for d in dates if d.isoformat() not in built]
    if new and built and min(new).isoformat() < max(built):
        return "full", f"{len(new)} snapshot(s) older than the latest built one (backfill)"
    inputs_changed = {k: v for k, v in _inputs_key(registry, parents).items() if version.manifest.get(k) != v}
    if inputs_changed:
        return "rollups", "changed: " + ", ".join(sorted(inputs_changed))
    if new:
        return "incremental", f"{len(new)} new snapshot(s)"
    return "unchanged", "up to date"


def refresh(
    store: Store,
    registry: Registry | None = None,
    parents: ParentCache | None = None,
    *,
    rebuild: bool = False,
    progress: bool = False,
) -> RefreshReport:
    """Bring the warehouse up to date with the store and the registry; one writer at a time (file lock).

    New snapshots after the latest built date are appended (incremental); a registry or lineage change
    recomputes dimensions and rollups from the existing facts; anything else (a backfilled older date, a
    replaced snapshot, new build rules) rebuilds from the snapshots.
    """
    began = time.perf_counter()
    registry = registry if registry is not None else load_registry()
    parents = parents if parents is not None else ParentCache.of(store)
    root = warehouse_root(store)
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / ".lock")):
        mode, reason = ("full", "rebuild requested") if rebuild else plan(store, registry, parents)
        previous = current_version(store)
        if mode == "unchanged" and previous is not None:
            models = int(previous.manifest.get("models", 0))
            return RefreshReport(
                previous.path.name,
                mode,
                0,
                models,
                time.perf_counter() - began,
                reason,
                previous.manifest.get("quarantined") or {},
            )
        builder = _Builder(store, registry, parents, previous if mode != "full" else None, progress)
        version = builder.run(mode)
    return RefreshReport(
        version.path.name,
        mode,
        builder.new_dates,
        int(version.manifest["models"]),
        time.perf_counter() - began,
        reason,
        version.manifest["quarantined"],
    )


def _next_name(root: Path) -> str:
    numbers = [int(p.name[1:]) for p in root.glob("v[0-9]*") if p.name[1:].isdigit()]
    return f"v{max(numbers, default=0) + 1:06d}"


class _Builder:
    """Builds one new version next to the current one, then swaps the pointer."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        parents: ParentCache,
        previous: Version | None,
        progress: bool,
    ) -> None:
        self.store, self.registry, self.parents, self.previous = store, registry, parents, previous
        self.progress = progress
        self.root = warehouse_root(store)
        self.path = self.root / _next_name(self.root)
        self.new_dates = 0
        self.checked = _checked_snapshots(store)  # only snapshots that match their checksums are read

    def run(self, mode: str) -> Version:
        """Build and swap in the new version; a failed build (a full disk) leaves no half-built directory."""
        staging = self.path.with_name(f".{self.path.name}.building")
        try:
            return self._build(mode, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def _build(self, mode: str, staging: Path) -> Version:
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "facts").mkdir(parents=True)
        if self.previous is not None:
            for facts in self.previous.facts_files():
                os.link(facts, staging / "facts" / facts.name)
            shutil.copyfile(self.previous.tables, staging / TABLES_FILE)
        con = duckdb.connect(str(staging / TABLES_FILE))
        try:
            con.execute("SET TimeZone = 'UTC'; SET enable_progress_bar = false")
            if self.previous is None:
                _create_tables(con)
            built = set(self.previous.manifest["snapshots"]) if self.previous else set()
            new = [d for d in self.checked.dates if d.isoformat() not in built]
            self.new_dates = len(new)
            _record_snapshots(con, self.store, new)
            appended = self._append_facts(con, staging, new)
            _refresh_dims(con, self.registry, self.parents, only_changed=mode == "incremental")
            all_facts = _facts_relation(sorted((staging / "facts").glob("*.parquet")))
            if mode == "incremental":
                previous_files = self.previous.facts_files() if self.previous else []
                _move_changed(con, [staging / "facts" / f.name for f in previous_files])
                since = con.execute(
                    f"SELECT min(date - greatest(span, 1)::INTEGER + 1) FROM {_facts_relation(appended)}"
                ).fetchall()[0][0]
                if con.execute("SELECT count(*) FROM old_dims").fetchall()[0][0]:
                    since = dt.date.min
                _add_rollups(con, _facts_relation(appended))
                _refresh_monthly(con, since)
                if since == dt.date.min:  # sizes or release dates changed: the references change too
                    _rebuild_ram_reference(con, all_facts)
                else:
                    _add_ram_reference(con, _facts_relation(appended))
            else:
                _rebuild_rollups(con, all_facts)
                _rebuild_ram_reference(con, all_facts)
            _compact(con, staging, everything=mode != "incremental")
            con.execute("CHECKPOINT")
            models = con.execute("SELECT count(*) FROM models").fetchall()[0][0]
        finally:
            con.close()
        files = sorted((staging / "facts").glob("*.parquet"))
        fact_rows = sum(pq.read_metadata(f).num_rows for f in files)
        manifest = {
            **_inputs_key(self.registry, self.parents),
            "version": self.path.name,
            "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "snapshots": _snapshot_checksums(self.store, self.checked.dates),
            "quarantined": self.checked.quarantined,
            "models": int(models),
            "fact_rows": int(fact_rows),
            "fact_bytes": int(sum(f.stat().st_size for f in files)),
            "tables_bytes": (staging / TABLES_FILE).stat().st_size,
        }
        write_json_atomic(staging / "manifest.json", manifest)
        os.rename(staging, self.path)
        write_json_atomic(self.root / POINTER, {"version": self.path.name})
        _prune(self.root, keep=self.path.name)
        return Version(self.path, manifest)

    def _append_facts(
        self, con: duckdb.DuckDBPyConnection, staging: Path, dates: Sequence[dt.date]
    ) -> list[Path]:
        """Turn new snapshots into facts, in date order, in batches of about BATCH_ROWS rows."""
        written: list[Path] = []
        batches: list[list[dt.date]] = []
        rows = 0
        for date in dates:
            count = int(self.store.provenance(date).get("rows") or 0)
            if not batches or rows + count > BATCH_ROWS:
                batches.append([])
                rows = 0
            batches[-1].append(date)
            rows += count
        iterator: Iterable[list[dt.date]] = batches
        if self.progress and sys.stderr.isatty() and len(batches) > 1:
            from tqdm import tqdm

            iterator = tqdm(batches, desc="warehouse", unit="batch")
        for batch in iterator:
            files = [str(f) for d in batch for f in self.store.data_files(d)]
            target = staging / "facts" / f"facts-{batch[0].isoformat()}-{batch[-1].isoformat()}.parquet"
            _facts_for_batch(con, files, target)
            written.append(target)
        return written


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
    _write_facts(table.cast(_FACT_SCHEMA), target)
    con.execute("DROP TABLE batch; DROP TABLE batch_facts; DROP TABLE new_state")


def _update_meta(con: duckdb.DuckDBPyConnection, files: list[str]) -> None:
    """Latest metadata of the batch's models: from its last snapshot, else from their last appearance."""
    columns = ", ".join(_META_COLUMNS)
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
            SELECT m.key, s.model_id, {", ".join(f"arg_max(s.{c}, s.date)" for c in _META_COLUMNS)}
            FROM read_parquet(?, hive_partitioning = true, hive_types = {{'date': 'DATE'}}) s
            JOIN models m USING (model_id) WHERE s.model_id IN (SELECT unnest(?::VARCHAR[]))
            GROUP BY m.key, s.model_id
            """,
            [files, [row[0] for row in orphans]],
        )
    changed = " OR ".join(f"l.{c} IS DISTINCT FROM o.{c}" for c in _META_COLUMNS)
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


def _refresh_dims(
    con: duckdb.DuckDBPyConnection, registry: Registry, parents: ParentCache, *, only_changed: bool
) -> None:
    """Attribute models' latest metadata into `dims`; models already there whose groups changed are left in
    the temp table `old_dims` with their previous dimensions.

    With `only_changed` (same registry and lineage lookups as the current dims), only models whose metadata
    changed in this refresh and their descendants are attributed again, with their ancestors as context.
    """
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'dims' AND table_schema = 'main'"
    ).fetchall()[0][0]
    subset = ""
    if only_changed and exists:
        con.execute(LINEAGE_CLOSURE_SQL)
        subset = "WHERE model_id IN (SELECT model_id FROM context)"
    meta = con.execute(
        "SELECT key, model_id, author, base_models, base_relation, created_at, pipeline_tag, library_name, "
        "params_total, NULL::BIGINT AS downloads_30d, NULL::BIGINT AS downloads_all_time "
        f"FROM meta {subset} ORDER BY key"
    ).df()
    attributed = attribute(meta.drop(columns=["key"]), registry, parents)
    atom = set(atom_tracked_ids())
    dims = pd.DataFrame(
        {
            "key": meta["key"].astype("int32"),
            "model_id": attributed["model_id"],
            "namespace": attributed["namespace"],
            "organization": attributed["organization"],
            "publisher_country": attributed["publisher_country"],
            "publisher_region": attributed["publisher_region"],
            "lineage_root": attributed["lineage_root"],
            "lineage_country": attributed["lineage_country"],
            "lineage_region": attributed["lineage_region"],
            "lineage_depth": attributed["lineage_depth"],
            "base_model": attributed["base_model"],
            "first_party": attributed["first_party"].astype(bool),
            "atom": attributed["model_id"].isin(atom),
            "root_atom": attributed["lineage_root"].isin(atom),
            "task": attributed["pipeline_tag"],
            "library": attributed["library_name"],
            "params_total": attributed["params_total"],
            "created_at": attributed["created_at"],
            "base_relation": attributed["base_relation"],
        }
    )
    con.register("dims_frame", dims)
    typed = ", ".join(f"{name}::{kind} AS {name}" for name, kind in DIMS_SCHEMA.items() if name != "grp")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE fresh_dims AS
        SELECT {typed}
        FROM (
            SELECT * EXCLUDE (base_relation, created_at),
                CASE WHEN base_model IS NULL THEN 'original' ELSE coalesce(base_relation, 'unknown') END
                    AS relation,
                {size_class_sql("params_total")} AS size_class,
                created_at::DATE AS created
            FROM dims_frame
        )
        """
    )
    con.unregister("dims_frame")
    if subset:  # only the affected models change; everything else in dims stays as it is
        con.execute(
            "CREATE OR REPLACE TEMP TABLE new_dims AS "
            "SELECT * FROM fresh_dims WHERE model_id IN (SELECT model_id FROM affected)"
        )
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE new_dims AS SELECT * FROM fresh_dims")
    con.execute("DROP TABLE fresh_dims")
    grouping = ", ".join(dict.fromkeys((*ROLLUP_DIMS, *NAMESPACE_DIMS)))
    if exists:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE old_dims AS
            SELECT * FROM dims WHERE key IN (
                SELECT key FROM (
                    SELECT key, {grouping} FROM dims SEMI JOIN new_dims USING (key)
                    EXCEPT SELECT key, {grouping} FROM new_dims
                )
            )
            """
        )
    else:
        columns = ", ".join(f"{column} {kind}" for column, kind in DIMS_SCHEMA.items())
        groups = ", ".join(f"{column} {DIMS_SCHEMA[column]}" for column in ("grp", *NAMESPACE_DIMS))
        con.execute(f"CREATE OR REPLACE TEMP TABLE old_dims ({columns})")
        con.execute(f"CREATE TABLE ns_groups ({groups})")
        con.execute(f"CREATE TABLE dims ({columns})")
    # Group numbers are only ever added, so rollup rows keep pointing at the right group.
    con.execute(
        f"""
        INSERT INTO ns_groups
        SELECT ((SELECT coalesce(max(grp), 0) FROM ns_groups) + row_number() OVER ())::INTEGER, *
        FROM (SELECT DISTINCT {", ".join(NAMESPACE_DIMS)} FROM new_dims
              EXCEPT SELECT {", ".join(NAMESPACE_DIMS)} FROM ns_groups)
        """
    )
    same_group = " AND ".join(f"g.{c} IS NOT DISTINCT FROM d.{c}" for c in NAMESPACE_DIMS)
    con.execute("DELETE FROM dims WHERE key IN (SELECT key FROM new_dims)")
    con.execute(
        f"INSERT INTO dims BY NAME SELECT d.*, g.grp FROM new_dims d JOIN ns_groups g ON {same_group}"
    )
    con.execute("DROP TABLE new_dims")


#: The models an incremental refresh attributes again: `affected`, the models whose first-parent chain
#: (`meta.base_models[1]`, the rule of `pipelines.lineage`) passes through one in `meta_changed`, and
#: `context`, every model on those chains. Tested against `trace_lineage` with hypothesis.
LINEAGE_CLOSURE_SQL = """
    CREATE TEMP TABLE IF NOT EXISTS meta_changed (key INTEGER);
    CREATE OR REPLACE TEMP TABLE affected AS
    WITH RECURSIVE down(model_id) AS (
        SELECT m.model_id FROM meta m SEMI JOIN meta_changed c USING (key)
        UNION
        SELECT m.model_id FROM meta m JOIN down d ON m.base_models[1] = d.model_id
    )
    SELECT DISTINCT model_id FROM down;
    CREATE OR REPLACE TEMP TABLE context AS
    WITH RECURSIVE up(model_id) AS (
        SELECT model_id FROM affected
        UNION
        SELECT m.base_models[1] FROM meta m JOIN up u ON m.model_id = u.model_id
        WHERE m.base_models[1] IS NOT NULL
    )
    SELECT DISTINCT model_id FROM up;
"""


def _rollup_queries(facts: str, dims_table: str = "dims", sign: int = 1) -> dict[str, str]:
    """SQL of each rollup's rows from a facts relation (all facts, or just the new ones), grouped by the
    dimensions in `dims_table`; sign -1 gives rows that take a contribution back out."""
    dims = ", ".join(f"d.{c}" for c in ROLLUP_DIMS)
    plain = ", ".join(ROLLUP_DIMS)
    # The gap rule spreads each model's growth on its own (definitions.spread); models of a group that share
    # a gap and the remainder of their growth by its length are spread together, which gives the same days.
    spread = f"""
        SELECT (date - {SNAPSHOT_DAY_OFFSET:d} - (span - i)::INTEGER) AS day, {{cols}},
            {grouped_spread_sql("i", "inc", "models", "remainder", "span")} * {sign} AS downloads
        FROM (SELECT *, unnest(range(1, span + 1)) AS i FROM ({{grouped}}))
    """
    gap = "f.date, f.span::BIGINT AS span, f.inc % f.span AS remainder"
    growth = "count(*)::BIGINT AS models, sum(f.inc)::BIGINT AS inc"
    grouped_main = f"""
        SELECT {gap}, {dims}, {growth}
        FROM {facts} f JOIN {dims_table} d USING (key) WHERE f.inc > 0 GROUP BY ALL
    """
    grouped_release = f"""
        SELECT {gap}, {dims}, date_trunc('month', d.created)::DATE AS release_month, {growth}
        FROM {facts} f JOIN {dims_table} d USING (key) WHERE f.inc > 0 GROUP BY ALL
    """
    grouped_ns = f"""
        SELECT {gap}, d.grp, {growth}
        FROM {facts} f JOIN {dims_table} d USING (key) WHERE f.inc > 0 GROUP BY ALL
    """
    return {
        "roll_day": f"""
            SELECT day, {plain}, sum(downloads)::BIGINT AS downloads, sum(baseline)::BIGINT AS baseline FROM (
                SELECT day, {plain}, downloads, 0 AS baseline
                FROM ({spread.format(cols=plain, grouped=grouped_main)})
                UNION ALL
                SELECT f.date - {SNAPSHOT_DAY_OFFSET:d} AS day, {dims}, 0 AS downloads, f.baseline * {sign}
                FROM {facts} f JOIN {dims_table} d USING (key) WHERE f.baseline > 0
            ) GROUP BY ALL
        """,
        "roll_snap": f"""
            SELECT f.date, {dims}, (sum(f.d30) * {sign})::BIGINT AS d30,
                (count(*) * {sign})::INTEGER AS models,
                (count(*) FILTER (WHERE f.flag = {FLAG_CLAMPED}) * {sign})::INTEGER AS clamped,
                (count(*) FILTER (WHERE f.flag = {FLAG_MISSING}) * {sign})::INTEGER AS missing
            FROM {facts} f JOIN {dims_table} d USING (key) GROUP BY ALL
        """,
        "roll_release": f"""
            SELECT date_trunc('month', day)::DATE AS month, {plain}, release_month,
                sum(downloads)::BIGINT AS downloads
            FROM ({spread.format(cols=plain + ", release_month", grouped=grouped_release)}) GROUP BY ALL
        """,
        "ns_day": f"""
            SELECT day, grp, sum(downloads)::BIGINT AS downloads
            FROM ({spread.format(cols="grp", grouped=grouped_ns)}) GROUP BY ALL
        """,
    }


def _rebuild_rollups(con: duckdb.DuckDBPyConnection, facts: str) -> None:
    for name, query in _rollup_queries(facts).items():
        order = {"roll_snap": "date", "roll_release": "month"}.get(name, "day")
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM ({query}) ORDER BY {order}")
    _refresh_monthly(con, None)


def _add_rollups(con: duckdb.DuckDBPyConnection, facts: str, dims_table: str = "dims", sign: int = 1) -> None:
    """Append rows for these facts; a (day, group) may then have several rows (queries sum them)."""
    for name, query in _rollup_queries(facts, dims_table, sign).items():
        con.execute(f"INSERT INTO {name} {query}")


def _move_changed(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> None:
    """Models whose dimensions changed take their past downloads to their new groups: their earlier
    contributions are taken out under the old dimensions (`old_dims`) and added under the new ones."""
    if not files:
        return
    facts = f"(SELECT * FROM {_facts_relation(files)} WHERE key IN (SELECT key FROM old_dims))"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE moved_dims AS SELECT * FROM dims SEMI JOIN old_dims USING (key)"
    )
    _add_rollups(con, facts, "old_dims", -1)
    _add_rollups(con, facts, "moved_dims", 1)


#: Monthly copies of the daily rollups (whole months of a view read these: 30x fewer rows).
_MONTHLY = {
    "roll_month": (
        "roll_day",
        (*ROLLUP_DIMS,),
        "sum(downloads)::BIGINT AS downloads, sum(baseline)::BIGINT AS baseline",
    ),
    "ns_month": ("ns_day", ("grp",), "sum(downloads)::BIGINT AS downloads"),
}


def _refresh_monthly(con: duckdb.DuckDBPyConnection, since: dt.date | None) -> None:
    """Recompute the monthly rollups from the daily ones, all of them or from the month of `since` on."""
    for monthly, (daily, keys, sums) in _MONTHLY.items():
        select = (
            f"SELECT date_trunc('month', day)::DATE AS month, {', '.join(keys)}, {sums} FROM {daily} "
            "WHERE day >= date_trunc('month', ?::DATE) GROUP BY ALL ORDER BY month"
        )
        if since is None:
            con.execute(f"CREATE OR REPLACE TABLE {monthly} AS {select}", [dt.date.min])
        else:
            con.execute(f"DELETE FROM {monthly} WHERE month >= date_trunc('month', ?::DATE)", [since])
            con.execute(f"INSERT INTO {monthly} {select}", [since])
    _refresh_organisations(con, since)


def _refresh_organisations(con: duckdb.DuckDBPyConnection, since: dt.date | None) -> None:
    """Tables that make top organisations of any date range cheap.

    `ns_before(month, grp, downloads)`: every group's downloads before the first day of each month (dense,
    from the first month to the month after the last day), so a range's downloads are two lookups plus
    the days of two partial months. `ns_info(grp, ...)`: each group's models and all-time downloads now.
    Months from the one after `since` on are recomputed (all of them when `since` is None).
    """
    first, last = con.execute("SELECT min(month), max(month) FROM ns_month").fetchall()[0]
    if first is None:
        first = last = dt.date.today().replace(day=1)
    if since is None:
        con.execute("CREATE OR REPLACE TABLE ns_before (month DATE, grp INTEGER, downloads BIGINT)")
        start = first
    else:
        start = max(first, next_month(since.replace(day=1)))
    month = start
    while month <= next_month(last):
        con.execute("DELETE FROM ns_before WHERE month = ?", [month])
        con.execute(
            """
            INSERT INTO ns_before
            SELECT ?::DATE, g.grp, (coalesce(p.downloads, 0) + coalesce(m.downloads, 0))::BIGINT
            FROM ns_groups g
            LEFT JOIN (SELECT grp, downloads FROM ns_before
                       WHERE month = ?::DATE - INTERVAL 1 MONTH) p USING (grp)
            LEFT JOIN (SELECT grp, sum(downloads) AS downloads FROM ns_month
                       WHERE month = ?::DATE - INTERVAL 1 MONTH GROUP BY grp) m USING (grp)
            """,
            [month, month, month],
        )
        month = next_month(month)
    con.execute(
        """
        CREATE OR REPLACE TABLE ns_info AS
        SELECT d.grp, any_value(d.organization) AS organization, any_value(d.publisher_country) AS country,
            count(*)::INTEGER AS n_models, sum(s.cum)::BIGINT AS downloads_all_time
        FROM dims d JOIN state s USING (key) GROUP BY d.grp
        """
    )
    _refresh_candidates(con, since)


def _refresh_candidates(con: duckdb.DuckDBPyConnection, since: dt.date | None) -> None:
    """`ns_rank(namespace, candidate)`: whether each organisation is a top-N candidate; `ns_month_bound(month,
    bound)`: the most any non-candidate organisation downloaded in each month, so the sum over the months a
    range touches bounds every non-candidate's downloads in that range (tight for short ranges, unlike a
    whole-store total); `ns_top_groups`, `ns_top_before`, `ns_top_info` and `ns_top_day`: the candidates' rows
    of `ns_groups` (plus `org`, the namespace's lowest group number: an integer key to aggregate organisations
    by), `ns_before`, `ns_info`, `ns_day`. Any candidate set gives exact answers (queries check the
    bound of the others), so an incremental refresh keeps the set and only adds the candidates' daily rows
    from `since` on; a full one takes the TOP_CANDIDATES organisations with the most downloads.
    """
    keep = since is not None and since > dt.date.min
    if keep:
        con.execute("CREATE OR REPLACE TEMP TABLE kept AS SELECT org_key FROM ns_rank WHERE candidate")
        candidate = "g.org_key IN (SELECT org_key FROM kept)"
    else:
        candidate = f"row_number() OVER (ORDER BY sum(b.downloads) DESC, g.org_key) <= {TOP_CANDIDATES:d}"
    con.execute(
        f"""
        CREATE OR REPLACE TABLE ns_rank AS
        SELECT g.org_key, {candidate} AS candidate
        FROM ns_before b JOIN (SELECT grp, {ORG_KEY_SQL} AS org_key FROM ns_groups) g USING (grp)
        WHERE b.month = (SELECT max(month) FROM ns_before) GROUP BY g.org_key
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE ns_month_bound AS
        SELECT month, max(downloads)::BIGINT AS bound
        FROM (
            SELECT m.month, {ORG_KEY_SQL} AS org_key, sum(m.downloads) AS downloads
            FROM ns_month m JOIN ns_groups g USING (grp)
            WHERE {ORG_KEY_SQL} IN (SELECT org_key FROM ns_rank WHERE NOT candidate)
            GROUP BY ALL
        )
        GROUP BY month ORDER BY month
        """
    )
    con.execute(
        f"CREATE OR REPLACE TABLE ns_top_groups AS "
        f"SELECT *, min(grp) OVER (PARTITION BY {ORG_KEY_SQL}) AS org FROM ns_groups "
        f"WHERE {ORG_KEY_SQL} IN (SELECT org_key FROM ns_rank WHERE candidate) ORDER BY grp"
    )
    for table, order in (("before", "month, grp"), ("info", "grp")):
        con.execute(
            f"CREATE OR REPLACE TABLE ns_top_{table} AS SELECT * FROM ns_{table} "
            f"WHERE grp IN (SELECT grp FROM ns_top_groups) ORDER BY {order}"
        )
    # Views without filters need only one row per organisation: `org_top_*`, keyed by its lowest group
    # number (stable: group numbers are only added), the same tables summed over each organisation's groups.
    con.execute(
        """
        CREATE OR REPLACE TABLE org_top_groups AS
        SELECT org AS grp, arg_min(namespace, grp) AS namespace FROM ns_top_groups GROUP BY org ORDER BY grp;
        CREATE OR REPLACE TABLE org_top_before AS
        SELECT b.month, m.org AS grp, sum(b.downloads)::BIGINT AS downloads
        FROM ns_top_before b JOIN ns_top_groups m USING (grp) GROUP BY ALL ORDER BY month, grp;
        CREATE OR REPLACE TABLE org_top_info AS
        SELECT m.org AS grp, arg_min(i.organization, i.grp) AS organization,
            arg_min(i.country, i.grp) AS country, sum(i.n_models)::INTEGER AS n_models,
            sum(i.downloads_all_time)::BIGINT AS downloads_all_time
        FROM ns_top_info i JOIN ns_top_groups m USING (grp) GROUP BY m.org ORDER BY grp;
        """
    )
    daily = {
        "ns_top_day": "SELECT n.day, n.grp, sum(n.downloads)::BIGINT AS downloads FROM ns_day n "
        "WHERE n.day >= ? AND n.grp IN (SELECT grp FROM ns_top_groups) GROUP BY ALL ORDER BY n.day",
        "org_top_day": "SELECT n.day, m.org AS grp, sum(n.downloads)::BIGINT AS downloads FROM ns_top_day n "
        "JOIN ns_top_groups m USING (grp) WHERE n.day >= ? GROUP BY ALL ORDER BY n.day",
    }
    for table, rows in daily.items():
        if keep:
            con.execute(f"DELETE FROM {table} WHERE day >= ?", [since])
            con.execute(f"INSERT INTO {table} {rows}", [since])
        else:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {rows}", [dt.date.min])
    # `org_top_cum`: per candidate, its name, country, models, all-time downloads and `cum`, a list of its
    # downloads before each day from `first_day` (the first snapshot's month) to the month after the last:
    # an unfiltered top-N is one scan of 2,000 rows with three list lookups each, no join, no aggregation.
    # `roll_cum(day, cum)`: every organisation's downloads before each day, for the share of the total.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE days AS
        SELECT unnest(range(min(month), max(month) + INTERVAL 1 DAY, INTERVAL 1 DAY))::DATE AS day
        FROM org_top_before;
        CREATE OR REPLACE TABLE roll_cum AS
        SELECT day, coalesce(sum(downloads) OVER (
            ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::BIGINT AS cum
        FROM (
            SELECT day, sum(downloads) AS downloads FROM (
                SELECT day, downloads FROM roll_day UNION ALL SELECT day, 0 FROM days
            ) GROUP BY day
        )
        QUALIFY day >= (SELECT min(day) FROM days) AND day <= (SELECT max(day) FROM days)
        ORDER BY day
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TABLE org_top_cum AS
        WITH daily AS (
            SELECT d.day, g.grp, coalesce(t.downloads, 0) AS downloads
            FROM days d CROSS JOIN org_top_groups g LEFT JOIN org_top_day t USING (day, grp)
        ),
        running AS (
            SELECT d.day, d.grp, (b.downloads + coalesce(sum(d.downloads) OVER (
                PARTITION BY d.grp, date_trunc('month', d.day) ORDER BY d.day
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))::BIGINT AS cum
            FROM daily d JOIN org_top_before b ON b.grp = d.grp AND b.month = date_trunc('month', d.day)
        )
        SELECT r.grp, g.namespace, i.organization, i.country, i.downloads_all_time, i.n_models,
            min(r.day) AS first_day, list(r.cum ORDER BY r.day) AS cum
        FROM running r JOIN org_top_groups g USING (grp) JOIN org_top_info i USING (grp)
        GROUP BY ALL ORDER BY r.grp
        """
    )


def ram_counts_sql(facts: str, dims: str) -> str:
    """SQL of (key, size_class, age_days, cum): each model's cleaned all-time count at each age in days.

    A snapshot gives the count at its own date; the days between two reported counts (at most RAM_FILL_DAYS
    after the earlier one) take the earlier count, which the later row carries as `cum - inc`. Missing
    counts give nothing, so every model has at most one count per age and a count never moves once set.
    `dims` needs key, size_class and created.
    """
    return f"""
        SELECT f.key, d.size_class, ((f.date - d.created) - f.back)::INTEGER AS age_days,
            CASE WHEN f.back = 0 THEN f.cum ELSE f.cum - f.inc END AS cum
        FROM (
            SELECT key, date, cum, inc, unnest(
                CASE WHEN flag IN ({FLAG_OK}, {FLAG_CLAMPED}) AND span > 1
                    THEN list_prepend(0, range(greatest(1, span - {RAM_FILL_DAYS}), span)) ELSE [0] END
            ) AS back
            FROM {facts} WHERE flag <> {FLAG_MISSING}
        ) f
        JOIN (
            SELECT key, size_class, created FROM {dims} WHERE size_class IS NOT NULL AND created IS NOT NULL
        ) d USING (key)
        WHERE f.date - f.back::INTEGER >= d.created
    """


def ram_reference_curve_sql(table: str = "ram_reference") -> str:
    """SQL of (size_class, age_days, reference): each size class's RAM reference curve, the running maximum
    over ages of the RAM_REFERENCE_RANK-th best count (NULL until some age has that many); the rule, and its
    Python reference, are `pipelines.definitions.ram_reference_curve`."""
    return f"""
        SELECT size_class, age_days,
            max(CASE WHEN len(top) >= {RAM_REFERENCE_RANK} THEN top[{RAM_REFERENCE_RANK}] END) OVER (
                PARTITION BY size_class ORDER BY age_days ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
            ) AS reference
        FROM {table}
    """


def _ram_tops(facts: str) -> str:
    return (
        f"SELECT size_class, age_days, max(cum, {RAM_REFERENCE_RANK}) AS top "
        f"FROM ({ram_counts_sql(facts, 'dims')}) GROUP BY ALL"
    )


def _rebuild_ram_reference(con: duckdb.DuckDBPyConnection, facts: str) -> None:
    """`ram_reference(size_class, age_days, top)`: the RAM_REFERENCE_RANK highest counts at each age in each
    size class, highest first (RAM v2's reference is the last of them once there are that many)."""
    con.execute(
        f"CREATE OR REPLACE TABLE ram_reference AS "
        f"SELECT * FROM ({_ram_tops(facts)}) ORDER BY size_class, age_days"
    )


def _add_ram_reference(con: duckdb.DuckDBPyConnection, facts: str) -> None:
    """Merge new facts into `ram_reference`: the top counts of a union are the top of both tops (exact,
    because a model's count at an age is set once, by the facts that first reach that age)."""
    con.execute(
        f"""
        CREATE OR REPLACE TABLE ram_reference AS
        SELECT size_class, age_days,
            list_slice(list_sort(flatten(list(top)), 'DESC'), 1, {RAM_REFERENCE_RANK}) AS top
        FROM (SELECT * FROM ram_reference UNION ALL {_ram_tops(facts)})
        GROUP BY ALL ORDER BY size_class, age_days
        """
    )


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
    with pq.ParquetWriter(tmp, _FACT_SCHEMA, **_PARQUET_OPTIONS) as writer:
        for low in range(0, keys, step):
            chunk = con.sql(
                f"SELECT {', '.join(FACT_COLUMNS)} FROM {facts} WHERE key >= {low} AND key < {low + step} "
                "ORDER BY key, date"
            ).to_arrow_table()
            writer.write_table(chunk.cast(_FACT_SCHEMA), row_group_size=_ROW_GROUP_ROWS)
    tmp.replace(target)
    for f in files:
        if f != target:
            f.unlink()


def _prune(root: Path, keep: str) -> None:
    """Remove old versions beyond KEEP_VERSIONS (readers holding one re-open the current on next query)."""
    versions = sorted(p for p in root.glob("v[0-9]*") if p.is_dir())
    for old in versions[:-KEEP_VERSIONS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
    for leftover in root.glob(".v*.building"):
        shutil.rmtree(leftover, ignore_errors=True)


def add_arguments(parser: Any) -> None:
    parser.add_argument(
        "--store", default=None, help="store directory (default: $OWT_STORE, else data/store)"
    )
    parser.add_argument(
        "--registry",
        default=None,
        help="registry override file layered on data/orgs.csv (default: $OWT_REGISTRY)",
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="rebuild from the snapshots even if up to date"
    )
    parser.add_argument(
        "--check", action="store_true", help="only say whether a refresh is needed (exit 1 if so)"
    )


def run(args: Any) -> int:
    from pipelines.runs import record_run
    from pipelines.store import StoreError, existing_store

    try:
        store = existing_store(args.store)
    except StoreError as error:
        print(f"warehouse: {error}", file=sys.stderr)
        return 2
    registry = load_registry(override=Path(args.registry) if args.registry else None)
    try:
        if args.check:
            mode, reason = plan(store, registry)
            print(f"warehouse: {mode} ({reason})")
            return 0 if mode == "unchanged" else 1
        with record_run(store, "warehouse", lock=False) as recorded:  # the warehouse has its own lock
            report = refresh(store, registry, rebuild=args.rebuild, progress=True)
            recorded.counts.update(version=report.version, mode=report.mode, new_dates=report.new_dates)
            if report.quarantined:
                recorded.counts["quarantined"] = sorted(report.quarantined)
                recorded.error = describe(report.quarantined)
    except WarehouseError as error:
        print(f"warehouse: {error}", file=sys.stderr)
        return 2
    except (OSError, duckdb.Error) as error:  # a full disk: DuckDB says so in its own exception classes
        print(
            f"error: building the warehouse failed ({type(error).__name__}: {error}); the current version is "
            "kept and nothing half-built is left: free some space and run the same command again",
            file=sys.stderr,
        )
        return 1
    print(
        f"warehouse: {report.mode} ({report.reason}): version {report.version}, {report.new_dates} new "
        f"snapshot(s), {report.models} models, {report.seconds:.1f} s"
    )
    if report.quarantined:  # each snapshot's problem was logged when it was found
        print(f"error: {describe(report.quarantined)}; the warehouse was built without them", file=sys.stderr)
        return 1
    return 0
