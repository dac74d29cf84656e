"""Helpers shared by the operations tests (lock, runs, verify, status, schedule, reliability)."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from pipelines.schema import SNAPSHOT_SCHEMA
from pipelines.snapshot import Scope, SnapshotResult, take_snapshot
from pipelines.store import Store
from tests.fakehub import FakeHub

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: A crawl small enough for many runs per test: 3 namespaces + the top models down to 5 downloads, pages of
#: 10 (with `make_models(200, seed=3)`: ~100 models in ~14 pages).
SMALL_SCOPE = Scope(namespaces=("Qwen", "unsloth", "google"), min_downloads=5)
SMALL_PAGE = 10


def take_small_snapshot(store: Store, date: dt.date, endpoint: str, **options: object) -> SnapshotResult:
    """`take_snapshot` of SMALL_SCOPE in pages of SMALL_PAGE (in this process)."""
    return take_snapshot(store, date, SMALL_SCOPE, endpoint=endpoint, page_size=SMALL_PAGE, **options)  # type: ignore[arg-type]


def snapshot_frame(store: Store, date: dt.date) -> pd.DataFrame:
    """A published snapshot in a canonical order, for comparing two runs row for row."""
    return store.read_snapshot(date).sort_values("model_id", ignore_index=True)


def modelscope_rows(downloads: dict[str, int]) -> list[dict]:
    """ModelScope observations (cumulative downloads of each model id), fetched 2026-12-01 03:00 UTC."""
    fetched = dt.datetime(2026, 12, 1, 3, tzinfo=dt.UTC)
    return [
        {"channel": "modelscope", "channel_model_id": model, "metric": "downloads", "semantics": "cumulative",
         "value": value, "observed_at": None, "fetched_at": fetched, "hub_model_id": None, "attributes": "{}"}
        for model, value in downloads.items()
    ]  # fmt: skip


def publish_modelscope(store: Store, date: dt.date, downloads: dict[str, int]) -> None:
    """Publish `modelscope_rows(downloads)` as the snapshot of `date` of a ModelScope channel store (a folder
    or an Iceberg table), through `Store.publish` like a real run."""
    from pipelines.channels import OBSERVATION_SCHEMA

    with store.fresh_staging(date) as staged:
        table = pa.Table.from_pylist(modelscope_rows(downloads), schema=OBSERVATION_SCHEMA)
        pq.write_table(table, staged / "part-00000.parquet")
        store.publish(staged, date, {"channel": "modelscope"})


def publish_small_snapshot(store: Store, date: dt.date, n_models: int = 5, parts: int = 1) -> Path:
    """Publish a tiny, valid snapshot through `Store.publish` (no Hub needed), `parts` Parquet files."""
    staged = store.staging_dir(date)
    staged.mkdir(parents=True, exist_ok=True)
    ids = [f"org{i % 3}/model-{i:03d}" for i in range(n_models)]
    for part in range(parts):
        chosen = ids[part::parts]
        columns = {name: [None] * len(chosen) for name in SNAPSHOT_SCHEMA.names}
        columns.update(
            model_id=chosen,
            author=[m.split("/")[0] for m in chosen],
            downloads_30d=[100 * (i + 1) for i in range(len(chosen))],
        )
        pq.write_table(pa.table(columns, schema=SNAPSHOT_SCHEMA), staged / f"part-{part:05d}.parquet")
    return store.publish(staged, date, {"source": {"kind": "synthetic"}, "synthetic": True})


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    """`python -m pipelines ARGS` in a subprocess, from the project root, output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --------------------------------------------------------------------------------- runs killed with SIGKILL


def use_fake_hub(endpoint: str, hf_home: str) -> None:
    """In a fresh process: point huggingface_hub at the fake Hub (as the `hf_env` fixture does in-process)."""
    import huggingface_hub.constants as constants

    os.environ.update(HF_ENDPOINT=endpoint, HF_HOME=hf_home, NO_PROXY="127.0.0.1,localhost")
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
        os.environ.pop(name, None)
    constants.ENDPOINT = endpoint
    constants.HF_HUB_OFFLINE = False
    constants.HF_HOME = hf_home
    constants.AGENT_HARNESSES_PATH = str(Path(hf_home) / ".agent_harnesses.json")
    constants.HF_TOKEN_PATH = str(Path(hf_home) / "token")
    constants.HF_STORED_TOKENS_PATH = str(Path(hf_home) / "stored_tokens")


def _small_snapshot_process(store_root: str, date: str, endpoint: str, hf_home: str) -> None:
    # tqdm's default lock is a named multiprocessing semaphore, which a killed process can never release
    # (the resource tracker then warns about each one); a thread lock is all one process needs.
    tqdm.set_lock(threading.RLock())
    use_fake_hub(endpoint, hf_home)
    take_small_snapshot(Store(Path(store_root)), dt.date.fromisoformat(date), endpoint)


class SnapshotProcesses:
    """Small snapshot runs as real, separate processes, started in milliseconds.

    A forkserver with the pipeline preloaded forks each run, so a test can start (and SIGKILL) dozens of
    runs without paying the interpreter and import start-up each time (~1 s on a busy 2-core machine).
    """

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["tests.ops_support"])

    def start(self, store: Store, date: dt.date, endpoint: str, hf_home: Path) -> multiprocessing.Process:
        process = self._context.Process(
            target=_small_snapshot_process, args=(str(store.root), date.isoformat(), endpoint, str(hf_home))
        )
        process.start()
        return process


@dataclass
class KillPoint:
    """Where one run was killed: after `requests` requests of that run, plus `delay` seconds."""

    chain: int
    requests: int
    delay: float
    in_finalize: bool


def pages_checkpointed(store: Store, date: dt.date) -> int:
    path = store.staging_dir(date) / "checkpoint.json"
    try:
        return int(json.loads(path.read_text())["stats"].get("pages", 0))
    except (OSError, ValueError, KeyError):
        return 0


def kill_until_done(
    processes: SnapshotProcesses,
    fake_hub: FakeHub,
    store: Store,
    date: dt.date,
    hf_home: Path,
    rng: random.Random,
    *,
    pages: int,
    finalize_seconds: float,
    chain: int,
    after_kill: Callable[[], None],
) -> list[KillPoint]:
    """Run the snapshot of `date` again and again, SIGKILLing each run at a random point, until one finishes.

    A kill point is "after k requests of this run (+ up to 30 ms)", k drawn among the pages still to fetch,
    or "after its last request + up to `finalize_seconds`" (deduplication, Parquet writing, publishing).
    `after_kill` checks the store after every kill. Returns the points where a run was really killed.
    """
    killed: list[KillPoint] = []
    while True:
        remaining = max(pages - pages_checkpointed(store, date), 1)
        k = rng.randint(1, remaining + 1)
        in_finalize = k > remaining
        delay = rng.uniform(0, finalize_seconds) if in_finalize else rng.uniform(0, 0.03)
        target = min(k, remaining)
        served_before = len(fake_hub.requests)
        process = processes.start(store, date, fake_hub.url, hf_home)
        deadline = time.monotonic() + 60
        while process.is_alive() and len(fake_hub.requests) - served_before < target:
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"run stuck before request {target} (chain {chain})")
            time.sleep(0.001)
        time.sleep(delay)
        if process.is_alive():
            process.kill()
            process.join()
            process.close()
            killed.append(KillPoint(chain, target, delay, in_finalize))
            after_kill()
            continue
        process.join()
        exitcode = process.exitcode
        process.close()
        if exitcode != 0:
            raise AssertionError(f"a run that was not killed failed: exit code {exitcode}")
        return killed
