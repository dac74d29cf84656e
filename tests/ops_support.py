"""Helpers shared by the operations tests (lock, runs, verify, status, schedule, reliability)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.schema import SNAPSHOT_SCHEMA
from pipelines.store import Store

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
