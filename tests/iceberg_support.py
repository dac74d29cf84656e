"""Helpers of the Iceberg store tests that run in separate processes (forkserver children import this
module, not the test module): a snapshot run against an Iceberg store URL, and a reader scanning while
commits land."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import threading
import time
from pathlib import Path

from tqdm import tqdm

from pipelines.store import resolve_store
from tests.ops_support import SnapshotProcesses, take_small_snapshot, use_fake_hub


def _iceberg_snapshot_process(url: str, date: str, endpoint: str, hf_home: str, env: dict[str, str]) -> None:
    tqdm.set_lock(threading.RLock())
    os.environ.update(env)
    use_fake_hub(endpoint, hf_home)
    take_small_snapshot(resolve_store(url), dt.date.fromisoformat(date), endpoint)


class IcebergSnapshotProcesses(SnapshotProcesses):
    """`SnapshotProcesses` whose runs write to the Iceberg store given by its URL (`store.location.url`)."""

    def __init__(self, env: dict[str, str]) -> None:
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["tests.iceberg_support"])
        self.env = env

    def start(self, store, date, endpoint, hf_home):  # type: ignore[no-untyped-def]  # same as the parent's
        process = self._context.Process(
            target=_iceberg_snapshot_process,
            args=(store.location.url, date.isoformat(), endpoint, str(hf_home), self.env),
        )
        process.start()
        return process


def scan_until_stopped(url: str, env: dict[str, str], stop_file: str, out_file: str) -> None:
    """Scan the data table over and over (fresh table load each time, PyIceberg scan, no project reader code)
    until `stop_file` exists; write every scan's rows per date to `out_file` (JSON list)."""
    os.environ.update(env)
    from pyiceberg.catalog.sql import SqlCatalog

    from pipelines.iceberg_store import CATALOG_NAME, DATA_TABLE, IcebergLocation, file_io_properties

    location = IcebergLocation.parse(url)
    catalog = SqlCatalog(
        CATALOG_NAME, uri=location.catalog_uri, warehouse=location.warehouse, **file_io_properties()
    )
    identifier = f"{location.namespace}.{DATA_TABLE}"
    scans: list[dict[str, int]] = []
    while not Path(stop_file).exists():
        if catalog.table_exists(identifier):
            rows = catalog.load_table(identifier).scan(selected_fields=("snapshot_date",)).to_arrow()
            counts: dict[str, int] = {}
            for value in rows["snapshot_date"].to_pylist():
                counts[value.isoformat()] = counts.get(value.isoformat(), 0) + 1
            scans.append(counts)
            Path(f"{out_file}.ready").touch()
        time.sleep(0.01)
    Path(out_file).write_text(json.dumps(scans))
