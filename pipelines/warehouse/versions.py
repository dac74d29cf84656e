"""Built versions: where they live, which one is current (a pointer replaced atomically, so readers never see
a half-built warehouse), the ones kept for readers to fall back to, and pruning the older ones."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

from pipelines.store import Store
from pipelines.warehouse.schema import POINTER, TABLES_FILE, WAREHOUSE_DIR

KEEP_VERSIONS = 3


@dataclasses.dataclass(frozen=True)
class Version:
    """One built warehouse version: its directory and manifest."""

    path: Path
    manifest: dict[str, Any]

    @property
    def tables(self) -> Path:
        return self.path / TABLES_FILE

    @property
    def facts_dir(self) -> Path:
        return self.path / "facts"

    def facts_files(self) -> list[Path]:
        return sorted(self.facts_dir.glob("*.parquet"))


def warehouse_root(store: Store) -> Path:
    return store.root / WAREHOUSE_DIR


def current_name(store: Store) -> str | None:
    """The name of the version the pointer names (cheap: readers check it before every query)."""
    pointer = warehouse_root(store) / POINTER
    try:
        return json.loads(pointer.read_text(encoding="utf-8"))["version"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        return None


def current_version(store: Store) -> Version | None:
    """The version the pointer names (None before the first build)."""
    name = current_name(store)
    if name is None:
        return None
    path = warehouse_root(store) / name
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        return None
    return Version(path, json.loads(manifest_path.read_text(encoding="utf-8")))


def kept_versions(store: Store) -> list[Version]:
    """Every complete version still kept (up to KEEP_VERSIONS), newest first: where a reader falls back to
    when the current one cannot be read."""
    root = warehouse_root(store)
    paths = sorted((p for p in root.glob("v[0-9]*") if (p / "manifest.json").is_file()), reverse=True)
    return [Version(p, json.loads((p / "manifest.json").read_text(encoding="utf-8"))) for p in paths]


def _next_name(root: Path) -> str:
    numbers = [int(p.name[1:]) for p in root.glob("v[0-9]*") if p.name[1:].isdigit()]
    return f"v{max(numbers, default=0) + 1:06d}"


def _prune(root: Path, keep: str) -> None:
    """Remove old versions beyond KEEP_VERSIONS (readers holding one re-open the current on next query)."""
    versions = sorted(p for p in root.glob("v[0-9]*") if p.is_dir())
    for old in versions[:-KEEP_VERSIONS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
    for leftover in root.glob(".v*.building"):
        shutil.rmtree(leftover, ignore_errors=True)
