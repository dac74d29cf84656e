"""A refresh: one writer at a time builds a new version next to the current one (facts, dimensions, rollups,
top-N tables, RAM reference, compaction), then swaps the pointer."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import shutil
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from filelock import FileLock

from pipelines.definitions import SNAPSHOT_DAY_OFFSET
from pipelines.lineage import ParentCache
from pipelines.registry import Registry, load_registry
from pipelines.store import Store, write_json_atomic
from pipelines.warehouse.corrections import correct_candidates, fold_due, move_changed, organisations_moved
from pipelines.warehouse.dimensions import _refresh_dims
from pipelines.warehouse.facts import _create_tables, _facts_for_batch, _facts_relation, _record_snapshots
from pipelines.warehouse.limits import SPILL_DIR, BuildLimits, apply_limits
from pipelines.warehouse.maintenance import _compact
from pipelines.warehouse.partitions import export_tables, load_live, write_partitions
from pipelines.warehouse.planning import _checked_snapshots, _inputs_key, _snapshot_checksums, plan
from pipelines.warehouse.ram import _add_ram_reference, _rebuild_ram_reference
from pipelines.warehouse.rollups import _add_rollups, _rebuild_rollups, _refresh_monthly
from pipelines.warehouse.schema import ANOMALIES, PARTS_DIR, POINTER, TABLES_FILE, WarehouseError
from pipelines.warehouse.versions import (
    Version,
    _next_name,
    _prune,
    current_name,
    current_version,
    warehouse_root,
)

log = logging.getLogger(__name__)

#: The build's own DuckDB database, in the staging directory: a copy of the previous version's, worked in,
#: then exported to a fresh `tables.duckdb` (without the partitioned tables' rows) and removed.
WORK_FILE = ".work.duckdb"
#: Snapshot rows processed per batch (bounds memory of the first build of a large store).
BATCH_ROWS = 4_000_000


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
    steps: dict[str, float] = dataclasses.field(default_factory=dict)  # build step -> seconds, in order


def refresh(
    store: Store,
    registry: Registry | None = None,
    parents: ParentCache | None = None,
    *,
    rebuild: bool = False,
    progress: bool = False,
    limits: BuildLimits | None = None,
) -> RefreshReport:
    """Bring the warehouse up to date with the store and the registry; one writer at a time (file lock).

    New snapshots after the latest built date are appended (incremental); a registry or lineage change
    recomputes dimensions and rollups from the existing facts, whose files stay as they are; anything else (a
    backfilled older date, a replaced snapshot, new build rules) rebuilds from the snapshots. DuckDB works
    within `limits` (default: `BuildLimits.resolve()`, $OWT_MEMORY_LIMIT or 1 GB), spilling to disk beyond.
    """
    began = time.perf_counter()
    limits = limits if limits is not None else BuildLimits.resolve()
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
        builder = _Builder(store, registry, parents, previous if mode != "full" else None, progress, limits)
        version = builder.run(mode)
    return RefreshReport(
        version.path.name,
        mode,
        builder.new_dates,
        int(version.manifest["models"]),
        time.perf_counter() - began,
        reason,
        version.manifest["quarantined"],
        builder.steps,
    )


def refresh_for_readers(
    store: Store,
    registry: Registry | None = None,
    *,
    refresh_if_stale: bool = True,
    source: Store | None = None,
) -> tuple[str | None, str] | None:
    """Bring the warehouse up to date before readers open it (the app's start, an export): None when the
    current version is up to date (or, with `refresh_if_stale=False`, knowingly stale: a warning says why);
    (version served, error) when the refresh failed and the last version built is served instead.

    When `store` is the folder mirror of an Iceberg store (`source`, else OWT_STORE's) whose scheduler
    publishes the warehouse, the published version is fetched instead and nothing is built
    (`pipelines.warehouse.publish`).

    Raises WarehouseError when the refresh failed and no version was ever built (nothing to serve).
    """
    from pipelines.warehouse.publish import fetch_for_readers, published_source

    iceberg = published_source(store, source)
    if iceberg is not None:
        served, failure = fetch_for_readers(iceberg, store)
        if served:
            return failure
    registry = registry if registry is not None else load_registry()
    try:
        mode, reason = plan(store, registry)
        if mode != "unchanged" and refresh_if_stale:
            refresh(store, registry)
        elif mode != "unchanged":
            log.warning("warehouse is stale (%s); run `python -m pipelines warehouse`", reason)
    except Exception as error:  # any refresh failure (a truncated file, a full disk): serve what was built
        if current_version(store) is None:
            raise WarehouseError(
                f"cannot build the warehouse in {store.root}: {type(error).__name__}: {error}"
            ) from error
        served = current_name(store)
        log.error("warehouse refresh failed, serving the older version %s: %s", served, error)
        return served, f"{type(error).__name__}: {error}"
    return None


class _Builder:
    """Builds one new version next to the current one, then swaps the pointer."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        parents: ParentCache,
        previous: Version | None,
        progress: bool,
        limits: BuildLimits,
    ) -> None:
        self.store, self.registry, self.parents, self.previous = store, registry, parents, previous
        self.progress, self.limits = progress, limits
        self.root = warehouse_root(store)
        self.path = self.root / _next_name(self.root)
        self.new_dates = 0
        self.rewritten: dict[str, list[str]] = {}  # per partitioned table, the months this build wrote
        self.steps: dict[str, float] = {}
        self.checked = _checked_snapshots(store)  # only snapshots that match their checksums are read

    def run(self, mode: str) -> Version:
        """Build and swap in the new version; a failed build (a full disk) leaves no half-built directory."""
        staging = self.path.with_name(f".{self.path.name}.building")
        try:
            return self._build(mode, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    @contextlib.contextmanager
    def _step(self, name: str) -> Iterator[None]:
        """Time one step of the build, and with `progress` say on stderr when it ends: a rebuild of years of
        history takes an hour, and its output then tells where it is and where the time went."""
        began = time.perf_counter()
        yield
        self.steps[name] = round(time.perf_counter() - began, 1)
        if self.progress:
            print(f"warehouse: {name} done in {self.steps[name]:.1f} s", file=sys.stderr, flush=True)

    def _build(self, mode: str, staging: Path) -> Version:
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "facts").mkdir(parents=True)
        work = staging / WORK_FILE
        if self.previous is not None:
            for facts in self.previous.facts_files():
                os.link(facts, staging / "facts" / facts.name)
            shutil.copyfile(self.previous.tables, work)  # bounded by the number of models (`partitions`)
        con = duckdb.connect(str(work))
        try:
            con.execute("SET TimeZone = 'UTC'; SET enable_progress_bar = false")
            apply_limits(con, self.limits, staging)
            if self.previous is None:
                _create_tables(con)
            built = set(self.previous.manifest["snapshots"]) if self.previous else set()
            new = [d for d in self.checked.dates if d.isoformat() not in built]
            self.new_dates = len(new)
            with self._step(f"facts of {len(new)} new snapshot(s)"):
                _record_snapshots(con, self.store, new)
                appended = self._append_facts(con, staging, new)
            with self._step("dimensions"):
                _refresh_dims(con, self.registry, self.parents, only_changed=mode == "incremental")
            with self._step("rollups"):
                since = self._rollups(con, mode, staging, appended, built)
            # Only a build from scratch merges every facts file: a registry edit ("rollups") re-attributes
            # over the facts as they are (the same files, hard-linked), whatever their number.
            with self._step("compaction"):
                _compact(con, staging, everything=mode == "full")
            with self._step("tables written"):
                previous_path = self.previous.path if self.previous else None
                self.rewritten = write_partitions(con, previous_path, staging, since, self.path.name)
                export_tables(con, staging / TABLES_FILE)
            models = con.execute("SELECT count(*) FROM models").fetchall()[0][0]
        finally:
            con.close()
        work.unlink(missing_ok=True)
        work.with_name(work.name + ".wal").unlink(missing_ok=True)
        shutil.rmtree(staging / SPILL_DIR, ignore_errors=True)
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
            "parts_bytes": sum(f.stat().st_size for f in (staging / PARTS_DIR).rglob("*.parquet")),
        }
        write_json_atomic(staging / "manifest.json", manifest)
        os.rename(staging, self.path)
        write_json_atomic(self.root / POINTER, {"version": self.path.name})
        _prune(self.root, keep=self.path.name)
        return Version(self.path, manifest)

    def _rollups(
        self, con: duckdb.DuckDBPyConnection, mode: str, staging: Path, appended: list[Path], built: set[str]
    ) -> dt.date:
        """Bring the rollups and the RAM reference up to date with the facts: the new ones added (deltas
        correcting moved models), or everything rebuilt. Returns the first day whose rows may have changed."""
        all_facts = _facts_relation(sorted((staging / "facts").glob("*.parquet")))
        since = dt.date.min  # the first day whose rows this refresh may change
        if mode == "incremental":
            previous = self.previous
            assert previous is not None, "plan() asks for an incremental refresh of a built version"
            since = self._first_changed_day(con, appended, built)
            moved = con.execute("SELECT count(*) FROM old_dims").fetchall()[0][0] > 0
            if moved:  # whole months from here on are recomputed; older ones are corrected by deltas
                whole = fold_due(previous.path) or organisations_moved(con)
                since = dt.date.min if whole else since.replace(day=1)
            load_live(con, previous.path, since)
            if moved:
                facts_before = [staging / "facts" / f.name for f in previous.facts_files()]
                move_changed(con, facts_before, since)
            _add_rollups(con, _facts_relation(appended))
            _refresh_monthly(con, since)
            if moved and since > dt.date.min:
                correct_candidates(con)
            if since == dt.date.min or _references_moved(con):  # sizes or release dates changed
                _rebuild_ram_reference(con, all_facts)
            else:
                _add_ram_reference(con, _facts_relation(appended))
        else:
            # Rollups are rebuilt: the moved models' old dimensions (every model a registry edit moves)
            # would only take memory from them.
            con.execute("DROP TABLE IF EXISTS old_dims")
            if self.previous is not None:  # rollups are rebuilt; the clamped drops are kept
                load_live(con, self.previous.path, since, (ANOMALIES,))
            _rebuild_rollups(con, all_facts)
            _rebuild_ram_reference(con, all_facts)
        return since

    def _first_changed_day(
        self, con: duckdb.DuckDBPyConnection, appended: Sequence[Path], built: set[str]
    ) -> dt.date:
        """The first day an incremental refresh changes rows of: the first day the new facts' growth is
        spread over (a snapshot's growth ends the day before its date), but not after the last day built
        (the monthly and running tables are contiguous). Models whose dimensions changed move rows of any
        day: `corrections` moves those before it."""
        first = con.execute(
            f"SELECT min(date - greatest(span, 1)::INTEGER + 1) FROM {_facts_relation(appended)}"
        ).fetchall()[0][0]
        last_built = dt.date.fromisoformat(max(built)) if built else first
        return min(first, last_built) - dt.timedelta(days=SNAPSHOT_DAY_OFFSET)

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
        # The differencing's temp tables need no order (the facts are written ORDER BY key, date): DuckDB
        # may then stream them in parallel instead of holding rows back to keep their order.
        con.execute("SET preserve_insertion_order = false")
        for batch in iterator:
            files = [str(f) for d in batch for f in self.store.data_files(d)]
            target = staging / "facts" / f"facts-{batch[0].isoformat()}-{batch[-1].isoformat()}.parquet"
            _facts_for_batch(con, files, target)
            written.append(target)
        con.execute("RESET preserve_insertion_order")
        return written


def _references_moved(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a model whose dimensions changed changed size class or release date: the RAM reference's
    top counts cannot be taken out by differences, so it is rebuilt from the facts."""
    return bool(
        con.execute(
            "SELECT count(*) FROM old_dims o JOIN dims d USING (key) "
            "WHERE o.size_class IS DISTINCT FROM d.size_class OR o.created IS DISTINCT FROM d.created"
        ).fetchall()[0][0]
    )
