"""What one request may cost the server: the web app's limits, installed by `install_limits(app)`.

- a request body of at most MAX_REQUEST_BYTES (413 above: Dash's callbacks send a few KB);
- a Dash callback request (`POST /_dash-update-component`) that the pages could not have sent (not JSON,
  nested too deep, an output no callback has, inputs that are not the callback's, values of the wrong
  type) is answered 400 with what is wrong, not 500;
- heavy exports (PNG/SVG/PDF charts and reports, drawn one at a time by the one browser) are admitted
  HEAVY_EXPORT_SLOTS at a time per process; the next gets 429 with Retry-After, instead of tying up a worker
  in the browser's queue;
- every download has EXPORT_BUDGET_S seconds (`dashboards.budget`); past it, 503 with Retry-After;
- log lines are cut at LOG_LINE_CHARS characters (a 2 MB id in an error message is not logged whole).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import flask
from dash import Dash
from werkzeug.exceptions import HTTPException

from dashboards.budget import BudgetExceeded, set_time_budget
from dashboards.export import CHART_FORMATS, ExportBusy

MAX_REQUEST_BYTES = 1024 * 1024
EXPORT_BUDGET_S = 60.0
#: Heavy exports a process takes at once: one drawing, the others waiting for the browser.
HEAVY_EXPORT_SLOTS = 4
RETRY_AFTER_S = 10
LOG_LINE_CHARS = 2000
#: Deeper JSON than any callback of the pages sends (a chart spec is 3 levels, a grid's rows 4).
MAX_CALLBACK_DEPTH = 32
#: Formats drawn by the browser (CSV and HTML are text made by the app).
BROWSER_FORMATS = tuple(fmt for fmt in CHART_FORMATS if fmt not in ("csv", "html"))
_DOWNLOAD_ENDPOINTS = ("download_chart", "download_report", "download_view_data")
#: The server config entry holding the heavy-export slots (a semaphore).
HEAVY_EXPORTS_KEY = "OWT_HEAVY_EXPORTS"
#: The server config entry holding the export time budget in seconds (EXPORT_BUDGET_S unless set before).
BUDGET_KEY = "OWT_EXPORT_BUDGET_S"
#: Errors a callback raises on values of the wrong shape or type (a client's mistake, answered 400).
_CLIENT_VALUE_ERRORS = (TypeError, KeyError, ValueError, AttributeError, IndexError, RecursionError)

log = logging.getLogger("owt.limits")


class MalformedCallback(ValueError):
    """A callback request the dashboard's pages never send."""


def install_limits(app: Dash) -> None:
    """Put every limit above on `app` (its Flask server and its loggers)."""
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    server.config.setdefault(BUDGET_KEY, EXPORT_BUDGET_S)
    server.config[HEAVY_EXPORTS_KEY] = threading.BoundedSemaphore(HEAVY_EXPORT_SLOTS)
    callback_path = app.config.routes_pathname_prefix + "_dash-update-component"

    @server.before_request
    def check_request() -> None:
        if flask.request.path == callback_path and flask.request.method == "POST":
            _check_callback_body(app)
        elif flask.request.endpoint in _DOWNLOAD_ENDPOINTS:
            _admit_export(server)

    @server.teardown_request
    def release_export(_error: BaseException | None) -> None:
        if flask.g.pop("owt_heavy_export", False):
            server.config[HEAVY_EXPORTS_KEY].release()
        set_time_budget(None)

    def client_error(error: Exception) -> flask.Response:
        if isinstance(error, HTTPException):
            return error  # type: ignore[return-value]
        if flask.request.path != callback_path:
            raise error  # anywhere else it is the server's fault: the usual 500, logged with its traceback
        # A callback that failed on a value keeps its traceback in the log, in case the fault is ours.
        traceback = None if isinstance(error, MalformedCallback) else error
        log.warning("callback request refused: %s: %s", type(error).__name__, error, exc_info=traceback)
        return _plain(400, f"malformed callback request: {type(error).__name__}: {_shorten(str(error), 300)}")

    for kind in (MalformedCallback, *_CLIENT_VALUE_ERRORS):
        server.register_error_handler(kind, client_error)
    server.register_error_handler(ExportBusy, lambda error: _plain(429, str(error), retry=True))
    server.register_error_handler(BudgetExceeded, lambda error: _plain(503, str(error), retry=True))

    line_limit = ShortLogLines()
    for logger in (server.logger, log, logging.getLogger("werkzeug"), logging.getLogger("dash")):
        logger.addFilter(line_limit)


def _plain(status: int, message: str, *, retry: bool = False) -> flask.Response:
    response = flask.Response(message + "\n", status=status, mimetype="text/plain")
    if retry:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _admit_export(server: flask.Flask) -> None:
    """Start the request's time budget; take a heavy-export slot, or refuse with 429 when none is free."""
    set_time_budget(float(server.config[BUDGET_KEY]))
    args = flask.request.view_args or {}
    heavy = flask.request.endpoint == "download_report" or (
        flask.request.endpoint == "download_chart" and args.get("fmt") in BROWSER_FORMATS
    )
    if not heavy:
        return
    if not server.config[HEAVY_EXPORTS_KEY].acquire(blocking=False):
        raise ExportBusy(
            f"too many image and report exports at once (at most {HEAVY_EXPORT_SLOTS} per server process); "
            f"try again in {RETRY_AFTER_S} s"
        )
    flask.g.owt_heavy_export = True


def _check_callback_body(app: Dash) -> None:
    """Refuse (MalformedCallback, 400) a callback request whose shape the pages never send, before Dash
    reads it: a JSON object naming a known callback's output, with its inputs and state as lists of
    {id, property, value} (lists of them for pattern-matching ALL), no deeper than MAX_CALLBACK_DEPTH."""
    try:
        body = json.loads(flask.request.get_data(cache=True) or b"null")
    except RecursionError:
        raise MalformedCallback("the body is nested too deeply") from None
    except ValueError as error:
        raise MalformedCallback(f"the body is not JSON ({error})") from None
    if not isinstance(body, dict):
        raise MalformedCallback(f"the body must be a JSON object, not {type(body).__name__}")
    if _depth(body) > MAX_CALLBACK_DEPTH:
        raise MalformedCallback(f"the body is nested deeper than {MAX_CALLBACK_DEPTH} levels")
    output = body.get("output")
    if not isinstance(output, str) or output not in app.callback_map:
        raise MalformedCallback(f"no callback has the output {_shorten(repr(output), 200)}")
    callback = app.callback_map[output]
    for part in ("inputs", "state"):
        declared = callback.get(part) or []
        sent = body.get(part, [])
        if not isinstance(sent, list) or len(sent) != len(declared):
            raise MalformedCallback(f"{part!r} must be a list of {len(declared)} item(s)")
        for item in sent:
            for entry in item if isinstance(item, list) else [item]:
                if not (isinstance(entry, dict) and "id" in entry and isinstance(entry.get("property"), str)):
                    raise MalformedCallback(f"each of {part!r} must be an object with an id and a property")
    outputs = body.get("outputs", [])
    if not isinstance(outputs, dict | list):
        raise MalformedCallback("'outputs' must be an object or a list")
    changed = body.get("changedPropIds", [])
    if not (isinstance(changed, list) and all(isinstance(prop, str) for prop in changed)):
        raise MalformedCallback("'changedPropIds' must be a list of strings")


def _depth(value: Any) -> int:
    """How deeply JSON containers nest in `value` (iteratively: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_CALLBACK_DEPTH:
                break
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more characters)"


class ShortLogLines(logging.Filter):
    """Cut every line of a record (message and traceback) at LOG_LINE_CHARS characters: a log line never
    carries a client's megabytes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = _short_lines(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _short_lines(record.exc_text)
        return True


def _short_lines(text: str) -> str:
    return "\n".join(_shorten(line, LOG_LINE_CHARS) for line in text.split("\n"))
