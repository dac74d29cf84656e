"""ModelScope channel: dated snapshots of the cumulative download counts of ModelScope models.

Scope: every model of every owner in the namespace table (`data/modelscope_namespaces.csv`: a ModelScope owner
-> the registry namespace of the organisation behind it, or `mirror` for the ModelScope-run namespaces that
re-host Hub models). Each owner is listed through ModelScope's documented OpenAPI,
`GET /openapi/v1/models?owner=&sort=last_modified&page_number=&page_size=50`, which refuses pages beyond
`page_number * page_size > 3000`: an owner with more models is split by `filter.task` (the tasks its models
declare). Offset paging over a live list can skip or repeat a model, so an owner's listing is repeated until
the union of the ids seen (deduplicated) covers the `total_count` the API reports: a listing that cannot be
proved complete is an error, never a silent undercount. Models of mirror namespaces are also read one by one
(`GET /openapi/v1/models/{id}`) for the Hugging Face id their readme links, which attribution uses.

Faults handled: 429 (waits for `Retry-After`), 5xx, stalls (the `--timeout` per request) and connection
errors are retried with backoff (`RETRY_POLICY`, by the channels' rule in `http_retry`); a 404 of the
per-model endpoint means "not found" and is never followed by the legacy `/api/v1` surface (the official
SDK's fallback returns another payload shape: the trap is refused, and any payload that is not the OpenAPI
envelope is an error). Anonymous reads suffice; a token in env `MODELSCOPE_API_TOKEN` is sent as a Bearer
header if set, and never stored or logged.

Resumable: each owner's rows are staged under `<store>/channels/modelscope/staging/date=D/` and the
checkpoint moves past the owner; a killed run started again resumes at the first owner not yet done and
gives the same snapshot. Published atomically through `Store.publish` (checksums, `verify`, `status`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq
import requests

from pipelines.channels import OBSERVATION_SCHEMA, OBSERVATION_SCHEMA_VERSION, channel_store
from pipelines.channels.http_retry import (
    RetriesExhausted,
    RetryPolicy,
    RetryStats,
    bearer_session,
    get_with_retries,
)
from pipelines.registry import Problem, Registry, table_rows
from pipelines.runs import redact
from pipelines.store import Store, write_bytes_atomic

CHANNEL = "modelscope"
DEFAULT_ENDPOINT = "https://modelscope.cn"
ENDPOINT_ENV = "MODELSCOPE_ENDPOINT"
TOKEN_ENV = "MODELSCOPE_API_TOKEN"  # optional: reads are anonymous
NAMESPACES_FILE = Path(__file__).resolve().parent.parent.parent / "data" / "modelscope_namespaces.csv"
NAMESPACE_COLUMNS = ("owner", "namespace", "source", "notes")
MIRROR = "mirror"
PAGE_SIZE = 50  # the OpenAPI's largest page
PAGE_CAP = 3000  # page_number * page_size may not exceed this
SORT = "last_modified"
MAX_PASSES = 4  # listings of one owner before its count is declared unprovable
DEFAULT_MIN_INTERVAL = 0.5  # seconds between requests: at most 2 per second (limits are unpublished)
MIN_INTERVAL_ENV = "MODELSCOPE_MIN_INTERVAL"
#: Per request: 5 retries (waits 1, 2, 4, 8, 16 s) for 5xx, stalls and connection errors; 30 waits for 429 on
#: their own budget, each as long as Retry-After asks (at most 120 s).
RETRY_POLICY = RetryPolicy(retries=5, rate_limit_waits=30, first_wait=1.0, max_wait=16.0,
                           max_retry_after=120.0)
TERMS_NOTE = (
    "ModelScope OpenAPI v1 (documented, anonymous reads); terms of service: the spec's termsOfService "
    "contact page, no scraping clause found. Download counts are ModelScope's, counting rule unpublished."
)
_HF_LINK = re.compile(r"huggingface\.co/(?!datasets/|spaces/)([A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)")
_CHECKPOINT = "checkpoint.json"
_CHECKPOINT_FORMAT = 1
_RAW = "raw"


class ModelScopeError(RuntimeError):
    """A ModelScope run that cannot go on; the message says what happened and what to do."""


class NamespaceTableError(ValueError):
    """A namespace table with errors; `problems` lists each as `file:line: message`."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"the ModelScope namespace table has {len(problems)} error(s); fix them:\n{lines}")


@dataclass(frozen=True)
class Namespace:
    """One row of the namespace table: a ModelScope owner and whose weights it hosts."""

    owner: str
    namespace: str  # a registry namespace, or MIRROR
    source: str
    notes: str

    @property
    def is_mirror(self) -> bool:
        return self.namespace == MIRROR


def load_namespaces(registry: Registry, path: Path = NAMESPACES_FILE) -> list[Namespace]:
    """The namespace table, checked like the org registry: every row's namespace must be in `registry` (or
    be `mirror`), owners unique, a source on every row. Raises NamespaceTableError listing every problem."""
    problems: list[Problem] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise NamespaceTableError([Problem(path, 0, f"cannot read: {error}")]) from None
    table = table_rows(path, text, NAMESPACE_COLUMNS, problems)
    if table is None:
        raise NamespaceTableError(problems)
    rows: list[Namespace] = []
    seen: dict[str, int] = {}
    for line, values in table:
        row = Namespace(**values)
        before = len(problems)
        if not re.fullmatch(r"[A-Za-z0-9][\w.-]*", row.owner):
            problems.append(Problem(path, line, f"owner {row.owner!r} is not a ModelScope owner name"))
        elif row.owner.lower() in seen:
            problems.append(Problem(path, line, f"duplicate owner {row.owner!r} (first at line "
                                                f"{seen[row.owner.lower()]})"))
        if not row.is_mirror and registry.lookup(row.namespace) is None:
            problems.append(Problem(path, line, f"namespace {row.namespace!r} is neither in the org "
                                                f"registry nor {MIRROR!r}: add it to data/orgs.csv first"))
        if not row.source:
            problems.append(Problem(path, line, "no source: say where the owner's attribution comes from"))
        if len(problems) == before:
            seen[row.owner.lower()] = line
            rows.append(row)
    errors = [p for p in problems if p.severity == "error"]  # spaces around fields are only stripped
    if errors:
        raise NamespaceTableError(errors)
    if not rows:
        raise NamespaceTableError([Problem(path, 0, "no rows: nothing to crawl")])
    return rows


# ---------------------------------------------------------------------------------------------------- client


@dataclass
class ClientStats(RetryStats):
    """What a run cost and met (the requests' retries and waits, then the crawl's own counts): reported in the
    provenance and the run summary."""

    pages: int = 0
    details: int = 0
    details_not_found: int = 0
    foreign_items: int = 0  # listed under another owner than asked (the `owner` match is not exact)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ClientStats:
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


def min_interval_setting() -> float:
    """Seconds between requests: env MODELSCOPE_MIN_INTERVAL, else DEFAULT_MIN_INTERVAL (be polite)."""
    value = os.environ.get(MIN_INTERVAL_ENV)
    try:
        return max(float(value), 0.0) if value else DEFAULT_MIN_INTERVAL
    except ValueError:
        raise ModelScopeError(f"{MIN_INTERVAL_ENV}={value!r} is not a number of seconds") from None


class ModelScopeClient:
    """Plain HTTP against the documented OpenAPI v1 (requests), polite and retrying."""

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        timeout: float = 60.0,
        min_interval: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.endpoint = (endpoint or os.environ.get(ENDPOINT_ENV) or DEFAULT_ENDPOINT).rstrip("/")
        self.timeout = timeout
        self.min_interval = min_interval_setting() if min_interval is None else min_interval
        self.sleep = sleep
        self.stats = ClientStats()
        self._session = bearer_session("open-weights-tracker (modelscope channel; requests)",
                                       os.environ.get(TOKEN_ENV))
        self._last_request = 0.0

    def close(self) -> None:
        self._session.close()

    def _pace(self) -> None:
        """Keep `min_interval` seconds between requests, retries included."""
        wait = self._last_request + self.min_interval - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        self._last_request = time.monotonic()

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The `data` of a successful OpenAPI response; None on 404 ResourceNotFound. Retries 429 (after
        Retry-After), 5xx, stalls and connection errors (RETRY_POLICY); raises ModelScopeError when they
        persist."""
        url = f"{self.endpoint}/openapi/v1/{path}"
        try:
            return get_with_retries(
                self._session, url, lambda response: self._data(url, response), params=params,
                timeout=self.timeout, policy=RETRY_POLICY, stats=self.stats, sleep=self.sleep,
                before_each=self._pace, allow_redirects=False,
            )
        except RetriesExhausted as error:
            raise ModelScopeError(str(error)) from None

    @staticmethod
    def _data(url: str, response: requests.Response) -> dict[str, Any] | None:
        try:
            body = response.json()
        except ValueError:
            raise ModelScopeError(f"{url}: HTTP {response.status_code}, not JSON") from None
        if not isinstance(body, dict) or "success" not in body:
            # e.g. the legacy api/v1 shape {"Code", "Success", "Data"}: another surface, another meaning
            raise ModelScopeError(f"{url}: HTTP {response.status_code}, not the OpenAPI v1 envelope")
        if body["success"] is True and response.status_code == 200 and isinstance(body.get("data"), dict):
            return body["data"]
        code = body.get("code")
        if response.status_code == 404 or code == "ResourceNotFound":
            return None
        raise ModelScopeError(
            f"{url}: HTTP {response.status_code} {code or 'error'}: {str(body.get('message') or '')[:200]}"
        )

    def list_page(self, owner: str, page_number: int, task: str | None = None) -> tuple[list[Any], int]:
        """One page of `owner`'s models (sorted by last modification) and the total the API reports."""
        if page_number * PAGE_SIZE > PAGE_CAP:
            raise ValueError(f"page {page_number} is beyond the OpenAPI's cap of {PAGE_CAP} models")
        params: dict[str, Any] = {"owner": owner, "sort": SORT, "page_number": page_number,
                                  "page_size": PAGE_SIZE}
        if task is not None:
            params["filter.task"] = task
        data = self.get("models", params)
        models, total = (data or {}).get("models"), (data or {}).get("total_count")
        if not isinstance(models, list) or not isinstance(total, int) or isinstance(total, bool):
            raise ModelScopeError(f"listing of {owner!r} page {page_number}: no models list or total_count")
        self.stats.pages += 1
        return models, total

    def model(self, model_id: str) -> dict[str, Any] | None:
        """One model's record (with its readme), or None when the OpenAPI does not know it."""
        self.stats.details += 1
        data = self.get(f"models/{quote(model_id, safe='/')}")
        if data is None:
            self.stats.details_not_found += 1
        return data


# --------------------------------------------------------------------------------------------------- listing


@dataclass
class OwnerListing:
    """An owner's models (id -> item, first sighting kept) and the proof the listing is complete."""

    owner: str
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)  # every id listed, other owners' too
    total_count: int = 0
    passes: int = 0
    partitions: list[str] = field(default_factory=list)  # "all" or "task:<t>" of the last pass


def _owner_of(item: Any) -> str | None:
    model_id = item.get("id") if isinstance(item, dict) else None
    if not isinstance(model_id, str) or model_id.count("/") != 1 or not all(model_id.split("/")):
        return None
    return model_id.split("/")[0]


def list_owner(client: ModelScopeClient, owner: str) -> OwnerListing:
    """Every model of `owner`, proved complete: passes over the listing (split by task beyond the cap) until
    the deduplicated ids cover the total the API reports."""
    listing = OwnerListing(owner)
    while listing.passes < MAX_PASSES:
        listing.passes += 1
        total = _partition(client, listing, None)
        listing.partitions = ["all"]
        if total > PAGE_CAP:
            done: set[str] = set()
            while todo := sorted(_tasks(listing.seen.values()) - done):
                for task in todo:
                    done.add(task)
                    listing.partitions.append(f"task:{task}")
                    if _partition(client, listing, task) > PAGE_CAP:
                        raise ModelScopeError(
                            f"owner {owner!r}: task {task!r} alone has more than {PAGE_CAP} models, which "
                            "the OpenAPI cannot page through; this needs a finer split (library, model type)"
                        )
        listing.total_count = total
        if len(listing.seen) >= total:  # the total counts what `owner=` matched, other owners included
            return listing
    raise ModelScopeError(
        f"owner {owner!r}: {len(listing.seen)} distinct models listed in {MAX_PASSES} passes, but the API "
        f"reports {listing.total_count}: the listing cannot be proved complete (models without a task beyond "
        f"the {PAGE_CAP} cap, or a list changing faster than it can be read); nothing was published"
    )


def _tasks(items: Any) -> set[str]:
    return {t for item in items for t in (item.get("tasks") or []) if isinstance(t, str) and t}


def _partition(client: ModelScopeClient, listing: OwnerListing, task: str | None) -> int:
    """Page through one listing (the owner's, or one task of it) into `listing`; its latest total."""
    total = 0
    for page_number in range(1, PAGE_CAP // PAGE_SIZE + 1):
        models, total = client.list_page(listing.owner, page_number, task)
        for item in models:
            owner = _owner_of(item)
            if owner is None:
                continue
            listing.seen.setdefault(item["id"], item)
            if owner.lower() != listing.owner.lower():
                client.stats.foreign_items += 1
                continue
            listing.items.setdefault(item["id"], item)
        if not models or page_number * PAGE_SIZE >= min(total, PAGE_CAP):
            break
    return total


def hub_link(readme: Any) -> str | None:
    """The first Hugging Face model id a mirror's readme links to (its upstream), if any."""
    match = _HF_LINK.search(readme) if isinstance(readme, str) else None
    return match.group(1).rstrip(".") if match else None


# ------------------------------------------------------------------------------------------------- snapshots


_ATTRIBUTE_KEYS = ("display_name", "likes", "tasks", "license", "created_at", "last_modified", "params",
                   "file_size", "private", "gated")


def observation(item: dict[str, Any], fetched_at: dt.datetime, hub_model_id: str | None) -> dict[str, Any]:
    """One ModelScope list item as an observation row (a value that is not a whole count >= 0 is null)."""
    downloads = item.get("downloads")
    usable = isinstance(downloads, int) and not isinstance(downloads, bool) and downloads >= 0
    return {
        "channel": CHANNEL,
        "channel_model_id": item["id"],
        "metric": "downloads",
        "semantics": "cumulative",
        "value": downloads if usable else None,
        "observed_at": None,  # ModelScope gives no time for its count: fetched_at is when it was read
        "fetched_at": fetched_at,
        "hub_model_id": hub_model_id,
        "attributes": json.dumps({k: item.get(k) for k in _ATTRIBUTE_KEYS}, sort_keys=True, default=str),
    }


@dataclass
class _Checkpoint:
    date: str
    endpoint: str
    owners: list[str]
    started_at: str
    done: int = 0  # owners whose rows are staged (raw/owner-NNNN.json)
    stats: dict[str, Any] = field(default_factory=dict)
    owners_report: list[dict[str, Any]] = field(default_factory=list)
    format: int = _CHECKPOINT_FORMAT


@dataclass(frozen=True)
class ChannelSnapshotResult:
    date: dt.date
    path: Path | None  # None when the date was already taken
    rows: int
    stats: ClientStats
    seconds: float

    def summary(self) -> str:
        if self.path is None:
            return f"modelscope snapshot {self.date}: already in the store, nothing done (--force: replace)"
        s = self.stats
        return (
            f"modelscope snapshot {self.date}: {self.rows} models, {s.requests} requests ({s.pages} pages, "
            f"{s.details} model records), {s.retries} retries, {s.rate_limited} rate-limited, "
            f"{s.timeouts} timeouts, {s.server_errors} server errors, {self.seconds:.1f} s -> {self.path}"
        )


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def take_modelscope_snapshot(
    store: Store,
    date: dt.date,
    namespaces: list[Namespace],
    *,
    endpoint: str | None = None,
    timeout: float = 60.0,
    min_interval: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    force: bool = False,
    options: dict[str, Any] | None = None,
) -> ChannelSnapshotResult:
    """Crawl every owner of `namespaces` and publish the snapshot of `date` in the channel's store
    (`<store>/channels/modelscope/`), resuming a killed run of the same date and endpoint."""
    started = time.monotonic()
    target = channel_store(store, CHANNEL)
    lock = target.lock_date(date, "ModelScope run")
    client = ModelScopeClient(endpoint, timeout=timeout, min_interval=min_interval, sleep=sleep)
    try:
        staging = target.staging_dir(date)
        if target.has_snapshot(date) and not force:
            shutil.rmtree(staging, ignore_errors=True)  # a run killed just after publishing
            return ChannelSnapshotResult(date, None, 0, client.stats, 0.0)
        owners = [ns.owner for ns in namespaces]
        checkpoint = _resume_or_start(staging, date, redact(client.endpoint), owners)
        client.stats = ClientStats.from_dict(checkpoint.stats)
        mirrors = {ns.owner for ns in namespaces if ns.is_mirror}
        for number in range(checkpoint.done, len(owners)):
            owner = owners[number]
            listing = list_owner(client, owner)
            fetched_at = _utc_now()
            rows = []
            for model_id in sorted(listing.items):
                hub_id = None
                if owner in mirrors:
                    hub_id = hub_link((client.model(model_id) or {}).get("readme"))
                rows.append(observation(listing.items[model_id], fetched_at, hub_id))
            payload = json.dumps(rows, default=lambda v: v.isoformat()).encode("utf-8")
            write_bytes_atomic(staging / _RAW / f"owner-{number:04d}.json", payload, durable=False)
            checkpoint.owners_report.append(
                {"owner": owner, "total_count": listing.total_count, "rows": len(rows),
                 "passes": listing.passes, "partitions": listing.partitions}
            )
            checkpoint.done = number + 1
            _save(staging, checkpoint, client.stats)
        path = _publish(target, staging, date, checkpoint, client, force, options or {})
        return ChannelSnapshotResult(date, path, target.provenance(date)["rows"], client.stats,
                                     time.monotonic() - started)
    finally:
        client.close()
        lock.release()


def _save(staging: Path, checkpoint: _Checkpoint, stats: ClientStats) -> None:
    checkpoint.stats = asdict(stats)
    write_bytes_atomic(staging / _CHECKPOINT, json.dumps(asdict(checkpoint)).encode("utf-8"), durable=False)


def _resume_or_start(staging: Path, date: dt.date, endpoint: str, owners: list[str]) -> _Checkpoint:
    """The staged run of the same date, endpoint and owners, if its staged owners are all there; else a
    fresh staging directory."""
    try:
        found = _Checkpoint(**json.loads((staging / _CHECKPOINT).read_text(encoding="utf-8")))
        same = (found.date, found.endpoint, found.owners, found.format) == (
            date.isoformat(), endpoint, owners, _CHECKPOINT_FORMAT)
        if same and all((staging / _RAW / f"owner-{n:04d}.json").is_file() for n in range(found.done)):
            return found
    except (OSError, ValueError, TypeError):
        pass
    shutil.rmtree(staging, ignore_errors=True)
    (staging / _RAW).mkdir(parents=True)
    fresh = _Checkpoint(date.isoformat(), endpoint, owners, _utc_now().isoformat().replace("+00:00", "Z"))
    _save(staging, fresh, ClientStats())
    return fresh


def _publish(
    target: Store, staging: Path, date: dt.date, checkpoint: _Checkpoint, client: ModelScopeClient,
    force: bool, options: dict[str, Any],
) -> Path:
    """Staged owners -> one row per model id (first owner wins), sorted, published atomically."""
    rows: dict[str, dict[str, Any]] = {}
    for number in range(checkpoint.done):
        for row in json.loads((staging / _RAW / f"owner-{number:04d}.json").read_text(encoding="utf-8")):
            row["fetched_at"] = dt.datetime.fromisoformat(row["fetched_at"])
            rows.setdefault(row["channel_model_id"], row)
    if not rows:
        raise ModelScopeError(f"ModelScope at {client.endpoint} listed no models for these owners; "
                              "nothing was published")
    out = staging / "publish"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    table = pa.Table.from_pylist([rows[key] for key in sorted(rows)], schema=OBSERVATION_SCHEMA)
    pq.write_table(table, out / "part-00000.parquet", compression="zstd")
    stats = client.stats
    record = {
        "schema_version": OBSERVATION_SCHEMA_VERSION,
        "channel": CHANNEL,
        "metric": "downloads",
        "semantics": "cumulative",
        "source": {"kind": "modelscope-openapi", "endpoint": redact(client.endpoint),
                   "api": "/openapi/v1/models", "sort": SORT, "page_size": PAGE_SIZE},
        "licence": TERMS_NOTE,
        "synthetic": False,
        "owners": checkpoint.owners_report,
        "options": options,
        "started_at": checkpoint.started_at,
        "finished_at": _utc_now().isoformat().replace("+00:00", "Z"),
        **asdict(stats),
    }
    path = target.publish(out, date, record, replace=force)
    shutil.rmtree(staging, ignore_errors=True)
    return path


def run(args: Any) -> int:
    """`python -m pipelines snapshot --channel modelscope`: the snapshot command's options, this channel."""
    import sys

    from pipelines.lock import LockHeld
    from pipelines.registry import RegistryError, load_registry
    from pipelines.runs import Interrupted, record_run
    from pipelines.store import StoreError, parse_date, resolve_store

    try:
        date = parse_date(args.date) if args.date else dt.datetime.now(dt.UTC).date()
        store = resolve_store(args.store)
        registry = load_registry(override=Path(args.registry) if args.registry else None)
        namespaces = load_namespaces(registry)
        with record_run(store, "snapshot") as recorded:
            result = take_modelscope_snapshot(
                store, date, namespaces, timeout=args.timeout, force=args.force,
                options={"timeout": args.timeout, "force": args.force,
                         "namespaces_file": NAMESPACES_FILE.name, "registry_digest": registry.digest},
            )
            counts = {k: v for k, v in asdict(result.stats).items() if isinstance(v, int | float)}
            recorded.counts.update(channel=CHANNEL, date=date.isoformat(), rows=result.rows, **counts)
            recorded.outcome = "ok" if result.path else "skipped"
    except (ValueError, RegistryError, StoreError, ModelScopeError, LockHeld) as error:
        print(f"error: {error}", file=sys.stderr)
        if isinstance(error, ModelScopeError):
            print("Nothing was published; run the same command again to resume from the last owner done.",
                  file=sys.stderr)
        return 1
    except Interrupted:
        print("stopped by SIGTERM; the checkpoint is kept: run the same command to resume", file=sys.stderr)
        return 143
    print(result.summary())
    return 0
