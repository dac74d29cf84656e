"""Integrity on the read path: the warehouse builds only from snapshot files that match their checksums.

Every published snapshot lists the SHA-256 of each data file in its provenance (`Store.publish`). A file
whose bytes changed after publishing (bit rot, a bad copy, a partial restore) may still parse and give other
numbers, so before a refresh or rebuild reads a snapshot, each of its files is checked against that list:
size first, then the checksum. A snapshot with any problem is *quarantined*: its date is left out of the
build (as if it had not been taken) and named in the manifest, the run record, `status` and the dashboard.

Hashing a store costs seconds per GiB, so a file is hashed once per version of it: the memo
`<store>/warehouse/integrity.json` remembers, per file, the (size, mtime_ns, expected sha256) it was found
good with. Rewriting a file changes its mtime, so it is hashed again; bit rot that leaves the mtime alone is
what `python -m pipelines verify` (every byte, every time) is for.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.store import Store, write_json_atomic
from pipelines.verify import check_file, load_provenance

MEMO_FILE = "integrity.json"
log = logging.getLogger("owt.integrity")
_logged: set[tuple[dt.date, str]] = set()


@dataclass
class Checked:
    """The snapshot dates a build may read, and the quarantined ones with why (date ISO -> reason)."""

    dates: list[dt.date]
    quarantined: dict[str, str] = field(default_factory=dict)


def _memo_path(store: Store) -> Path:
    return store.root / "warehouse" / MEMO_FILE


def _load_memo(store: Store) -> dict[str, Any]:
    try:
        memo = json.loads(_memo_path(store).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def _identity(path: Path, sha256: str) -> list[Any] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns, sha256]


def _snapshot_problem(store: Store, date: dt.date, memo: dict[str, Any], good: dict[str, Any]) -> str | None:
    """Why the snapshot of `date` must not be read, or None; files found good are added to `good`."""
    folder = store.snapshot_dir(date)
    record, problem = load_provenance(folder)
    if record is None:
        return str(problem)
    listed = {entry["name"] for entry in record["files"]}
    unlisted = sorted(p.name for p in folder.glob("*.parquet") if p.name not in listed)
    if unlisted:
        return f"UNLISTED {folder / unlisted[0]}: data file not listed in provenance"
    for entry in record["files"]:
        path = folder / entry["name"]
        key = f"{folder.name}/{entry['name']}"
        identity = _identity(path, entry["sha256"])
        if identity is not None and memo.get(key) == identity:
            good[key] = identity
            continue
        found = check_file(folder, entry)
        if found is not None:
            return str(found)
        if identity is not None:
            good[key] = identity
    return None


def check_snapshots(store: Store) -> Checked:
    """Check every published snapshot against its provenance checksums.

    The memo is rewritten with the files found good (best effort: a read-only store just hashes again next
    time). Quarantined snapshots are logged as errors (once per process), since their dates will be missing
    from every chart.
    """
    memo = _load_memo(store)
    good: dict[str, Any] = {}
    checked = Checked(dates=[])
    for date in store.dates():
        problem = _snapshot_problem(store, date, memo, good)
        if problem is None:
            checked.dates.append(date)
        else:
            checked.quarantined[date.isoformat()] = problem
            if (date, problem) not in _logged:  # once per process: plan and build both check
                _logged.add((date, problem))
                log.error("snapshot %s quarantined (left out of the warehouse): %s", date, problem)
    if good != memo and _memo_path(store).parent.is_dir():
        try:
            write_json_atomic(_memo_path(store), good)
        except OSError as error:
            log.warning("could not save the integrity memo %s: %s", _memo_path(store), error)
    return checked


def describe(quarantined: dict[str, str]) -> str:
    """One line naming the quarantined dates, for banners, status and run records."""
    dates = ", ".join(sorted(quarantined))
    return (
        f"{len(quarantined)} snapshot(s) failed their checksum and are left out of the charts: {dates} "
        "(details: `python -m pipelines verify`)"
    )
