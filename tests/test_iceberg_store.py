"""The Iceberg store (pipelines/iceberg_store.py) end to end, against real servers on loopback: a PostgreSQL
catalog and moto S3 (tests/services.py), or SQLite + a local folder where the point is not the servers.

What is proven: snapshots from the fake Hub land as one Iceberg commit per date with their provenance;
`--force` replaces a date in one commit; a SIGKILL anywhere leaves no partial day and the rerun equals an
uninterrupted run; a reader in another process never sees a partial day; migrate folder -> Iceberg -> folder
is lossless; verify catches a tampered data file; maintenance expires commits and removes orphans; a second
engine (DuckDB, through PyIceberg's scan and through the data files themselves) gets the same aggregates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from pipelines.demo import generate_demo_store
from pipelines.iceberg_store import DATA_TABLE, IcebergLocation, IcebergStore
from pipelines.integrity import check_snapshots
from pipelines.maintain import maintain
from pipelines.migrate import copy_snapshot, migrate
from pipelines.schema import SNAPSHOT_SCHEMA
from pipelines.status import collect
from pipelines.store import Store, StoreError, existing_store, logical_checksum, readable_store, resolve_store
from pipelines.verify import verify_store
from tests.fakehub import FakeHub, make_models
from tests.iceberg_support import IcebergSnapshotProcesses, scan_until_stopped
from tests.ops_support import (
    kill_until_done,
    publish_small_snapshot,
    run_cli,
    snapshot_frame,
    take_small_snapshot,
)

DAY = dt.date(2026, 3, 1)


@pytest.fixture
def pg_url(postgres_server, s3_server, s3_env: dict[str, str], tmp_path: Path) -> str:
    """A store URL of its own (namespace and S3 prefix) in the session's PostgreSQL and moto S3."""
    name = f"t{uuid.uuid4().hex[:12]}"
    return (
        f"iceberg+{postgres_server.url}?warehouse=s3://{s3_server.bucket}/{name}&namespace={name}"
        f"&local={tmp_path / 'local'}"
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"iceberg+sqlite:///{tmp_path}/catalog.db?warehouse={tmp_path}/warehouse&local={tmp_path}/local"


def replace_snapshot(store: Store, date: dt.date, n_models: int, scratch: Path) -> None:
    """`--force` by hand: a new small snapshot of `date` published over the old one."""
    other = Store(scratch / f"replacement-{uuid.uuid4().hex[:6]}")
    publish_small_snapshot(other, date, n_models=n_models)
    copy_snapshot(other, store, date, replace=True)


def commits_for(store: IcebergStore, date: dt.date) -> list:
    return [s for s in store.data_table().snapshots() if s.summary and s.summary.get("owt.date") == str(date)]


# ------------------------------------------------------------------------------------------------ URL


def test_store_url_forms_and_errors(tmp_path: Path) -> None:
    pg = IcebergLocation.parse("iceberg+postgresql://owt:s3cret@db.example:5432/owt?warehouse=s3://b/p")
    assert pg.catalog_uri == "postgresql+psycopg2://owt:s3cret@db.example:5432/owt"
    assert (pg.warehouse, pg.namespace) == ("s3://b/p", "owt")
    assert "s3cret" not in pg.display()
    lite = IcebergLocation.parse(f"iceberg+sqlite:///{tmp_path}/c.db?warehouse={tmp_path}/wh&namespace=x")
    assert lite.catalog_uri == f"sqlite:///{tmp_path}/c.db"
    assert lite.warehouse == (tmp_path / "wh").as_uri() and lite.namespace == "x"
    assert isinstance(
        resolve_store(f"iceberg+sqlite:///{tmp_path}/c.db?warehouse={tmp_path}/wh"), IcebergStore
    )
    assert type(resolve_store(str(tmp_path / "folder"))) is Store
    for bad, said in [
        ("iceberg+mysql://h/db?warehouse=/w", "unsupported Iceberg catalog 'mysql'"),
        ("iceberg+postgresql://h/db", "needs ?warehouse="),
        ("iceberg+postgresql://h/db?warehouse=/w&bucket=x", "unknown store URL parameter(s) bucket"),
    ]:
        with pytest.raises(
            StoreError, match=said.replace("?", r"\?").replace("(", r"\(").replace(")", r"\)")
        ):
            IcebergLocation.parse(bad)
    with pytest.raises(StoreError, match="no snapshot table"):
        existing_store(f"iceberg+sqlite:///{tmp_path}/empty.db?warehouse={tmp_path}/wh")


def test_logical_checksum_is_the_rows_not_their_order_or_files() -> None:
    rows = [
        {"model_id": "b/two", "author": "b", "downloads_30d": 7, "tags": ["x", "y"]},
        {"model_id": "a/one", "author": "a", "likes": 3},
    ]
    table = pa.Table.from_pylist(rows, schema=SNAPSHOT_SCHEMA)
    # by hand: columns in schema order, rows by model_id, JSON arrays joined by newlines
    first = '["a/one","a",null,null,3,null,null,null,null,null,null,null,null,null,null]'
    second = '["b/two","b",7,null,null,null,null,null,null,null,null,["x","y"],null,null,null]'
    expected = hashlib.sha256(f"{first}\n{second}\n".encode()).hexdigest()
    assert logical_checksum(table) == expected
    assert logical_checksum(pa.concat_tables([table.slice(1), table.slice(0, 1)])) == expected
    changed = pa.Table.from_pylist([{**rows[0], "downloads_30d": 8}, rows[1]], schema=SNAPSHOT_SCHEMA)
    assert logical_checksum(changed) != expected


# ------------------------------------------------------------------------- snapshots as Iceberg commits


def test_snapshots_from_the_fake_hub_land_as_iceberg_commits(
    pg_url: str, postgres_server, s3_server, tmp_path: Path, fake_hub: FakeHub, hf_env: dict[str, str]
) -> None:
    fake_hub.load(make_models(200, seed=3))
    store, folder = resolve_store(pg_url), Store(tmp_path / "folder")
    assert isinstance(store, IcebergStore)
    days = [DAY, DAY + dt.timedelta(days=1)]
    for day in days:
        take_small_snapshot(folder, day, fake_hub.url)
        result = take_small_snapshot(store, day, fake_hub.url)
        assert result.path is not None and not store.staging_dir(day).exists()
        pd.testing.assert_frame_equal(snapshot_frame(store, day), snapshot_frame(folder, day))
        assert len(commits_for(store, day)) == 1
    assert store.dates() == days
    # the catalog rows are in PostgreSQL (the JDBC catalog's table), the files in the bucket
    import psycopg2

    namespace = store.location.namespace
    db = psycopg2.connect(host="127.0.0.1", port=postgres_server.port, user="postgres", dbname="owt")
    with db, db.cursor() as cursor:
        cursor.execute("SELECT table_name FROM iceberg_tables WHERE table_namespace = %s", (namespace,))
        assert sorted(r[0] for r in cursor.fetchall()) == ["provenance", DATA_TABLE]
    db.close()
    keys = [
        o["Key"]
        for o in s3_server.client().list_objects_v2(Bucket=s3_server.bucket, Prefix=namespace)["Contents"]
    ]
    assert sum(k.endswith(".parquet") and "snapshot_date=2026-03-01" in k for k in keys) == 1
    # provenance travels: the folder's record, with the bucket's files and the commit's properties
    record, folder_record = store.provenance(DAY), folder.provenance(DAY)
    # what the rows are and where they came from (not run timings and request counts, which differ by run)
    same = ("schema_version", "date", "source", "synthetic", "scope", "options", "rows")
    assert {k: record[k] for k in same} == {k: folder_record[k] for k in same}
    assert record["files"][0]["name"].startswith(f"s3://{s3_server.bucket}/{namespace}/")
    summary = commits_for(store, DAY)[0].summary
    assert summary["owt.rows"] == str(folder_record["rows"]) and summary["owt.source-kind"] == "hub-api"
    # the same date again: nothing done; --force: replaced in one catalog commit (one new metadata file,
    # holding the delete and the add), still one data file for the day
    assert take_small_snapshot(store, DAY, fake_hub.url).path is None
    metadata_files = len(store.data_table().metadata.metadata_log)
    take_small_snapshot(store, DAY, fake_hub.url, force=True)
    assert len(store.data_table().metadata.metadata_log) == metadata_files + 1
    assert len(commits_for(store, DAY)) == 2
    files = store.data_table().inspect.data_files().to_pylist()
    assert sorted(f["partition"]["snapshot_date"] for f in files) == days
    pd.testing.assert_frame_equal(snapshot_frame(store, DAY), snapshot_frame(folder, DAY))
    assert store.verify().problems == []
    facts = collect(store, dt.timedelta(days=9999), 5)
    assert facts["snapshots"] == 2 and facts["iceberg"]["iceberg_snapshots"] == 4  # 2 adds, delete + add
    assert facts["iceberg"]["data_files"] == 2 and facts["iceberg"]["metadata_bytes"] > 0


@pytest.mark.slow
def test_a_sigkill_anywhere_leaves_no_partial_day_and_the_rerun_equals_an_uninterrupted_run(
    pg_url: str, s3_env: dict[str, str], tmp_path: Path, fake_hub: FakeHub, hf_env: dict[str, str]
) -> None:
    fake_hub.load(make_models(200, seed=3))
    hf_home = Path(hf_env["HF_HOME"])
    reference_store = Store(tmp_path / "reference")
    take_small_snapshot(reference_store, DAY, fake_hub.url)
    reference = snapshot_frame(reference_store, DAY)
    pages = reference_store.provenance(DAY)["pages"]
    store = resolve_store(pg_url)
    assert isinstance(store, IcebergStore)

    def nothing_partial() -> None:
        if not store.exists():
            return
        counts = store.data_table().scan(selected_fields=("snapshot_date",)).to_arrow()
        assert set(counts["snapshot_date"].to_pylist()) <= {DAY}
        assert counts.num_rows in (0, len(reference)), "a partial day is visible"
        for date in store.dates():
            pd.testing.assert_frame_equal(snapshot_frame(store, date), reference)

    kills = kill_until_done(
        IcebergSnapshotProcesses(s3_env),
        fake_hub,
        store,
        DAY,
        hf_home,
        random.Random(20261204),
        pages=pages,
        finalize_seconds=1.5,  # the Iceberg publish (write, two commits) takes about a second here
        chain=0,
        after_kill=nothing_partial,
    )
    assert kills, "no run was killed"
    pd.testing.assert_frame_equal(snapshot_frame(store, DAY), reference)
    assert store.verify().problems == []
    assert not store.staging_dir(DAY).exists()


@pytest.mark.slow
def test_a_reader_in_another_process_never_sees_a_partial_day(
    pg_url: str, s3_env: dict[str, str], tmp_path: Path
) -> None:
    store = resolve_store(pg_url)
    publish_small_snapshot(store, DAY, n_models=200, parts=4)  # the table exists before the reader starts
    stop, out = tmp_path / "stop", tmp_path / "scans.json"
    reader = multiprocessing.get_context("spawn").Process(
        target=scan_until_stopped, args=(pg_url, s3_env, str(stop), str(out))
    )
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not Path(f"{out}.ready").exists():  # the reader has scanned once (spawn imports take seconds)
            assert reader.is_alive() and time.monotonic() < deadline, "the reader did not start"
            time.sleep(0.05)
        for offset in range(1, 6):  # each day staged as 4 Parquet parts of 50 rows
            publish_small_snapshot(store, DAY + dt.timedelta(days=offset), n_models=200, parts=4)
        time.sleep(0.5)  # a few scans after the last commit
    finally:
        stop.touch()
        reader.join(timeout=120)
    scans = json.loads(out.read_text())
    assert len(scans) >= 3, "the reader hardly scanned"
    assert all(count == 200 for scan in scans for count in scan.values()), "a scan saw a partial day"
    assert max(len(scan) for scan in scans) == 6


# ------------------------------------------------------------------------------------------ migrate


def test_a_folder_store_migrated_to_iceberg_and_back_is_identical(pg_url: str, tmp_path: Path) -> None:
    source = Store(tmp_path / "source")
    generate_demo_store(source, models=150, days=3, end=DAY)
    iceberg = resolve_store(pg_url)
    back = Store(tmp_path / "back")
    # 3 Hub days + the demo's OpenRouter vintage and its /models catalogue (tests/test_iceberg_channels.py)
    assert migrate(source, iceberg, log=lambda line: None) == 5
    assert migrate(iceberg, back, log=lambda line: None) == 5
    assert back.dates() == iceberg.dates() == source.dates()
    for date in source.dates():
        pd.testing.assert_frame_equal(back.read_snapshot(date), source.read_snapshot(date))
        assert logical_checksum(back.read_table(date)) == logical_checksum(source.read_table(date))
        strip = lambda record: {k: v for k, v in record.items() if k != "files"}  # noqa: E731
        assert (
            strip(back.provenance(date)) == strip(iceberg.provenance(date)) == strip(source.provenance(date))
        )
    assert verify_store(back).problems == [] and iceberg.verify().problems == []
    # the command: a rerun copies nothing (dates already there) and says so
    done = run_cli("migrate", "--from", str(source.root), "--to", pg_url)
    assert done.returncode == 0 and "0 snapshot(s) copied" in done.stdout, done.stderr


def test_the_warehouse_reads_an_iceberg_store_through_its_folder_mirror(
    sqlite_url: str, tmp_path: Path
) -> None:
    store = resolve_store(sqlite_url)
    for offset in range(2):
        publish_small_snapshot(store, DAY + dt.timedelta(days=offset), n_models=7)
    mirror = readable_store(store)
    assert mirror.dates() == store.dates() and check_snapshots(mirror).dates == store.dates()
    pd.testing.assert_frame_equal(snapshot_frame(mirror, DAY), snapshot_frame(store, DAY))
    untouched = mirror.data_files(DAY)[0].stat().st_mtime_ns
    replace_snapshot(store, DAY + dt.timedelta(days=1), 9, tmp_path)
    mirror = readable_store(store)
    assert mirror.data_files(DAY)[0].stat().st_mtime_ns == untouched, "an unchanged day was copied again"
    assert len(snapshot_frame(mirror, DAY + dt.timedelta(days=1))) == 9


# ------------------------------------------------------------------------------------------ verify


def test_verify_detects_a_tampered_data_file(pg_url: str, s3_server) -> None:
    store = resolve_store(pg_url)
    publish_small_snapshot(store, DAY, n_models=20)
    publish_small_snapshot(store, DAY + dt.timedelta(days=1), n_models=20)
    assert store.verify().problems == []
    uri = store.provenance(DAY)["files"][0]["name"]
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    client = s3_server.client()
    data = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    data[len(data) // 2] ^= 0xFF  # one bit flipped inside the data: same size, other bytes
    client.put_object(Bucket=bucket, Key=key, Body=bytes(data))
    problems = store.verify().problems
    assert [(p.kind, str(p.path)) for p in problems] == [("tampered", str(Path(uri)))]
    done = run_cli("verify", "--store", pg_url)
    assert done.returncode == 1 and "TAMPERED" in done.stdout and "1 PROBLEM(S)" in done.stdout


# ------------------------------------------------------------------------------------------ maintenance


def test_maintenance_expires_commits_and_removes_only_orphans(sqlite_url: str, tmp_path: Path) -> None:
    store = resolve_store(sqlite_url)
    publish_small_snapshot(store, DAY, n_models=5)
    replaced = Path(store.provenance(DAY)["files"][0]["name"].removeprefix("file:"))
    publish_small_snapshot(store, DAY + dt.timedelta(days=1), n_models=5)
    replace_snapshot(store, DAY, 6, tmp_path)  # --force: the old file is now an orphan
    before = {d: snapshot_frame(store, d) for d in store.dates()}
    assert replaced.exists() and len(store.data_table().snapshots()) == 4  # add, add, delete + add
    done = maintain(store, keep_days=0, orphan_hours=1, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    data = done[0]
    assert (data.snapshots_before, data.snapshots_after) == (4, 1)
    assert not replaced.exists() and data.orphans_removed >= 1
    assert store.verify().problems == []
    for date, frame in before.items():
        pd.testing.assert_frame_equal(snapshot_frame(store, date), frame)
    assert store.data_table().properties["commit.manifest-merge.enabled"] == "true"


def test_two_runs_committing_at_once_merge_other_dates_and_refuse_a_second_snapshot_of_a_date(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two hosts' snapshot runs on one store: the second run's commit reaches the catalog just after the
    first run's (each run checked the store before). Of another date, both commits stand (PyIceberg merges
    them); of the same date, the second is refused with a clear error: a written snapshot is never silently
    replaced without --force, and the refused run keeps its staged files."""
    first = resolve_store(sqlite_url)
    second = resolve_store(sqlite_url.replace(f"local={tmp_path}/local", f"local={tmp_path}/second"))
    publish_small_snapshot(first, DAY - dt.timedelta(days=1), n_models=2)  # the tables exist
    loaded = IcebergStore.data_table

    def another_run_commits_first(date: dt.date, n_models: int) -> None:
        def load_then_lose(store: IcebergStore):  # type: ignore[no-untyped-def]
            table = loaded(store)
            if store is second:
                monkeypatch.setattr(IcebergStore, "data_table", loaded)  # once
                publish_small_snapshot(first, date, n_models=n_models)
            return table

        monkeypatch.setattr(IcebergStore, "data_table", load_then_lose)

    another_run_commits_first(DAY + dt.timedelta(days=1), n_models=4)
    publish_small_snapshot(second, DAY, n_models=3)
    assert first.dates() == [DAY - dt.timedelta(days=1), DAY, DAY + dt.timedelta(days=1)]
    assert [len(snapshot_frame(first, day)) for day in first.dates()] == [2, 3, 4]

    another_run_commits_first(DAY + dt.timedelta(days=2), n_models=5)
    with pytest.raises(StoreError, match="was not committed: another run committed to the store at the same"):
        publish_small_snapshot(second, DAY + dt.timedelta(days=2), n_models=6)
    assert len(snapshot_frame(first, DAY + dt.timedelta(days=2))) == 5  # the first run's, kept
    assert list(second.staging_dir(DAY + dt.timedelta(days=2)).glob("*.parquet"))  # nothing of it lost
    assert first.verify().problems == []


# ------------------------------------------------------------------------------------------ interop


def test_duckdb_reads_the_tables_and_gets_the_same_aggregates(pg_url: str, s3_server) -> None:
    store = resolve_store(pg_url)
    days = [DAY + dt.timedelta(days=i) for i in range(3)]
    for day in days:
        publish_small_snapshot(
            store, day, n_models=5
        )  # downloads 100..500: org0 100+400, org1 200+500, org2 300
    expected = sorted(
        (day, author, total)
        for day in days
        for author, total in [("org0", 500), ("org1", 700), ("org2", 300)]
    )
    sql = "SELECT snapshot_date, author, SUM(downloads_30d)::BIGINT FROM t GROUP BY ALL ORDER BY ALL"
    # 1. DuckDB over PyIceberg's scan (Arrow batches): no code of this project on the read path
    from pyiceberg.catalog.sql import SqlCatalog

    from pipelines.iceberg_store import CATALOG_NAME, file_io_properties

    location = store.location
    catalog = SqlCatalog(
        CATALOG_NAME, uri=location.catalog_uri, warehouse=location.warehouse, **file_io_properties()
    )
    table = catalog.load_table(f"{location.namespace}.{DATA_TABLE}")
    con = duckdb.connect()
    con.register("t", table.scan().to_arrow_batch_reader())
    assert [tuple(r) for r in con.execute(sql).fetchall()] == expected
    # 2. DuckDB reading the data files the Iceberg manifests list, over S3 (fsspec), as an engine would
    import s3fs

    fs = s3fs.S3FileSystem(
        key="test", secret="test", endpoint_url=s3_server.endpoint, client_kwargs={"region_name": "us-east-1"}
    )
    files = [task.file.file_path for task in table.scan().plan_files()]
    con = duckdb.connect()
    con.register_filesystem(fs)
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet({files!r})")
    assert [tuple(r) for r in con.execute(sql).fetchall()] == expected


def test_the_scheduler_adds_the_weekly_maintenance_for_an_iceberg_store_only(
    sqlite_url: str, tmp_path: Path
) -> None:
    from pipelines.schedule import MAINTAIN_CRON, Job, load_jobs, with_maintenance
    from pipelines.store import store_location

    jobs = load_jobs(None, "30 2 * * *")
    iceberg, folder = resolve_store(sqlite_url), Store(tmp_path / "folder")
    assert with_maintenance(jobs, folder) == jobs
    assert with_maintenance(jobs, iceberg)[-1] == Job("maintain", "maintain", (), MAINTAIN_CRON)
    mine = [*jobs, Job("maintain", "maintain", ("--keep-days", "30"), "0 5 * * *")]
    assert with_maintenance(mine, iceberg) == mine
    # children get the store back by its URL (a folder store by its directory)
    assert store_location(iceberg) == sqlite_url and store_location(folder) == str(folder.root)


def test_the_warehouse_command_and_exports_run_on_an_iceberg_store_url(
    sqlite_url: str, tmp_path: Path
) -> None:
    """End to end by URL: `pipelines warehouse --store iceberg+...` builds from the store's mirror and
    `dashboards export --store iceberg+...` charts it; numbers by hand (CN = Qwen, US = Llama)."""
    from tests.packages import package_table
    from tests.snapshots import model, write_snapshot

    folder = Store(tmp_path / "folder")
    write_snapshot(
        folder, DAY, [model("Qwen/Qwen3-8B", downloads=300), model("meta-llama/Llama-3.1-8B", downloads=200)]
    )
    write_snapshot(
        folder,
        DAY + dt.timedelta(days=30),
        [model("Qwen/Qwen3-8B", downloads=400), model("meta-llama/Llama-3.1-8B", downloads=250)],
    )
    migrate(folder, resolve_store(sqlite_url), log=lambda *_: None)
    built = run_cli("warehouse", "--store", sqlite_url, timeout=300)
    assert built.returncode == 0, built.stderr
    out = tmp_path / "chart.zip"
    exported = subprocess.run(
        [sys.executable, "-m", "dashboards", "export", "--store", sqlite_url,
         "--chart", "downloads-30d-by-country", "--format", "csv", "--out", str(out)],
        cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    table = package_table(out.read_bytes())
    last = table[table["date"] == table["date"].max()].set_index("country")["downloads_30d"].to_dict()
    assert last == {"CN": 400, "US": 250}
