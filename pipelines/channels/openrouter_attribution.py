"""Who is behind OpenRouter's tokens: each ranked permaslug is open (a Hub model), closed or unknown.

The rule, written once here (charts and exports read it through `token_days`):
- a permaslug's variant (`:free`, `:beta`, ...) is dropped: variants count as their base model;
- the base permaslug is looked up as `canonical_slug` in the /models catalogue, using the newest catalogue
  vintage that lists it (a model delisted since keeps its last known link);
- **open**: the catalogue links it to a Hub model (`hugging_face_id`); its country is the registry's country
  of that Hub id's namespace (the publisher rule of `pipelines.attribution`: an unregistered namespace is
  UNATTRIBUTED_ORG or INDIVIDUAL, never a guess);
- **closed**: listed in the catalogue without a Hub link;
- **unknown** (carried as an explicit unattributed amount): the `other` row (everything outside the day's
  top 50), router and stealth pseudo-models (`openrouter/...`, `stealth/...`) and permaslugs no catalogue
  vintage ever listed (delisted before the first pull). Their tokens may belong to any group, so shares are
  published as a range: from the attributed tokens alone (low) to those plus every unknown token (high).

Restatements: every vintage is kept; for each day, the newest vintage holding that day is the one used.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pyarrow as pa

from pipelines.attribution import _Publishers, namespace_of
from pipelines.channels import channel_store
from pipelines.registry import Registry
from pipelines.store import Rows, Store, StorePart, readable_store

DATASET_START = dt.date(2025, 1, 1)  # rankings-daily begins here
LICENCE = "CC BY 4.0"
#: OpenRouter's required citation (its Data API terms), with the `meta.as_of` of the vintage used.
CITATION = "Source: OpenRouter (openrouter.ai/rankings), as of {as_of}."
OTHER = "other"  # the rankings' row summing every model outside a day's top 50
#: Permaslug namespaces whose tokens belong to no single model: routers and unannounced (stealth) models.
UNATTRIBUTABLE_NAMESPACES = frozenset({"openrouter", "stealth"})
KINDS = ("open", "closed", "unknown")

_TIMESTAMP = pa.timestamp("ms", tz="UTC")
#: One row per model of a /models pull (the catalogue vintage of the same date as the rankings vintage).
CATALOGUE_SCHEMA = pa.schema(
    [
        pa.field("canonical_slug", pa.string(), nullable=False),  # = the rankings' model_permaslug
        pa.field("id", pa.string()),  # the request slug
        pa.field("name", pa.string()),
        pa.field("hugging_face_id", pa.string()),  # the Hub model, null for closed models
        pa.field("created", pa.int64()),  # unix seconds
        pa.field("fetched_at", _TIMESTAMP, nullable=False),
        pa.field("raw", pa.string()),  # the model's JSON as sent
    ]
)


#: Where the /models vintages live: `<store>/channels/openrouter/models/` (a store of their own), or the
#: Iceberg table `channel_openrouter_models`; rows in slug order, then by every column.
CATALOGUE_PART = StorePart(
    "channels/openrouter/models",
    "channel_openrouter_models",
    Rows(CATALOGUE_SCHEMA, ("canonical_slug", *CATALOGUE_SCHEMA.names)),
)


def catalogue_store(store: Store) -> Store:
    """The store of the /models vintages inside `store` (see CATALOGUE_PART)."""
    return store.part_store(CATALOGUE_PART)


def base_slug(permaslug: str) -> str:
    """The permaslug without its variant: `qwen/qwen3-8b:free` -> `qwen/qwen3-8b`."""
    return permaslug.split(":", 1)[0]


def _files(store: Store, until: dt.date | None = None) -> list[str]:
    held = readable_store(store)  # an Iceberg store's table: its local folder mirror
    return [str(f) for d in held.dates() if until is None or d <= until for f in held.data_files(d)]


def model_mapping(store: Store, until: dt.date | None = None) -> dict[str, str | None]:
    """canonical_slug -> hugging_face_id (None: closed), as the newest catalogue vintage up to `until` that
    lists the slug says."""
    files = _files(catalogue_store(store), until)
    if not files:
        return {}
    rows = duckdb.sql(
        """
        SELECT canonical_slug, hugging_face_id FROM read_parquet($files, hive_partitioning = true)
        QUALIFY row_number() OVER (PARTITION BY canonical_slug ORDER BY date DESC) = 1
        """,
        params={"files": files},
    ).fetchall()
    return {slug: hub_id for slug, hub_id in rows}


def attribute_slugs(
    permaslugs: list[str], mapping: dict[str, str | None], registry: Registry
) -> pd.DataFrame:
    """One row per permaslug: `model_permaslug, base_slug, hub_model_id, kind, country` (country only for
    open models: the registry country of the Hub id's namespace)."""
    rows = []
    for slug in dict.fromkeys(permaslugs):
        base = base_slug(slug)
        hub_id = mapping.get(base)
        if base == OTHER or namespace_of(base) in UNATTRIBUTABLE_NAMESPACES or base not in mapping:
            kind, hub_id = "unknown", None
        else:
            kind = "open" if hub_id else "closed"
        rows.append((slug, base, hub_id, kind))
    frame = pd.DataFrame(rows, columns=["model_permaslug", "base_slug", "hub_model_id", "kind"])
    namespaces = frame["hub_model_id"].dropna().map(namespace_of)
    countries = _Publishers.of(namespaces, registry).country if len(namespaces) else {}
    frame["country"] = [
        countries[namespace_of(hub_id).lower()] if kind == "open" else None
        for hub_id, kind in zip(frame["hub_model_id"], frame["kind"], strict=True)
    ]
    return frame


def vintage_files(store: Store) -> list[str]:
    """The rankings vintages' data files, oldest vintage first."""
    return _files(channel_store(store, "openrouter"))


def token_days(store: Store, registry: Registry) -> pd.DataFrame:
    """Every ranked row of the newest vintage holding its day, attributed: `day, vintage, model_permaslug,
    tokens, kind, country, hub_model_id` (empty when the store has no OpenRouter vintage)."""
    columns = ["day", "vintage", "model_permaslug", "tokens", "kind", "country", "hub_model_id"]
    files = vintage_files(store)
    if not files:
        return pd.DataFrame(columns=columns)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    latest = con.execute(
        """
        SELECT CAST(observed_at AS DATE) AS day, date AS vintage, channel_model_id AS model_permaslug,
            value AS tokens
        FROM read_parquet($files, hive_partitioning = true)
        WHERE metric = 'tokens' AND semantics = 'daily' AND value IS NOT NULL
        QUALIFY date = max(date) OVER (PARTITION BY CAST(observed_at AS DATE))
        """,
        {"files": files},
    ).df()
    con.close()
    attributed = attribute_slugs(list(latest["model_permaslug"]), model_mapping(store), registry)
    data = latest.merge(attributed.drop(columns="base_slug"), on="model_permaslug", how="left")
    data["day"] = pd.to_datetime(data["day"]).dt.date
    data["vintage"] = pd.to_datetime(data["vintage"].astype(str)).dt.date
    return data[columns].sort_values(["day", "tokens"], ascending=[True, False]).reset_index(drop=True)
