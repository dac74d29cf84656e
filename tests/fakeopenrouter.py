"""A fake of OpenRouter's Data API on loopback, for tests (the real service is not reachable from here).

It speaks the contract the pipeline reads (README "Channels", OpenRouter): a real `ThreadingHTTPServer` on
127.0.0.1 (port 0); the client reaches it through `OPENROUTER_ENDPOINT=<fake.url>` (`.../api/v1`).

- `GET /api/v1/datasets/rankings-daily?start_date=&end_date=`: `Authorization: Bearer <key>` required (401
  otherwise); per UTC day the top 50 permaslugs by tokens (ties alphabetical) plus an `other` row summing the
  rest (left out when the rest is empty); rows by date, then tokens descending; `total_tokens` a decimal
  string; `meta` with `as_of`, `start_date`, `end_date`, `version`. `start_date` before 2025-01-01 is
  clamped, `end_date` before it is a 400, a window over 366 days is a 400, and a key past 30 requests a
  minute gets 429 with `Retry-After`. `start_date` defaults to 30 days before `end_date`, `end_date` to the
  last complete day (`fake.today` - 1).
- `GET /api/v1/models?offset=&limit=`: the catalogue, paged, with `links.next` and `total_count`.

State: `fake.usage[day][permaslug] = tokens` (the truth: every model's tokens, not only the top 50),
`fake.catalogue` (the /models entries), `fake.as_of`. `fake.restate(day, slug, tokens)` changes a past day
and moves `as_of` on, as OpenRouter does when its figures settle. Faults: `fake.faults["rankings"]` (or
`"models"`) is a list of what the next requests get, in turn: an error status (401, 429 with `Retry-After:
0`, 500, 503...), 0 (served normally) or STALL (the answer comes only after STALL_SECONDS).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

DATASET_START = dt.date(2025, 1, 1)
TOP = 50
MAX_WINDOW = 366
PER_MINUTE = 30
STALL = -1
STALL_SECONDS = 3.0


def model_entry(slug: str, hugging_face_id: str | None, name: str = "") -> dict[str, Any]:
    """A /models entry with every field the official SDK requires."""
    return {
        "id": slug.split("-20")[0],
        "canonical_slug": slug,
        "hugging_face_id": hugging_face_id,
        "name": name or slug,
        "created": 1735689600,
        "description": "",
        "context_length": 32768,
        "architecture": {
            "modality": "text->text", "input_modalities": ["text"], "output_modalities": ["text"]
        },
        "pricing": {"prompt": "0.000001", "completion": "0.000002"},
        "top_provider": {"context_length": 32768, "max_completion_tokens": None, "is_moderated": False},
        "per_request_limits": None,
        "supported_parameters": ["temperature"],
        "default_parameters": {},
        "supported_voices": None,
        "links": {"details": f"/api/v1/models/{slug}/endpoints"},
    }


class FakeOpenRouter:
    def __init__(self, key: str, today: dt.date) -> None:
        self.key = key
        self.today = today
        self.usage: dict[dt.date, dict[str, int]] = defaultdict(dict)
        self.catalogue: list[dict[str, Any]] = []
        self.as_of = f"{today.isoformat()}T02:00:00Z"
        self.faults: dict[str, list[int]] = {"rankings": [], "models": []}
        self.requests: list[tuple[str, dict[str, str], str]] = []  # (path, query, authorization)
        self._per_minute: dict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/v1"

    def restate(self, day: dt.date, slug: str, tokens: int, as_of: str) -> None:
        with self._lock:
            self.usage[day][slug] = tokens
            self.as_of = as_of

    def ranked(self, day: dt.date) -> list[tuple[str, int]]:
        """The day as rankings-daily reports it: top 50, then `other`."""
        models = sorted(self.usage.get(day, {}).items(), key=lambda item: (-item[1], item[0]))
        rows = models[:TOP]
        rest = sum(tokens for _, tokens in models[TOP:])
        return rows + ([("other", rest)] if models[TOP:] else [])

    # -- HTTP -----------------------------------------------------------------------------------------------

    def _answer(self, path: str, query: dict[str, str], auth: str) -> tuple[int, dict[str, str], Any]:
        stall = False
        with self._lock:
            route = "rankings" if path.endswith("/datasets/rankings-daily") else "models"
            if self.faults[route] and self.faults[route][0] == STALL:
                stall = bool(self.faults[route].pop(0))
        if stall:
            time.sleep(STALL_SECONDS)
        with self._lock:
            self.requests.append((path, query, auth))
            route = "rankings" if path.endswith("/datasets/rankings-daily") else "models"
            if not path.startswith("/api/v1/") or (route == "models" and path != "/api/v1/models"):
                return 404, {}, {"error": {"code": 404, "message": "Not Found"}}
            if auth != f"Bearer {self.key}":
                return 401, {}, {"error": {"code": 401, "message": "No auth credentials found"}}
            recent = [t for t in self._per_minute[auth] if t > time.monotonic() - 60]
            self._per_minute[auth] = [*recent, time.monotonic()]
            if len(recent) >= PER_MINUTE:
                return 429, {"Retry-After": "1"}, {"error": {"code": 429, "message": "Rate limit exceeded"}}
            if status := (self.faults[route].pop(0) if self.faults[route] else 0):
                headers = {"Retry-After": "0"} if status == 429 else {}
                return status, headers, {"error": {"code": status, "message": "injected fault"}}
            if route == "models":
                return 200, {}, self._models(query)
            return self._rankings(query)

    def _models(self, query: dict[str, str]) -> dict[str, Any]:
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 500))
        page = self.catalogue[offset : offset + limit]
        following = offset + limit
        nxt = f"/api/v1/models?{urlencode({'offset': following, 'limit': limit})}" if following < len(
            self.catalogue
        ) else None
        return {"data": page, "links": {"next": nxt}, "total_count": len(self.catalogue)}

    def _rankings(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        try:
            last = (self.today - dt.timedelta(1)).isoformat()
            end = dt.date.fromisoformat(query.get("end_date", last))
            first = (end - dt.timedelta(30)).isoformat()
            start = dt.date.fromisoformat(query.get("start_date", first))
        except ValueError:
            return 400, {}, {"error": {"code": 400, "message": "dates must be YYYY-MM-DD"}}
        if end < DATASET_START:
            return 400, {}, {"error": {"code": 400, "message": "end_date is before 2025-01-01"}}
        start = max(start, DATASET_START)
        if (end - start).days + 1 > MAX_WINDOW:
            return 400, {}, {"error": {"code": 400, "message": "the window exceeds 366 days"}}
        rows = []
        day = start
        while day <= end:
            rows += [
                {"date": day.isoformat(), "model_permaslug": slug, "total_tokens": str(tokens)}
                for slug, tokens in self.ranked(day)
            ]
            day += dt.timedelta(days=1)
        meta = {"as_of": self.as_of, "start_date": str(start), "end_date": str(end), "version": "v1"}
        return 200, {}, {"data": rows, "meta": meta}

    def start(self) -> FakeOpenRouter:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                status, headers, body = fake._answer(
                    parts.path, dict(parse_qsl(parts.query)), self.headers.get("Authorization", "")
                )
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except ConnectionError:  # the client gave up on a stalled answer
                    return

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeOpenRouter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
