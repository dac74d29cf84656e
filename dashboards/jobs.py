"""Long work (reports, whole-view exports) as jobs: started by one request, fetched by any later one.

`POST /jobs/report.<fmt>?charts=...&<view>` or `POST /jobs/data.<fmt>?<view>` starts a job and answers 202
with its id; `GET /jobs/<id>` says how it is doing (JSON, or a page that refreshes itself for a browser);
`GET /jobs/<id>/download` gives the file once it is done.

With `OWT_REDIS_URL` set (`dashboards.cluster`), jobs go to Celery workers through Redis (broker and result
store), so any replica answers for any job, and `/download/report.*` and `/download/data.*` hand their work
to a worker as well: they wait up to HANDOFF_WAIT_S for it and then send the browser to the job's page.
Workers run `celery -A dashboards.jobs worker` with the replicas' environment (OWT_STORE, OWT_REDIS_URL).
Without Redis, jobs run on a thread of the process that took them, and only that process knows them.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import parse_qsl

import flask
from celery import Celery
from werkzeug.datastructures import MultiDict

from dashboards.cluster import KEY_PREFIX, ClusterSettings
from dashboards.components import (
    DATA_FORMATS,
    MEDIA_TYPES,
    REPORT_FORMATS,
    _bad_request,
    _view_of_request,
    report_charts,
    report_file,
    view_data_file,
)
from dashboards.filters import parse_params
from dashboards.state import JOB_QUEUE_KEY

#: How long a finished job's file is kept for download.
RESULT_TTL_S = 3600
#: How long `/download/report.*` waits for a queued job before sending the browser to the job's page.
HANDOFF_WAIT_S = 20.0
_JOB_ID = re.compile(r"[0-9a-f]{32}")
_TASK_NAME = "owt.export"

log = logging.getLogger("owt.jobs")


@dataclass(frozen=True)
class JobFile:
    """A finished job's file."""

    body: bytes
    fmt: str
    stem: str


@dataclass(frozen=True)
class JobStatus:
    """Where a job is: `queued`, `running`, `done` or `failed` (with the reason)."""

    state: str
    error: str | None = None


def run_export(kind: str, fmt: str, query: str) -> JobFile:
    """Do one job's work in the current app context: the same functions the download routes use."""
    filters, _problems = parse_params(_args(query))  # checked when the job was started
    if kind == "report":
        body, file_fmt, stem = report_file(filters, report_charts(_args(query)), fmt)
    else:
        body, file_fmt, stem = view_data_file(filters, fmt)
    return JobFile(body, file_fmt, stem)


def _args(query: str) -> MultiDict[str, str]:
    return MultiDict(parse_qsl(query, keep_blank_values=True))


class JobQueue:
    """Jobs on a thread of this process (no Redis): known to this process only."""

    shared = False

    def __init__(self, server: flask.Flask) -> None:
        self._server = server
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="owt-job")
        self._jobs: dict[str, Future[JobFile]] = {}
        self._lock = threading.Lock()

    def submit(self, kind: str, fmt: str, query: str) -> str:
        job_id = uuid.uuid4().hex

        def work() -> JobFile:
            with self._server.app_context():
                return run_export(kind, fmt, query)

        with self._lock:
            self._jobs[job_id] = self._pool.submit(work)
        return job_id

    def status(self, job_id: str) -> JobStatus | None:
        with self._lock:
            future = self._jobs.get(job_id)
        if future is None:
            return None
        if not future.done():
            return JobStatus("running" if future.running() else "queued")
        error = future.exception()
        return JobStatus("failed", _reason(error)) if error else JobStatus("done")

    def result(self, job_id: str) -> JobFile:
        return self._jobs[job_id].result()



class CeleryJobQueue(JobQueue):
    """Jobs run by Celery workers; the job list and results live in Redis, so every replica sees them."""

    shared = True

    def __init__(self, redis_url: str) -> None:
        import redis

        self._celery = make_celery(redis_url)
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)

    def _key(self, job_id: str) -> str:
        return f"{KEY_PREFIX}job:{job_id}"

    def submit(self, kind: str, fmt: str, query: str) -> str:
        job_id = uuid.uuid4().hex
        meta = json.dumps({"kind": kind, "fmt": fmt, "started": time.time()})
        self._redis.set(self._key(job_id), meta, ex=RESULT_TTL_S)  # before the task: a fast worker finds it
        self._celery.send_task(_TASK_NAME, args=[kind, fmt, query], task_id=job_id)
        return job_id

    def status(self, job_id: str) -> JobStatus | None:
        if not self._redis.exists(self._key(job_id)):
            return None
        result = self._celery.AsyncResult(job_id)
        state = result.state
        if state == "SUCCESS":
            return JobStatus("done")
        if state in ("FAILURE", "REVOKED"):
            return JobStatus("failed", _reason(result.result))
        return JobStatus("running" if state == "STARTED" else "queued")

    def result(self, job_id: str) -> JobFile:
        payload = self._celery.AsyncResult(job_id).result
        return JobFile(base64.b64decode(payload["body"]), payload["fmt"], payload["stem"])

    def hand_off(self, kind: str, fmt: str, query: str) -> flask.Response:
        """Queue the work; send the file if it is done within HANDOFF_WAIT_S, else the job's page."""
        job_id = self.submit(kind, fmt, query)
        deadline = time.monotonic() + HANDOFF_WAIT_S
        while time.monotonic() < deadline:
            status = self.status(job_id)
            if status is not None and status.state in ("done", "failed"):
                break
            time.sleep(0.2)
        return flask.redirect(f"/jobs/{job_id}/download", code=303)


def _reason(error: Any) -> str:
    return f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)


def make_celery(redis_url: str | None) -> Celery:
    """The Celery app of the job queue: Redis as broker and result store, JSON only, results kept
    RESULT_TTL_S, a started job marked as such."""
    app = Celery("owt", broker=redis_url, backend=redis_url)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=RESULT_TTL_S,
        task_track_started=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


#: The workers' Celery app: `celery -A dashboards.jobs worker` (its settings come from the environment).
celery_app = make_celery(ClusterSettings.from_environment().redis_url)
_worker_server: flask.Flask | None = None


@celery_app.task(name=_TASK_NAME)
def export_task(kind: str, fmt: str, query: str) -> dict[str, str]:
    """A worker's side of a job: open the store once per worker process, do the work, return the file."""
    global _worker_server
    if _worker_server is None:
        _worker_server = _open_worker_server()
    with _worker_server.app_context():
        done = run_export(kind, fmt, query)
    return {"body": base64.b64encode(done.body).decode("ascii"), "fmt": done.fmt, "stem": done.stem}


def _open_worker_server() -> flask.Flask:
    """A Flask app holding what the renderers read (the store, its warehouse), without the pages."""
    from dashboards.query import open_warehouse
    from dashboards.serving import serving_store
    from dashboards.state import AppState, install_app_state
    from pipelines.warehouse.publish import follower_for

    chosen = serving_store()
    warehouse = open_warehouse(chosen.store, refresh_if_stale=False)  # the scheduler refreshes it
    follower = follower_for(chosen.store, chosen.configured)  # an Iceberg store: the published warehouse
    if follower is not None:
        follower.ensure_running()
    server = flask.Flask("owt-worker")
    install_app_state(
        server,
        AppState(
            store=chosen.store,
            warehouse=warehouse,
            demo=chosen.demo,
            configured_store=chosen.configured,
            tasks=tuple(warehouse.tasks()),
        ),
    )
    return server


def install_jobs(server: flask.Flask, settings: ClusterSettings) -> JobQueue:
    """The app's job queue (Celery with Redis, else this process) and its `/jobs` routes."""
    queue = CeleryJobQueue(settings.redis_url) if settings.redis_url else JobQueue(server)
    server.config[JOB_QUEUE_KEY] = queue

    def start(kind: str, fmt: str) -> flask.Response:
        formats = REPORT_FORMATS if kind == "report" else DATA_FORMATS
        if fmt not in formats:
            return _bad_request(f"unknown {kind} format {fmt!r}; use one of {', '.join(formats)}")
        _view_of_request(flask.request.args)  # a bad view is a 400 now, not a failed job later
        if kind == "report":
            report_charts(flask.request.args)
        job_id = queue.submit(kind, fmt, flask.request.query_string.decode("ascii", "replace"))
        body = {"id": job_id, "status": f"/jobs/{job_id}", "download": f"/jobs/{job_id}/download"}
        return flask.Response(
            json.dumps(body), status=202, mimetype="application/json", headers={"Location": body["status"]}
        )

    @server.post("/jobs/report.<fmt>")
    def start_report(fmt: str) -> flask.Response:
        return start("report", fmt)

    @server.post("/jobs/data.<fmt>")
    def start_view_data(fmt: str) -> flask.Response:
        return start("data", fmt)

    def known(job_id: str) -> JobStatus:
        status = queue.status(job_id) if _JOB_ID.fullmatch(job_id) else None
        if status is None:
            where = "" if queue.shared else " (no OWT_REDIS_URL: only the process that started it has it)"
            message = f"no job {job_id!r}: unknown or expired{where}\n"
            flask.abort(flask.Response(message, 404, mimetype="text/plain"))
        return status

    @server.get("/jobs/<job_id>")
    def job_status(job_id: str) -> flask.Response:
        status = known(job_id)
        download = f"/jobs/{job_id}/download"
        body = {"id": job_id, "state": status.state, "error": status.error, "download": download}
        if flask.request.accept_mimetypes.best == "text/html":
            return _status_page(job_id, status)
        return flask.Response(json.dumps(body), mimetype="application/json")

    @server.get("/jobs/<job_id>/download")
    def job_download(job_id: str) -> flask.Response:
        status = known(job_id)
        if status.state == "failed":
            return flask.Response(f"job {job_id} failed: {status.error}\n", 500, mimetype="text/plain")
        if status.state != "done":
            return _status_page(job_id, status)
        done = queue.result(job_id)
        response = flask.Response(done.body, mimetype=MEDIA_TYPES.get(done.fmt, "application/octet-stream"))
        safe_stem = re.sub(r"[^A-Za-z0-9._-]+", "-", done.stem)
        response.headers["Content-Disposition"] = f'attachment; filename="{safe_stem}.{done.fmt}"'
        return response

    return queue


def _status_page(job_id: str, status: JobStatus) -> flask.Response:
    """A page that reloads itself every 2 s until the job's file is ready (then the reload downloads it)."""
    text = f"Your file is being prepared ({escape(status.state)}). This page downloads it when it is ready."
    page = f"<!doctype html><title>Preparing your file</title><h1>Preparing your file</h1><p>{text}</p>"
    return flask.Response(
        page,
        status=202,
        mimetype="text/html",
        headers={"Refresh": f"2; url=/jobs/{job_id}/download", "Retry-After": "2"},
    )
