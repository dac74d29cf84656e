"""The app always starts: a failed start-up refresh (a broken snapshot file, a full disk, any exception)
serves the last version built with a banner saying why; with no version at all every request gets a 503."""

from __future__ import annotations

import datetime as dt
import json
import resource
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from app import create_app
from pipelines.store import PROVENANCE_FILE, Store, sha256_file
from pipelines.warehouse import current_version, refresh
from tests.packages import package_table
from tests.snapshots import model, write_snapshot
from tests.test_app import PROJECT_DIR, gunicorn

D1, D2, D3 = dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 3, 3)
OLD = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def publish(store: Store, date: dt.date, qwen: int) -> Path:
    """A snapshot of one CN model with all-time count `qwen`; returns its data file."""
    write_snapshot(store, date, [model("Qwen/Qwen3-8B", downloads_all_time=qwen, created_at=OLD)])
    return store.data_files(date)[0]


def break_consistently(path: Path) -> None:
    """Truncate a published file and rewrite its provenance to match (a buggy writer, not bit rot): the
    checksums agree, so only reading it fails (DuckDB's InvalidInputException)."""
    path.write_bytes(path.read_bytes()[:-200])
    provenance_path = path.parent / PROVENANCE_FILE
    record = json.loads(provenance_path.read_text())
    [entry] = record["files"]
    entry.update(bytes=path.stat().st_size, sha256=sha256_file(path))
    provenance_path.write_text(json.dumps(record))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """Two snapshots built into a warehouse, then a third whose file cannot be read."""
    store = Store(tmp_path / "store")
    publish(store, D1, 100)
    publish(store, D2, 150)
    refresh(store)
    break_consistently(publish(store, D3, 180))
    return store


def test_a_refresh_that_raises_serves_the_last_version_with_a_banner_saying_why(store: Store) -> None:
    built = current_version(store).path.name

    client = create_app(store).server.test_client()

    assert client.get("/").status_code == 200
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "banner-refresh-failed" in layout and "InvalidInputException" in layout and built in layout
    table = package_table(client.get("/download/chart/downloads-by-country.csv?period=day&countries=CN").data)
    daily = dict(zip(table["period"].str[:10], table["downloads"], strict=True))
    # the old version: 150 - 100 on 2025-03-01 (a snapshot dated D counts up to D - 1), nothing of D3
    assert daily == {"2025-03-01": 50}


def test_a_truncated_file_whose_checksum_fails_is_quarantined_and_the_rest_is_served(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    publish(store, D1, 100)
    part = publish(store, D2, 150)
    part.write_bytes(part.read_bytes()[:-200])

    client = create_app(store).server.test_client()

    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "banner-quarantined" in layout and "2025-03-02" in layout
    assert "banner-refresh-failed" not in layout, "the refresh itself succeeded, without that date"


def test_without_any_version_every_request_gets_a_503_page_not_a_traceback(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    break_consistently(publish(store, D1, 100))

    client = create_app(store).server.test_client()

    for path in ("/", "/organisations", "/_dash-layout", "/download/chart/share-by-country.csv"):
        response = client.get(path)
        assert response.status_code == 503, path
        text = response.get_data(as_text=True)
        assert "Dashboard unavailable" in text and "python -m pipelines warehouse" in text
        assert "InvalidInputException" in text and "Traceback" not in text
        assert response.headers["Retry-After"] == "300"


def test_a_full_disk_during_the_start_up_refresh_still_serves_the_last_version(tmp_path: Path) -> None:
    """A real write failure: the app process may write no file larger than the current DuckDB file
    (RLIMIT_FSIZE, which fails a write as a full disk does), and the new snapshot holds many more models, so
    DuckDB cannot grow the new version's work copy of it."""
    store = Store(tmp_path / "store")
    publish(store, D1, 100)
    publish(store, D2, 150)
    refresh(store)
    # A valid new snapshot, but no room to build it in.
    others = [model(f"someone/model-{i}", downloads_all_time=i, created_at=OLD) for i in range(20_000)]
    write_snapshot(store, D3, [model("Qwen/Qwen3-8B", downloads_all_time=180, created_at=OLD), *others])
    limit = current_version(store).tables.stat().st_size
    script = (
        "import json, sys\n"
        "from app import create_app\n"
        "client = create_app(sys.argv[1]).server.test_client()\n"
        "layout = client.get('/_dash-layout').get_data(as_text=True)\n"
        "status = client.get('/').status_code\n"
        "banner = 'banner-refresh-failed' in layout\n"
        "print(json.dumps({'status': status, 'banner': banner, 'layout': layout}))\n"
    )

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        [sys.executable, "-c", script, str(store.root)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit_file_size,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout.splitlines()[-1])
    assert answer["status"] == 200 and answer["banner"]
    # DuckDB's own failure to write (its WAL or its checkpoint), shown as DuckDB reported it.
    duckdb_error = ("TransactionException", "FatalException")
    assert any(e in answer["layout"] for e in duckdb_error) and "File too large" in answer["layout"]
    assert not list((store.root / "warehouse").glob(".v*.building")), "no half-built version is left"


def test_gunicorn_workers_boot_when_the_start_up_refresh_fails(store: Store) -> None:
    with gunicorn(store) as port:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_dash-layout", timeout=120) as response:
                assert response.status == 200
                assert "banner-refresh-failed" in response.read().decode("utf-8")
        except urllib.error.URLError as error:
            pytest.fail(f"the worker did not answer: {error}")


def test_a_current_version_that_cannot_be_read_falls_back_to_the_newest_readable_one(tmp_path: Path) -> None:
    """A warehouse file damaged after it was built (not a refresh error): the app serves the newest older
    version kept, with the banner saying why, instead of failing every request."""
    store = Store(tmp_path / "store")
    publish(store, D1, 100)
    publish(store, D2, 150)
    older = refresh(store).version
    publish(store, D3, 180)
    refresh(store)
    current = current_version(store)
    assert current.path.name != older
    current.tables.write_bytes(b"not a DuckDB file" * 1000)

    client = create_app(store).server.test_client()

    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "banner-refresh-failed" in layout
    assert f"the current version {current.path.name} cannot be read" in layout
    assert older in layout, "the banner names the version served"
    table = package_table(client.get("/download/chart/downloads-by-country.csv?period=day&countries=CN").data)
    # The older version holds D1 and D2 only: 150 - 100 on 2025-03-01 (a snapshot dated D counts up to D - 1).
    assert dict(zip(table["period"].str[:10], table["downloads"], strict=True)) == {"2025-03-01": 50}
