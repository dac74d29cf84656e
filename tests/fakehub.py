"""A faithful fake of the Hugging Face Hub model API, for tests and benchmarks (no internet needed).

It speaks the Hub's model API as the real client uses it (cursor pagination, absolute Link headers,
`expand` projection, RateLimit headers): a real `ThreadingHTTPServer` on 127.0.0.1 (port 0), reached by
the real `huggingface_hub` client through `HF_ENDPOINT` or `HfApi(endpoint=...)`.

What it serves
--------------
- `GET /api/models`: keyset cursor pagination (cursor = urlsafe base64 JSON of the last (sort value, `_id`)),
  an absolute `Link: <http://host:port/api/models?...&cursor=...>; rel="next"` on every page but the last,
  sort descending by `downloads|likes|createdAt|lastModified|trendingScore` (default `trendingScore`; ties by
  `_id` ascending; missing values last), `author`, `search`, repeated `filter` (AND over tags, pipeline_tag,
  library_name), `expand`/`expand[]` projection (400 for `baseModels|childrenModelCount|usedStorage` and
  unknown keys), the default item shape when there is no `expand`.
- `GET /api/models/{ns}/{name}` (and `/revision/{rev}`): full document, or `_id`, `id` + expanded keys,
  including `baseModels` (`{"relation": ..., "models": [{"_id", "id"}]}`, derived from `base_model:` tags);
  a missing repo is 404 with `X-Error-Code: RepoNotFound`.
- `GET /api/agent-harnesses` and every unknown path: 404.
- `RateLimit` / `RateLimit-Policy` headers on every response, from a per-token counter in a fixed window.

Models are plain dicts in the Hub's JSON form (`fake.models[model_id]`): mutate them between snapshots
(`fake.models["Qwen/x"]["downloadsAllTime"] = 5`), delete a key to make the Hub "not return" it.

Fault injection
---------------
`fake.inject("list", page=2, faults=[Fault.status(503), Fault.rate_limited()])`: the first request for
page 2 of any listing gets a 503, the second a 429, the third is served normally. Keys: route `"list"` with
a 1-based `page` (optionally `author=`), route `"model"` with `model_id`, or any name given to `add_route`.
Each queued fault is used by exactly one request (attempt), in order. See `Fault` for the kinds.

Extending it (other tests: backfill datasets, ops reliability)
--------------------------------------------------------------
`fake.add_route("GET", r"^/api/datasets/(?P<repo>[^/]+/[^/]+)$", handler, name="dataset")` where
`handler(request: FakeRequest) -> FakeResponse`. Custom routes get the rate-limit headers, the request log
and fault injection (`fake.inject("dataset", key=<what the handler returns from request.fault_key>)`, or
the default key: the matched path). HEAD requests are routed like GET without a body.

Running it for subprocesses
---------------------------
In-process: start `FakeHub` (or the `fake_hub` fixture) and pass `HF_ENDPOINT=fake.url` to the child.
Standalone: `python -m tests.fakehub --port 0 --models 1000 --seed 1` prints its URL on the first stdout
line and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import random
import re
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

#: expand keys the listing accepts (huggingface_hub 2.4.0 `ExpandModelProperty_T` minus the three below).
LIST_EXPAND_KEYS = frozenset(
    {
        "author",
        "cardData",
        "config",
        "createdAt",
        "disabled",
        "downloads",
        "downloadsAllTime",
        "evalResults",
        "gated",
        "gguf",
        "inference",
        "inferenceProviderMapping",
        "lastModified",
        "library_name",
        "likes",
        "mask_token",
        "model-index",
        "pipeline_tag",
        "private",
        "resourceGroup",
        "safetensors",
        "sha",
        "siblings",
        "spaces",
        "tags",
        "transformersInfo",
        "trendingScore",
        "widgetData",
    }
)
#: only `/api/models/{repo_id}` accepts these (huggingface_hub PR #3182).
DETAIL_ONLY_EXPAND_KEYS = frozenset({"baseModels", "childrenModelCount", "usedStorage"})
DETAIL_EXPAND_KEYS = LIST_EXPAND_KEYS | DETAIL_ONLY_EXPAND_KEYS

#: `sort=` values the listing understands; the stored key has the same name.
SORT_KEYS = ("downloads", "likes", "createdAt", "lastModified", "trendingScore")

#: keys of an item when the listing is called without `expand` (real response, hf-hub-api.md §2.2).
DEFAULT_LIST_KEYS = (
    "_id",
    "id",
    "likes",
    "trendingScore",
    "private",
    "downloads",
    "tags",
    "pipeline_tag",
    "library_name",
    "createdAt",
)

RELATIONS = ("finetune", "quantized", "adapter", "merge")


def hub_date(value: dt.datetime) -> str:
    """A datetime as the Hub writes it: `2024-09-16T11:55:40.000Z` (UTC, milliseconds)."""
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _b64(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def _unb64(token: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(token.encode()))


# --------------------------------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class Fault:
    """One misbehaviour for one request. Build with the class methods."""

    kind: str
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    index: int = 0

    @classmethod
    def status_code(cls, code: int) -> Fault:
        """An error status (500, 502, 503, 504, 408, 400, ...) with a JSON `{"error": ...}` body."""
        return cls("status", status=code)

    status = status_code  # `Fault.status(503)` reads best in tests

    @classmethod
    def rate_limited(cls, *, ratelimit: bool = True, retry_after: bool = False, reset: int = 0) -> Fault:
        """429 with `RateLimit: "api";r=0;t=<reset>` and/or `Retry-After: <reset>`."""
        headers = []
        if ratelimit:
            headers.append(("RateLimit", f'"api";r=0;t={reset}'))
        if retry_after:
            headers.append(("Retry-After", str(reset)))
        return cls("status", status=429, headers=tuple(headers))

    @classmethod
    def short_body(cls) -> Fault:
        """A body shorter than its `Content-Length`, then close (client: RemoteProtocolError)."""
        return cls("short_body")

    @classmethod
    def broken_json(cls) -> Fault:
        """200 with a truncated JSON body whose `Content-Length` is right (client: JSONDecodeError)."""
        return cls("broken_json")

    @classmethod
    def html(cls) -> Fault:
        """200 with an HTML error page, as a proxy or CDN would send."""
        return cls("html")

    @classmethod
    def stall(cls, seconds: float) -> Fault:
        """Wait `seconds` before answering (client: ReadTimeout when its timeout is shorter)."""
        return cls("stall", seconds=seconds)

    @classmethod
    def relative_link(cls) -> Fault:
        """A `Link` header with a relative URL (huggingface_hub cannot follow it)."""
        return cls("relative_link")

    @classmethod
    def foreign_link(cls) -> Fault:
        """A `Link` header pointing at another host (127.0.0.2 on the same port)."""
        return cls("foreign_link")

    @classmethod
    def missing_id(cls, index: int = 0) -> Fault:
        """Item number `index` of the page is served without its `id` key."""
        return cls("missing_id", index=index)

    @classmethod
    def safetensors_without_parameters(cls, index: int = 0) -> Fault:
        """Item number `index` has `safetensors: {"total": N}` (huggingface_hub: KeyError('parameters'))."""
        return cls("safetensors_without_parameters", index=index)

    @classmethod
    def bad_date(cls, index: int = 0) -> Fault:
        """Item number `index` has a `createdAt` the client's date parser rejects."""
        return cls("bad_date", index=index)


_ITEM_FAULTS = {"missing_id", "safetensors_without_parameters", "bad_date"}


@dataclass
class _QueuedFaults:
    route: str
    key: Any
    query: dict[str, str | None]
    faults: deque[Fault]


# --------------------------------------------------------------------------------------------- requests


@dataclass
class FakeRequest:
    """What a route handler sees."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    match: re.Match[str] | None
    hub: FakeHub
    fault_key: Any = None  # set by the handler; faults are looked up by (route name, fault_key)

    def params(self, name: str) -> list[str]:
        return [value for key, value in self.query if key == name]

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.params(name)
        return values[-1] if values else default

    @property
    def host(self) -> str:
        return self.headers.get("host", f"127.0.0.1:{self.hub.port}")


@dataclass
class FakeResponse:
    """What a route handler returns. `body` may be bytes, str, or anything JSON-serialisable."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, **headers: str) -> FakeResponse:
        return cls(status, payload, {"Content-Type": "application/json; charset=utf-8", **headers})

    @classmethod
    def error(cls, status: int, message: str, error_code: str | None = None) -> FakeResponse:
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Error-Message": message}
        if error_code:
            headers["X-Error-Code"] = error_code
        return cls(status, {"error": message}, headers)

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


@dataclass(frozen=True)
class RequestRecord:
    """One request as the fake saw it (for assertions): the fault it got, if any, and the status sent."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    route: str
    status: int
    fault: str | None

    def param(self, name: str) -> str | None:
        values = [value for key, value in self.query if key == name]
        return values[-1] if values else None


Handler = Callable[[FakeRequest], FakeResponse]


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    name: str


# ------------------------------------------------------------------------------------------------- server


class FakeHub:
    """The fake Hub: `with FakeHub(models) as fake: HfApi(endpoint=fake.url).list_models(...)`."""

    def __init__(
        self,
        models: Iterable[dict[str, Any]] = (),
        *,
        default_page_size: int = 1000,
        max_page_size: int = 1000,
        quota: int = 1000,
        window_seconds: int = 300,
        enforce_quota: bool = False,
        static: bool = False,
    ) -> None:
        """`static=True` promises the models will not change once served (benchmarks, standalone server),
        which lets the fake skip its per-request change check."""
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size
        self.quota = quota
        self.window_seconds = window_seconds
        self.enforce_quota = enforce_quota
        self.requests: list[RequestRecord] = []
        self._faults: list[_QueuedFaults] = []
        self._lock = threading.Lock()
        self._usage: dict[str, tuple[float, int]] = {}
        self.static = static
        self._order_cache: dict[
            tuple[str, str | None], tuple[int | None, list[dict[str, Any]], list[tuple]]
        ] = {}
        self._namespaces: dict[str, list[dict[str, Any]]] | None = None
        self.models: dict[str, dict[str, Any]] = {}
        self.add_models(models)
        self._stopping = threading.Event()
        self._routes: list[_Route] = []
        self.add_route("GET", r"^/api/models$", self._list_models, name="list")
        self.add_route(
            "GET",
            r"^/api/models/(?P<repo>[^/]+(?:/[^/]+)?)/revision/(?P<rev>[^/]+)$",
            self._model,
            name="model",
        )
        self.add_route("GET", r"^/api/models/(?P<repo>[^/]+(?:/[^/]+)?)$", self._model, name="model")
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle

    def start(self, port: int = 0) -> FakeHub:
        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fakehub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "FakeHub not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The endpoint to give huggingface_hub (`HF_ENDPOINT` / `HfApi(endpoint=...)`)."""
        return f"http://127.0.0.1:{self.port}"

    # ---- data and behaviour

    def add_models(self, models: Iterable[dict[str, Any]]) -> None:
        """Add (or replace, by `id`) models given as Hub JSON dicts; `_id` is made up when absent."""
        for model in models:
            model.setdefault("_id", _object_id(model["id"]))
            self.models[model["id"]] = model
        self._order_cache.clear()
        self._namespaces = None

    def load(self, models: Iterable[dict[str, Any]]) -> None:
        """Serve exactly `models` from now on (replaces what was there)."""
        self.models.clear()
        self.add_models(models)

    def add_route(self, method: str, pattern: str, handler: Handler, *, name: str | None = None) -> None:
        """Serve `method` requests whose path matches `pattern` (regex) with `handler`; newest route wins."""
        self._routes.insert(0, _Route(method.upper(), re.compile(pattern), handler, name or pattern))

    def inject(
        self,
        route: str,
        faults: Iterable[Fault] | Fault,
        *,
        page: int | None = None,
        model_id: str | None = None,
        key: Any = None,
        author: str | None = None,
        query: dict[str, str | None] | None = None,
    ) -> None:
        """Queue faults for the next requests to (route, page | model_id | key); one fault per attempt.

        `author=` narrows to listings of that namespace; `query=` to requests whose parameters have these
        values (None: parameter absent), e.g. `query={"author": None, "sort": "downloads"}` for the hub-wide
        top listing only.
        """
        queued = deque([faults] if isinstance(faults, Fault) else faults)
        fault_key = page if page is not None else model_id if model_id is not None else key
        wanted = {**(query or {}), **({"author": author} if author is not None else {})}
        with self._lock:
            self._faults.append(_QueuedFaults(route, fault_key, wanted, queued))

    def pending_faults(self) -> int:
        with self._lock:
            return sum(len(entry.faults) for entry in self._faults)

    def requests_to(self, route: str) -> list[RequestRecord]:
        return [record for record in self.requests if record.route == route]

    # ---- internals used by the handler

    def _take_fault(self, route: str, key: Any, request: FakeRequest) -> Fault | None:
        with self._lock:
            for entry in self._faults:
                if entry.route != route or not entry.faults or (entry.key is not None and entry.key != key):
                    continue
                if all(request.param(name) == value for name, value in entry.query.items()):
                    return entry.faults.popleft()
        return None

    def _rate_limit_headers(self, token: str) -> tuple[dict[str, str], bool]:
        now = time.monotonic()
        with self._lock:
            start, used = self._usage.get(token, (now, 0))
            if now - start >= self.window_seconds:
                start, used = now, 0
            used += 1
            self._usage[token] = (start, used)
        remaining = max(self.quota - used, 0)
        reset = max(int(self.window_seconds - (now - start)), 0)
        headers = {
            "RateLimit": f'"api";r={remaining};t={reset}',
            "RateLimit-Policy": f'"fixed window";"api";q={self.quota};w={self.window_seconds}',
        }
        return headers, used > self.quota

    def _sorted(self, sort: str, author: str | None) -> tuple[list[dict[str, Any]], list[tuple]]:
        """The models of one listing (all, or one namespace) in listing order, with their keyset keys.

        Cached; unless the hub is `static`, the cache is checked against the current sort values so tests
        can mutate models between requests.
        """
        namespace = author.lower() if author is not None else None
        cached = self._order_cache.get((sort, namespace))
        if cached is not None and self.static:
            return cached[1], cached[2]
        if namespace is None:
            models = list(self.models.values())
        elif self.static:
            models = self._by_namespace().get(namespace, [])
        else:
            models = [m for m in self.models.values() if _namespace(m) == namespace]
        fingerprint = None if self.static else hash(tuple((m.get("_id"), m.get(sort)) for m in models))
        if cached is not None and cached[0] == fingerprint:
            return cached[1], cached[2]
        present = sorted((m for m in models if m.get(sort) is not None), key=lambda m: m["_id"])
        present.sort(key=lambda m: m[sort], reverse=True)  # stable: `_id` ascending within equal values
        missing = sorted((m for m in models if m.get(sort) is None), key=lambda m: m["_id"])
        ordered = present + missing
        keys = [_keyset_key(m.get(sort), m["_id"]) for m in ordered]
        self._order_cache[(sort, namespace)] = (fingerprint, ordered, keys)
        return ordered, keys

    def _by_namespace(self) -> dict[str, list[dict[str, Any]]]:
        if self._namespaces is None:
            self._namespaces = {}
            for model in self.models.values():
                self._namespaces.setdefault(_namespace(model), []).append(model)
        return self._namespaces

    def _list_models(self, request: FakeRequest) -> FakeResponse:
        expand = request.params("expand") + request.params("expand[]")
        bad = [key for key in expand if key not in LIST_EXPAND_KEYS]
        if bad:
            return FakeResponse.error(400, f"Invalid expand value(s) for /api/models: {', '.join(bad)}")
        sort = request.param("sort") or "trendingScore"
        if sort not in SORT_KEYS:
            return FakeResponse.error(400, f"Invalid sort: {sort}")
        try:
            limit = int(request.param("limit") or self.default_page_size)
        except ValueError:
            return FakeResponse.error(400, "limit must be an integer")
        page_size = max(1, min(limit, self.max_page_size))
        ordered, keys = self._sorted(sort, request.param("author"))
        cursor = request.param("cursor")
        start, page_number = 0, 1
        if cursor:
            try:
                state = _unb64(cursor)
                start = _bisect_after(keys, _keyset_key(state["v"], state["i"]))
                page_number = int(state["p"]) + 1
            except (ValueError, KeyError, TypeError):
                return FakeResponse.error(400, "Invalid cursor")
        matching = _filtered(ordered, start, request)
        page: list[dict[str, Any]] = []
        for model in matching:
            page.append(model)
            if len(page) == page_size:
                break
        has_more = len(page) == page_size and next(matching, None) is not None
        request.fault_key = page_number
        items = [_project(model, expand, detail=False) for model in page]
        headers: dict[str, str] = {}
        if has_more:
            last = page[-1]
            query = [(k, v) for k, v in request.query if k != "cursor"]
            if "sort" not in {k for k, _ in query}:
                query.append(("sort", sort))  # the real Hub writes its default sort into the next link
            query.append(("cursor", _b64({"v": last.get(sort), "i": last["_id"], "p": page_number})))
            headers["Link"] = f'<http://{request.host}/api/models?{urlencode(query)}>; rel="next"'
        return FakeResponse.json(items, **headers)

    def _model(self, request: FakeRequest) -> FakeResponse:
        assert request.match is not None
        repo = request.match["repo"]
        request.fault_key = repo
        model = self.models.get(repo)
        if model is None:
            return FakeResponse.error(404, "Repository not found", "RepoNotFound")
        expand = request.params("expand") + request.params("expand[]")
        bad = [key for key in expand if key not in DETAIL_EXPAND_KEYS]
        if bad:
            return FakeResponse.error(400, f"Invalid expand value(s): {', '.join(bad)}")
        return FakeResponse.json(_project(model, expand, detail=True))


def _keyset_key(value: Any, object_id: str) -> tuple:
    """Sort key matching the listing order: value descending, missing values last, then `_id` ascending."""
    if value is None:
        return (1, 0, object_id)
    if isinstance(value, str):
        return (0, (*(-ord(ch) for ch in value), 1), object_id)  # descending strings, shorter first
    return (0, -value, object_id)


def _bisect_after(keys: list[tuple], key: tuple) -> int:
    low, high = 0, len(keys)
    while low < high:
        mid = (low + high) // 2
        if keys[mid] <= key:
            low = mid + 1
        else:
            high = mid
    return low


def _namespace(model: dict[str, Any]) -> str:
    return model.get("id", "").split("/")[0].lower()


def _filtered(ordered: list[dict[str, Any]], start: int, request: FakeRequest) -> Iterator[dict[str, Any]]:
    author = request.param("author")
    search = (request.param("search") or "").lower()
    filters = request.params("filter")
    for model in ordered[start:] if start else ordered:
        model_id = model.get("id", "")
        if author is not None and model_id.split("/")[0].lower() != author.lower():
            continue
        if search and search not in model_id.lower():
            continue
        if filters:
            facets = set(model.get("tags") or ()) | {model.get("pipeline_tag"), model.get("library_name")}
            if not all(f in facets for f in filters):
                continue
        yield model


def _base_models(model: dict[str, Any]) -> dict[str, Any] | None:
    """The detail route's `baseModels`, from the `base_model:<relation>:<id>` tags (first relation wins)."""
    relation, parents = None, []
    for tag in model.get("tags") or ():
        parts = tag.split(":", 2)
        if len(parts) == 3 and parts[0] == "base_model":
            relation = relation or parts[1]
            parents.append(parts[2])
    if not parents:
        return None
    return {"relation": relation, "models": [{"_id": _object_id(parent), "id": parent} for parent in parents]}


def _project(model: dict[str, Any], expand: list[str], *, detail: bool) -> dict[str, Any]:
    """The item as the Hub would send it for this route and `expand`."""
    if expand:
        item = {"_id": model["_id"], "id": model["id"]} if "id" in model else {"_id": model["_id"]}
        for key in expand:
            if key == "baseModels" and "baseModels" not in model:
                value = _base_models(model)
            elif key == "author" and "author" not in model:
                value = model["id"].split("/")[0] if "/" in model.get("id", "") else None
            else:
                value = model.get(key)
            if value is not None or key in model:
                item[key] = value
        return item
    if detail:
        item = {key: value for key, value in model.items()}
        item.setdefault("modelId", model.get("id"))
        item.setdefault("siblings", [])
        return item
    item = {key: model[key] for key in DEFAULT_LIST_KEYS if key in model}
    if "id" in model:
        item["modelId"] = model["id"]
    return item


def _apply_item_fault(items: list[Any], fault: Fault) -> list[Any]:
    if not items:
        return items
    items = list(items)
    index = min(fault.index, len(items) - 1)
    item = dict(items[index])
    if fault.kind == "missing_id":
        item.pop("id", None)
    elif fault.kind == "safetensors_without_parameters":
        item["safetensors"] = {"total": (item.get("safetensors") or {}).get("total", 7_000_000_000)}
    elif fault.kind == "bad_date":
        item["createdAt"] = "last tuesday"
    items[index] = item
    return items


def _make_handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeHub/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes: without this, Nagle + delayed ACK add ~40 ms a page.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_HEAD(self) -> None:
            self._handle("HEAD")

        def do_POST(self) -> None:
            self._handle("POST")

        def _handle(self, method: str) -> None:
            split = urlsplit(self.path)
            query = parse_qsl(split.query, keep_blank_values=True)
            headers = {name.lower(): value for name, value in self.headers.items()}
            length = int(headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            route, request = self._route(method, split.path, query, headers)
            token = headers.get("authorization", "anonymous:" + self.client_address[0])
            rate_headers, over_quota = hub._rate_limit_headers(token)
            if route is None:
                response = FakeResponse.error(404, "Not Found")
                route_name = "unknown"
            elif over_quota and hub.enforce_quota:
                response = FakeResponse.error(429, "Too Many Requests")
                route_name = route.name
            else:
                route_name = route.name
                try:
                    response = route.handler(request)
                except Exception as err:  # a bug in a handler answers 500, as a server would, not a hang-up
                    response = FakeResponse.error(
                        500, f"fake hub handler failed: {type(err).__name__}: {err}"
                    )
            fault_key = split.path if request.fault_key is None else request.fault_key
            fault = hub._take_fault(route_name, fault_key, request) if route else None
            response.headers = {**rate_headers, **response.headers}
            self._send(method, response, fault, request, route_name)

        def _route(
            self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str]
        ) -> tuple[_Route | None, FakeRequest]:
            lookup = "GET" if method == "HEAD" else method
            for route in hub._routes:
                if route.method != lookup:
                    continue
                match = route.pattern.match(path)
                if match:
                    return route, FakeRequest(method, path, query, headers, match, hub)
            return None, FakeRequest(method, path, query, headers, None, hub)

        def _send(
            self, method: str, response: FakeResponse, fault: Fault | None, request: FakeRequest, route: str
        ) -> None:
            close = False
            if fault is not None:
                if fault.kind == "status":
                    message = "Too Many Requests" if fault.status == 429 else f"injected {fault.status}"
                    headers = {**response.headers, **FakeResponse.error(fault.status, message).headers}
                    headers.pop("Link", None)
                    headers.update(dict(fault.headers))
                    response = FakeResponse(fault.status, {"error": message}, headers)
                elif fault.kind == "html":
                    response = FakeResponse(
                        200,
                        "<html><body><h1>502 Bad Gateway</h1></body></html>",
                        {**response.headers, "Content-Type": "text/html"},
                    )
                elif fault.kind == "relative_link" and "Link" in response.headers:
                    response.headers["Link"] = re.sub(r"<http://[^/]+", "<", response.headers["Link"])
                elif fault.kind == "foreign_link" and "Link" in response.headers:
                    response.headers["Link"] = response.headers["Link"].replace("127.0.0.1", "127.0.0.2", 1)
                elif fault.kind in _ITEM_FAULTS and isinstance(response.body, list):
                    response.body = _apply_item_fault(response.body, fault)
            body = response.payload()
            declared = len(body)
            if fault is not None and fault.kind == "broken_json":
                body = body[: max(len(body) // 2, 1)]
                declared = len(body)
            elif fault is not None and fault.kind == "short_body":
                declared = len(body) + 100
                close = True
            hub.requests.append(
                RequestRecord(
                    method,
                    request.path,
                    tuple(request.query),
                    request.headers,
                    route,
                    response.status,
                    fault.kind if fault else None,
                )
            )
            if fault is not None and fault.kind == "stall":  # logged first: tests can see the stalled request
                hub._stopping.wait(fault.seconds)
            try:
                self.send_response(response.status)
                response.headers.setdefault("Content-Type", "application/json; charset=utf-8")
                response.headers.setdefault("X-Request-Id", f"Root=1-fake-{len(hub.requests)}")
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(declared))
                if close:
                    self.send_header("Connection", "close")
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                close = True
            if close:
                self.close_connection = True

    return Handler


# ----------------------------------------------------------------------------------------- model builder

#: (namespace, weight): organisations of several countries, GGUF/quant re-publishers and individual users.
NAMESPACES = (
    ("Qwen", 8),
    ("deepseek-ai", 4),
    ("meta-llama", 5),
    ("google", 5),
    ("mistralai", 3),
    ("microsoft", 3),
    ("THUDM", 2),
    ("01-ai", 1),
    ("internlm", 2),
    ("moonshotai", 1),
    ("openai", 1),
    ("nvidia", 2),
    ("unsloth", 6),
    ("bartowski", 6),
    ("mradermacher", 6),
    ("TheBloke", 3),
    ("lmstudio-community", 2),
    ("jane-doe", 2),
    ("kim-lab", 1),
    ("xiaoming123", 2),
    ("random-finetuner", 2),
    ("stabilityai", 2),
)
PIPELINES = (
    "text-generation",
    "image-text-to-text",
    "feature-extraction",
    "text-to-image",
    "automatic-speech-recognition",
    "sentence-similarity",
    None,
)
LIBRARIES = ("transformers", "gguf", "diffusers", "sentence-transformers", "peft", "mlx", None)
PARAM_SIZES_M = (135, 500, 1_500, 7_000, 72_000)
_EPOCH_START = dt.datetime(2022, 3, 2, 23, 29, 4, tzinfo=dt.UTC)
_EPOCH_END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _object_id(seed: str) -> str:
    """A stable 24-hex-digit ObjectId-like `_id` for a model id."""
    return hashlib.sha1(seed.encode()).hexdigest()[:24]


def make_model(
    model_id: str,
    *,
    downloads: int = 100,
    downloads_all_time: int | None = 1000,
    likes: int = 1,
    created_at: dt.datetime = _EPOCH_START,
    last_modified: dt.datetime | None = None,
    pipeline_tag: str | None = "text-generation",
    library_name: str | None = "transformers",
    params_total: int | None = None,
    gated: bool | str = False,
    base_models: Iterable[str] = (),
    relation: str = "finetune",
    extra_tags: Iterable[str] = (),
    trending_score: float = 0,
) -> dict[str, Any]:
    """One model as the Hub's JSON (all expandable fields the snapshot uses); None = key absent."""
    parents = list(base_models)
    tags = [t for t in (library_name, pipeline_tag) if t] + list(extra_tags)
    for parent in parents:
        tags += [f"base_model:{parent}", f"base_model:{relation}:{parent}"]
    tags += ["license:apache-2.0", "region:us"]
    model: dict[str, Any] = {
        "_id": _object_id(model_id),
        "id": model_id,
        "author": model_id.split("/")[0],
        "downloads": downloads,
        "downloadsAllTime": downloads_all_time,
        "likes": likes,
        "trendingScore": trending_score,
        "private": False,
        "gated": gated,
        "disabled": False,
        "createdAt": hub_date(created_at),
        "lastModified": hub_date(last_modified or created_at),
        "pipeline_tag": pipeline_tag,
        "library_name": library_name,
        "tags": tags,
        "sha": _object_id("sha:" + model_id) + "0" * 16,
        "safetensors": {"parameters": {"BF16": params_total}, "total": params_total}
        if params_total
        else None,
    }
    return {key: value for key, value in model.items() if value is not None}


def make_models(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """`count` realistic, deterministic models: heavy-tailed downloads, derivatives with base_model tags, some
    without `downloadsAllTime` or `safetensors`, gated ones, and every field the snapshot reads."""
    rng = random.Random(seed)
    names, weights = zip(*NAMESPACES, strict=True)
    span = (_EPOCH_END - _EPOCH_START).total_seconds()
    models: list[dict[str, Any]] = []
    for number in range(count):
        namespace = rng.choices(names, weights)[0]
        model_id = f"{namespace}/model-{number:07d}"
        downloads = int(rng.paretovariate(0.6)) - 1 if rng.random() < 0.9 else 0
        created = _EPOCH_START + dt.timedelta(seconds=int(rng.random() * span))
        modified = created + dt.timedelta(seconds=int(rng.random() * (_EPOCH_END - created).total_seconds()))
        parents: list[str] = []
        if models and rng.random() < 0.35:
            parents = [rng.choice(models[: max(1, len(models) // 4)])["id"]]
            if rng.random() < 0.05:
                parents.append(rng.choice(models)["id"])
        relation = rng.choice(RELATIONS + ("quantized",) * 2)
        model = make_model(
            model_id,
            downloads=downloads,
            downloads_all_time=None if rng.random() < 0.05 else downloads * rng.randint(1, 40),
            likes=int(rng.paretovariate(1.2)) - 1,
            created_at=created,
            last_modified=modified,
            pipeline_tag=rng.choice(PIPELINES),
            library_name=rng.choice(LIBRARIES),
            params_total=None if rng.random() < 0.3 else rng.choice(PARAM_SIZES_M) * 1_000_000,
            gated=rng.choice((False, False, False, "auto", "manual")),
            base_models=parents,
            relation=relation,
            trending_score=rng.randint(0, 50),
        )
        if rng.random() < 0.02:
            model.pop("lastModified")
        models.append(model)
    return models


# --------------------------------------------------------------------------------------------- standalone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakehub",
        description="Serve a fake Hugging Face Hub on 127.0.0.1; prints its URL, stops on SIGTERM/SIGINT.",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port (default 0: any free port)")
    parser.add_argument("--models", type=int, default=1000, help="number of synthetic models (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the synthetic models (default 0)")
    parser.add_argument("--page-size", type=int, default=1000, help="max items per page (default 1000)")
    args = parser.parse_args(argv)
    hub = FakeHub(
        make_models(args.models, args.seed),
        default_page_size=args.page_size,
        max_page_size=args.page_size,
        quota=10**9,
        static=True,
    )
    hub.start(args.port)
    print(hub.url, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    hub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
