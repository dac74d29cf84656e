"""The warehouse published into the Iceberg store (pipelines/warehouse/publish.py), against a real PostgreSQL
catalog and moto S3 on loopback: the scheduler's `warehouse` command publishes each version; a replica with an
empty cache and the same store URL serves the same numbers without building; it follows a newer published
version without restart; a publish interrupted before its commit leaves readers on the version before; old
versions are pruned in the store without losing a file a kept version uses."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from dashboards.state import DATE_RANGE_ID, state_of
from pipelines.channels import channel_store
from pipelines.iceberg_store import IcebergStore
from pipelines.maintain import maintain_published
from pipelines.registry import load_registry
from pipelines.status import collect, render
from pipelines.store import Store, readable_store, resolve_store, sha256_file
from pipelines.warehouse import WarehouseError, current_version, refresh, refresh_for_readers, warehouse_root
from pipelines.warehouse.publish import (
    COMMIT_RETRIES_PROPERTY,
    FACTS_TABLE,
    FOLLOWER_EXTENSION,
    MODELS_TABLE,
    OBJECTS_DIR,
    POLL_ENV,
    VERSION_PROPERTY,
    VERSIONS_TABLE,
    Follower,
    PublishError,
    StatelessReader,
    commit,
    current_published,
    describe_version,
    publish,
    published_versions,
    reader_store,
    register_facts,
    upload,
    versions_table,
)
from tests.attribution_data import write_registry
from tests.ops_support import PROJECT_ROOT, publish_modelscope, run_cli
from tests.packages import package_table
from tests.snapshots import model, write_snapshot
from tests.test_app import gunicorn

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
    # A models table of an older layout (fewer columns): the first publish makes it anew.
    store._table(MODELS_TABLE, pa.schema([("key", pa.int32()), ("model_id", pa.string())]), partitioned=False)
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
    # A registration that comes late (a host resuming v000002's publish after v000003's) leaves the facts
    # table on the newest version.
    register_facts(store, kept[0])
    facts_now = store.catalog.load_table(f"{store.location.namespace}.{FACTS_TABLE}").current_snapshot()
    assert facts_now is not None and facts_now.summary.get(VERSION_PROPERTY) == "v000003"
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
    models_table = store.catalog.load_table(f"{store.location.namespace}.{MODELS_TABLE}")
    engine.register("models", models_table.scan().to_arrow())
    rows, last_cum = engine.execute(
        "SELECT count(*), sum(cum) FILTER (WHERE date = DATE '2025-03-01') FROM facts"
    ).fetchall()[0]
    assert (rows, last_cum) == (8, 4500)
    # Joined on `key` with `warehouse_models` (the attributed dimensions), with names and countries.
    assert engine.execute(
        "SELECT m.model_id, m.publisher_country, f.cum FROM facts f JOIN models m USING (key) "
        "WHERE f.date = DATE '2025-03-01' ORDER BY ALL"
    ).fetchall() == [("Qwen/Qwen3-8B", "CN", 3000), ("meta-llama/Llama-3.1-8B", "US", 1500)]
    # Time travel reaches the kept versions, and only those (older commits' files are pruned): by hand,
    # v000002 ends on 2025-02-01 with Qwen 2,000 + Llama 1,000.
    for table in (facts_table, models_table):
        table.refresh()
        tagged = [s.summary.get(VERSION_PROPERTY) for s in table.metadata.snapshots]
        assert sorted(tagged) == ["v000002", "v000003"], table.name()  # one commit each, holding rows
        # each named by an Iceberg tag (what other engines' VERSION AS OF takes); v000001's tag is gone
        tags = {name: ref.snapshot_id for name, ref in table.metadata.refs.items() if name != "main"}
        by_version = {s.summary.get(VERSION_PROPERTY): s.snapshot_id for s in table.metadata.snapshots}
        assert tags == by_version, table.name()
    tag = facts_table.metadata.refs["v000002"].snapshot_id
    engine.register("earlier", facts_table.scan(snapshot_id=tag).to_arrow())
    assert engine.execute(
        "SELECT max(date), sum(cum) FILTER (WHERE date = DATE '2025-02-01') FROM earlier"
    ).fetchall() == [(dt.date(2025, 2, 1), 3000)]
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


def test_commits_another_host_expired_first_are_a_conflict_to_run_again(tmp_path: Path) -> None:
    """Two hosts dropping the same unkept commits: the second one's expiry finds some gone (PyIceberg refuses
    it with a ValueError), which is turned into a conflict like a refused commit (on which the registration
    step runs again), leaving the table on its current commit."""
    from pyiceberg.exceptions import CommitFailedException

    from pipelines.warehouse.publish import _expire

    store = resolve_store(f"iceberg+sqlite:///{tmp_path}/c.db?warehouse={tmp_path}/wh&local={tmp_path}/local")
    assert isinstance(store, IcebergStore)
    table = store._table("expiring", pa.schema([("n", pa.int64())]), partitioned=False)
    for n in range(3):
        table.append(pa.table({"n": [n]}))
    mine, theirs = (store.catalog.load_table(store._identifier("expiring")) for _ in range(2))
    *old, current = [snapshot.snapshot_id for snapshot in mine.metadata.snapshots]
    _expire(theirs, old)  # the other host first
    with pytest.raises(CommitFailedException, match="another host expired some of these commits first"):
        _expire(mine, old)
    mine.refresh()
    assert [snapshot.snapshot_id for snapshot in mine.metadata.snapshots] == [current]
    assert mine.scan().to_arrow().num_rows == 3  # the rows are the current commit's, untouched


def test_the_scheduler_builds_and_publishes_the_warehouse_of_an_iceberg_store_only(tmp_path: Path) -> None:
    from pipelines.schedule import DEFAULT_CRON, Job, load_jobs, with_warehouse

    jobs = load_jobs(None, DEFAULT_CRON)
    iceberg = resolve_store(f"iceberg+sqlite:///{tmp_path}/c.db?warehouse={tmp_path}/w&local={tmp_path}/l")
    assert with_warehouse(jobs, Store(tmp_path / "folder"), DEFAULT_CRON) == jobs
    added = Job("warehouse", "warehouse", (), DEFAULT_CRON)  # right after the snapshot jobs
    assert with_warehouse(jobs, iceberg, DEFAULT_CRON) == [*jobs, added]
    mine = [*jobs, Job("warehouse", "warehouse", ("--memory-limit", "4GB"), "0 5 * * *")]
    assert with_warehouse(mine, iceberg, DEFAULT_CRON) == mine


def _get_json(port: int, path: str) -> object:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120) as response:
        return json.loads(response.read())


def _find(component: object, component_id: str) -> dict | None:
    """The props of the component with `component_id` in a Dash layout (JSON), searched depth first."""
    if isinstance(component, dict):
        props = component.get("props") or {}
        if props.get("id") == component_id:
            return props
        children = [*component.values()]
    elif isinstance(component, list):
        children = component
    else:
        return None
    return next((found for child in children if (found := _find(child, component_id)) is not None), None)


def _served(port: int) -> tuple[tuple[str, dict[str, int]], tuple[str, str]]:
    """What a replica serves: the last 30-day counts per country (chart CSV) and the date picker's bounds."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/download/chart/{CHART}.csv", timeout=120) as answer:
        table = package_table(answer.read())
    last = table["date"].max()
    counts = table[table["date"] == last].set_index("country")["downloads_30d"].to_dict()
    picker = _find(_get_json(port, "/_dash-layout"), DATE_RANGE_ID) or {}
    return (last, counts), (picker.get("min_date_allowed"), picker.get("max_date_allowed"))


def _snapshot_files(local: Path) -> list[Path]:
    """Files of Hub snapshots under a host's local directory: any Parquet file or provenance record outside
    the warehouse cache and the channels' mirrors (small tables, mirrored by design), anything in a
    `snapshots` folder."""
    return [
        path
        for path in local.rglob("*")
        if path.is_file()
        and ("snapshots" in path.parts or path.name == "provenance.json" or path.suffix == ".parquet")
        and not {"warehouse", "channels"} & set(path.relative_to(local).parts)
    ]


def _published_dates(store: IcebergStore) -> list[str]:
    published = current_published(store)
    assert published is not None
    return sorted(published.manifest["snapshots"])


def test_a_replica_with_an_empty_directory_and_the_store_url_reads_the_published_warehouse_only(
    urls: tuple[str, str], tmp_path: Path
) -> None:
    """Stateless replicas: no snapshot copied, the dates and provenance from the published version, under
    gunicorn, following a new version without restart."""
    scheduler_url, replica_url = urls
    store = resolve_store(scheduler_url)
    write_snapshot(store, dt.date(2025, 2, 1), _month(300, 200))
    write_snapshot(store, dt.date(2025, 3, 1), _month(400, 250))
    assert run_cli("warehouse", "--store", scheduler_url, timeout=180).returncode == 0

    # In process: what the app reads is a stateless reader of the published version.
    from app import create_app

    in_process = replica_url.replace("/replica", "/replica-in-process")
    app = create_app(in_process)
    state = state_of(app.server)
    assert isinstance(state.store, StatelessReader)
    dates = [d.isoformat() for d in state.store.dates()]
    assert dates == _published_dates(store) == ["2025-02-01", "2025-03-01"]
    assert state.latest_date() == dt.date(2025, 3, 1) and state.synthetic()  # write_snapshot marks it so
    assert state.store.provenance(dt.date(2025, 3, 1))["rows"] == 2  # by hand: Qwen and Llama
    latest = state.store.read_table(dt.date(2025, 3, 1), ["model_id", "downloads_30d"])  # a scan, no file
    assert latest.to_pylist() == [
        {"model_id": "Qwen/Qwen3-8B", "downloads_30d": 400},
        {"model_id": "meta-llama/Llama-3.1-8B", "downloads_30d": 250},
    ]
    assert _snapshot_files(tmp_path / "replica-in-process") == []

    # The channels' tables are mirrored beside it, and followed at every check, not only with a new version.
    channel, follower = channel_store(store, "modelscope"), app.server.extensions[FOLLOWER_EXTENSION]
    publish_modelscope(channel, dt.date(2025, 3, 2), {"Qwen/Qwen3-8B": 70})
    assert follower.check() is None  # no new warehouse version...
    assert channel_store(state.store, "modelscope").dates() == [dt.date(2025, 3, 2)]
    publish_modelscope(channel, dt.date(2025, 3, 3), {"Qwen/Qwen3-8B": 90})
    assert follower.check() is None
    assert channel_store(state.store, "modelscope").dates() == [dt.date(2025, 3, 2), dt.date(2025, 3, 3)]
    assert _snapshot_files(tmp_path / "replica-in-process") == []  # ...and still no Hub snapshot copied

    # Under gunicorn, from an empty local directory: by hand, CN = Qwen, US = Llama (30-day counts as
    # reported on the last snapshot); the date picker spans the published snapshots.
    local = tmp_path / "replica"
    assert not local.exists()
    env = {"OWT_STORE": replica_url, POLL_ENV: "0.5"}
    with gunicorn(Store(local), env) as port:
        assert _served(port) == (("2025-03-01", {"CN": 400, "US": 250}), ("2025-02-01", "2025-03-01"))
        assert _snapshot_files(local) == []

        # The scheduler publishes a new day; the running replica follows it, still copying no snapshot.
        write_snapshot(store, dt.date(2025, 4, 1), _month(500, 300))
        assert run_cli("warehouse", "--store", scheduler_url, timeout=180).returncode == 0
        assert _published_dates(store)[-1] == "2025-04-01"
        deadline = time.monotonic() + 120
        while _served(port)[0][0] != "2025-04-01":
            assert time.monotonic() < deadline, "the replica did not pick up the new published version"
            time.sleep(0.5)
        assert _served(port) == (("2025-04-01", {"CN": 500, "US": 300}), ("2025-02-01", "2025-04-01"))
    assert _snapshot_files(local) == []
    # What the replica keeps: the fetched warehouse (and its run bookkeeping), no mirror of the snapshots.
    assert (local / "mirror" / "warehouse").is_dir() and not (local / "mirror" / "snapshots").exists()


def _table(store: IcebergStore, name: str):  # type: ignore[no-untyped-def]
    return store.catalog.load_table(f"{store.location.namespace}.{name}")


def test_maintain_expires_the_published_warehouse_commits_and_keeps_every_published_file(
    urls: tuple[str, str], s3_server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("pipelines.warehouse.versions.KEEP_VERSIONS", 2)
    scheduler_url, replica_url = urls
    store = resolve_store(scheduler_url)
    for month in range(1, 4):
        write_snapshot(store, dt.date(2025, month, 1), _month(100 * month, 50 * month))
        refresh(readable_store(store), load_registry())
        publish(store, readable_store(store))
    tables = {name: _table(store, name) for name in (VERSIONS_TABLE, FACTS_TABLE, MODELS_TABLE)}
    # The versions table has a commit per publish at least; the facts and models tables only those of the
    # kept versions.
    assert len(tables[VERSIONS_TABLE].metadata.snapshots) >= 3
    for name in (FACTS_TABLE, MODELS_TABLE):
        versions = [s.summary.get(VERSION_PROPERTY) for s in tables[name].metadata.snapshots]
        assert sorted(versions) == ["v000002", "v000003"], name

    # The weekly job, with no retention: the versions table keeps its current commit only; the facts and
    # models tables keep the kept versions' commits (tagged), so time travel to them outlives any pause in
    # publishing.
    done = run_cli("maintain", "--store", scheduler_url, "--keep-days", "0", timeout=180)
    assert done.returncode == 0, done.stderr
    for name, table in tables.items():
        table.refresh()
        left = 1 if name == VERSIONS_TABLE else 2
        assert len(table.metadata.snapshots) == left, name
        assert re.search(rf"maintain: {name}: commits \d+ -> {left},", done.stdout), done.stdout
    earlier = tables[FACTS_TABLE].scan(snapshot_id=tables[FACTS_TABLE].metadata.refs["v000002"].snapshot_id)
    assert earlier.to_arrow().num_rows == 4  # by hand: 2 models x 2 snapshots in v000002
    # Orphan removal (all files old enough here) spares the published objects the rows list.
    kept = published_versions(store)
    assert [p.version for p in kept] == ["v000002", "v000003"]
    in_use = {entry["sha256"] for p in kept for entry in p.files}
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    results = maintain_published(store, keep_days=0, orphan_hours=1, now=later)
    assert results[0].table == VERSIONS_TABLE and results[0].orphans_removed >= 1  # expired commits' files
    assert _objects(s3_server, store) == in_use
    # Everything still reads: the facts table (by hand: 2 models x 3 snapshots; on 2025-03-01 the all-time
    # counts are 10x the 30-day ones, Qwen 3,000 + Llama 1,500) and a new replica's fetch.
    engine = duckdb.connect()
    engine.register("facts", _table(store, FACTS_TABLE).scan().to_arrow())
    assert engine.execute(
        "SELECT count(*), sum(cum) FILTER (WHERE date = DATE '2025-03-01') FROM facts"
    ).fetchone() == (6, 4500)
    fresh = resolve_store(replica_url)
    assert refresh_for_readers(reader_store(fresh), source=fresh) is None
    assert current_version(reader_store(fresh)).path.name == "v000003"  # type: ignore[union-attr]

    # An export on another host, given only --store (no OWT_STORE): it fetches too, and copies no snapshot.
    from dashboards.__main__ import main as dashboards_main

    monkeypatch.delenv("OWT_STORE", raising=False)
    exporter = replica_url.replace("/replica", "/exporter")
    out = tmp_path / "chart.csv"
    args = ["export", "--chart", CHART, "--format", "csv", "--out", str(out), "--store", exporter]
    assert dashboards_main(args) == 0
    table = pd.read_csv(out)
    last = table[table["date"] == table["date"].max()].set_index("country")["downloads_30d"].to_dict()
    assert (table["date"].max(), last) == ("2025-03-01", {"CN": 300, "US": 150})  # by hand: month 3
    assert _snapshot_files(tmp_path / "exporter") == []


def _numbers(version_path: Path) -> dict[str, int]:
    """The last snapshot's 30-day downloads per publisher country, read from a version's own tables."""
    con = duckdb.connect(str(version_path / "tables.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT d.publisher_country, sum(s.last_d30)::BIGINT FROM state s JOIN dims d USING (key) "
            "GROUP BY ALL"
        ).fetchall()
    finally:
        con.close()
    return dict(rows)


def _two_builds_of_the_next_version(store: IcebergStore, second: IcebergStore, tmp_path: Path) -> tuple:
    """A new snapshot (Mar 1: Qwen 400, Llama 250), and both hosts (each on v000001) build their v000002;
    the second with a registry moving Qwen to Japan, so the two builds differ in their numbers. Returns
    both hosts' local stores and builds."""
    write_snapshot(store, dt.date(2025, 3, 1), _month(400, 250))
    mine, theirs = readable_store(store), readable_store(second)
    moved = write_registry(tmp_path / "moved.csv", ["Qwen,Alibaba,JP,other,company,https://example.org,"])
    refresh(mine, load_registry())
    refresh(theirs, load_registry(override=moved))
    winner, loser = current_version(mine), current_version(theirs)
    assert winner is not None and loser is not None
    assert winner.path.name == loser.path.name == "v000002"
    return mine, theirs, winner, loser


def test_of_two_hosts_publishing_at_once_one_commits_and_the_other_fails_then_continues_its_version(
    urls: tuple[str, str], s3_server, tmp_path: Path
) -> None:
    """Two publishers (a second scheduler host by mistake, or an operator's manual run beside the
    scheduler): the one that commits second fails with a clear error and publishes nothing; its next run
    fetches the winner's version instead of forking the published history."""
    first_url, second_url = urls
    store, second = resolve_store(first_url), resolve_store(second_url)
    write_snapshot(store, dt.date(2025, 2, 1), _month(300, 200))
    assert run_cli("warehouse", "--store", first_url, timeout=180).returncode == 0
    done = run_cli("warehouse", "--store", second_url, timeout=180)  # fetches v000001, builds nothing
    assert done.returncode == 0, done.stderr
    assert "version v000001 is the one published" in done.stdout

    mine, theirs, winner, loser = _two_builds_of_the_next_version(store, second, tmp_path)
    # By hand: Qwen 400 (CN, or JP in the second build), Llama 250 (US).
    assert _numbers(loser.path) == {"JP": 400, "US": 250}

    pending = upload(store, loser)  # the second host uploads first ...
    assert publish(store, mine) is not None  # ... the first commits first ...
    with pytest.raises(PublishError, match="another host published v000002 while this one was publishing"):
        commit(store, pending)  # ... and the second's commit is refused
    with pytest.raises(PublishError, match="was built by another host"):
        publish(store, theirs)  # nor does it pass for the published one
    assert [(p.seq, p.version) for p in published_versions(store)] == [(1, "v000001"), (2, "v000002")]
    assert current_published(store).files == describe_version(winner)  # type: ignore[union-attr]
    assert {e["sha256"] for p in published_versions(store) for e in p.files} <= _objects(s3_server, store)

    # The second host's next run (its usual registry) fetches the winner's v000002 over its own and
    # continues from there; every host then reads the winner's numbers.
    done = run_cli("warehouse", "--store", second_url, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "version v000002 is the one published" in done.stdout
    fetched = current_version(theirs)
    assert fetched is not None and describe_version(fetched) == describe_version(winner)
    assert _numbers(fetched.path) == {"CN": 400, "US": 250}


def test_a_commit_refused_because_another_host_published_after_its_check_is_not_retried(
    urls: tuple[str, str], s3_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The narrowest window: the second host checks the published versions (v000001 only), the first host
    publishes its v000002, then the second host's commit reaches the catalog. The catalog refuses it, and
    nothing may commit it again (PyIceberg 0.12 retries refused commits by itself): one row per version, the
    winner's files and its attribution in the models table, the loser told so."""
    import pipelines.warehouse.publish as publishing

    first_url, second_url = urls
    store, second = resolve_store(first_url), resolve_store(second_url)
    write_snapshot(store, dt.date(2025, 2, 1), _month(300, 200))
    assert run_cli("warehouse", "--store", first_url, timeout=180).returncode == 0
    assert run_cli("warehouse", "--store", second_url, timeout=180).returncode == 0  # fetches v000001
    mine, _, winner, loser = _two_builds_of_the_next_version(store, second, tmp_path)
    pending = upload(store, loser)

    checked = publishing.published_versions

    def check_then_lose(checked_store: IcebergStore) -> list:
        found = checked(checked_store)
        monkeypatch.setattr(publishing, "published_versions", checked)  # once: the winner's publish is plain
        assert publish(store, mine) is not None  # the first host commits between the check and the commit
        return found

    monkeypatch.setattr(publishing, "published_versions", check_then_lose)
    with pytest.raises(PublishError, match="another host published v000002 while this one was publishing"):
        commit(store, pending)
    for name in (VERSIONS_TABLE, FACTS_TABLE, MODELS_TABLE):  # what makes it so, for every engine
        assert store.catalog.load_table(store._identifier(name)).properties[COMMIT_RETRIES_PROPERTY] == "0"
    assert [(p.seq, p.version) for p in published_versions(store)] == [(1, "v000001"), (2, "v000002")]
    assert current_published(store).files == describe_version(winner)  # type: ignore[union-attr]
    models = store.catalog.load_table(store._identifier(MODELS_TABLE)).scan().to_arrow().to_pylist()
    assert {m["model_id"]: m["publisher_country"] for m in models} == {  # the winner's registry, not Japan
        "Qwen/Qwen3-8B": "CN",
        "meta-llama/Llama-3.1-8B": "US",
    }


def test_two_warehouse_commands_racing_on_one_store_leave_one_whole_published_version(
    urls: tuple[str, str], s3_server
) -> None:
    """Two `warehouse` commands started at the same moment on two hosts (real processes, whatever order
    their steps interleave in): one version is published, whole; a command that lost says so and its rerun
    ends on the published version."""
    first_url, second_url = urls
    store = resolve_store(first_url)
    write_snapshot(store, dt.date(2025, 2, 1), _month(300, 200))
    assert run_cli("warehouse", "--store", first_url, timeout=180).returncode == 0
    write_snapshot(store, dt.date(2025, 3, 1), _month(400, 250))
    command = [sys.executable, "-m", "pipelines", "warehouse", "--store"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    racing = [subprocess.Popen([*command, url], cwd=PROJECT_ROOT, **pipes) for url in (first_url, second_url)]
    outputs = [p.communicate(timeout=300) for p in racing]
    outcomes = [(p.returncode, out, err) for p, (out, err) in zip(racing, outputs, strict=True)]
    published = [out for code, out, _ in outcomes if code == 0 and "v000002 is the one published" in out]
    assert published, outcomes
    for url, (code, _, err) in zip((first_url, second_url), outcomes, strict=True):
        if code != 0:  # lost the race: told so, and nothing of its build is visible
            lost = r"another host published|built by another host|not older than this host"
            assert re.search(lost, err), err
            rerun = run_cli("warehouse", "--store", url, timeout=180)
            assert rerun.returncode == 0, rerun.stderr
    latest = current_published(store)
    assert latest is not None and [p.version for p in published_versions(store)] == ["v000001", "v000002"]
    assert {e["sha256"] for e in latest.files} <= _objects(s3_server, store)
    for url in (first_url, second_url):
        local = current_version(readable_store(resolve_store(url)))
        assert local is not None and describe_version(local) == latest.files
        assert _numbers(local.path) == {"CN": 400, "US": 250}  # by hand: Qwen 400, Llama 250
