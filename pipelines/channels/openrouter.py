"""OpenRouter inference share: daily pulls of OpenRouter's Data API into immutable, dated vintages.

`python -m pipelines snapshot --channel openrouter [--date D] [--backfill-from 2025-01-01]` pulls
- `GET /datasets/rankings-daily`: per UTC day, the top 50 models by tokens (prompt + completion) plus one
  `other` row summing the rest (`total_tokens` a decimal string), in windows of at most 366 days; and
- `GET /models`: the model catalogue, whose `canonical_slug` is the rankings' permaslug and whose
  `hugging_face_id` links a model to the Hub (null for closed models);
and publishes them as the vintage of D (default: today, UTC): the rankings as observation rows
(`pipelines.channels.OBSERVATION_SCHEMA`, metric `tokens`, semantics `daily`) in
`<store>/channels/openrouter/snapshots/date=D/`, the catalogue in
`<store>/channels/openrouter/models/snapshots/date=D/`. A vintage is never changed: OpenRouter restates
recent days as its figures settle, and a later pull stores the restated figure in its own vintage (charts use
the newest vintage holding a day, `pipelines.channels.openrouter_attribution`).

Window of a pull: from the day after the last day any earlier vintage holds, or 30 days back if that is later
(so each daily pull re-reads the last 30 days and catches restatements), to D-1; the first pull of a store,
or `--backfill-from`, starts at that date instead (the dataset begins 2025-01-01). A pull killed midway
resumes from its checkpoint (responses are kept in staging until the vintage is published).

Needs `OPENROUTER_API_KEY` (any OpenRouter key) in the environment; it is sent as a Bearer header and never
written anywhere. `OPENROUTER_ENDPOINT` overrides the API base (default https://openrouter.ai/api/v1).
Data: CC BY 4.0, cited as "Source: OpenRouter (openrouter.ai/rankings), as of <as_of>.".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import requests

from pipelines.channels import OBSERVATION_SCHEMA, channel_store
from pipelines.channels.http_retry import (
    RetriesExhausted,
    RetryableAnswer,
    RetryPolicy,
    RetryStats,
    bearer_session,
    get_with_retries,
)
from pipelines.channels.openrouter_attribution import (
    CATALOGUE_SCHEMA,
    CITATION,
    DATASET_START,
    LICENCE,
    catalogue_store,
    model_mapping,
)
from pipelines.lock import LockHeld
from pipelines.runs import TRIGGER_ENV, Interrupted, record_run, redact, utc_today
from pipelines.store import Store, StoreError, parse_date, resolve_store, write_json_atomic

CHANNEL = "openrouter"
API_KEY_ENV = "OPENROUTER_API_KEY"
ENDPOINT_ENV = "OPENROUTER_ENDPOINT"
DEFAULT_ENDPOINT = "https://openrouter.ai/api/v1"
RANKINGS_PATH = "/datasets/rankings-daily"
MODELS_PATH = "/models"
MAX_WINDOW_DAYS = 366  # the API's longest window
RESTATEMENT_DAYS = 30  # each pull re-reads this many days back (restated figures)
MODELS_PAGE = 500
DEFAULT_TIMEOUT = 60.0
DEFAULT_RETRIES = 6
_MAX_BACKOFF = 60.0
_CHECKPOINT = "checkpoint.json"
_PART = "part-0.parquet"


class OpenRouterError(RuntimeError):
    """A pull that cannot go on; the message says what to do."""


@dataclass
class Client:
    """A small, tolerant client of the Data API: retries 429 (honouring `Retry-After`), 5xx, network errors
    and answers that are not JSON with capped, jittered exponential backoff (`retry_policy`); a refused key
    or a bad request fails at once with its reason."""

    key: str
    endpoint: str = DEFAULT_ENDPOINT
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES  # per request, whatever the reason (429 included)
    backoff: float = 1.0  # seconds before the first retry, doubling, capped at _MAX_BACKOFF
    sleep: Callable[[float], None] = time.sleep
    stats: RetryStats = field(default_factory=RetryStats)

    def __post_init__(self) -> None:
        self.endpoint = self.endpoint.rstrip("/")
        self._session = bearer_session("open-weights-tracker (channel openrouter)", self.key)

    @property
    def retry_policy(self) -> RetryPolicy:
        """One budget of `retries` for every kind of failure; backoff jittered so parallel pulls spread."""
        return RetryPolicy(retries=self.retries, first_wait=self.backoff, max_wait=_MAX_BACKOFF, jitter=True)

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON body of `GET endpoint+path`, after retries."""
        try:
            return get_with_retries(
                self._session, self.endpoint + path, lambda response: _json(response, path), params=params,
                timeout=self.timeout, policy=self.retry_policy, stats=self.stats, sleep=self.sleep,
            )
        except RetriesExhausted as error:
            raise OpenRouterError(
                f"{error}; nothing was published, run the same command again to resume"
            ) from None

    def rankings(self, start: dt.date, end: dt.date) -> dict[str, Any]:
        """One window of `rankings-daily` as sent: `data` rows and the `meta` block."""
        body = self.get(RANKINGS_PATH, {"start_date": start.isoformat(), "end_date": end.isoformat()})
        if not isinstance(body.get("data"), list) or not isinstance(body.get("meta"), dict):
            raise OpenRouterError(f"rankings-daily {start}..{end}: the answer has no data list or meta block")
        return body

    def models(self) -> list[dict[str, Any]]:
        """The whole catalogue, page by page (`offset`/`limit`) until `total_count` or no `links.next`."""
        found: list[dict[str, Any]] = []
        while True:
            body = self.get(MODELS_PATH, {"offset": len(found), "limit": MODELS_PAGE})
            page = body.get("data")
            if not isinstance(page, list):
                raise OpenRouterError("/models: the answer has no data list")
            found += page
            total = body.get("total_count")
            more = bool((body.get("links") or {}).get("next")) and (total is None or len(found) < total)
            if not page or not more:
                return found


def _json(response: requests.Response, path: str) -> Any:
    """The body of a 200; another status is a refusal (OpenRouterError), a 200 not in JSON is retried."""
    if response.status_code != 200:
        raise OpenRouterError(_refusal(response, path))
    try:
        return response.json()
    except ValueError:
        raise RetryableAnswer("the answer was not JSON") from None


def _refusal(response: requests.Response, path: str) -> str:
    """Why the API refused a request, in words (its own message, redacted), and what to do."""
    try:
        message = str(response.json().get("error", {}).get("message", ""))
    except (ValueError, AttributeError):
        message = response.text[:200]
    what = f"GET {path} was refused ({response.status_code}{': ' + message if message else ''})"
    if response.status_code in (401, 403):
        what += f": check that {API_KEY_ENV} holds a valid OpenRouter API key"
    return redact(what)


def windows(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """[start, end] cut into consecutive windows of at most MAX_WINDOW_DAYS days."""
    cuts = []
    while start <= end:
        last = min(end, start + dt.timedelta(days=MAX_WINDOW_DAYS - 1))
        cuts.append((start, last))
        start = last + dt.timedelta(days=1)
    return cuts


def pull_window(store: Store, date: dt.date, backfill_from: dt.date | None) -> tuple[dt.date, dt.date]:
    """The days the vintage of `date` reads (see the module docstring); empty when start > end."""
    end = date - dt.timedelta(days=1)
    if backfill_from is not None:
        return max(backfill_from, DATASET_START), end
    held = [
        dt.date.fromisoformat(store.provenance(d)["window"]["end"]) for d in store.dates() if d < date
    ]
    if not held:
        return DATASET_START, end
    start = min(max(held) + dt.timedelta(days=1), date - dt.timedelta(days=RESTATEMENT_DAYS))
    return max(start, DATASET_START), end


@dataclass(frozen=True)
class PullResult:
    date: dt.date
    published: bool
    rows: int
    window: tuple[dt.date, dt.date] | None
    as_of: str | None
    stats: RetryStats

    def summary(self) -> str:
        if not self.published:
            return f"openrouter vintage {self.date} already exists: nothing to do"
        assert self.window is not None
        return (
            f"openrouter vintage {self.date}: {self.rows} rows for {self.window[0]} to {self.window[1]}, "
            f"as of {self.as_of}; {self.stats.requests} requests ({self.stats.retries} retries)"
        )


def _timestamp(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)


def observation_table(
    responses: list[dict[str, Any]], mapping: dict[str, str | None], fetched_at: dt.datetime
) -> pa.Table:
    """The rankings rows of a pull as observations: one per (day, permaslug as sent), tokens as int64."""
    rows: dict[str, list[Any]] = {name: [] for name in OBSERVATION_SCHEMA.names}
    for body in responses:
        as_of = body["meta"].get("as_of")
        for rank, item in enumerate(body["data"]):
            try:
                day = dt.date.fromisoformat(item["date"])
                slug = str(item["model_permaslug"])
                tokens = int(str(item["total_tokens"]))
            except (KeyError, TypeError, ValueError) as error:
                raise OpenRouterError(f"rankings-daily row {rank}: cannot read {item!r} ({error})") from None
            base = slug.split(":", 1)[0]
            rows["channel"].append(CHANNEL)
            rows["channel_model_id"].append(slug)
            rows["metric"].append("tokens")
            rows["semantics"].append("daily")
            rows["value"].append(tokens)
            rows["observed_at"].append(dt.datetime.combine(day, dt.time(), dt.UTC))
            rows["fetched_at"].append(fetched_at)
            rows["hub_model_id"].append(mapping.get(base))
            rows["attributes"].append(json.dumps({"date": day.isoformat(), "as_of": as_of}, sort_keys=True))
    return pa.Table.from_pydict(rows, schema=OBSERVATION_SCHEMA)


def catalogue_table(models: list[dict[str, Any]], fetched_at: dt.datetime) -> pa.Table:
    """The /models catalogue as rows (`canonical_slug` -> `hugging_face_id`), each model's raw JSON kept."""
    kept = [m for m in models if isinstance(m, dict) and m.get("canonical_slug")]
    by_slug = {str(m["canonical_slug"]): m for m in kept}  # a slug listed twice: the last copy
    ordered = [by_slug[s] for s in sorted(by_slug)]
    return pa.Table.from_pydict(
        {
            "canonical_slug": [str(m["canonical_slug"]) for m in ordered],
            "id": [str(m.get("id") or "") for m in ordered],
            "name": [str(m.get("name") or "") for m in ordered],
            "hugging_face_id": [m.get("hugging_face_id") or None for m in ordered],
            "created": [int(m["created"]) if isinstance(m.get("created"), int) else None for m in ordered],
            "fetched_at": [fetched_at] * len(ordered),
            "raw": [json.dumps(m, sort_keys=True) for m in ordered],
        },
        schema=CATALOGUE_SCHEMA,
    )


def _load_checkpoint(staging: Path, window: tuple[dt.date, dt.date]) -> dict[str, Any]:
    path = staging / _CHECKPOINT
    wanted = {"start": window[0].isoformat(), "end": window[1].isoformat(), "done": {}}
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("start") == wanted["start"] and saved.get("end") == wanted["end"]:
            return saved
    return wanted


def pull(
    store: Store,
    date: dt.date,
    client: Client,
    *,
    backfill_from: dt.date | None = None,
    force: bool = False,
    progress: Callable[[str], None] = lambda line: None,
) -> PullResult:
    """Pull the vintage of `date` into `store`'s OpenRouter channel (resuming a killed pull), publish it."""
    rankings, catalogue = channel_store(store, CHANNEL), catalogue_store(store)
    lock = rankings.lock_date(date, "OpenRouter pull")
    try:
        if rankings.has_snapshot(date) and not force:
            shutil.rmtree(rankings.staging_dir(date), ignore_errors=True)
            return PullResult(date, False, 0, None, None, client.stats)
        window = pull_window(rankings, date, backfill_from)
        if window[0] > window[1]:
            raise OpenRouterError(
                f"nothing to pull for the vintage of {date}: the dataset starts {DATASET_START} and a "
                "vintage holds the days before its date"
            )
        staging = rankings.staging_dir(date)
        staging.mkdir(parents=True, exist_ok=True)
        checkpoint = _load_checkpoint(staging, window)
        cuts = windows(*window)
        responses = []
        for number, (start, end) in enumerate(cuts, start=1):
            name = f"window-{start.isoformat()}.json"
            if name not in checkpoint["done"].values():
                body = client.rankings(start, end)
                write_json_atomic(staging / name, body)
                checkpoint["done"][start.isoformat()] = name
                write_json_atomic(staging / _CHECKPOINT, checkpoint)
                state = "pulled"
            else:
                state = "resumed from the checkpoint"
            body = json.loads((staging / name).read_text(encoding="utf-8"))
            responses.append(body)
            rows = len(body["data"])
            progress(f"rankings-daily {start} to {end}: {rows} rows ({state}; window {number}/{len(cuts)})")
        fetched_at = dt.datetime.now(dt.UTC)
        if not catalogue.has_snapshot(date) or force:
            models = client.models()
            progress(f"/models: {len(models)} models")
            with catalogue.fresh_staging(date) as staged:
                pq.write_table(catalogue_table(models, fetched_at), staged / _PART)
                catalogue.publish(
                    staged,
                    date,
                    {"channel": CHANNEL, "endpoint": client.endpoint + MODELS_PATH, "licence": LICENCE},
                    replace=force,
                )
        table = observation_table(responses, model_mapping(store, until=date), fetched_at)
        pq.write_table(table, staging / _PART)
        as_of = max((b["meta"].get("as_of") or "" for b in responses), default="") or None
        record = {
            "channel": CHANNEL,
            "endpoint": client.endpoint + RANKINGS_PATH,
            "window": {"start": window[0].isoformat(), "end": window[1].isoformat()},
            "requests": [
                {"start_date": b["meta"].get("start_date"), "end_date": b["meta"].get("end_date"),
                 "rows": len(b["data"]), "meta": b["meta"]}
                for b in responses
            ],
            "as_of": as_of,
            "licence": LICENCE,
            "citation": CITATION.format(as_of=as_of),
            "request_stats": client.stats.to_dict(),
            "fetched_at": fetched_at.isoformat(),
        }
        rankings.publish(staging, date, json.loads(redact(json.dumps(record))), replace=force)
        return PullResult(date, True, table.num_rows, window, as_of, client.stats)
    finally:
        lock.release()


# ------------------------------------------------------------------------------------------------------- CLI


def run(args: argparse.Namespace) -> int:
    """`snapshot --channel openrouter` (options in `pipelines.snapshot_command`): one vintage; skipped
    (exit 0) when the scheduler runs it without a key."""
    key = os.environ.get(API_KEY_ENV, "").strip()
    scheduled = os.environ.get(TRIGGER_ENV) == "schedule"
    try:
        date = parse_date(args.date) if args.date else utc_today()
        store = resolve_store(args.store)
        with record_run(store, "snapshot --channel openrouter") as recorded:
            if not key:
                message = (
                    f"{API_KEY_ENV} is not set: the OpenRouter pull needs an OpenRouter API key (any key) in "
                    "the environment; nothing was pulled"
                )
                recorded.counts.update(channel=CHANNEL, date=date.isoformat())
                recorded.outcome, recorded.error = ("skipped", message) if scheduled else ("failed", message)
                print(("skipped: " if scheduled else "error: ") + message, file=sys.stderr)
                return 0 if scheduled else 1
            client = Client(key, os.environ.get(ENDPOINT_ENV) or DEFAULT_ENDPOINT, timeout=args.timeout)
            quiet = getattr(args, "quiet", False)
            result = pull(
                store,
                date,
                client,
                backfill_from=args.backfill_from,
                force=args.force,
                progress=(lambda line: None) if quiet else (lambda line: print(line, file=sys.stderr)),
            )
            recorded.counts.update(
                channel=CHANNEL, date=date.isoformat(), rows=result.rows, **result.stats.to_dict()
            )
            recorded.outcome = "ok" if result.published else "skipped"
    except (ValueError, StoreError, OpenRouterError, LockHeld) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except Interrupted:
        print("stopped by SIGTERM; the checkpoint is kept: run the same command to resume", file=sys.stderr)
        return 143
    print(result.summary())
    if result.published:
        print(CITATION.format(as_of=result.as_of) + f" Licence: {LICENCE}.")
    return 0
