"""Several dashboard replicas on one store: two `gunicorn app:server` processes sharing a Redis (chart cache,
job queue) and a Celery worker, as in the reference deployment; and the single process without Redis."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from pypdf import PdfReader

from dashboards.cluster import ClusterSettings, SettingsError
from pipelines.registry import load_registry
from pipelines.store import Store
from pipelines.warehouse import refresh
from tests.packages import package_table
from tests.services import stop_process
from tests.snapshots import model, write_snapshot
from tests.test_app import PROJECT_DIR, gunicorn

CELERY = Path(sys.executable).with_name("celery")
CHART = "downloads-30d-by-country"
SECRET = "replica-secret-key-for-tests"


def _month(month: int, qwen: int, llama: int) -> list[dict]:
    return [model("Qwen/Qwen3-8B", downloads=qwen), model("meta-llama/Llama-3.1-8B", downloads=llama)]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Two monthly snapshots: Qwen (CN) 300 then 400 downloads in 30 days, Llama (US) 200 then 250."""
    built = Store(tmp_path_factory.mktemp("replicas") / "store")
    write_snapshot(built, dt.date(2025, 2, 1), _month(2, 300, 200))
    write_snapshot(built, dt.date(2025, 3, 1), _month(3, 400, 250))
    refresh(built, load_registry())
    return built


def _get(port: int, path: str, *, accept: str = "*/*") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _post(port: int, path: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {"error": error.read().decode()}


@pytest.fixture(scope="module")
def replicas(store: Store, redis_server) -> Iterator[tuple[int, int, str]]:
    """Redis, a Celery worker and two gunicorn replicas, on loopback; yields (port A, port B, Redis URL)."""
    url = redis_server.url
    env = {"OWT_REDIS_URL": url, "OWT_SECRET_KEY": SECRET, "OWT_STORE": str(store.root)}
    worker = subprocess.Popen(
        [str(CELERY), "-A", "dashboards.jobs", "worker", "--pool", "solo", "--loglevel", "INFO"],
        cwd=PROJECT_DIR,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, which stop_process ends as a whole
    )
    try:
        _wait_until_ready(worker)
        with gunicorn(store, env) as port_a, gunicorn(store, env) as port_b:
            yield port_a, port_b, url
    finally:
        stop_process(worker)


def _wait_until_ready(worker: subprocess.Popen) -> None:
    assert worker.stderr is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = worker.stderr.readline()
        if not line and worker.poll() is not None:
            pytest.fail(f"the celery worker exited with {worker.returncode}")
        if "ready." in line:
            return
    pytest.fail("the celery worker did not become ready within 120 s")


def test_settings_come_from_the_environment_and_never_show_the_password() -> None:
    settings = ClusterSettings.from_environment(
        {
            "OWT_REDIS_URL": "redis://:hunter2-secret@cache.internal:6380/2",
            "OWT_SECRET_KEY": "k",
            "OWT_CACHE_TTL": "60",
        }
    )
    assert settings.shared and settings.cache_ttl_s == 60 and settings.secret_key == "k"
    described = settings.describe()
    assert "hunter2-secret" not in described and "cache.internal:6380/2" in described
    assert not ClusterSettings.from_environment({}).shared
    with pytest.raises(SettingsError, match="OWT_CACHE_TTL"):
        ClusterSettings.from_environment({"OWT_CACHE_TTL": "soon"})
    with pytest.raises(SettingsError, match="OWT_REDIS_URL"):
        ClusterSettings.from_environment({"OWT_REDIS_URL": "http://cache:6379"})


def test_both_replicas_serve_the_same_chart_and_share_one_cache(replicas: tuple[int, int, str]) -> None:
    port_a, port_b, _url = replicas
    path = f"/download/chart/{CHART}.csv"
    status_a, headers_a, body_a = _get(port_a, path)
    status_b, headers_b, body_b = _get(port_b, path)
    assert (status_a, status_b) == (200, 200)
    assert headers_a["X-OWT-Cache"] == "miss"  # drawn by A...
    assert headers_b["X-OWT-Cache"] == "hit"  # ...and served to B from Redis
    table_a, table_b = package_table(body_a), package_table(body_b)
    assert table_a.equals(table_b)
    # By hand: the 30-day counts as reported at each snapshot, CN = Qwen, US = Llama.
    last = table_a[table_a["date"] == "2025-03-01"].set_index("country")["downloads_30d"].to_dict()
    assert last == {"CN": 400, "US": 250}


def test_a_report_started_on_one_replica_is_fetched_through_the_other(replicas: tuple[int, int, str]) -> None:
    port_a, port_b, _url = replicas
    status, job = _post(port_a, f"/jobs/report.pdf?charts={CHART},share-by-country")
    assert status == 202, job
    deadline = time.monotonic() + 180
    state = "queued"
    while state not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.5)
        _code, _headers, body = _get(port_b, job["status"], accept="application/json")
        state = json.loads(body)["state"]
    assert state == "done"
    status, headers, pdf = _get(port_b, job["download"])
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 2  # one page per chart at least


def test_a_download_link_hands_its_report_to_a_worker(replicas: tuple[int, int, str]) -> None:
    """`/download/report.html` on a replica with a queue: the worker renders it, the browser gets it."""
    _port_a, port_b, _url = replicas
    status, headers, body = _get(port_b, f"/download/report.html?charts={CHART}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"30-day" in body or b"30 days" in body


def test_unknown_or_malformed_jobs_are_404_and_bad_requests_are_400(replicas: tuple[int, int, str]) -> None:
    port_a, _port_b, _url = replicas
    assert _get(port_a, "/jobs/0123456789abcdef0123456789abcdef")[0] == 404
    assert _get(port_a, "/jobs/not-a-job-id")[0] == 404
    status, answer = _post(port_a, "/jobs/report.pdf?charts=no-such-chart")
    assert status == 400 and "no-such-chart" in answer["error"]
    status, answer = _post(port_a, "/jobs/report.docx?charts=" + CHART)
    assert status == 400 and "docx" in answer["error"]


def test_both_replicas_show_a_new_snapshot_without_a_restart(
    replicas: tuple[int, int, str], store: Store
) -> None:
    port_a, port_b, url = replicas
    path = f"/download/chart/{CHART}.csv"
    before = {package_table(_get(port, path)[2])["date"].max() for port in (port_a, port_b)}
    assert before == {"2025-03-01"}
    write_snapshot(store, dt.date(2025, 4, 1), _month(4, 500, 300))
    refresh(store, load_registry())  # what the scheduler does after each snapshot
    for port in (port_a, port_b):
        table = package_table(_get(port, path)[2])
        last = table[table["date"] == table["date"].max()].set_index("country")["downloads_30d"].to_dict()
        assert table["date"].max() == "2025-04-01" and last == {"CN": 500, "US": 300}
    assert redis.Redis.from_url(url).keys("owt:cache:*")  # the cache is in Redis, under the project's prefix


def test_without_redis_a_single_process_runs_jobs_itself(store: Store) -> None:
    from app import create_app

    client = create_app(store).server.test_client()
    started = client.post(f"/jobs/report.html?charts={CHART}")
    assert started.status_code == 202
    job = started.get_json()
    deadline = time.monotonic() + 120
    while client.get(job["status"]).get_json()["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    report = client.get(job["download"])
    assert report.status_code == 200 and report.mimetype == "text/html"
    assert "X-OWT-Cache" not in client.get(f"/download/chart/{CHART}.csv").headers
