"""Who is behind each model: the publisher country and the lineage country, from a snapshot and the registry.

- **publisher_country** (ATOM's rule): the registry country of the model's namespace. A registered row
  without a country (no single one) gives `INTL`, or `INDIVIDUAL` for kinds individual/community; a row
  whose country is `unknown` (not confirmed) gives `UNATTRIBUTED_ORG`, never `INTL`.
- **lineage_country**: the publisher country of the root of the model's `base_model` chain
  (rules for merges, cycles and outside parents: `pipelines.lineage`). A third-party GGUF of a Qwen
  fine-tune is published by its uploader and has CN lineage.
- **Unregistered namespaces** never fall silently into a country: they are `UNATTRIBUTED_ORG` when the
  name reads like an organisation and `INDIVIDUAL` otherwise (`looks_like_organisation`). Snapshots carry
  no user/org flag, so the name is the only evidence we have offline; it errs towards INDIVIDUAL, and
  `python -m pipelines orgs audit` lists the biggest unregistered namespaces so a curator can register them.
- **first_party**: the model's lineage root belongs to the same organisation as the model (registry
  `organization`, so renamed namespaces such as THUDM -> zai-org count as one; unregistered namespaces
  compare by name). Models without a base model are their own root, hence first-party.

The attributed table is derived, never stored as truth: `attributed_table` recomputes it from the immutable
snapshot and caches it under the registry's digest, so correcting one registry row changes every past
snapshot's attribution without re-fetching anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lineage import ParentCache, ParentLookup, trace_lineage
from pipelines.registry import INDIVIDUAL, SPECIAL_COUNTRIES, UNATTRIBUTED_ORG, Registry, region_map
from pipelines.schema import KNOWN_RELATIONS
from pipelines.store import Store

#: Bump when a rule here or in pipelines.lineage changes, so cached tables are recomputed.
RULES_VERSION = 1

#: The snapshot columns `attribute` reads, and those it passes through for the warehouse.
INPUT_COLUMNS = ("model_id", "author", "base_models", "base_relation", "downloads_30d", "downloads_all_time")
PASSTHROUGH_COLUMNS = ("created_at", "pipeline_tag", "library_name", "params_total")

ATTRIBUTED_COLUMNS = (
    "model_id",
    "namespace",
    "organization",
    "publisher_country",
    "publisher_region",
    "lineage_root",
    "lineage_country",
    "lineage_region",
    "lineage_depth",
    "base_relation",
    "base_model",
    "first_party",
    "lineage_cycle",
    "downloads_30d",
    "downloads_all_time",
    *PASSTHROUGH_COLUMNS,
)

#: Words that, as one word of a namespace, mark an organisation ("deepseek-ai", "NousResearch", "OpenGVLab").
ORGANISATION_WORDS = frozenset(
    """
    ai lab labs research inc corp corporation co company ltd llc gmbh team group org official university univ
    institute foundation project tech technology technologies systems solutions studio studios models nlp
    ml hq academy center centre school college gov agency consortium initiative intelligence robotics
    analytics
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def looks_like_organisation(namespace: str) -> bool:
    """True when a word of the namespace (split at separators, digits and camelCase) is an organisation word.

    An empty namespace (legacy ids such as `gpt2` without an owner) counts as an organisation: those
    canonical repos were all published by companies.
    """
    if not namespace:
        return True
    return any(word.lower() in ORGANISATION_WORDS for word in _WORD.findall(namespace))


def namespace_of(model_id: str) -> str:
    """The owner part of a Hub id ("" for legacy ids without one)."""
    owner, slash, _ = model_id.partition("/")
    return owner if slash else ""


@dataclass(frozen=True)
class _Publishers:
    """Per lower-case namespace: attributed country and the key that identifies its organisation."""

    country: dict[str, str]
    organization: dict[str, str | None]
    org_key: dict[str, str]

    @classmethod
    def of(cls, namespaces: pd.Series, registry: Registry) -> _Publishers:
        country: dict[str, str] = {}
        organization: dict[str, str | None] = {}
        org_key: dict[str, str] = {}
        for name in pd.unique(namespaces):
            key = name.lower()
            org = registry.lookup(name)
            if org is None:
                country[key] = UNATTRIBUTED_ORG if looks_like_organisation(name) else INDIVIDUAL
                organization[key] = None
                org_key[key] = "namespace:" + key
            else:
                country[key] = org.attributed_country
                organization[key] = org.organization
                org_key[key] = "organization:" + org.organization.lower()
        return cls(country, organization, org_key)


def attribute(
    snapshot: pd.DataFrame, registry: Registry, parents: ParentLookup | None = None
) -> pd.DataFrame:
    """One row per model with publisher and lineage attribution (columns: ATTRIBUTED_COLUMNS)."""
    missing = [c for c in INPUT_COLUMNS if c not in snapshot.columns]
    if missing:
        raise ValueError(f"snapshot lacks column(s) {', '.join(missing)}")
    snapshot = snapshot.reset_index(drop=True)
    lineage = trace_lineage(snapshot["model_id"], snapshot["base_models"], parents).table
    namespace = snapshot["author"].astype(object)
    root_namespace = lineage["lineage_root"].map(namespace_of)
    publishers = _Publishers.of(pd.concat([namespace, root_namespace], ignore_index=True), registry)
    model_key, root_key = namespace.str.lower(), root_namespace.str.lower()
    regions = region_map()
    table = pd.DataFrame(
        {
            "model_id": snapshot["model_id"],
            "namespace": namespace,
            "organization": model_key.map(publishers.organization),
            "publisher_country": model_key.map(publishers.country),
            "lineage_root": lineage["lineage_root"],
            "lineage_country": root_key.map(publishers.country),
            "lineage_depth": lineage["lineage_depth"],
            "base_relation": snapshot["base_relation"],
            "base_model": lineage["base_model"],
            "first_party": model_key.map(publishers.org_key) == root_key.map(publishers.org_key),
            "lineage_cycle": lineage["lineage_cycle"],
            "downloads_30d": snapshot["downloads_30d"],
            "downloads_all_time": snapshot["downloads_all_time"],
        }
    )
    table["publisher_region"] = table["publisher_country"].map(regions)
    table["lineage_region"] = table["lineage_country"].map(regions)
    for column in PASSTHROUGH_COLUMNS:
        table[column] = snapshot[column] if column in snapshot.columns else None
    return table[list(ATTRIBUTED_COLUMNS)]


def unknown_relations(table: pd.DataFrame) -> pd.Series:
    """Relation strings outside KNOWN_RELATIONS, with how many models carry each (kept verbatim, reported)."""
    relations = table["base_relation"].dropna()
    return relations[~relations.isin(KNOWN_RELATIONS)].value_counts()


@dataclass(frozen=True)
class Coverage:
    """Shares of 30-day downloads whose country is known, i.e. an ISO code: no value of SPECIAL_COUNTRIES
    (INTL, UNATTRIBUTED_ORG, INDIVIDUAL) is known; see the `coverage` definition."""

    models: int
    downloads_30d: int
    registered: float  # namespace in the registry
    publisher_known: float
    lineage_known: float


def coverage(table: pd.DataFrame) -> Coverage:
    """How much of a snapshot's 30-day downloads the attribution can put in a country."""
    downloads = table["downloads_30d"].fillna(0)
    total = int(downloads.sum())

    def share(mask: pd.Series) -> float:
        return float(downloads[mask].sum() / total) if total else 0.0

    return Coverage(
        models=len(table),
        downloads_30d=total,
        registered=share(table["organization"].notna()),
        publisher_known=share(~table["publisher_country"].isin(SPECIAL_COUNTRIES)),
        lineage_known=share(~table["lineage_country"].isin(SPECIAL_COUNTRIES)),
    )


def snapshot_checksum(store: Store, date: dt.date) -> str:
    """sha256 over the snapshot's file checksums recorded in its provenance (no need to re-read the data)."""
    files = store.provenance(date).get("files") or []
    joined = "\n".join(f"{f['name']}:{f['sha256']}" for f in sorted(files, key=lambda f: f["name"]))
    return hashlib.sha256(joined.encode()).hexdigest()


def cache_path(store: Store, date: dt.date, registry: Registry) -> Path:
    return store.root / "derived" / "attribution" / registry.digest / f"date={date.isoformat()}.parquet"


def attributed_table(
    store: Store, date: dt.date, registry: Registry, parents: ParentCache | None = None
) -> pd.DataFrame:
    """The attributed table of one snapshot, from the cache when snapshot, registry, parents and rules match.

    `parents` defaults to the store's cache of looked-up parents (filled by `--resolve-lineage`).
    Raises StoreError when there is no snapshot for `date`.
    """
    lookup = parents if parents is not None else ParentCache.of(store)
    key = {
        "owt_rules_version": str(RULES_VERSION),
        "owt_snapshot_sha256": snapshot_checksum(store, date),
        "owt_parents_digest": lookup.digest,
    }
    path = cache_path(store, date, registry)
    if path.is_file():
        metadata = pq.read_schema(path).metadata or {}
        if all(metadata.get(k.encode()) == v.encode() for k, v in key.items()):
            return pq.read_table(path).to_pandas()
    snapshot = store.read_snapshot(date, columns=[*INPUT_COLUMNS, *PASSTHROUGH_COLUMNS])
    table = attribute(snapshot, registry, lookup)
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), **key})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    pq.write_table(arrow, tmp)
    tmp.replace(path)
    return arrow.to_pandas()  # the same dtypes as a cache hit
