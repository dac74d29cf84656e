"""The warehouse attributes models in chunks, each with the ancestors its lineage needs, so a rebuild's memory
does not grow with the number of models: chunked dimensions must equal `attribute` run on every model at
once, on generated lineages (cycles, self-parents, merges, parents outside the store, some resolved by the
parent cache) and registries, with chunks of one to three models forcing many chunks."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.attribution import attribute, namespace_of
from pipelines.lineage import ParentCache, Parents
from pipelines.registry import load_registry
from pipelines.warehouse import _create_tables
from pipelines.warehouse.dimensions import _refresh_dims
from tests.attribution_data import write_registry

EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Namespaces of the generated models: registered (one renamed organisation, THUDM -> zai-org; one without a
#: single country), and unregistered ones read as an organisation or as an individual.
NAMESPACES = ("Qwen", "THUDM", "zai-org", "meta-llama", "EleutherAI", "acme-ai", "janedoe")
#: Registry rows a generated registry picks from (the same namespaces, some countries moved).
REGISTRY_CHOICES = (
    "Qwen,Alibaba Cloud (Qwen team),CN,china,company,https://qwenlm.github.io,",
    "THUDM,Zhipu AI,CN,china,lab,https://github.com/THUDM,renamed to zai-org",
    "zai-org,Zhipu AI,CN,china,company,https://z.ai,formerly THUDM",
    "meta-llama,Meta,US,us,company,https://ai.meta.com,",
    "EleutherAI,EleutherAI,,unknown,community,https://www.eleuther.ai,collective",
    "acme-ai,Acme AI,FR,eu,company,https://acme.example,",
)
#: Parents outside the store; the parent cache knows some of their own parents.
OUTSIDE = ("Qwen/base", "ext/a", "ext/b")
COMPARED = ("namespace", "organization", "publisher_country", "publisher_region", "lineage_root",
            "lineage_country", "lineage_region", "lineage_depth", "base_model", "first_party")  # fmt: skip


@st.composite
def stores(draw):
    """Models with 0-3 parents (among themselves and outside ones), outside parents' own parents as the
    parent cache holds them, the registry rows, a subset of models whose parents then change, and the
    chunk size."""
    count = draw(st.integers(1, 10))
    ids = [f"{draw(st.sampled_from(NAMESPACES))}/m{k}" for k in range(count)]
    candidates = st.sampled_from(ids + list(OUTSIDE))
    parents = {m: draw(st.lists(candidates, max_size=3)) for m in ids}
    cached = {m: draw(st.lists(candidates, max_size=2)) for m in draw(st.sets(st.sampled_from(OUTSIDE)))}
    rows = sorted(draw(st.sets(st.sampled_from(REGISTRY_CHOICES))))
    edited = {m: draw(st.lists(candidates, max_size=2)) for m in draw(st.sets(st.sampled_from(ids)))}
    return parents, cached, rows, edited, draw(st.integers(1, 3))


def load_meta(con: duckdb.DuckDBPyConnection, parents: dict[str, list[str]]) -> None:
    """`meta` as the facts step leaves it: one row per model, keys in the models' order."""
    con.execute("DELETE FROM meta")
    for key, (model_id, bases) in enumerate(parents.items()):
        con.execute(
            "INSERT INTO meta (key, model_id, author, base_models, base_relation, params_total) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [key, model_id, namespace_of(model_id), bases, "finetune" if bases else None, 10**9 * (key % 3)],
        )


def at_once(parents: dict[str, list[str]], registry, cache: ParentCache) -> pd.DataFrame:
    """The reference: `attribute` on every model in one call, indexed by model id."""
    ids = list(parents)
    snapshot = pd.DataFrame(
        {
            "model_id": ids,
            "author": [namespace_of(m) for m in ids],
            "base_models": [parents[m] for m in ids],
            "base_relation": [None] * len(ids),
            "downloads_30d": [None] * len(ids),
            "downloads_all_time": [None] * len(ids),
        }
    )
    return attribute(snapshot, registry, cache).set_index("model_id")[list(COMPARED)]


def dims_of(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(f"SELECT model_id, {', '.join(COMPARED)} FROM dims").df().set_index("model_id")


def assert_same(dims: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert sorted(dims.index) == sorted(expected.index)  # one row per model, none twice
    dims = dims.loc[expected.index].astype(object).where(dims.notna(), None)
    expected = expected.astype(object).where(expected.notna(), None)
    assert dims.to_dict("index") == expected.to_dict("index")


@EXAMPLES
@given(stores())
def test_dims_attributed_in_chunks_equal_attributing_every_model_at_once(example):
    parents, cached, rows, edited, chunk = example
    cache = ParentCache(Path("unused.parquet"))
    for model_id, bases in cached.items():
        cache.record(model_id, Parents("finetune", tuple(bases)))
    with tempfile.TemporaryDirectory() as folder:
        registry = load_registry(write_registry(Path(folder) / "orgs.csv", rows))
    con = duckdb.connect()
    _create_tables(con)
    load_meta(con, parents)
    _refresh_dims(con, registry, cache, only_changed=False, chunk_models=chunk)
    assert_same(dims_of(con), at_once(parents, registry, cache))

    # An incremental refresh: some models' parents change; only they and their descendants are attributed
    # again (in chunks too), and the whole table again equals attributing every model at once.
    changed = {**parents, **edited}
    load_meta(con, changed)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE meta_changed AS SELECT key FROM meta WHERE list_contains(?, model_id)",
        [sorted(edited)],
    )
    _refresh_dims(con, registry, cache, only_changed=True, chunk_models=chunk)
    assert_same(dims_of(con), at_once(changed, registry, cache))
    con.close()
