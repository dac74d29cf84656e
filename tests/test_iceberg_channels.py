"""Channel snapshots (ModelScope, OpenRouter) of an Iceberg store: Iceberg commits like the Hub's.

Against real services on loopback (PostgreSQL catalog + moto S3, tests/services.py) where the point is another
host, else SQLite + a local warehouse; the channels' fakes (tests/fakemodelscope.py, tests/fakeopenrouter.py)
answer the real clients, run as users run them (`python -m pipelines snapshot --channel ...` in a child).

What is proven: `snapshot --channel modelscope` into an Iceberg store is one commit per date in
`channel_modelscope` with its provenance row, `--force` replaces the date in one commit, `verify` and `status`
cover the channel's table (a damaged data file fails `verify`), and a replica on another host (an empty local
directory) sees the data through its mirror; OpenRouter vintages are tables too and a restated day keeps both
vintages' figures, and `maintain` covers the channel tables; `migrate` carries every channel folder ->
Iceberg -> folder with the same logical checksums and provenance (and commits the local channel folders of a
store made before channels had tables); a SIGKILL during a channel's commits leaves no partial day.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from pipelines.channels import OBSERVATION_ROWS, channel_parts, channel_store
from pipelines.channels.modelscope import Namespace, load_namespaces, take_modelscope_snapshot
from pipelines.channels.openrouter_attribution import catalogue_store, token_days
from pipelines.demo import generate_demo_store
from pipelines.iceberg_store import IcebergStore
from pipelines.maintain import maintain
from pipelines.migrate import copy_snapshot, migrate
from pipelines.registry import load_registry
from pipelines.store import Store, logical_checksum, readable_store, resolve_store
from pipelines.verify import verify_store
from tests import openrouter_data as data
from tests.fakemodelscope import FakeModelScope, make_world, ms_model
from tests.fakeopenrouter import FakeOpenRouter
from tests.ops_support import modelscope_rows, publish_modelscope, run_cli

ROOT = Path(__file__).resolve().parent.parent
DAY = dt.date(2026, 12, 1)
D = dt.date


@pytest.fixture
def pg_base(postgres_server, s3_server, s3_env: dict[str, str]) -> str:
    """A store URL of its own (namespace and S3 prefix) in the session's PostgreSQL and moto S3, without
    `local=`: each host adds its own."""
    name = f"t{uuid.uuid4().hex[:12]}"
    return f"iceberg+{postgres_server.url}?warehouse=s3://{s3_server.bucket}/{name}&namespace={name}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"iceberg+sqlite:///{tmp_path}/catalog.db?warehouse={tmp_path}/warehouse&local={tmp_path}/local"


@pytest.fixture
def modelscope() -> Iterator[tuple[FakeModelScope, dict[str, int]]]:
    """The fake ModelScope with two models per shipped owner: `<owner>/model-<n>` with 10 n + 1 downloads."""
    owners = [row.owner for row in load_namespaces(load_registry())]
    models = [ms_model(f"{owner}/model-{n}", 10 * n + 1, minute=n) for owner in owners for n in range(2)]
    server = FakeModelScope(models).start()
    try:
        yield server, {f"{owner}/model-{n}": 10 * n + 1 for owner in owners for n in range(2)}
    finally:
        server.stop()


def downloads(store: Store, date: dt.date = DAY) -> dict[str, int]:
    frame = channel_store(store, "modelscope").read_snapshot(date)
    return dict(zip(frame["channel_model_id"], frame["value"], strict=True))


def channel_commits(store: IcebergStore, date: dt.date) -> list:
    table = channel_store(store, "modelscope").data_table()
    return [s for s in table.snapshots() if s.summary and s.summary.get("owt.date") == str(date)]


def test_a_modelscope_snapshot_is_an_iceberg_commit_that_a_replica_on_another_host_reads(
    pg_base: str, s3_env: dict[str, str], tmp_path: Path, modelscope: tuple[FakeModelScope, dict[str, int]]
) -> None:
    server, expected = modelscope
    url = f"{pg_base}&local={tmp_path / 'writer'}"
    env = {"MODELSCOPE_ENDPOINT": server.url, "MODELSCOPE_MIN_INTERVAL": "0", "OWT_STORE": url, **s3_env}
    done = run_cli("snapshot", "--channel", "modelscope", "--date", DAY.isoformat(), "--quiet", env=env)
    assert done.returncode == 0, done.stderr

    store = resolve_store(url)
    held = channel_store(store, "modelscope")
    assert isinstance(held, IcebergStore) and held.exists() and not store.exists()  # no Hub table made
    (commit,) = channel_commits(store, DAY)  # one commit for the date, its provenance's digest with it
    assert commit.summary["owt.rows"] == str(len(expected))
    assert commit.summary["owt.source-kind"] == "modelscope-openapi"
    assert held.provenance(DAY)["rows"] == len(expected) and held.provenance(DAY)["channel"] == "modelscope"
    assert not (tmp_path / "writer" / "channels" / "modelscope" / "snapshots").exists()  # nothing local
    assert not held.staging_dir(DAY).exists()
    assert downloads(store) == expected

    # a replica on another host: the same URL with an empty local directory reads it through its mirror
    replica = readable_store(resolve_store(f"{pg_base}&local={tmp_path / 'replica'}"))
    assert type(replica) is Store and channel_store(replica, "modelscope").dates() == [DAY]
    assert downloads(replica) == expected

    # same commands as a folder store: a second run changes nothing, --force replaces the day in one commit
    again = run_cli("snapshot", "--channel", "modelscope", "--date", DAY.isoformat(), env=env)
    assert again.returncode == 0 and "already in the store" in again.stdout, again.stderr
    first = next(iter(expected))
    server.models[first]["downloads"] = 5_000
    forced = run_cli("snapshot", "--channel", "modelscope", "--date", DAY.isoformat(), "--force", env=env)
    assert forced.returncode == 0, forced.stderr
    assert len(channel_commits(store, DAY)) == 2  # the first, then one delete-and-add
    assert downloads(store) == {**expected, first: 5_000}
    replica = readable_store(resolve_store(f"{pg_base}&local={tmp_path / 'replica'}"))
    assert downloads(replica) == {**expected, first: 5_000}  # the replica follows the new commit

    verified = run_cli("verify", env=env)
    assert verified.returncode == 0 and "1 snapshots, 1 files" in verified.stdout, verified.stdout
    facts = json.loads(run_cli("status", "--json", env=env).stdout)
    channel = facts["channels"]["modelscope"]
    assert channel["latest"] == DAY.isoformat() and channel["snapshots"] == 1
    assert channel["iceberg"]["table"].endswith(".channel_modelscope")
    assert channel["iceberg"]["iceberg_snapshots"] == 3  # the add, then the --force delete and add
    assert channel["iceberg"]["data_files"] == 1
    shown = run_cli("status", env=env).stdout
    assert "channel      modelscope: 1 snapshots" in shown
    assert f"  iceberg    table {channel['iceberg']['table']}: 3 commits kept" in shown, shown


def _pull(url: str, fake: FakeOpenRouter, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "OPENROUTER_API_KEY"}
    env.update(OWT_STORE=url, OPENROUTER_ENDPOINT=fake.url, OPENROUTER_API_KEY=data.KEY)
    command = [sys.executable, "-m", "pipelines", "snapshot", "--channel", "openrouter", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_openrouter_vintages_are_commits_and_a_restated_day_keeps_both(
    sqlite_url: str, tmp_path: Path
) -> None:
    with FakeOpenRouter(data.KEY, today=D(2026, 2, 1)) as fake:
        data.load(fake, D(2026, 1, 1), D(2026, 1, 31))
        first = _pull(sqlite_url, fake, "--date", "2026-02-01", "--backfill-from", "2026-01-01")
        assert first.returncode == 0, first.stderr
        fake.today = D(2026, 2, 2)
        fake.usage[D(2026, 2, 1)] = data.day_usage(D(2026, 2, 1))
        fake.restate(D(2026, 1, 20), data.QWEN, 1400, as_of="2026-02-02T02:00:00Z")
        second = _pull(sqlite_url, fake, "--date", "2026-02-02")
        assert second.returncode == 0, second.stderr
    store = resolve_store(sqlite_url)
    rankings = channel_store(store, "openrouter")
    assert isinstance(rankings, IcebergStore) and isinstance(catalogue_store(store), IcebergStore)
    assert rankings.dates() == catalogue_store(store).dates() == [D(2026, 2, 1), D(2026, 2, 2)]
    # 31 days (2026-01-01..31) x 51 rows; then 2026-01-03..2026-02-01, 30 days x 51 rows
    assert [rankings.provenance(d)["rows"] for d in rankings.dates()] == [31 * 51, 30 * 51]

    # Qwen makes 400 a day from 2025-07-01 (tests/openrouter_data.py); the second vintage restated it to 1400
    first, second = (data.qwen_tokens_on_jan_20(rankings, v) for v in (D(2026, 2, 1), D(2026, 2, 2)))
    assert (first, second) == (400, 1400)
    days = token_days(store, load_registry())
    day20 = days[days["day"] == D(2026, 1, 20)].set_index("model_permaslug")
    assert set(day20["vintage"]) == {D(2026, 2, 2)} and day20.loc[data.QWEN, "tokens"] == 1400
    assert set(days[days["day"] == D(2026, 1, 2)]["vintage"]) == {D(2026, 2, 1)}

    # and back into a folder store: both vintages, the same rows, the same attribution
    back = Store(tmp_path / "back")
    assert migrate(store, back, log=lambda line: None) == 4  # 2 rankings vintages + 2 catalogues
    assert channel_store(back, "openrouter").dates() == rankings.dates()
    pd.testing.assert_frame_equal(token_days(back, load_registry()), days)

    # maintenance covers the channel tables: a replaced vintage's old file is an orphan of its table only
    (replaced,) = [Path(f["name"].removeprefix("file:")) for f in rankings.provenance(D(2026, 2, 2))["files"]]
    copy_snapshot(rankings, rankings, D(2026, 2, 2), replace=True, rows=OBSERVATION_ROWS)  # --force by hand
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    done = {m.table: m for m in maintain(store, keep_days=0, orphan_hours=1, now=later)}
    assert set(done) == {"channel_openrouter", "channel_openrouter_provenance", "channel_openrouter_models",
                         "channel_openrouter_models_provenance"}  # no Hub table: none made  # fmt: skip
    vintages = done["channel_openrouter"]
    assert (vintages.snapshots_before, vintages.snapshots_after) == (4, 1)  # 2 adds, then a delete and an add
    assert vintages.orphans_removed >= 1 and not replaced.exists()
    # every listed file of both tables is still there and intact (nothing taken from a neighbouring table)
    assert rankings.verify().problems == [] and catalogue_store(store).verify().problems == []
    pd.testing.assert_frame_equal(token_days(store, load_registry()), days)

    # verify reads the channel's data files again: a truncated one is reported, the command fails
    (entry,) = rankings.provenance(D(2026, 2, 1))["files"]
    path = Path(entry["name"].removeprefix("file://"))
    path.write_bytes(path.read_bytes()[:-10])
    assert [(p.kind, p.path) for p in rankings.verify().problems] == [("truncated", Path(entry["name"]))]
    verified = run_cli("verify", "--store", sqlite_url)
    assert verified.returncode == 1 and "TRUNCATED" in verified.stdout, verified.stdout


def test_migrate_carries_every_channel_to_iceberg_and_back_losslessly(
    pg_base: str, tmp_path: Path, modelscope: tuple[FakeModelScope, dict[str, int]]
) -> None:
    server, expected = modelscope
    source = Store(tmp_path / "source")
    generate_demo_store(source, models=40, days=2, end=DAY)  # the Hub's days + an OpenRouter vintage
    namespaces = load_namespaces(load_registry())
    for date in (DAY - dt.timedelta(days=1), DAY):
        take_modelscope_snapshot(source, date, namespaces, endpoint=server.url, min_interval=0)
    iceberg = resolve_store(f"{pg_base}&local={tmp_path / 'local'}")
    back = Store(tmp_path / "back")
    lines: list[str] = []
    # 2 Hub days, 2 ModelScope days, 1 OpenRouter vintage, 1 /models catalogue
    assert migrate(source, iceberg, log=lines.append) == 6
    assert migrate(iceberg, back, log=lambda line: None) == 6
    assert f"channels/modelscope {DAY}: copied" in "\n".join(lines)
    assert downloads(back) == expected
    for part in channel_parts():
        original, there, returned = (store.part_store(part) for store in (source, iceberg, back))
        assert isinstance(there, IcebergStore) and there.exists(), part.table
        assert returned.dates() == there.dates() == original.dates() != []
        for date in original.dates():
            checksum = logical_checksum(original.read_table(date), part.rows)
            assert logical_checksum(there.read_table(date), part.rows) == checksum
            assert logical_checksum(returned.read_table(date), part.rows) == checksum
            copies = (original, there, returned)
            records = [{k: v for k, v in held.provenance(date).items() if k != "files"} for held in copies]
            assert records[0] == records[1] == records[2]
            order = list(part.rows.order)  # a folder keeps the rows as written, a copy in canonical order
            frames = [held.read_snapshot(date).sort_values(order, ignore_index=True) for held in copies[::2]]
            pd.testing.assert_frame_equal(frames[1], frames[0])
        assert there.verify().problems == [] and verify_store(returned).problems == []
    # a rerun copies nothing, channels included
    assert migrate(source, iceberg, log=lambda line: None) == 0


def test_a_changed_row_changes_the_channel_checksum() -> None:
    """The channels' logical checksum is the rows, not their order: by hand, two rows swapped give the same
    digest, one value changed another."""
    import pyarrow as pa

    rows = modelscope_rows({"a/x": 1, "b/y": 2})
    table = pa.Table.from_pylist(rows, schema=OBSERVATION_ROWS.schema)
    digest = logical_checksum(table, OBSERVATION_ROWS)
    swapped = pa.Table.from_pylist(rows[::-1], schema=OBSERVATION_ROWS.schema)
    assert logical_checksum(swapped, OBSERVATION_ROWS) == digest
    changed = pa.Table.from_pylist([rows[0], {**rows[1], "value": 3}], schema=OBSERVATION_ROWS.schema)
    assert logical_checksum(changed, OBSERVATION_ROWS) != digest


def test_channels_an_older_iceberg_store_kept_as_local_folders_are_committed_by_migrate(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Before channels had tables, an Iceberg store kept them as folders in `<local>/channels/`, linked into
    its mirror. Moved aside and migrated (README, *Iceberg store*), they become commits, and the mirror holds
    the tables' copy instead of the link."""
    local = tmp_path / "local"
    legacy = channel_store(Store(local), "modelscope")  # the folder layout those versions wrote
    publish_modelscope(legacy, DAY, {"Qwen/a": 7, "deepseek-ai/b": 11})
    (local / "mirror").mkdir()
    (local / "mirror" / "channels").symlink_to(local / "channels", target_is_directory=True)
    (tmp_path / "old").mkdir()
    (local / "channels").rename(tmp_path / "old" / "channels")

    done = run_cli("migrate", "--from", str(tmp_path / "old"), "--to", sqlite_url)
    assert done.returncode == 0 and "1 snapshot(s) copied" in done.stdout, done.stderr
    assert f"channels/modelscope {DAY}: copied" in done.stdout
    mirror = readable_store(resolve_store(sqlite_url))
    assert not (mirror.root / "channels").is_symlink()
    assert downloads(mirror) == {"Qwen/a": 7, "deepseek-ai/b": 11}


def _modelscope_run(url: str, endpoint: str, force: bool = False) -> None:
    store = resolve_store(url)
    take_modelscope_snapshot(
        store, DAY, KILL_OWNERS, endpoint=endpoint, timeout=5, min_interval=0, force=force
    )


KILL_OWNERS = [Namespace(owner, owner, "test", "") for owner in
               ("Qwen", "deepseek-ai", "ZhipuAI", "LLM-Research", "AI-ModelScope")]  # fmt: skip


@pytest.mark.slow
def test_a_kill_9_anywhere_in_a_channel_snapshot_leaves_no_partial_day(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Runs into an Iceberg store killed with SIGKILL at a random moment just after their data file appears in
    the warehouse (in the data and provenance commits; kills during the crawl: tests/test_modelscope.py), each
    resumed by the next: no kill ever leaves a partial day, and the last run gives the reference's rows."""
    fork = multiprocessing.get_context("fork")
    server = FakeModelScope(make_world(big=False)).start()
    try:
        reference_url = sqlite_url.replace(str(tmp_path), str(tmp_path / "reference"))
        process = fork.Process(target=_modelscope_run, args=(reference_url, server.url))
        process.start()
        process.join(120)
        assert process.exitcode == 0
        reference = downloads(resolve_store(reference_url))
        store = resolve_store(sqlite_url)
        held = channel_store(store, "modelscope")
        data_files = lambda: len(list((tmp_path / "warehouse").rglob("channel_modelscope/data/*/*.parquet")))  # noqa: E731

        def nothing_partial() -> None:
            if held.exists():
                rows = held.data_table().scan(selected_fields=("snapshot_date",)).to_arrow().num_rows
                assert rows in (0, len(reference)), "a partial day is visible"
            if held.has_snapshot(DAY):
                assert downloads(store) == reference

        rng = random.Random(20261204)
        kills = 0
        for _ in range(8):
            written = data_files()
            # A run that finished before its kill (a fast moment of the machine) published the day: the next
            # ones replace it (`force`), so their kills land in a replacement's commits instead.
            args = (sqlite_url, server.url, held.has_snapshot(DAY))
            process = fork.Process(target=_modelscope_run, args=args)
            process.start()
            while process.is_alive() and data_files() == written:
                time.sleep(0.002)
            process.join(rng.uniform(0, 0.2))  # in the commits that follow the data file
            if process.is_alive():
                os.kill(process.pid, signal.SIGKILL)
                kills += 1
            process.join(60)
            nothing_partial()
            if kills >= 3:
                break
        args = (sqlite_url, server.url, held.has_snapshot(DAY))  # a free run, resuming the last killed one
        process = fork.Process(target=_modelscope_run, args=args)
        process.start()
        process.join(120)
        assert process.exitcode == 0
    finally:
        server.stop()
    assert kills, "no run was killed"
    assert downloads(store) == reference and held.verify().problems == []
    assert not held.staging_dir(DAY).exists()
