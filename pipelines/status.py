"""Show the store's health: last runs, snapshot coverage and gaps, size, and freshness of the latest snapshot.

For operators and monitoring: the exit code is 0 when the store is healthy, and 1 when the latest snapshot
is older than --max-age or there is none, when the last `verify` found a problem, or when the warehouse left
a snapshot out because it failed its checksum (so `python -m pipelines status --max-age 36h || alert` works
from cron or a monitoring agent). `--json` prints the same facts as one JSON object.

A snapshot's age is counted from when it finished, if it finished on its labelled date, else from the
start of its labelled day (backfilled history, a late re-run): the date label is what charts show.
Missing dates are calendar days between the first and the latest snapshot without one; days after the
latest are counted by its age.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.integrity import describe
from pipelines.lock import describe_holder, holder
from pipelines.runs import RUN_LOCK_FILE, read_runs, utc_now
from pipelines.store import Store, StoreError, existing_store

#: The scheduler's own lock (one scheduler per store); `pipelines.schedule` takes it.
SCHEDULER_LOCK_FILE = "schedule.lock"
DEFAULT_MAX_AGE = "36h"  # a daily 02:30 run may be late by up to ~10 h before anyone is alerted
_AGE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhd]?)\s*$")
_AGE_UNITS = {"m": "minutes", "h": "hours", "": "hours", "d": "days"}


def parse_age(text: str) -> dt.timedelta:
    """`90m`, `36h`, `2d`, or a bare number of hours."""
    match = _AGE_PATTERN.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"not an age like 36h, 2d or 90m: {text!r}")
    return dt.timedelta(**{_AGE_UNITS[match.group(2)]: float(match.group(1))})


@dataclass
class Health:
    """The freshness and coverage of a store's snapshots (also for the dashboard's stale-data banner)."""

    dates: int
    first: dt.date | None
    latest: dt.date | None
    latest_time: dt.datetime | None
    age: dt.timedelta | None
    missing: list[dt.date] = field(default_factory=list)

    def is_fresh(self, max_age: dt.timedelta) -> bool:
        return self.age is not None and self.age <= max_age


def snapshot_time(store: Store, date: dt.date) -> dt.datetime:
    """When the data of the snapshot labelled `date` was taken (see the module docstring)."""
    midnight = dt.datetime.combine(date, dt.time(), dt.UTC)
    try:
        finished = dt.datetime.fromisoformat(str(store.provenance(date).get("finished_at")))
    except (StoreError, ValueError):
        return midnight
    if finished.tzinfo is None:
        finished = finished.replace(tzinfo=dt.UTC)
    return finished if finished.astimezone(dt.UTC).date() == date else midnight


def snapshot_health(store: Store, now: dt.datetime | None = None) -> Health:
    """Coverage and freshness of the store's snapshots at `now` (default: the UTC clock)."""
    now = now or utc_now()
    dates = store.dates()
    if not dates:
        return Health(dates=0, first=None, latest=None, latest_time=None, age=None)
    present = set(dates)
    span = (dates[-1] - dates[0]).days
    missing = [d for d in (dates[0] + dt.timedelta(days=i) for i in range(span + 1)) if d not in present]
    latest_time = snapshot_time(store, dates[-1])
    return Health(
        dates=len(dates),
        first=dates[0],
        latest=dates[-1],
        latest_time=latest_time,
        age=max(now - latest_time, dt.timedelta(0)),
        missing=missing,
    )


def date_ranges(dates: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive dates collapsed into (first, last) ranges."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for date in dates:
        if ranges and date - ranges[-1][1] == dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], date)
        else:
            ranges.append((date, date))
    return ranges


def _size(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def _human_age(age: dt.timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def collect(store: Store, max_age: dt.timedelta, last: int) -> dict[str, Any]:
    """Every fact `status` reports, as plain JSON-ready values."""
    now = utc_now()
    health = snapshot_health(store, now)
    staged = (
        sorted(p for p in store.staging_root.glob("date=*") if p.is_dir())
        if store.staging_root.is_dir()
        else []
    )
    runs = read_runs(store)
    verifies = [r for r in runs if r.get("command") == "verify"]
    return {
        "store": str(store.root),
        "today": now.date().isoformat(),
        "store_bytes": _size(store.root),
        "snapshot_bytes": _size(store.snapshots_dir),
        "snapshots": health.dates,
        "first": health.first.isoformat() if health.first else None,
        "latest": health.latest.isoformat() if health.latest else None,
        "latest_time": health.latest_time.isoformat() if health.latest_time else None,
        "age_hours": round(health.age.total_seconds() / 3600, 2) if health.age is not None else None,
        "max_age_hours": round(max_age.total_seconds() / 3600, 2),
        "fresh": health.is_fresh(max_age),
        "missing": [d.isoformat() for d in health.missing],
        "in_progress": [{"staging": p.name.removeprefix("date="), "bytes": _size(p)} for p in staged],
        "scheduler": holder(store.root / SCHEDULER_LOCK_FILE),
        "run_lock": holder(store.root / RUN_LOCK_FILE),
        "runs": runs[-last:] if last else [],
        "runs_total": len(runs),
        "runs_failed": sum(r.get("outcome") in ("failed", "crashed") for r in runs),
        "last_verify": verifies[-1] if verifies else None,
        "quarantined": _quarantined(store),
        "channels": _channels(store, max_age, now),
        "iceberg": _iceberg(store),
        "published_warehouse": _published_warehouse(store),
    }


def _channels(store: Store, max_age: dt.timedelta, now: dt.datetime) -> dict[str, dict[str, Any]]:
    """Coverage and freshness of each other channel's snapshots (`<store>/channels/<channel>/`)."""
    from pipelines.channels import present_channel_stores

    facts = {}
    for key, held in present_channel_stores(store).items():
        health = snapshot_health(held, now)
        facts[key] = {
            "store": str(held) if type(held) is not Store else str(held.root),
            "snapshots": health.dates,
            "latest": health.latest.isoformat() if health.latest else None,
            "age_hours": round(health.age.total_seconds() / 3600, 2) if health.age is not None else None,
            "fresh": health.is_fresh(max_age),
            "missing": [d.isoformat() for d in health.missing],
            "in_progress": sorted(p.name.removeprefix("date=") for p in held.staging_root.glob("date=*")),
            "iceberg": _iceberg(held),
        }
    return facts



def _table_facts(ice: dict[str, Any]) -> str:
    """One Iceberg table's facts (`IcebergStore.table_status`) as `status` prints them."""
    return (
        f"table {ice['table']}: {ice['iceberg_snapshots']} commits kept, {ice['manifests']} manifests, "
        f"{ice['data_files']} data files, metadata {_human_bytes(ice['metadata_bytes'])} "
        f"(metadata.json {_human_bytes(ice['metadata_json_bytes'])})"
    )


def _iceberg(store: Store) -> dict[str, Any] | None:
    """An Iceberg store's table facts (commits, manifests, metadata size); None for a folder store."""
    from pipelines.iceberg_store import IcebergStore

    return store.table_status() if isinstance(store, IcebergStore) else None


def _published_warehouse(store: Store) -> dict[str, Any] | None:
    """The warehouse version an Iceberg store's replicas serve (pipelines/warehouse/publish.py)."""
    from pipelines.iceberg_store import IcebergStore

    if not isinstance(store, IcebergStore):
        return None
    from pipelines.warehouse.publish import status

    return status(store)


def _quarantined(store: Store) -> dict[str, str]:
    """Snapshots the current warehouse version left out because they failed their checksum."""
    from pipelines.warehouse import current_version  # duckdb and pandas: only when asked

    version = current_version(store)
    return (version.manifest.get("quarantined") or {}) if version else {}


def healthy(facts: dict[str, Any]) -> bool:
    """Fresh, the last verify (if any) clean, nothing quarantined: what the exit code reports."""
    verify_failed = (facts["last_verify"] or {}).get("outcome") in ("failed", "crashed")
    channels_fresh = all(channel["fresh"] for channel in facts.get("channels", {}).values())
    return facts["fresh"] and not verify_failed and not facts["quarantined"] and channels_fresh


def _run_detail(run: dict[str, Any]) -> str:
    return run.get("error") or ", ".join(f"{k}={v}" for k, v in (run.get("counts") or {}).items())


def _run_line(run: dict[str, Any]) -> str:
    detail = _run_detail(run)
    seconds = f"{run['seconds']:.1f}s" if isinstance(run.get("seconds"), int | float) else "-"
    return (
        f"  {(run.get('started_at') or '?')[:19]:<19}  {run.get('command', '?'):<10} "
        f"{run.get('trigger', '?'):<8} {run.get('outcome', '?'):<11} {seconds:>8}  {detail}"
    )


def render(facts: dict[str, Any]) -> str:
    lines = [
        f"store        {facts['store']}: {_human_bytes(facts['store_bytes'])} "
        f"({_human_bytes(facts['snapshot_bytes'])} in {facts['snapshots']} snapshots)"
    ]
    if facts["latest"]:
        age = dt.timedelta(hours=facts["age_hours"])
        verdict = "FRESH" if facts["fresh"] else "STALE"
        lines.append(
            f"latest       {facts['latest']} (taken {facts['latest_time'][:16]}Z, {_human_age(age)} old): "
            f"{verdict} (max age {facts['max_age_hours']:g} h)"
        )
        missing = [dt.date.fromisoformat(d) for d in facts["missing"]]
        gaps = ", ".join(a.isoformat() if a == b else f"{a}..{b}" for a, b in date_ranges(missing)[:10])
        more = " ..." if len(date_ranges(missing)) > 10 else ""
        lines.append(
            f"coverage     {facts['first']} .. {facts['latest']}: {facts['snapshots']} dates, "
            f"{len(missing)} missing" + (f": {gaps}{more}" if missing else "")
        )
    else:
        lines.append("latest       no snapshot yet: STALE (take one with `python -m pipelines snapshot`)")
    if facts.get("iceberg"):
        lines.append(f"iceberg      {facts['iceberg']['url']} {_table_facts(facts['iceberg'])}")
    published = facts.get("published_warehouse")
    if published is not None:
        lines.append(
            f"published    warehouse {published['version']} ({published['snapshots']} snapshots, "
            f"{published['files']} files, {_human_bytes(published['bytes'])}) at "
            f"{published['published_at']}, {published['versions']} version(s) kept: replicas fetch it and "
            "build nothing"
            if published["versions"]
            else "published    no warehouse yet: replicas build their own until `python -m pipelines "
            "warehouse` (the scheduler's warehouse job) publishes one"
        )
    for staged in facts["in_progress"]:
        what = (
            "abandoned: its day has passed; delete it, or finish it with `snapshot --date` (mixes two days)"
            if staged["staging"] < facts["today"]
            else "the next run resumes it"
        )
        lines.append(f"in progress  {staged['staging']}: {_human_bytes(staged['bytes'])} staged; {what}")
    scheduler = facts["scheduler"]
    lines.append(f"scheduler    {'running: ' + describe_holder(scheduler) if scheduler else 'not running'}")
    lock = facts["run_lock"]
    lines.append(f"run lock     {'held: ' + describe_holder(lock) if lock else 'free'}")
    verify = facts["last_verify"]
    if verify is None:
        verify_outcome = "none"
        lines.append("verify       never run (`python -m pipelines verify` checks every file's checksum)")
    else:
        failed = verify.get("outcome") in ("failed", "crashed")
        verify_outcome = "FAILED" if failed else str(verify.get("outcome"))
        lines.append(
            f"verify       {verify_outcome}, last run {(verify.get('started_at') or '?')[:19]}: "
            f"{_run_detail(verify)}"
        )
    if facts["quarantined"]:
        lines.append(f"integrity    QUARANTINED: {describe(facts['quarantined'])}")
        lines.extend(f"  {date}: {problem}" for date, problem in sorted(facts["quarantined"].items()))
    for key, channel in facts.get("channels", {}).items():
        if channel["latest"]:
            lines.append(
                f"channel      {key}: {channel['snapshots']} snapshots, latest {channel['latest']} "
                f"({_human_age(dt.timedelta(hours=channel['age_hours']))} old): "
                f"{'FRESH' if channel['fresh'] else 'STALE'}, {len(channel['missing'])} missing dates"
                + (f", in progress {', '.join(channel['in_progress'])}" if channel["in_progress"] else "")
            )
        else:
            lines.append(f"channel      {key}: no snapshot yet: STALE")
        if channel.get("iceberg"):
            lines.append(f"  iceberg    {_table_facts(channel['iceberg'])}")
    lines.append(
        f"runs         {facts['runs_total']} recorded, {facts['runs_failed']} failed or crashed; last:"
    )
    lines.extend(_run_line(run) for run in facts["runs"])
    last_outcome = facts["runs"][-1]["outcome"] if facts["runs"] else "none"
    quarantined = f", {len(facts['quarantined'])} quarantined" if facts["quarantined"] else ""
    lines.append(
        f"status: {'FRESH' if facts['fresh'] else 'STALE'}, latest {facts['latest'] or 'none'}, "
        f"{len(facts['missing'])} missing dates, last run {last_outcome}, last verify {verify_outcome}"
        f"{quarantined}"
    )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="store dir or iceberg+ URL (default: env OWT_STORE, else data/store)")
    parser.add_argument(
        "--max-age",
        type=parse_age,
        default=parse_age(DEFAULT_MAX_AGE),
        metavar="AGE",
        help=f"exit 1 when the latest snapshot is older than this: 90m, 36h, 2d (default {DEFAULT_MAX_AGE})",
    )
    parser.add_argument(
        "--runs", type=int, default=10, metavar="N", help="how many recent runs to list (default 10)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    try:
        store = existing_store(args.store)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    facts = collect(store, args.max_age, args.runs)
    print(json.dumps(facts, indent=2, default=str) if args.json else render(facts))
    return 0 if healthy(facts) else 1
