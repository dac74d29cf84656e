"""The warehouse published into the Iceberg store (pipelines/warehouse/publish.py), against a real PostgreSQL
catalog and moto S3 on loopback: the scheduler's `warehouse` command publishes each version; a replica with an
empty cache and the same store URL serves the same numbers without building; it follows a newer published
version without restart; a publish interrupted before its commit leaves readers on the version before; old
versions are pruned in the store without losing a file a kept version uses."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from pipelines.iceberg_store import IcebergStore
from pipelines.registry import load_registry
from pipelines.status import collect, render
from pipelines.store import readable_store, resolve_store, sha256_file
from pipelines.warehouse import WarehouseError, current_version, refresh, refresh_for_readers, warehouse_root
from pipelines.warehouse.publish import (
    FACTS_TABLE,
    FOLLOWER_EXTENSION,
    OBJECTS_DIR,
    POLL_ENV,
    Follower,
    commit,
    current_published,
    publish,
    published_versions,
    upload,
    versions_table,
)
from tests.ops_support import run_cli
from tests.packages import package_table
from tests.snapshots import model, write_snapshot

CHART = "downloads-30d-by-country"


def _month(qwen: int, llama: int) -> list[dict]:
    return [model("Qwen/Qwen3-8B", downloads=qwen), model("meta-llama/Llama-3.1-8B", downloads=llama)]


@pytest.fixture
def urls(postgres_server, s3_server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[str, str]:
    """One Iceberg store (its own namespace and S3 prefix) seen by two hosts: the scheduler's URL and a
    replica's, which differ only in their local working directory."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    name = f"t{uuid.uuid4().hex[:12]}"
    base = f"iceberg+{postgres_server.url}?warehouse=s3://{s3_server.bucket}/{name}&namespace={name}"
    return f"{base}&local={tmp_path / 'scheduler'}", f"{base}&local={tmp_path / 'replica'}"


def _objects(s3_server, store: IcebergStore) -> set[str]:
    """The names (checksums) of the published files in S3, listed with boto3."""
    location = versions_table(store).location().removeprefix(f"s3://{s3_server.bucket}/")
    listed = s3_server.client().list_objects_v2(Bucket=s3_server.bucket, Prefix=f"{location}/{OBJECTS_DIR}/")
    keys = [item["Key"] for item in listed.get("Contents", [])]
    return {key.rsplit("/", 1)[-1] for key in keys if not key.endswith("/")}  # not pyarrow's folder markers


def _last_30d(client) -> tuple[str, dict[str, int]]:  # type: ignore[no-untyped-def]
    answer = client.get(f"/download/chart/{CHART}.csv")
    assert answer.status_code == 200
    table = package_table(answer.data)
    last = table["date"].max()
    return last, table[table["date"] == last].set_index("country")["downloads_30d"].to_dict()


def test_a_replica_serves_the_published_warehouse_without_building_and_follows_new_versions(
    urls: tuple[str, str], s3_server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler_url, replica_url = urls
    store = resolve_store(scheduler_url)
    write_snapshot(store, dt.date(2025, 2, 1), _month(300, 200))
    write_snapshot(store, dt.date(2025, 3, 1), _month(400, 250))

    # The scheduler's job: build, then publish (automatic on an Iceberg store).
    done = run_cli("warehouse", "--store", scheduler_url, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "version v000001 is the one published in the store" in done.stdout
    first = current_published(store)
    assert first is not None and first.version == "v000001"
    built = current_version(readable_store(store))
    assert built is not None
    # every file of the version, as it is on the scheduler, uploaded once under its checksum
    on_scheduler = {p.relative_to(built.path).as_posix() for p in built.path.rglob("*") if p.is_file()}
    assert {entry["path"] for entry in first.files} == on_scheduler
    assert {entry["sha256"] for entry in first.files} == _objects(s3_server, store)

    # A replica: same store URL, empty local cache. It fetches; it never builds.
    from app import create_app

    monkeypatch.setenv(POLL_ENV, "0.5")
    with caplog.at_level(logging.INFO, logger="pipelines.warehouse"):
        server = create_app(replica_url).server
    client = server.test_client()
    try:
        replica = resolve_store(replica_url)
        cache = warehouse_root(readable_store(replica))
        assert "serving the published version v000001 (no build)" in caplog.text
        assert not list(cache.glob(".v*.building")) and not (cache / "integrity.json").exists()
        fetched = current_version(readable_store(replica))
        assert fetched is not None and fetched.manifest == built.manifest
        assert sha256_file(fetched.tables) == sha256_file(built.tables)  # the scheduler's bytes
        # By hand: the 30-day counts as reported at each snapshot, CN = Qwen, US = Llama.
        assert _last_30d(client) == ("2025-03-01", {"CN": 400, "US": 250})

        # A new snapshot; the scheduler builds and uploads the next version, but stops before its commit.
        write_snapshot(store, dt.date(2025, 4, 1), _month(500, 300))
        scheduler_mirror = readable_store(store)
        refresh(scheduler_mirror, load_registry())
        second = current_version(scheduler_mirror)
        assert second is not None and second.path.name == "v000002"
        pending = upload(store, second)
        follower = Follower(replica, readable_store(replica), interval=3600)
        assert follower.check() is None  # nothing committed: readers stay on v000001
        assert current_published(store) == first
        assert _last_30d(client) == ("2025-03-01", {"CN": 400, "US": 250})

        # The commit makes it current; the running replica picks it up on its own (its follower thread).
        commit(store, pending)
        deadline = time.monotonic() + 120
        while _last_30d(client)[0] != "2025-04-01":
            assert time.monotonic() < deadline, "the replica did not pick up the new published version"
            time.sleep(0.5)
        assert _last_30d(client) == ("2025-04-01", {"CN": 500, "US": 300})
        assert current_version(readable_store(replica)).path.name == "v000002"  # type: ignore[union-attr]
    finally:
        server.extensions[FOLLOWER_EXTENSION].stop()


def test_only_new_files_are_fetched_and_old_versions_are_pruned_in_the_store(
    urls: tuple[str, str], s3_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pipelines.warehouse.versions.KEEP_VERSIONS", 2)
    scheduler_url, replica_url = urls
    store, replica = resolve_store(scheduler_url), resolve_store(replica_url)
    follower = Follower(replica, readable_store(replica), interval=3600)
    write_snapshot(store, dt.date(2024, 12, 1), _month(50, 20))
    assert "published    no warehouse yet: replicas build their own" in _status(store)
    fetches = []
    for month in range(1, 4):
        write_snapshot(store, dt.date(2025, month, 1), _month(100 * month, 50 * month))
        refresh(readable_store(store), load_registry())  # what the scheduler's warehouse job does
        publish(store, readable_store(store))
        fetches.append(follower.check())
    assert [f.published.version for f in fetches] == ["v000001", "v000002", "v000003"]  # type: ignore[union-attr]
    # An incremental version hard-links the facts files it had: the replica reuses them, it does not
    # download them again (the DuckDB file and manifest.json change with every version).
    for before, after in itertools.pairwise(fetches):
        assert before is not None and after is not None
        kept_facts = {e["sha256"] for e in before.published.files if e["path"].startswith("facts/")}
        new_facts = {e["sha256"] for e in after.published.files if e["path"].startswith("facts/")}
        assert after.reused >= len(kept_facts & new_facts) >= 1
        assert after.downloaded == len(after.published.files) - after.reused
    # Retention: two versions kept in the store; their files are all there, the others' gone.
    kept = published_versions(store)
    assert [p.version for p in kept] == ["v000002", "v000003"]
    in_use = {entry["sha256"] for p in kept for entry in p.files}
    assert _objects(s3_server, store) == in_use
    # The replica's cache is pruned like a build's (KEEP_VERSIONS, plus its file lists of those only).
    cache = warehouse_root(readable_store(replica))
    assert sorted(p.name for p in cache.glob("v0*")) == ["v000002", "v000003"]
    assert sorted(p.stem for p in (cache / "published").glob("*.json")) == ["v000002", "v000003"]
    # Other engines: the facts of the current version as an Iceberg table, read here by DuckDB through a
    # PyIceberg scan. By hand: 2 models x 4 snapshots = 8 rows; the all-time counts are 10x the 30-day ones,
    # so on 2025-03-01 the cleaned cumulative counts are Qwen 3,000 and Llama 1,500.
    engine = duckdb.connect()
    facts_table = store.catalog.load_table(f"{store.location.namespace}.{FACTS_TABLE}")
    engine.register("facts", facts_table.scan().to_arrow())
    rows, last_cum = engine.execute(
        "SELECT count(*), sum(cum) FILTER (WHERE date = DATE '2025-03-01') FROM facts"
    ).fetchone()  # type: ignore[misc]
    assert (rows, last_cum) == (8, 4500)
    # `status` names the version replicas serve: 4 snapshots (Dec, Jan, Feb, Mar), 2 versions kept.
    assert "published    warehouse v000003 (4 snapshots, " in _status(store)
    assert "2 version(s) kept: replicas fetch it" in _status(store)

    # A damaged object in the store: a new replica's fetch says so and leaves nothing half fetched; the
    # replica that has a version keeps serving it, with the error for the banner.
    manifest_entry = next(e for e in kept[-1].files if e["path"] == "manifest.json")
    location = versions_table(store).location().removeprefix(f"s3://{s3_server.bucket}/")
    key = f"{location}/{OBJECTS_DIR}/{manifest_entry['sha256']}"
    s3_server.client().put_object(Bucket=s3_server.bucket, Key=key, Body=b"{}")
    fresh = resolve_store(replica_url.replace("/replica", "/fresh-replica"))
    with pytest.raises(WarehouseError, match=r"manifest\.json .* came down as 2 bytes"):
        refresh_for_readers(readable_store(fresh), source=fresh)
    fresh_cache = warehouse_root(readable_store(fresh))
    assert not list(fresh_cache.glob("v0*")) and not list(fresh_cache.glob(".v*"))
    write_snapshot(store, dt.date(2025, 4, 1), _month(400, 200))
    refresh(readable_store(store), load_registry())
    newest = publish(store, readable_store(store))
    assert newest is not None and newest.version == "v000004"
    tables_entry = next(e for e in newest.files if e["path"] == "tables.duckdb")
    key = f"{location}/{OBJECTS_DIR}/{tables_entry['sha256']}"
    s3_server.client().put_object(Bucket=s3_server.bucket, Key=key, Body=b"damaged")
    served, error = refresh_for_readers(readable_store(replica), source=replica)  # type: ignore[misc]
    assert served == "v000003" and "came down as 7 bytes" in error


def _status(store: IcebergStore) -> str:
    return render(collect(store, dt.timedelta(days=2), 0))


def test_the_scheduler_builds_and_publishes_the_warehouse_of_an_iceberg_store_only(tmp_path: Path) -> None:
    from pipelines.schedule import DEFAULT_CRON, Job, load_jobs, with_warehouse
    from pipelines.store import Store

    jobs = load_jobs(None, DEFAULT_CRON)
    iceberg = resolve_store(f"iceberg+sqlite:///{tmp_path}/c.db?warehouse={tmp_path}/w&local={tmp_path}/l")
    assert with_warehouse(jobs, Store(tmp_path / "folder"), DEFAULT_CRON) == jobs
    added = Job("warehouse", "warehouse", (), DEFAULT_CRON)  # right after the snapshot jobs
    assert with_warehouse(jobs, iceberg, DEFAULT_CRON) == [*jobs, added]
    mine = [*jobs, Job("warehouse", "warehouse", ("--memory-limit", "4GB"), "0 5 * * *")]
    assert with_warehouse(mine, iceberg, DEFAULT_CRON) == mine
