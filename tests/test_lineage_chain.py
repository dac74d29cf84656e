"""One model's lineage chain, as the model page shows it: each step's relation, organisation and country, from
the model to its root, with parents outside the store and cycles handled by the rules of pipelines.lineage."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dashboards.query import Warehouse, open_warehouse
from pipelines.lineage import ParentCache, Parents
from pipelines.store import Store
from tests.snapshots import model, write_snapshot

DAY = dt.date(2025, 5, 1)
GGUF = "bartowski/Qwen3-8B-Instruct-ft-GGUF"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    store = Store(Path(tmp_path_factory.mktemp("lineage")) / "store")
    write_snapshot(
        store,
        DAY,
        [
            model("Qwen/Qwen3-4B"),  # Qwen/Qwen3-8B itself is not in the store
            model("someone/Qwen3-8B-Instruct", parents=["Qwen/Qwen3-8B"]),
            model("someone/Qwen3-8B-Instruct-ft", parents=["someone/Qwen3-8B-Instruct"]),
            model(GGUF, parents=["someone/Qwen3-8B-Instruct-ft"], relation="quantized"),
            model(
                "mlx-community/merged-8B",
                parents=["mradermacher/Llama-3.1-8B-GGUF", "Qwen/Qwen3-4B"],
                relation="merge",
            ),
            model("loop/a", parents=["loop/b"]),
            model("loop/b", parents=["loop/a"]),
        ],
    )
    cache = ParentCache.of(store)  # what `--resolve-lineage` found about a parent outside the store
    cache.record("mradermacher/Llama-3.1-8B-GGUF", Parents("quantized", ("meta-llama/Llama-3.1-8B",)))
    cache.save()
    return open_warehouse(store)


def test_a_chain_runs_from_the_model_through_its_parents_to_a_root_outside_the_store(warehouse: Warehouse):
    chain = warehouse.lineage_chain(GGUF)
    assert chain["depth"].tolist() == [0, 1, 2, 3]
    assert chain["model_id"].tolist() == [
        GGUF,
        "someone/Qwen3-8B-Instruct-ft",
        "someone/Qwen3-8B-Instruct",
        "Qwen/Qwen3-8B",
    ]
    assert chain["relation"].tolist() == ["quantized", "finetune", "finetune", "original"]
    assert chain["in_store"].tolist() == [True, True, True, False]
    root = chain.iloc[-1]
    # Outside the store: the organisation from the store's other Qwen models, the country of the lineage root.
    assert (root["namespace"], root["organization"], root["country"]) == (
        "Qwen",
        "Alibaba Cloud (Qwen team)",
        "CN",
    )
    assert chain["country"].tolist()[:3] == ["INDIVIDUAL", "INDIVIDUAL", "INDIVIDUAL"]  # re-publishers


def test_a_merge_follows_its_first_parent_and_a_cached_outside_chain_ends_at_its_root(warehouse: Warehouse):
    chain = warehouse.lineage_chain("mlx-community/merged-8B")
    assert chain["model_id"].tolist() == [
        "mlx-community/merged-8B",
        "mradermacher/Llama-3.1-8B-GGUF",
        "meta-llama/Llama-3.1-8B",
    ]
    assert chain["relation"].tolist()[0] == "merge"
    assert chain["in_store"].tolist() == [True, False, False]
    assert chain["country"].iloc[-1] == "US"  # the registry's country for meta-llama, via the lineage root


def test_a_cycle_stops_before_the_first_repeat_and_unknown_models_have_no_chain(warehouse: Warehouse):
    assert warehouse.lineage_chain("loop/a")["model_id"].tolist() == ["loop/a", "loop/b"]
    assert warehouse.lineage_chain("nobody/nothing").empty
    assert warehouse.lineage_chain("Qwen/Qwen3-4B")["relation"].tolist() == ["original"]
