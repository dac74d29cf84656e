"""Helpers shared by the operations tests (lock, runs, verify, status, schedule, reliability)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.schema import SNAPSHOT_SCHEMA
from pipelines.snapshot import Scope, SnapshotResult, take_snapshot
from pipelines.store import Store

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
