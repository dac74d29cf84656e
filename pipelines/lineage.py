"""Model lineage: follow `base_model` relations from each model up to its root.

Rules (each has a test in tests/test_attribution.py):

- **One parent per step.** A model with several parents (a merge, or an adapter listing more than one base)
  is followed through its *first listed* parent, the order the Hub gives in its tags and `baseModels`.
  It is deterministic, costs one lookup per step, and for merges the first parent is usually the base
  the others were merged into (mergekit lists it first). `base_model` records which parent that was.
- **Parents outside the snapshot** are looked up in a `ParentLookup` (the store's cache of
  `model_info(expand=["baseModels"])` answers, filled by `resolve_lineage`). A parent with unknown parents
  is the root, and its namespace gives the lineage country.
- **Cycles** (A -> B -> A, or A -> A): the walk stops before the first node it has already visited; the
  last new node is the root (A -> B -> A gives root B at depth 1; A -> A gives root A at depth 0) and
  `lineage_cycle` is True, so such rows can be audited.
- **Depth** counts the steps from the model to its root (0 for a model without a base model).

Vectorised for 300k-model snapshots: parents become integer positions and every model walks one step per
numpy pass; the few walks still going after `VECTOR_STEPS` passes (cycles, very deep chains) finish in an
exact Python walk.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock

from pipelines.store import Store

if TYPE_CHECKING:  # the Hub client is imported by hub_fetch only: readers of the lineage (attribution, the
    # channels' runs) do not pay for huggingface_hub's import
    from pipelines.hub import HubClient

log = logging.getLogger(__name__)

VECTOR_STEPS = 64


@dataclass(frozen=True)
class Parents:
    """What the Hub says about one model's parents: no `models` is a root; found=False, no such repo."""

    relation: str | None
    models: tuple[str, ...]
    found: bool = True


class ParentLookup(Protocol):
    """Parents of models outside a snapshot. Ids missing from the answer are unknown (treated as roots)."""

    def parents(self, model_ids: Collection[str]) -> Mapping[str, Parents]: ...


@dataclass(frozen=True)
class Lineage:
    """Per-model walk results (in the input order) and the outside parents whose own parents are unknown."""

    table: pd.DataFrame  # model_id, base_model, lineage_root, lineage_depth, lineage_cycle
    unresolved: frozenset[str]


def first_parents(base_models: pd.Series) -> np.ndarray:
    """The first listed parent of each model (None without one: no list, an empty one, or a null such as
    pandas' NA for a column that was null everywhere), as an object array."""
    lists = (list, tuple, np.ndarray)
    firsts = [p[0] if isinstance(p, lists) and len(p) else None for p in base_models.to_numpy()]
    return np.array(firsts, dtype=object)


def _outside_edges(
    known: set[str], parents: set[str], lookup: ParentLookup | None
) -> tuple[dict[str, str], frozenset[str]]:
    """Edges (child -> first parent) among parents outside the snapshot, found round by round in `lookup`."""
    frontier = parents - known
    seen = set(frontier)
    edges: dict[str, str] = {}
    unresolved: set[str] = set()
    while frontier:
        answers = lookup.parents(frontier) if lookup is not None else {}
        next_frontier: set[str] = set()
        for node in frontier:
            entry = answers.get(node)
            if entry is None:
                unresolved.add(node)
            elif entry.models:
                parent = entry.models[0]
                edges[node] = parent
                if parent not in known and parent not in seen:
                    seen.add(parent)
                    next_frontier.add(parent)
        frontier = next_frontier
    return edges, frozenset(unresolved)


def _walk(parent: np.ndarray, start: int) -> tuple[int, int, bool]:
    """The exact walk from one node: (root, depth, stopped by a cycle)."""
    seen = {start}
    node, depth = start, 0
    while True:
        step = int(parent[node])
        if step < 0:
            return node, depth, False
        if step in seen:
            return node, depth, True
        seen.add(step)
        node, depth = step, depth + 1


def _roots(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Root position, depth and cycle flag of every node, given each node's parent position (-1: none)."""
    count = len(parent)
    root = np.arange(count)
    depth = np.zeros(count, dtype=np.int64)
    cycle = np.zeros(count, dtype=bool)
    walking = np.flatnonzero(parent >= 0)
    current = parent[walking]
    step = 1
    while walking.size and step <= VECTOR_STEPS:
        following = parent[current]
        done = following < 0
        root[walking[done]] = current[done]
        depth[walking[done]] = step
        walking, current = walking[~done], following[~done]
        step += 1
    for start in walking.tolist():
        root[start], depth[start], cycle[start] = _walk(parent, start)
    return root, depth, cycle


def trace_lineage(
    model_ids: pd.Series, base_models: pd.Series, lookup: ParentLookup | None = None
) -> Lineage:
    """Walk every model's first-parent chain to its root (see the module docstring for the rules)."""
    ids = model_ids.to_numpy(dtype=object)
    parent_ids = first_parents(base_models)
    first = ~pd.Index(ids).duplicated()  # a model listed twice keeps its first row's parent
    graph_nodes, graph_parents = ids[first], parent_ids[first]
    known = set(graph_nodes)
    parents = set(graph_parents[pd.notna(graph_parents)])
    outside, unresolved = _outside_edges(known, parents, lookup)
    outside_nodes = np.array(sorted((parents | set(outside.values()) | set(outside)) - known), dtype=object)
    nodes = pd.Index(np.concatenate([graph_nodes, outside_nodes]))
    parent_of_outside = np.array([outside.get(n) for n in outside_nodes], dtype=object)
    parent_position = nodes.get_indexer(pd.Index(np.concatenate([graph_parents, parent_of_outside])))
    root, depth, cycle = _roots(parent_position)
    rows = nodes.get_indexer(pd.Index(ids))
    table = pd.DataFrame(
        {
            "model_id": ids,
            "base_model": parent_ids,
            "lineage_root": nodes.to_numpy()[root[rows]],
            "lineage_depth": depth[rows],
            "lineage_cycle": cycle[rows],
        },
        index=model_ids.index,
    )
    return Lineage(table=table, unresolved=unresolved)


def parse_base_models(value: object) -> Parents:
    """`baseModels` as the Hub sends it (`{"relation": ..., "models": [{"id": ...}]}`; None for a root)."""
    if not value:
        return Parents(relation=None, models=())
    if isinstance(value, Mapping):
        models = tuple(m["id"] if isinstance(m, Mapping) else str(m) for m in value.get("models") or ())
        return Parents(relation=value.get("relation"), models=models)
    if isinstance(value, list | tuple):
        return Parents(relation=None, models=tuple(str(m) for m in value))
    raise ValueError(f"unexpected baseModels value: {value!r}")


_CACHE_SCHEMA = pa.schema(
    [
        pa.field("model_id", pa.string(), nullable=False),
        pa.field("found", pa.bool_(), nullable=False),
        pa.field("relation", pa.string()),
        pa.field("base_models", pa.list_(pa.string())),
        pa.field("fetched_at", pa.timestamp("s", tz="UTC")),
    ]
)


@dataclass
class ParentCache:
    """Parents looked up on the Hub, kept in `<store>/lineage/parents.parquet` so no id is fetched twice.

    It is a `ParentLookup` that never touches the network: every attribution of every snapshot uses what
    earlier `--resolve-lineage` runs found.
    """

    path: Path
    _entries: dict[str, tuple[Parents, dt.datetime]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, store: Store) -> ParentCache:
        cache = cls(store.root / "lineage" / "parents.parquet")
        cache.reload()
        return cache

    def reload(self) -> None:
        self._entries = {}
        if not self.path.is_file():
            return
        for row in pq.read_table(self.path).to_pylist():
            parents = Parents(row["relation"], tuple(row["base_models"] or ()), row["found"])
            self._entries[row["model_id"]] = (parents, row["fetched_at"])

    def __len__(self) -> int:
        return len(self._entries)

    def parents(self, model_ids: Collection[str]) -> dict[str, Parents]:
        return {m: self._entries[m][0] for m in model_ids if m in self._entries}

    def first_parent_edges(self) -> dict[str, str]:
        """Each looked-up model's first parent (models without one left out): the edges `trace_lineage`
        follows beyond a snapshot, for walks done in SQL (the warehouse's lineage closures)."""
        return {m: entry[0].models[0] for m, entry in self._entries.items() if entry[0].models}

    @property
    def digest(self) -> str:
        """sha256 of the answers (not of fetch times): part of the cache key of attributed tables."""
        hasher = hashlib.sha256()
        for model_id in sorted(self._entries):
            parents = self._entries[model_id][0]
            hasher.update(f"{model_id}\x1f{parents.found}\x1f{parents.relation}\x1f".encode())
            hasher.update("\x1f".join(parents.models).encode() + b"\x1e")
        return hasher.hexdigest()

    def record(self, model_id: str, parents: Parents) -> None:
        self._entries[model_id] = (parents, dt.datetime.now(dt.UTC).replace(microsecond=0))

    def save(self) -> None:
        """Write atomically: readers see the old or the new cache, never half of one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ids = sorted(self._entries)
        table = pa.table(
            {
                "model_id": ids,
                "found": [self._entries[m][0].found for m in ids],
                "relation": [self._entries[m][0].relation for m in ids],
                "base_models": [list(self._entries[m][0].models) for m in ids],
                "fetched_at": [self._entries[m][1] for m in ids],
            },
            schema=_CACHE_SCHEMA,
        )
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
        pq.write_table(table, tmp)
        tmp.replace(self.path)

    def lock(self) -> FileLock:
        """One resolver at a time per store (two would overwrite each other's answers)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.path) + ".lock")


@dataclass(frozen=True)
class ResolveReport:
    """What one `resolve_lineage` run did."""

    fetched: int
    not_found: int
    failed: tuple[str, ...]
    unresolved: int  # outside parents still unknown (budget exhausted or failures)


class LookupFailed(RuntimeError):
    """The Hub did not answer for one model, even after retries."""


#: One model's parents; Parents(found=False) for a missing repo; raises LookupFailed on other failures.
Fetch = Callable[[str], Parents]


def hub_fetch(client: HubClient) -> Fetch:
    """One model's parents via the project's Hub client (`model_info(expand=["baseModels"])`, retried on
    429, 5xx, timeouts and dropped connections)."""
    import httpx2
    from huggingface_hub.errors import RepositoryNotFoundError

    def fetch(model_id: str) -> Parents:
        try:
            info = client.model_info(model_id, expand=["baseModels"])
            return parse_base_models(info.base_models)
        except RepositoryNotFoundError:
            return Parents(relation=None, models=(), found=False)
        except (httpx2.HTTPError, OSError, ValueError, KeyError) as exc:
            raise LookupFailed(f"could not fetch the parents of {model_id}: {exc}") from exc

    return fetch


def resolve_lineage(
    snapshot: pd.DataFrame,
    cache: ParentCache,
    fetch: Fetch,
    max_lookups: int,
    progress: Callable[[int], None] | None = None,
) -> ResolveReport:
    """Fetch the parents of outside parents until every chain ends or `max_lookups` is spent.

    Most-downloaded chains first: each round asks for the unresolved roots carrying the most 30-day
    downloads. `fetch` raises on a failure that retries did not cure; that id is reported and skipped.
    Answers are saved to the cache after each round, so an interrupted run keeps what it fetched.
    """
    budget = max_lookups
    fetched = not_found = 0
    failed: list[str] = []
    downloads = snapshot["downloads_30d"].fillna(0)
    with cache.lock():
        cache.reload()
        while True:
            lineage = trace_lineage(snapshot["model_id"], snapshot["base_models"], cache)
            todo = lineage.unresolved - set(failed)
            if not todo or budget <= 0:
                break
            weight = downloads.groupby(lineage.table["lineage_root"]).sum()
            batch = sorted(todo, key=lambda m: (-weight.get(m, 0), m))[:budget]
            budget -= len(batch)
            for model_id in batch:
                try:
                    parents = fetch(model_id)
                except LookupFailed as exc:  # one bad id must not stop the run; it is reported
                    log.warning("%s", exc)
                    failed.append(model_id)
                    continue
                cache.record(model_id, parents)
                fetched += 1
                not_found += not parents.found
                if progress is not None:
                    progress(1)
            cache.save()
    return ResolveReport(fetched, not_found, tuple(failed), len(lineage.unresolved))
