"""A fake ModelScope for tests: a real HTTP server on loopback speaking the documented OpenAPI v1 contract.

Serves `GET /openapi/v1/models` (owner matched as a substring, as "search by author" may be, so clients must
filter by id; sort, page_number, page_size, filter.task; 400 InputParameterError beyond page_size 50 or
page_number * page_size 3000), `GET /openapi/v1/models/{owner}/{name}` (the item plus `readme`, or 404
ResourceNotFound), and the legacy `GET /api/v1/models/{owner}/{name}` (404 in the legacy shape unless a
legacy payload is set: the official SDK's fallback trap). Faults are queued per request: 429 with Retry-After
(in seconds, or any value as sent, e.g. an HTTP date), 5xx, a stall, a dropped connection; a model can be
inserted after the n-th listing request (a live list shifting under paging). Every request is recorded, with
its Authorization header. `make_world()` builds data with known answers.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class MSFault:
    """One fault for the next listing or model request: `kind` is 429 | 5xx | stall | drop (the connection is
    closed without an answer)."""

    kind: str
    seconds: float = 1.0  # Retry-After for 429, how long a stall lasts
    retry_after: str | None = None  # the 429's Retry-After as sent, instead of `seconds`


class FakeModelScope:
    def __init__(self, models: list[dict[str, Any]] | None = None):
        self.models: dict[str, dict[str, Any]] = {m["id"]: dict(m) for m in models or []}
        self.legacy: dict[str, dict[str, Any]] = {}  # id -> legacy api/v1 payload (200 there)
        self.detail_missing: set[str] = set()  # ids the OpenAPI per-model endpoint answers 404 for
        self.faults: deque[MSFault] = deque()
        self.insert_after: tuple[int, dict[str, Any]] | None = None  # (listing requests, model)
        self.requests: list[str] = []  # path?query of every request, in order
        self.authorizations: list[str | None] = []  # the Authorization header of every request, in order
        self.listing_requests = 0
        self.lock = threading.Lock()
        self.stalls = threading.Event()  # set on stop: stalled handlers return at once
        self._server: ThreadingHTTPServer | None = None

    # ----------------------------------------------------------------------------------------- lifecycle
    def start(self) -> FakeModelScope:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.stalls.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ------------------------------------------------------------------------------------------- serving
    def listing(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        try:
            page_number = int(query.get("page_number", "1"))
            page_size = int(query.get("page_size", "10"))
        except ValueError:
            return 400, _error("InputParameterError", "page_number and page_size must be integers")
        if not 1 <= page_size <= 50 or page_number < 1 or page_number * page_size > 3000:
            return 400, _error("InputParameterError", "page_size 1-50, page_number*page_size <= 3000")
        with self.lock:
            self.listing_requests += 1
            if self.insert_after and self.listing_requests > self.insert_after[0]:
                model = self.insert_after[1]
                self.models[model["id"]] = dict(model)
                self.insert_after = None
            models = list(self.models.values())
        owner = query.get("owner", "").lower()
        task = query.get("filter.task")
        chosen = [
            m for m in models
            if owner in m["id"].split("/")[0].lower() and (task is None or task in m["tasks"])
        ]
        key = {"downloads": "downloads", "likes": "likes"}.get(query.get("sort", "default"), "last_modified")
        chosen.sort(key=lambda m: (m[key], m["id"]), reverse=True)
        page = chosen[(page_number - 1) * page_size : page_number * page_size]
        items = [{k: v for k, v in m.items() if k != "readme"} for m in page]
        data = {"models": items, "total_count": len(chosen), "page_number": page_number,
                "page_size": page_size}
        return 200, {"success": True, "request_id": "fake", "data": data}

    def detail(self, model_id: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            model = self.models.get(model_id)
        if model is None or model_id in self.detail_missing:
            return 404, _error("ResourceNotFound", f"model {model_id} not found")
        return 200, {"success": True, "request_id": "fake", "data": dict(model)}

    def legacy_detail(self, model_id: str) -> tuple[int, dict[str, Any]]:
        if model_id in self.legacy:
            return 200, {"Code": 200, "Success": True, "Data": self.legacy[model_id]}
        return 404, {"Code": 10010205001, "Success": False, "Message": "model not found"}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"success": False, "code": code, "message": message, "request_id": "fake"}


def _handler(fake: FakeModelScope) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            with fake.lock:
                fake.requests.append(self.path)
                fake.authorizations.append(self.headers.get("Authorization"))
                fault = fake.faults.popleft() if fake.faults and parts.path.startswith("/openapi/") else None
            if fault is not None and fault.kind == "stall":
                fake.stalls.wait(fault.seconds)
                fault = MSFault("5xx")  # whatever a stalled request finally gets is too late
            if fault is not None and fault.kind == "drop":
                self.close_connection = True
                return None
            if fault is not None and fault.kind == "429":
                body = _error("RateLimitExceed", "too many requests")
                return self._send(429, body, {"Retry-After": fault.retry_after or f"{fault.seconds:g}"})
            if fault is not None:
                return self._send(503, {"success": False, "code": "ServiceUnavailable", "message": "busy"})
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            path = parts.path.rstrip("/")
            if path == "/openapi/v1/models":
                return self._send(*fake.listing(query))
            routes = (("/openapi/v1/models/", fake.detail), ("/api/v1/models/", fake.legacy_detail))
            for prefix, answer in routes:
                if path.startswith(prefix) and path[len(prefix):].count("/") == 1:
                    return self._send(*answer(path[len(prefix):]))
            self._send(404, _error("ResourceNotFound", "no such route"))

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (a stall): nothing to answer
                pass

    return Handler


# ------------------------------------------------------------------------------------------- known answers

_EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def ms_model(
    model_id: str, downloads: int, *, tasks: tuple[str, ...] = ("text-generation",), minute: int = 0,
    readme: str | None = None,
) -> dict[str, Any]:
    """One model record as the OpenAPI returns it (readme only on the per-model endpoint)."""
    stamp = (_EPOCH + dt.timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": model_id, "display_name": model_id.split("/")[1], "description": "", "downloads": downloads,
        "likes": downloads % 97, "license": "Apache License 2.0", "tasks": list(tasks), "created_at": stamp,
        "last_modified": stamp, "file_size": 1000, "params": 0, "tags": [], "private": False, "gated": False,
        "readme": readme,
    }


#: The owner over the 3000 cap: 3,120 models over three tasks (one model has two), each task under the cap.
BIG_OWNER = "iic"
BIG_TASKS = ("auto-speech-recognition", "ocr-recognition", "text-generation")


def make_world(big: bool = True) -> list[dict[str, Any]]:
    """Official owners (Qwen over three pages, deepseek-ai, ZhipuAI), the mirror namespaces, a foreign owner
    whose name contains `Qwen`, and (with `big`) an owner over the cap. Downloads are known functions of the
    position, so tests can state them."""
    models = [ms_model(f"Qwen/Qwen-{i:03d}", 1000 + i, minute=i) for i in range(120)]
    models += [ms_model(f"deepseek-ai/DeepSeek-{i}", 5000 * (i + 1), minute=200 + i) for i in range(7)]
    models += [ms_model(f"ZhipuAI/glm-{i}", 300 + i, minute=300 + i) for i in range(5)]
    models += [ms_model("Qwen-community/Qwen-000-GGUF", 77, minute=400)]  # owner=Qwen matches it too
    models += [
        ms_model("LLM-Research/Meta-Llama-3-8B", 90_000, minute=500,
                 readme="Mirror of https://huggingface.co/meta-llama/Meta-Llama-3-8B ."),
        ms_model("LLM-Research/gemma-2-9b", 8_000, minute=501, readme="No link here."),
        ms_model("LLM-Research/Phi-3-mini-4k-instruct", 4_000, minute=502,
                 readme="see [card](https://huggingface.co/microsoft/Phi-3-mini-4k-instruct)"),
        ms_model("LLM-Research/Obscure-Model-7B", 600, minute=503),
        ms_model("LLM-Research/Llama-Guard-3-8B", 2_500, minute=504,
                 readme="https://huggingface.co/meta-llama/Llama-Guard-3-8B"),  # OpenAPI detail 404s
        ms_model("AI-ModelScope/Mistral-7B-Instruct-v0.2", 12_000, minute=510),
        ms_model("AI-ModelScope/Qwen2.5-7B-Instruct", 3_000, minute=511),
    ]
    if big:
        for i in range(3120):
            tasks = (BIG_TASKS[i % 3],) if i != 7 else BIG_TASKS[:2]
            models.append(ms_model(f"{BIG_OWNER}/m-{i:04d}", i, tasks=tasks, minute=1000 + i))
    return models


def trap(fake: FakeModelScope) -> None:
    """The legacy-fallback trap: the OpenAPI's per-model endpoint 404s for one mirror while the legacy
    surface answers 200 with another payload; a client that falls back gets a readme it must not use."""
    fake.detail_missing.add("LLM-Research/Llama-Guard-3-8B")
    fake.legacy["LLM-Research/Llama-Guard-3-8B"] = {
        "Id": 1, "Path": "LLM-Research", "Name": "Llama-Guard-3-8B", "Downloads": 999_999,
        "ReadMeContent": "https://huggingface.co/somebody/else",
    }
