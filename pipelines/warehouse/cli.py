"""`python -m pipelines warehouse`: refresh (or `--check`) the warehouse of a store. On an Iceberg store the
version built is also published in the store (`pipelines.warehouse.publish`), for replicas to fetch."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import duckdb

from pipelines.iceberg_store import IcebergStore
from pipelines.integrity import describe
from pipelines.registry import load_registry
from pipelines.warehouse.build import refresh
from pipelines.warehouse.limits import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_ENV, THREADS_ENV, BuildLimits
from pipelines.warehouse.planning import plan
from pipelines.warehouse.publish import catch_up, publish
from pipelines.warehouse.schema import WarehouseError


def add_arguments(parser: Any) -> None:
    parser.add_argument(
        "--store",
        default=None,
        help="store directory or iceberg+ URL (default: $OWT_STORE, else data/store); on an Iceberg store "
        "the version built is published in it, and replicas fetch it instead of building",
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
    parser.add_argument(
        "--memory-limit",
        default=None,
        help=f"DuckDB's memory budget for the build, e.g. 2GB or 512MB; beyond it DuckDB spills to disk "
        f"(default: ${MEMORY_LIMIT_ENV}, else {DEFAULT_MEMORY_LIMIT})",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help=f"DuckDB threads for the build (default: ${THREADS_ENV}, else one per core)",
    )


def run(args: Any) -> int:
    from pipelines.runs import record_run, redact
    from pipelines.store import StoreError, existing_store, readable_store

    try:
        source = existing_store(args.store)
        store = readable_store(source)  # an Iceberg store: its local folder mirror
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
            limits = BuildLimits.resolve(args.memory_limit, args.threads)
            if isinstance(source, IcebergStore):  # build on top of the version replicas serve
                catch_up(source, store)
            report = refresh(store, registry, rebuild=args.rebuild, progress=True, limits=limits)
            recorded.counts.update(version=report.version, mode=report.mode, new_dates=report.new_dates)
            published, unpublished = None, None
            if isinstance(source, IcebergStore):
                try:
                    published = publish(source, store)
                except Exception as error:  # the store unreachable: built here, published by the next run
                    unpublished = f"{type(error).__name__}: {error}"
                    recorded.outcome, recorded.error = "failed", f"publishing failed: {unpublished}"
            if published is not None:
                recorded.counts["published"] = published.version
            if report.quarantined:
                recorded.counts["quarantined"] = sorted(report.quarantined)
                recorded.error = describe(report.quarantined)
    except WarehouseError as error:
        print(f"warehouse: {error}", file=sys.stderr)
        return 2
    except (OSError, duckdb.Error) as error:  # a full disk: DuckDB says so in its own exception classes
        if isinstance(error, duckdb.OutOfMemoryException):
            remedy = (
                f"give the build more memory (--memory-limit or ${MEMORY_LIMIT_ENV}; it had "
                f"{limits.memory_limit}) or fewer threads (--threads or ${THREADS_ENV})"
            )
        else:
            remedy = "free some space"
        print(
            f"error: building the warehouse failed ({type(error).__name__}: {error}); the current version is "
            f"kept and nothing half-built is left: {remedy} and run the same command again",
            file=sys.stderr,
        )
        return 1
    print(
        f"warehouse: {report.mode} ({report.reason}): version {report.version}, {report.new_dates} new "
        f"snapshot(s), {report.models} models, {report.seconds:.1f} s"
    )
    if published is not None:
        print(
            f"warehouse: version {published.version} is the one published in the store for replicas "
            f"({len(published.files)} files, {published.bytes:,} bytes)"
        )
    if unpublished is not None:
        print(
            f"error: version {report.version} was built here but publishing it in the store failed "
            f"({redact(unpublished)}); replicas keep the version published before: run the same command "
            "again",
            file=sys.stderr,
        )
        return 1
    if report.quarantined:  # each snapshot's problem was logged when it was found
        print(f"error: {describe(report.quarantined)}; the warehouse was built without them", file=sys.stderr)
        return 1
    return 0
