"""The project's Hub client: huggingface_hub, with the gaps a long crawl cannot live with closed.

huggingface_hub 2.4 gives `list_models` no timeout, no way to resume (the cursor is hidden inside a
generator), and one malformed item ends the whole iteration; `model_info` is not retried at all (the fake
Hub of tests/fakehub.py reproduces each gap). This module keeps the library for everything it does well
(shared session, `http_backoff` with RateLimit-aware waits, `hf_raise_for_status` and its error classes,
token handling, `ModelInfo` parsing) and adds:

- a forced per-request timeout (a request hook on the shared client, the library's documented recipe);
- `HubClient.crawl()` (`pages()` for one listing): listings page by page, each page with its absolute
  next-page URL to checkpoint, requested by one thread and decoded by another a few pages ahead while
  the caller stores them;
- tolerant parsing (`HubClient.parse_items`): an item that cannot be parsed is skipped, counted and an
  example kept; `snapshot_row` (one item) and `snapshot_table` (a clean page at once) give snapshot rows,
  `snapshot_row` nulling (and counting) a value it cannot read rather than dropping the model;
- `HubClient.model_info()`: the same request as `HfApi.model_info`, retried like the listing;
- counters (requests, retries, rate-limit waits, pages, skipped) for provenance and the summary line.

The endpoint is `HF_ENDPOINT` (or the `endpoint` argument); the token is the library's own (`HF_TOKEN`,
token file), sent as a header and never logged, stored, or put in an error message by this module.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import queue
import sys
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from types import NoneType
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

import httpx2
import pyarrow as pa
import pyarrow.compute as pc
from huggingface_hub import ModelInfo, constants, set_client_factory
from huggingface_hub.utils import build_hf_headers, hf_raise_for_status, http_backoff, parse_ratelimit_headers
from huggingface_hub.utils._http import default_client_factory  # the library's documented timeout recipe

from pipelines.schema import SNAPSHOT_SCHEMA

_TIMESTAMP = SNAPSHOT_SCHEMA.field("created_at").type

#: What a snapshot row needs, as `expand=` keys (the listing rejects baseModels: parents come from tags).
SNAPSHOT_EXPAND = (
    "author",
    "downloads",
    "downloadsAllTime",
    "likes",
    "createdAt",
    "lastModified",
    "pipeline_tag",
    "library_name",
    "safetensors",
    "gated",
    "tags",
)

#: `list_models(sort=...)` spelling -> the query value the library sends.
_SORT_PARAM = {"created_at": "createdAt", "last_modified": "lastModified", "trending_score": "trendingScore"}

#: Pages fetched and decoded ahead of the caller (memory: a few pages of 1,000 items).
PAGES_AHEAD = 4
#: Responses received ahead of their decoding.
RESPONSES_AHEAD = 1
#: Longest wait for the next request to be written before a page is decoded or handed over (seconds).
SEND_WAIT = 0.05
#: How long a stopped `run_ahead` waits for its thread to finish the item in hand (a request in flight).
STOP_WAIT = 10.0
#: While `run_ahead` waits for an item, it calls its `on_wait` again every this many seconds.
IDLE_AFTER = 0.1
#: GIL switch interval (seconds) while a crawl runs (Python's default is 0.005).
FETCH_SWITCH_INTERVAL = 0.0005

#: Examples of skipped items kept for provenance (enough to diagnose, small enough to read).
MAX_SKIPPED_EXAMPLES = 5
#: How many times one request is retried (huggingface_hub's `http_backoff`, waits 1, 2, 4, 8, 8 s): this
#: environment variable, else the library's default of 5. Fewer retries give up sooner on a Hub that is down.
RETRIES_ENV = "OWT_HUB_RETRIES"
DEFAULT_RETRIES = 5


class HubPageError(RuntimeError):
    """A listing page the crawl cannot use (not JSON, not a list, a next link off the endpoint)."""


@dataclass
class HubStats:
    """What the client did; all counts cumulative (a resumed run starts from the checkpointed values)."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    rate_limit_waits: float = 0.0  # seconds huggingface_hub waits because of 429 RateLimit/Retry-After
    pages: int = 0
    items: int = 0
    skipped: int = 0
    skipped_examples: list[dict[str, str]] = field(default_factory=list)
    #: Values stored as null because they could not be read, by the item's key (the model is kept).
    nulled_fields: dict[str, int] = field(default_factory=dict)
    nulled_examples: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)  # shallow: asdict's deep copy costs more than a page's parsing
        data["skipped_examples"] = list(self.skipped_examples)
        data["nulled_fields"] = dict(self.nulled_fields)
        data["nulled_examples"] = list(self.nulled_examples)
        return data

    def record_null(self, key: str, model_id: str, error: str) -> None:
        """Count one value nulled by `snapshot_row` (its `on_null`); keep the first example of each key."""
        self.nulled_fields[key] = self.nulled_fields.get(key, 0) + 1
        if self.nulled_fields[key] == 1 and len(self.nulled_examples) < MAX_SKIPPED_EXAMPLES * 2:
            self.nulled_examples.append({"field": key, "model_id": model_id, "error": error})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HubStats:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """One listing page: its items as the Hub sent them (parse with `HubClient.parse_items`), and where
    the next page is (None: last)."""

    url: str
    items: list[Any]
    next_url: str | None
    listing: int = 0  # index of its listing in `HubClient.crawl`


@dataclass(frozen=True)
class Listing:
    """One listing to crawl: its query, the checkpointed next URL to resume from, and `more(items)`: False
    makes a page the last one fetched (its `next_url` is None)."""

    params: dict[str, Any]
    resume_url: str | None = None
    more: Callable[[list[Any]], bool] | None = None


def list_params(
    *,
    author: str | None = None,
    sort: str | None = "downloads",
    limit: int = 1000,
    expand: tuple[str, ...] = SNAPSHOT_EXPAND,
) -> dict[str, Any]:
    """The query `HfApi.list_models(author=, sort=, limit=, expand=)` sends, built the same way."""
    params: dict[str, Any] = {}
    if author:
        params["author"] = author
    if sort is not None:
        params["sort"] = _SORT_PARAM.get(sort, sort)
    params["limit"] = limit
    if expand:
        params["expand"] = list(expand)
    return params


def parse_model_info(item: dict[str, Any]) -> ModelInfo:
    """The library's own parse of an item (as `list_models` does it)."""
    return ModelInfo(**{"siblings": None, **item})


def run_ahead(
    items: Generator[T, None, None],
    depth: int,
    on_wait: Callable[[], None] | None = None,
    *,
    name: str = "run-ahead",
) -> Iterator[T]:
    """`items`, produced by a daemon thread up to `depth` items ahead of the caller; an error raised by
    `items` is raised here, after the items before it. `on_wait()` runs whenever the next item is not
    there yet, and again every IDLE_AFTER seconds until it comes.

    The thread stops when the caller does: it finishes the item in hand (a request in flight) and closes
    `items`. The caller waits for that, up to STOP_WAIT, so that nothing of a failed run goes on alongside
    the next one in the same process (a new `HubClient` closes the shared session, which would break such
    a request). A process being stopped (Ctrl-C, SIGTERM, exit) does not wait: the thread is a daemon."""
    ready: queue.Queue[tuple[Any, BaseException | None, bool]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(entry: tuple[Any, BaseException | None, bool]) -> bool:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                ready.put(entry, timeout=0.1)
                return True
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over((item, None, False)):
                    return
            hand_over((None, None, True))
        except BaseException as error:
            hand_over((None, error, True))
        finally:
            items.close()  # its own clean-up runs in the thread that ran it

    producer = threading.Thread(target=produce, name=name, daemon=True)
    producer.start()
    stopping = False
    try:
        while True:
            if on_wait is not None and ready.empty():
                on_wait()
            try:
                item, error, done = ready.get(timeout=IDLE_AFTER if on_wait is not None else None)
            except queue.Empty:
                continue
            if error is not None:
                raise error
            if done:
                return
            yield item
    except BaseException as error:
        stopping = not isinstance(error, Exception | GeneratorExit)
        raise
    finally:
        stop.set()
        if not stopping:
            producer.join(STOP_WAIT)


class _SendGate:
    """Counts the requests written, so that a page is decoded once the next request is out.

    Decoding a page (`json.loads`) holds the GIL for milliseconds: started while the next request is still
    being written, it holds that request back and the Hub idles meanwhile. Waiting for the request to be out
    (httpx's trace event `receive_response_headers.started`), at most SEND_WAIT, lets the Hub's time on it
    cover ours."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.written = 0
        self._requesting = False

    def on_trace(self, event: str, info: dict[str, Any]) -> None:
        """httpx's `trace` request extension: a request is out once its response is awaited."""
        if event.endswith("receive_response_headers.started"):
            with self._condition:
                self.written += 1
                self._condition.notify_all()

    def requesting(self, requesting: bool) -> None:
        """Whether more requests will come (False: nobody waits for one)."""
        with self._condition:
            self._requesting = requesting
            self._condition.notify_all()

    def wait_past(self, written: int) -> None:
        """Until more than `written` requests are out, or no more will come; at most SEND_WAIT."""
        with self._condition:
            self._condition.wait_for(lambda: self.written > written or not self._requesting, SEND_WAIT)


def _split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """`url` without its userinfo, and the (user, password) it held, decoded (None when it held none)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.netloc.rsplit("@", 1)[1]
    credentials = (unquote(parts.username or ""), unquote(parts.password or ""))
    return urlunsplit(parts._replace(netloc=host)), credentials


def _retries_setting() -> int:
    """$OWT_HUB_RETRIES as a count of retries (DEFAULT_RETRIES when unset); a bad value says so."""
    raw = os.environ.get(RETRIES_ENV, "").strip()
    if not raw:
        return DEFAULT_RETRIES
    if not raw.isdigit():
        raise ValueError(f"{RETRIES_ENV}={raw!r}: expected a whole number (default {DEFAULT_RETRIES})")
    return int(raw)


class HubClient:
    """Talks to one Hub endpoint through huggingface_hub's shared session, with a forced timeout."""

    def __init__(self, endpoint: str | None = None, *, timeout: float = 60.0, stats: HubStats | None = None):
        # Credentials in the endpoint (`http://user:password@proxy`) go to basic auth, never into the URLs
        # that checkpoints, provenance and error messages hold.
        self.endpoint, self._auth = _split_credentials((endpoint or constants.ENDPOINT).rstrip("/"))
        self.timeout = timeout
        self.stats = stats or HubStats()
        self._send_gate = _SendGate()
        self.retries = _retries_setting()
        set_client_factory(self._client_factory)

    def _client_factory(self) -> httpx2.Client:
        client = default_client_factory()
        client.event_hooks["request"].append(self._on_request)
        client.event_hooks["response"].append(self._on_response)
        return client

    def _on_request(self, request: httpx2.Request) -> None:
        # `list_models`/`http_backoff` pass timeout=None per request, which overrides any client default.
        request.extensions["timeout"] = httpx2.Timeout(self.timeout).as_dict()
        request.extensions["trace"] = self._send_gate.on_trace
        self.stats.requests += 1

    def _on_response(self, response: httpx2.Response) -> None:
        if response.status_code != 429:
            return
        self.stats.rate_limited += 1
        # The wait http_backoff takes for this answer: RateLimit reset (+1 s), else Retry-After (+1 s).
        info = parse_ratelimit_headers(response.headers)
        retry_after = response.headers.get("retry-after", "")
        if info is not None and info.remaining == 0:
            self.stats.rate_limit_waits += info.reset_in_seconds + 1
        elif retry_after.isdigit():
            self.stats.rate_limit_waits += int(retry_after) + 1

    def _get(
        self, url: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> httpx2.Response:
        """One logical GET: retried by huggingface_hub on 408/429/5xx, timeouts and dropped connections."""
        before = self.stats.requests
        try:
            response = http_backoff(
                "GET",
                url,
                params=params,
                headers=headers or build_hf_headers(),
                auth=self._auth,
                max_retries=self.retries,
            )
            hf_raise_for_status(response)
            return response
        finally:
            self.stats.retries += max(self.stats.requests - before - 1, 0)

    def pages(
        self,
        params: dict[str, Any],
        resume_url: str | None = None,
        more: Callable[[list[Any]], bool] | None = None,
    ) -> Iterator[Page]:
        """The listing `params` page by page (see `crawl`), starting at `resume_url` if given."""
        return self.crawl([Listing(params, resume_url, more)])

    def crawl(self, listings: Sequence[Listing], on_wait: Callable[[], None] | None = None) -> Iterator[Page]:
        """Every page of every listing, in order (`Page.listing` says whose).

        The Hub's next link already carries the whole query and the cursor, so a listing resumed from a
        checkpointed next URL sends exactly what an uninterrupted one would. One thread requests the pages,
        one request in flight at a time, and another decodes them, up to PAGES_AHEAD pages ahead of the
        caller and across listings, so the Hub's time to build a page and ours to decode and store the
        previous ones overlap.
        `on_wait()` runs when the next page is not there yet (see `run_ahead`): idle time, in which a caller
        can save its progress for free. A fetch error is raised here, after the pages before it.
        """
        # The request thread needs the GIL back after every socket read; by default a busy caller keeps
        # it for up to 5 ms each time, which leaves the Hub idle: hand it over sooner while crawling.
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_interval, FETCH_SWITCH_INTERVAL))
        try:
            for page in run_ahead(self._fetch(listings), PAGES_AHEAD, on_wait, name="hub-fetch"):
                self.stats.pages += 1
                self.stats.items += len(page.items)
                yield page
        finally:
            sys.setswitchinterval(switch_interval)

    def _fetch(self, listings: Sequence[Listing]) -> Iterator[Page]:
        """`crawl`'s pages, decoded (in `run_ahead`'s thread) while the next one is being requested.

        The requests run one page ahead in a thread of their own, so the Hub builds the next page while this
        one is decoded; a listing that `more` ends may thus cost one or two requests past its end, whose
        answers are dropped.
        """
        ended: set[int] = set()  # listings `more` has ended: the requests stop following their links
        responses = run_ahead(self._responses(listings, ended), RESPONSES_AHEAD, name="hub-request")
        try:
            for index, written, response, next_url, link_error in responses:
                if index in ended:
                    continue  # requested ahead, past the end of its listing
                self._send_gate.wait_past(written)
                listing = listings[index]
                items = self._decode_page(response)
                if listing.more is not None and not listing.more(items):
                    ended.add(index)
                    next_url = link_error = None
                if link_error is not None:
                    raise link_error
                yield Page(str(response.url), items, next_url, index)
        finally:
            responses.close()

    def _responses(
        self, listings: Sequence[Listing], ended: set[int]
    ) -> Iterator[tuple[int, int, httpx2.Response, str | None, HubPageError | None]]:
        """Each page's listing, the count of requests written so far, its response and its next URL (or why
        it cannot be followed), listing after listing."""
        headers = build_hf_headers()  # once: it reads the token and builds the user agent each time
        self._send_gate.requesting(True)
        try:
            for index, listing in enumerate(listings):
                url: str | None = listing.resume_url or f"{self.endpoint}/api/models"
                params = None if listing.resume_url else listing.params
                while url is not None and index not in ended:
                    response = self._get(url, params, headers)
                    try:
                        next_url, link_error = self._next_url(response), None
                    except HubPageError as error:
                        next_url, link_error = None, error
                    yield index, self._send_gate.written, response, next_url, link_error
                    url, params = next_url, None
        finally:
            self._send_gate.requesting(False)

    def _next_url(self, response: httpx2.Response) -> str | None:
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        absolute = urljoin(str(response.url), link)  # the Hub sends absolute links; be lenient with relative
        if urlsplit(absolute).netloc != urlsplit(self.endpoint).netloc:
            # Following it would send the token to another host.
            raise HubPageError(
                f"the next-page link of {response.url} leaves the endpoint {self.endpoint}: {link}"
            )
        return absolute

    def _decode_page(self, response: httpx2.Response) -> list[Any]:
        try:
            payload = json.loads(response.content)
        except ValueError as err:
            raise HubPageError(
                f"the Hub answered {response.url} with a page that is not valid JSON ({err}); "
                f"content-type {response.headers.get('content-type')!r}, starts with {response.text[:80]!r}. "
                "Nothing was published; run the same command again to resume from this page."
            ) from None
        if not isinstance(payload, list):
            raise HubPageError(f"the Hub answered {response.url} with a {type(payload).__name__}, not a list")
        return payload

    def parse_items(
        self,
        page: Page,
        parse: Callable[[dict[str, Any]], T] = parse_model_info,  # type: ignore[assignment]
    ) -> list[T]:
        """`parse` of each item of the page (default: the library's ModelInfo); unparseable ones skipped."""
        models = []
        for position, item in enumerate(page.items):
            model = self.parse_item(item, page.url, position, parse)
            if model is not None:
                models.append(model)
        return models

    def parse_item(
        self, item: Any, page_url: str, position: int, parse: Callable[[dict[str, Any]], T]
    ) -> T | None:
        """`parse(item)`, or None (skipped, counted, an example kept) when the item cannot be parsed."""
        try:
            if not isinstance(item, dict):
                raise TypeError(f"item is a {type(item).__name__}, not an object")
            return parse(item)
        except Exception as err:  # one bad item must not end a crawl of millions
            self.stats.skipped += 1
            if len(self.stats.skipped_examples) < MAX_SKIPPED_EXAMPLES:
                self.stats.skipped_examples.append(
                    {
                        "where": f"{page_url} item {position}",
                        "error": f"{type(err).__name__}: {err}",
                        "item": json.dumps(item)[:300],
                    }
                )
            return None

    def model_info(
        self, repo_id: str, *, revision: str | None = None, expand: list[str] | None = None
    ) -> ModelInfo:
        """`HfApi.model_info` (same URL and query), but retried; raises the library's error classes."""
        path = f"{self.endpoint}/api/models/{repo_id}"
        if revision is not None:
            path += f"/revision/{quote(revision, safe='')}"
        params = {"expand": expand} if expand else None
        return parse_model_info(self._get(path, params).json())


# ------------------------------------------------------------------------------------------- model -> row


def base_model_relations(tags: list[str] | None) -> tuple[list[str], str | None]:
    """Parents and the relation to the first one, from `base_model:<relation>:<id>` tags (hf-hub-api.md §2.5).

    Unknown relation strings are kept verbatim; a bare `base_model:<id>` tag adds nothing the pair lacks.
    """
    parents: list[str] = []
    relation = None
    for tag in tags or ():
        if not tag.startswith("base_model:"):
            continue
        kind, sep, parent = tag[len("base_model:") :].partition(":")
        if not sep or "/" in kind:  # `base_model:<id>` alone (ids contain '/', relations do not)
            continue
        if parent and parent not in parents:
            parents.append(parent)
            relation = relation or kind
    return parents, relation


def _count(item: dict[str, Any], key: str) -> int | None:
    value = item.get(key)
    if value is None or (type(value) is int):
        return value
    raise TypeError(f"{key} is {value!r}, not an integer")


def _text(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None or type(value) is str:
        return value
    raise TypeError(f"{key} is {value!r}, not a string")


def _date(item: dict[str, Any], key: str) -> dt.datetime | None:
    """A Hub date (`2024-09-16T11:55:40.000Z`), read like huggingface_hub's parse_datetime: UTC, `Z` only."""
    value = item.get(key)
    if not value:
        return None
    if type(value) is not str or not value.endswith("Z"):
        raise ValueError(f"{key} is {value!r}, not a Hub date (YYYY-MM-DDTHH:MM:SS.fffZ)")
    base, _, fraction = value[:-1].partition(".")
    return dt.datetime.fromisoformat(f"{base}.{fraction[:6]:0<6}").replace(tzinfo=dt.UTC)


def _tags(item: dict[str, Any]) -> list[str] | None:
    tags = item.get("tags")
    if tags is not None and not (type(tags) is list and all(type(t) is str for t in tags)):
        raise TypeError(f"tags is {tags!r}, not a list of strings")
    return tags


def _params_total(item: dict[str, Any]) -> int | None:
    """safetensors `total`, from a block huggingface_hub can read (both `parameters` and `total`)."""
    safetensors = item.get("safetensors")
    if safetensors is None:
        return None
    if type(safetensors) is not dict:
        raise TypeError(f"safetensors is {safetensors!r}, not an object")
    if "parameters" not in safetensors or "total" not in safetensors:  # as SafeTensorsInfo(**safetensors)
        raise KeyError("parameters" if "parameters" not in safetensors else "total")
    return _count(safetensors, "total")


#: Snapshot column -> (the item's key, how to read it). A value these cannot read is nulled, never the row.
_FIELDS: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "downloads_30d": ("downloads", lambda item: _count(item, "downloads")),
    "downloads_all_time": ("downloadsAllTime", lambda item: _count(item, "downloadsAllTime")),
    "likes": ("likes", lambda item: _count(item, "likes")),
    "created_at": ("createdAt", lambda item: _date(item, "createdAt")),
    "last_modified": ("lastModified", lambda item: _date(item, "lastModified")),
    "pipeline_tag": ("pipeline_tag", lambda item: _text(item, "pipeline_tag")),
    "library_name": ("library_name", lambda item: _text(item, "library_name")),
    "params_total": ("safetensors", _params_total),
    "gated": ("gated", lambda item: None if item.get("gated") is None else str(item["gated"]).lower()),
    "tags": ("tags", _tags),
    "hub_id": ("_id", lambda item: _text(item, "_id")),
}

#: Called with (the item's key, model id, error) for each value `snapshot_row` nulls.
OnNull = Callable[[str, str, str], None]


def snapshot_row(item: dict[str, Any], on_null: OnNull | None = None) -> dict[str, Any]:
    """One row of pipelines.schema.SNAPSHOT_SCHEMA from a listing item; raises only when it has no usable id.

    Reads the item as huggingface_hub's ModelInfo does (same keys, safetensors needing both `parameters`
    and `total`, same date format; tests/test_hub_client.py checks the two agree) but about ten times
    faster, which is most of a crawl's CPU time. A value it cannot read (an odd safetensors block, a bad date,
    a tag list that is not one, a value of the wrong type that would break the Parquet writer) is stored as
    null and reported to `on_null`, so a model is never lost for one bad field.
    """
    model_id = item["id"]
    if type(model_id) is not str or not model_id:
        raise TypeError(f"id is {model_id!r}, not a repo id")
    row: dict[str, Any] = {"model_id": model_id}
    for column, (key, read) in _FIELDS.items():
        try:
            row[column] = read(item)
        except (TypeError, ValueError, KeyError) as error:
            row[column] = None
            if on_null is not None:
                on_null(key, model_id, f"{type(error).__name__}: {error}"[:200])
    try:
        author = _text(item, "author")
    except TypeError as error:
        author = None
        if on_null is not None:
            on_null("author", model_id, f"TypeError: {error}"[:200])
    row["author"] = author or model_id.split("/")[0]
    row["base_models"], row["base_relation"] = base_model_relations(row["tags"])
    return {name: row[name] for name in SNAPSHOT_SCHEMA.names}


def _require(values: list[Any], kind: type, key: str) -> list[Any]:
    if not set(map(type, values)) <= {kind, NoneType}:  # type() exactly: no bool for int, no float
        raise TypeError(f"a {key} on this page is not a {kind.__name__}")
    return values


def _ints(values: list[Any], key: str) -> pa.Array:
    return pa.array(_require(values, int, key), pa.int64())  # pyarrow alone would take 2.0 as 2


def _strings(values: list[Any]) -> pa.Array:
    """Strings or nulls. pyarrow refuses every other type JSON can hold (numbers, booleans, lists, objects),
    exactly as `snapshot_row` does."""
    return pa.array(values, pa.string())


def _hub_dates(items: list[dict[str, Any]], key: str) -> pa.Array:
    values = _strings([item.get(key) for item in items])
    if pc.any(pc.invert(pc.ends_with(values, "Z"))).as_py():
        raise ValueError(f"a {key} on this page is not a Hub date")
    return values.cast(_TIMESTAMP)  # ISO 8601 with milliseconds; anything else raises


def snapshot_table(items: list[Any]) -> pa.Table:
    """A whole page as SNAPSHOT_SCHEMA rows at once: `snapshot_row`'s vectorised twin, several times faster.

    Every check is at least as strict as `snapshot_row`'s, so a page it accepts gives exactly the rows
    `snapshot_row` would (tests/test_hub_client.py compares them); on anything unusual it raises, and the
    caller falls back to `snapshot_row` item by item, which nulls and reports the bad values.
    """
    if not all(type(item) is dict for item in items):
        raise TypeError("an item on this page is not an object")
    ids = _require([item["id"] for item in items], str, "id")
    if not all(ids):
        raise TypeError("an id on this page is empty")
    authors = _require([item.get("author") for item in items], str, "author")
    safetensors = [item.get("safetensors") for item in items]
    if not all(s is None or (type(s) is dict and "parameters" in s and "total" in s) for s in safetensors):
        raise TypeError("a safetensors on this page lacks parameters or total")
    tags = _require([item.get("tags") for item in items], list, "tags")
    tag_lists = pa.array(tags, pa.list_(pa.string()))  # a tag that is not a string raises, or is null:
    tag_values = tag_lists.flatten()
    if tag_values.null_count:
        raise TypeError("a tag on this page is null")
    # Only the items with a base_model tag need the per-tag scan (found in one vectorised pass).
    parents: list[list[str]] = [[]] * len(items)
    relations: list[str | None] = [None] * len(items)
    has_parent = pc.starts_with(tag_values, "base_model:")
    for index in set(pc.list_parent_indices(tag_lists).filter(has_parent).to_pylist()):
        parents[index], relations[index] = base_model_relations(tags[index])
    arrays = {
        "model_id": _strings(ids),
        "author": _strings(
            [author or model_id.split("/")[0] for author, model_id in zip(authors, ids, strict=True)]
        ),
        "downloads_30d": _ints([item.get("downloads") for item in items], "downloads"),
        "downloads_all_time": _ints([item.get("downloadsAllTime") for item in items], "downloadsAllTime"),
        "likes": _ints([item.get("likes") for item in items], "likes"),
        "created_at": _hub_dates(items, "createdAt"),
        "last_modified": _hub_dates(items, "lastModified"),
        "pipeline_tag": _strings([item.get("pipeline_tag") for item in items]),
        "library_name": _strings([item.get("library_name") for item in items]),
        "params_total": _ints([s["total"] if s is not None else None for s in safetensors], "total"),
        "gated": _strings(
            [None if g is None else str(g).lower() for g in (item.get("gated") for item in items)]
        ),
        "tags": tag_lists,
        "base_models": pa.array(parents, pa.list_(pa.string())),
        "base_relation": _strings(relations),
        "hub_id": _strings([item.get("_id") for item in items]),
    }
    return pa.Table.from_arrays([arrays[name] for name in SNAPSHOT_SCHEMA.names], schema=SNAPSHOT_SCHEMA)
