"""Which store the dashboard and `python -m dashboards export` show: one rule for both.

The store asked for (`--store`, else env `OWT_STORE`, else `data/store`) is shown when it has snapshots.
While it has none, the synthetic demo store (`data/demo-store`, env `OWT_DEMO_STORE`) stands in, generated
once on first use, and everything shown from it says so. A store named explicitly that does not exist is an
error (a typo must not silently show the demo), and nothing is created there; the default `data/store` may be
absent (a fresh clone).
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from pipelines.demo import generate_demo_store
from pipelines.store import Store, demo_store_path, existing_store, resolve_store
from pipelines.warehouse.publish import reader_store

#: The demo store: enough models for every chart to look like the real thing, every day since 2024-01-01 (so
#: the 2025 crossover is in it); about half a minute to generate and index on a laptop, once.
DEMO_MODELS = 1000

log = logging.getLogger("owt.serving")


@dataclass(frozen=True)
class ServingStore:
    """The store shown, the one asked for, and whether the demo store stands in for it. An Iceberg store is
    shown through `pipelines.warehouse.publish.reader_store`: a stateless reader of its published warehouse,
    else its local folder mirror, which the warehouse is built from."""

    store: Store
    configured: Store
    demo: bool = False


def ensure_demo_store(
    target: Path | None = None, *, models: int = DEMO_MODELS, days: int | None = None
) -> Store:
    """The demo store, generated on first use into a temporary directory and renamed into place.

    A file lock makes concurrent first starts (several gunicorn workers) generate it once; the rename means
    an interrupted generation never leaves a half-made store behind.
    """
    target = target or demo_store_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if Store(target).dates():
            return Store(target)
        staging = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        log.warning("store is empty: generating the synthetic demo store in %s (once)", target)
        generate_demo_store(Store(staging), models=models, days=days, progress=True)
        os.rename(staging, target)
    return Store(target)


def serving_store(
    store: Store | str | os.PathLike[str] | None = None, *, demo_store: Path | None = None
) -> ServingStore:
    """The store to show for `store` (a path, a Store, or None for OWT_STORE / data/store).

    Raises `pipelines.store.StoreError` when a path named by the caller or OWT_STORE does not exist."""
    if isinstance(store, Store):
        configured = store
    elif store or os.environ.get("OWT_STORE"):
        configured = existing_store(store)
    else:
        configured = resolve_store(None)
    if configured.dates():
        return ServingStore(store=reader_store(configured), configured=configured)
    return ServingStore(store=ensure_demo_store(demo_store), configured=configured, demo=True)
