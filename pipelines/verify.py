"""Check the store's integrity: recompute every data file's checksum against its snapshot's provenance.

Snapshots are immutable once published, and each provenance.json lists the name, size, row count and
SHA-256 of every data file. This command reads every byte again and reports each file that is missing,
truncated, grown, tampered with (same size, other bytes), or present but not listed, and each snapshot
whose provenance is missing or unreadable. Exit code 0 when everything matches, 1 when anything is wrong
(for monitoring), 2 on bad arguments. Problems are reported, never repaired: restore the snapshot from a
backup, or delete its directory and take it again (`python -m pipelines snapshot --date D --force` only
works for today's data, since the Hub has no history).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.runs import record_run
from pipelines.store import (
    PROVENANCE_FILE,
    Store,
    StoreError,
    date_argument,
    existing_store,
    sha256_file,
)


@dataclass(frozen=True)
class Problem:
    """One integrity problem: `kind` is missing | truncated | grown | tampered | unlisted | provenance."""

    kind: str
    path: Path
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.upper():<10} {self.path}: {self.detail}"


@dataclass
class Report:
    snapshots: int = 0
    files: int = 0
    bytes: int = 0
    problems: list[Problem] = field(default_factory=list)


def check_file(folder: Path, entry: dict[str, Any]) -> Problem | None:
    path = folder / entry["name"]
    if not path.is_file():
        return Problem("missing", path, "listed in provenance but not on disk")
    size, expected_size = path.stat().st_size, int(entry["bytes"])
    if size < expected_size:
        return Problem("truncated", path, f"{size} bytes on disk, provenance says {expected_size}")
    if size > expected_size:
        return Problem("grown", path, f"{size} bytes on disk, provenance says {expected_size}")
    digest = sha256_file(path)
    if digest != entry["sha256"]:
        return Problem(
            "tampered", path, f"sha256 {digest[:16]}... but provenance says {entry['sha256'][:16]}..."
        )
    return None


def load_provenance(folder: Path) -> tuple[dict[str, Any] | None, Problem | None]:
    path = folder / PROVENANCE_FILE
    if not path.is_file():
        return None, Problem("provenance", path, "missing: the snapshot cannot be checked")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        files = record["files"]
        if not isinstance(files, list) or not all({"name", "bytes", "sha256"} <= set(f) for f in files):
            raise ValueError("'files' must list name, bytes and sha256 of each data file")
    except (ValueError, KeyError, TypeError) as exc:
        return None, Problem("provenance", path, f"unreadable ({exc}): the snapshot cannot be checked")
    return record, None


def verify_snapshot(folder: Path) -> tuple[list[Problem], int, int]:
    """Problems found in one snapshot directory, and how many files and bytes were checked."""
    record, problem = load_provenance(folder)
    if record is None:
        return [problem] if problem else [], 0, 0
    problems = [p for entry in record["files"] if (p := check_file(folder, entry))]
    listed = {entry["name"] for entry in record["files"]}
    problems += [
        Problem("unlisted", path, "data file not listed in provenance (readers would include it)")
        for path in sorted(folder.glob("*.parquet"))
        if path.name not in listed
    ]
    checked = [folder / entry["name"] for entry in record["files"]]
    return problems, len(checked), sum(p.stat().st_size for p in checked if p.is_file())


def verify_store(store: Store, dates: list[dt.date] | None = None) -> Report:
    """Check every published snapshot (or only `dates`).

    A snapshot replaced by `snapshot --force` while this runs would look inconsistent for a moment, so a
    snapshot with problems is checked once more before they are reported.
    """
    report = Report()
    if dates is None:
        # every partition directory, not only those with provenance: readers would read them all
        folders = sorted(f for f in store.snapshots_dir.glob("date=*") if f.is_dir())
    else:
        folders = [store.snapshot_dir(date) for date in dates]
    for folder in folders:
        if not folder.is_dir():
            report.problems.append(Problem("missing", folder, "no such snapshot"))
            continue
        problems, files, size = verify_snapshot(folder)
        if problems:
            problems, files, size = verify_snapshot(folder)
        report.snapshots += 1
        report.files += files
        report.bytes += size
        report.problems.extend(problems)
    return report


def _verify_channels(store: Store, dates: list[dt.date] | None) -> list[Report]:
    """The snapshots of the other channels (`<store>/channels/<channel>/`), checked the same way; with
    `dates`, only those of the dates that channel has. An Iceberg store's channels are tables, checked
    like its Hub table."""
    from pipelines.channels import present_channel_stores
    from pipelines.iceberg_store import IcebergStore

    reports = []
    for held in present_channel_stores(store).values():
        iceberg = isinstance(held, IcebergStore)
        has = held.has_snapshot if iceberg else (lambda d, held=held: held.snapshot_dir(d).is_dir())
        wanted = None if dates is None else [d for d in dates if has(d)]
        if wanted is None or wanted:
            reports.append(held.verify(wanted) if iceberg else verify_store(held, wanted))
    return reports


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="store dir or iceberg+ URL (default: env OWT_STORE, else data/store)")
    parser.add_argument(
        "--date",
        action="append",
        type=date_argument,
        metavar="YYYY-MM-DD",
        help="check only this snapshot (repeatable; default: every published snapshot)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        store = existing_store(args.store)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    from pipelines.iceberg_store import IcebergStore

    with record_run(store, "verify", lock=False) as run_record:
        iceberg = isinstance(store, IcebergStore)
        report = store.verify(args.date) if iceberg else verify_store(store, args.date)
        for channel_report in _verify_channels(store, args.date):
            report.snapshots += channel_report.snapshots
            report.files += channel_report.files
            report.bytes += channel_report.bytes
            report.problems.extend(channel_report.problems)
        run_record.counts.update(
            snapshots=report.snapshots, files=report.files, bytes=report.bytes, problems=len(report.problems)
        )
        if report.problems:
            run_record.outcome = "failed"
            run_record.error = f"{len(report.problems)} integrity problem(s), first: {report.problems[0]}"
    for problem in report.problems:
        print(problem)
    verdict = "all match their provenance" if not report.problems else f"{len(report.problems)} PROBLEM(S)"
    print(
        f"verify: {report.snapshots} snapshots, {report.files} files, {report.bytes:,} bytes checked in "
        f"{store if iceberg else store.root}: {verdict}"
    )
    return 1 if report.problems else 0
