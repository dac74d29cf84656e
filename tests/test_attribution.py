"""Publisher and lineage attribution: each relation, deep chains, outside parents, cycles, merges, renames,
and a registry correction that changes past results without fetching anything again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from pipelines.attribution import (
    ATTRIBUTED_COLUMNS,
    attribute,
    attributed_table,
    cache_path,
    coverage,
    looks_like_organisation,
    unknown_relations,
)
from pipelines.hub import HubClient
from pipelines.lineage import VECTOR_STEPS, ParentCache, Parents, hub_fetch, resolve_lineage
from pipelines.registry import INDIVIDUAL, INTERNATIONAL, UNATTRIBUTED_ORG, Registry, load_registry
from pipelines.store import Store
from tests.attribution_data import write_registry
from tests.fakehub import Fault, make_model
from tests.snapshots import model, write_snapshot

DAY1, DAY2 = dt.date(2026, 1, 1), dt.date(2026, 2, 1)


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return load_registry(write_registry(tmp_path / "orgs.csv"))


def attributed(rows: list[dict], registry: Registry, parents: ParentCache | None = None) -> pd.DataFrame:
    """The attributed table of in-memory rows, indexed by model_id for readable assertions."""
    return attribute(pd.DataFrame(rows), registry, parents).set_index("model_id")


def lineage_of(table: pd.DataFrame, model_id: str) -> tuple:
    row = table.loc[model_id]
    return row["lineage_root"], row["lineage_country"], int(row["lineage_depth"]), row["base_relation"]


@pytest.mark.parametrize("relation", ["finetune", "quantized", "adapter", "merge"])
def test_each_relation_leads_to_the_base_models_country(registry: Registry, relation: str) -> None:
    table = attributed(
        [model("Qwen/Qwen3-8B"), model("janedoe/qwen3-x", parents=["Qwen/Qwen3-8B"], relation=relation)],
        registry,
    )
    assert lineage_of(table, "janedoe/qwen3-x") == ("Qwen/Qwen3-8B", "CN", 1, relation)
    assert table.loc["janedoe/qwen3-x", "publisher_country"] == INDIVIDUAL
    assert table.loc["janedoe/qwen3-x", "lineage_region"] == "china"


def test_a_model_without_base_is_its_own_root(registry: Registry) -> None:
    table = attributed([model("meta-llama/Llama-3.1-8B")], registry)
    row = table.loc["meta-llama/Llama-3.1-8B"]
    assert (row["lineage_root"], row["lineage_country"], row["lineage_depth"]) == (
        "meta-llama/Llama-3.1-8B",
        "US",
        0,
    )
    assert (row["publisher_country"], row["publisher_region"], row["organization"]) == ("US", "us", "Meta")
    assert pd.isna(row["base_relation"]) and pd.isna(row["base_model"]) and bool(row["first_party"])


def test_unknown_relation_strings_are_kept_and_reported(registry: Registry) -> None:
    rows = [
        model("Qwen/Qwen3-8B"),
        model("janedoe/distilled", parents=["Qwen/Qwen3-8B"], relation="distillation"),
    ]
    table = attributed(rows, registry)
    assert lineage_of(table, "janedoe/distilled") == ("Qwen/Qwen3-8B", "CN", 1, "distillation")
    assert unknown_relations(table).to_dict() == {"distillation": 1}


def test_a_chain_of_depth_three_is_followed_to_its_root(registry: Registry) -> None:
    rows = [
        model("bartowski/Hermes-Merge-GGUF", parents=["johnsmith/Hermes-Merge"], relation="quantized"),
        model("johnsmith/Hermes-Merge", parents=["acme-ai/Hermes-FT"], relation="merge"),
        model("acme-ai/Hermes-FT", parents=["meta-llama/Llama-3.1-8B"], relation="finetune"),
        model("meta-llama/Llama-3.1-8B"),
    ]
    table = attributed(rows, registry)
    assert lineage_of(table, "bartowski/Hermes-Merge-GGUF") == (
        "meta-llama/Llama-3.1-8B",
        "US",
        3,
        "quantized",
    )
    assert lineage_of(table, "johnsmith/Hermes-Merge") == ("meta-llama/Llama-3.1-8B", "US", 2, "merge")
    assert table.loc["bartowski/Hermes-Merge-GGUF", "base_model"] == "johnsmith/Hermes-Merge"


def test_chains_longer_than_the_vectorised_walk_finish_exactly(registry: Registry) -> None:
    rows = [model("google/gemma-3-4b-it")]
    for i in range(VECTOR_STEPS + 6):
        rows.append(model(f"u{i}/m", parents=[rows[-1]["model_id"]]))
    table = attributed(rows, registry)
    deepest = rows[-1]["model_id"]
    assert lineage_of(table, deepest) == ("google/gemma-3-4b-it", "US", VECTOR_STEPS + 6, "finetune")
    assert not table["lineage_cycle"].any()


def test_a_parent_outside_the_snapshot_counts_by_its_namespace(registry: Registry) -> None:
    rows = [
        model(
            "bartowski/R1-Distill-GGUF",
            parents=["deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"],
            relation="quantized",
        ),
        model("janedoe/tuned", parents=["someone-else/private-base"]),
    ]
    table = attributed(rows, registry)
    assert lineage_of(table, "bartowski/R1-Distill-GGUF") == (
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
        "CN",
        1,
        "quantized",
    )
    assert lineage_of(table, "janedoe/tuned") == ("someone-else/private-base", INDIVIDUAL, 1, "finetune")


def test_looked_up_parents_extend_chains_beyond_the_snapshot(registry: Registry, tmp_path: Path) -> None:
    cache = ParentCache(tmp_path / "parents.parquet")
    cache.record("janedoe/ft-outside", Parents("finetune", ("mistralai/Mistral-7B-v0.3",)))
    cache.record("mistralai/Mistral-7B-v0.3", Parents(None, ()))
    table = attributed(
        [model("bartowski/ft-GGUF", parents=["janedoe/ft-outside"], relation="quantized")], registry, cache
    )
    assert lineage_of(table, "bartowski/ft-GGUF") == ("mistralai/Mistral-7B-v0.3", "FR", 2, "quantized")


def test_cycles_stop_before_the_first_repeated_model(registry: Registry) -> None:
    rows = [
        model("a/loop", parents=["a/loop"]),
        model("b/ping", parents=["b/pong"]),
        model("b/pong", parents=["b/ping"]),
        model("c/tail", parents=["b/ping"], relation="quantized"),
        model("d/fine"),
    ]
    table = attributed(rows, registry)
    assert lineage_of(table, "a/loop")[:3] == ("a/loop", INDIVIDUAL, 0)
    assert lineage_of(table, "b/ping")[:3] == ("b/pong", INDIVIDUAL, 1)
    assert lineage_of(table, "b/pong")[:3] == ("b/ping", INDIVIDUAL, 1)
    assert lineage_of(table, "c/tail")[:3] == ("b/pong", INDIVIDUAL, 2)
    assert table["lineage_cycle"].to_dict() == {
        "a/loop": True,
        "b/ping": True,
        "b/pong": True,
        "c/tail": True,
        "d/fine": False,
    }


def test_merges_follow_the_first_listed_parent(registry: Registry) -> None:
    rows = [
        model("mistralai/Mistral-7B-v0.3"),
        model("Qwen/Qwen3-8B"),
        model(
            "johnsmith/mistral-first",
            parents=["mistralai/Mistral-7B-v0.3", "Qwen/Qwen3-8B"],
            relation="merge",
        ),
        model(
            "johnsmith/qwen-first", parents=["Qwen/Qwen3-8B", "mistralai/Mistral-7B-v0.3"], relation="merge"
        ),
    ]
    table = attributed(rows, registry)
    assert lineage_of(table, "johnsmith/mistral-first") == ("mistralai/Mistral-7B-v0.3", "FR", 1, "merge")
    assert lineage_of(table, "johnsmith/qwen-first") == ("Qwen/Qwen3-8B", "CN", 1, "merge")
    assert table.loc["johnsmith/qwen-first", "base_model"] == "Qwen/Qwen3-8B"


def test_renamed_namespaces_are_one_organisation(registry: Registry) -> None:
    rows = [
        model("THUDM/glm-4-9b"),
        model("zai-org/glm-4-9b-chat", parents=["THUDM/glm-4-9b"]),
        model("janedoe/glm-ft", parents=["THUDM/glm-4-9b"]),
    ]
    table = attributed(rows, registry)
    assert lineage_of(table, "zai-org/glm-4-9b-chat") == ("THUDM/glm-4-9b", "CN", 1, "finetune")
    assert table.loc["zai-org/glm-4-9b-chat", "publisher_country"] == "CN"
    assert table["first_party"].to_dict() == {
        "THUDM/glm-4-9b": True,
        "zai-org/glm-4-9b-chat": True,
        "janedoe/glm-ft": False,
    }


def test_first_party_means_the_root_belongs_to_the_same_organisation(registry: Registry) -> None:
    rows = [
        model("Qwen/Qwen3-8B"),
        model("Qwen/Qwen3-8B-Instruct", parents=["Qwen/Qwen3-8B"]),
        model("unsloth/Qwen3-8B-GGUF", parents=["Qwen/Qwen3-8B"], relation="quantized"),
        model("janedoe/base"),
        model("janedoe/base-v2", parents=["janedoe/base"]),
    ]
    assert attributed(rows, registry)["first_party"].to_dict() == {
        "Qwen/Qwen3-8B": True,
        "Qwen/Qwen3-8B-Instruct": True,
        "unsloth/Qwen3-8B-GGUF": False,
        "janedoe/base": True,
        "janedoe/base-v2": True,
    }


@pytest.mark.parametrize(
    ("namespace", "organisation"),
    [
        ("acme-ai", True),
        ("NousResearch", True),
        ("OpenGVLab", True),
        ("AI4Bharat", True),
        ("stanford-university", True),
        ("tiny_labs", True),
        ("", True),
        ("bartowski", False),
        ("TheDrummer", False),
        ("mlx-community", False),
        ("john_doe42", False),
        ("maidenai", False),
    ],
)
def test_unregistered_namespaces_that_read_like_organisations(namespace: str, organisation: bool) -> None:
    assert looks_like_organisation(namespace) is organisation


def test_unregistered_and_countryless_namespaces_fall_into_explicit_buckets(registry: Registry) -> None:
    rows = [
        model("acme-ai/chat"),
        model("bartowski/x"),
        model("bigcode/starcoder2-15b"),
        model("EleutherAI/pythia"),
    ]
    table = attributed(rows, registry)
    assert table[["publisher_country", "publisher_region"]].to_dict("index") == {
        "acme-ai/chat": {"publisher_country": UNATTRIBUTED_ORG, "publisher_region": "unknown"},
        "bartowski/x": {"publisher_country": INDIVIDUAL, "publisher_region": "unknown"},
        "bigcode/starcoder2-15b": {"publisher_country": INTERNATIONAL, "publisher_region": "unknown"},
        "EleutherAI/pythia": {"publisher_country": INDIVIDUAL, "publisher_region": "unknown"},
    }


def test_coverage_is_the_share_of_30_day_downloads_with_a_country(registry: Registry) -> None:
    rows = [
        model("Qwen/Qwen3-8B", downloads=600),
        model("bartowski/Qwen3-GGUF", downloads=300, parents=["Qwen/Qwen3-8B"], relation="quantized"),
        model("janedoe/own-model", downloads=100),
    ]
    cover = coverage(attribute(pd.DataFrame(rows), registry))
    assert (cover.models, cover.downloads_30d) == (3, 1000)
    assert (cover.registered, cover.publisher_known, cover.lineage_known) == (0.6, 0.6, 0.9)


def test_the_table_has_the_documented_columns(registry: Registry) -> None:
    assert tuple(attribute(pd.DataFrame([model("Qwen/Qwen3-8B")]), registry).columns) == ATTRIBUTED_COLUMNS


def test_a_registry_correction_changes_every_past_snapshot_without_refetching(
    tmp_path: Path, registry: Registry
) -> None:
    store = Store(tmp_path / "store")
    for date in (DAY1, DAY2):
        write_snapshot(
            store,
            date,
            [model("moonshotai/Kimi-K2"), model("janedoe/kimi-ft", parents=["moonshotai/Kimi-K2"])],
        )
    before = {d: attributed_table(store, d, registry).set_index("model_id") for d in (DAY1, DAY2)}
    snapshot_files = {p: p.stat().st_mtime_ns for d in (DAY1, DAY2) for p in store.snapshot_dir(d).iterdir()}

    override = write_registry(
        tmp_path / "correction.csv", ["moonshotai,Moonshot AI,CN,china,company,https://moonshot.ai,"]
    )
    corrected = load_registry(tmp_path / "orgs.csv", override)
    after = {d: attributed_table(store, d, corrected).set_index("model_id") for d in (DAY1, DAY2)}

    for date in (DAY1, DAY2):
        assert before[date].loc["moonshotai/Kimi-K2", "publisher_country"] == INDIVIDUAL
        assert before[date].loc["janedoe/kimi-ft", "lineage_country"] == INDIVIDUAL
        assert after[date].loc["moonshotai/Kimi-K2", "publisher_country"] == "CN"
        assert after[date].loc["janedoe/kimi-ft", "lineage_country"] == "CN"
        assert cache_path(store, date, corrected).is_file() and cache_path(store, date, registry).is_file()
    assert {p: p.stat().st_mtime_ns for p in snapshot_files} == snapshot_files
    assert not (store.root / "lineage").exists()  # nothing was looked up


def test_the_cache_is_reused_until_the_snapshot_changes(tmp_path: Path, registry: Registry) -> None:
    store = Store(tmp_path / "store")
    write_snapshot(store, DAY1, [model("Qwen/Qwen3-8B")])
    first = attributed_table(store, DAY1, registry)
    cached = cache_path(store, DAY1, registry)
    written = cached.stat().st_mtime_ns
    pd.testing.assert_frame_equal(attributed_table(store, DAY1, registry), first)
    assert cached.stat().st_mtime_ns == written

    write_snapshot(store, DAY1, [model("Qwen/Qwen3-8B"), model("google/gemma-3-4b-it")], replace=True)
    assert list(attributed_table(store, DAY1, registry)["model_id"]) == [
        "Qwen/Qwen3-8B",
        "google/gemma-3-4b-it",
    ]


def test_resolve_lineage_fetches_outside_parents_from_the_hub_once(
    tmp_path: Path, registry: Registry, fake_hub, hf_env, no_sleep
) -> None:
    fake_hub.load(
        [
            make_model("janedoe/r1-ft", base_models=["deepseek-ai/DeepSeek-R1"], relation="finetune"),
            make_model("deepseek-ai/DeepSeek-R1"),
        ]
    )
    fake_hub.inject("model", [Fault.status_code(503)], model_id="janedoe/r1-ft")
    store = Store(tmp_path / "store")
    write_snapshot(
        store,
        DAY1,
        [
            model("bartowski/r1-ft-GGUF", downloads=500, parents=["janedoe/r1-ft"], relation="quantized"),
            model("bartowski/gone-GGUF", downloads=10, parents=["deleted/model"], relation="quantized"),
        ],
    )
    snapshot = store.read_snapshot(DAY1)
    cache = ParentCache.of(store)
    report = resolve_lineage(snapshot, cache, hub_fetch(HubClient()), max_lookups=10)

    assert (report.fetched, report.not_found, report.failed, report.unresolved) == (3, 1, (), 0)
    assert no_sleep.waits  # the 503 was retried
    table = attributed_table(store, DAY1, registry).set_index("model_id")
    assert lineage_of(table, "bartowski/r1-ft-GGUF") == ("deepseek-ai/DeepSeek-R1", "CN", 2, "quantized")
    assert lineage_of(table, "bartowski/gone-GGUF")[:3] == ("deleted/model", INDIVIDUAL, 1)

    requests = len(fake_hub.requests)
    again = resolve_lineage(snapshot, ParentCache.of(store), hub_fetch(HubClient()), max_lookups=10)
    assert (again.fetched, len(fake_hub.requests)) == (0, requests)


def test_resolve_lineage_is_bounded_most_downloaded_chain_first(
    tmp_path: Path, registry: Registry, fake_hub, hf_env, no_sleep
) -> None:
    fake_hub.load([make_model("janedoe/big", base_models=["Qwen/Qwen3-8B"]), make_model("janedoe/small")])
    store = Store(tmp_path / "store")
    write_snapshot(
        store,
        DAY1,
        [
            model("bartowski/small-GGUF", downloads=5, parents=["janedoe/small"], relation="quantized"),
            model("bartowski/big-GGUF", downloads=900, parents=["janedoe/big"], relation="quantized"),
        ],
    )
    report = resolve_lineage(
        store.read_snapshot(DAY1), ParentCache.of(store), hub_fetch(HubClient()), max_lookups=1
    )
    assert (report.fetched, report.unresolved) == (1, 2)  # janedoe/big fetched; Qwen and janedoe/small left
    assert [r.path.split("?")[0] for r in fake_hub.requests_to("model")] == ["/api/models/janedoe/big"]


def test_a_parent_the_hub_keeps_failing_on_is_reported_and_the_rest_resolved(
    tmp_path: Path, registry: Registry, fake_hub, hf_env, no_sleep
) -> None:
    fake_hub.load(
        [
            make_model("janedoe/ok", base_models=["google/gemma-3-4b-it"]),
            make_model("google/gemma-3-4b-it"),
            make_model("janedoe/flaky", base_models=["Qwen/Qwen3-8B"]),
        ]
    )
    fake_hub.inject("model", [Fault.status_code(500)] * 6, model_id="janedoe/flaky")  # 1 try + 5 retries
    store = Store(tmp_path / "store")
    write_snapshot(
        store,
        DAY1,
        [
            model("x/a", downloads=9, parents=["janedoe/flaky"]),
            model("x/b", downloads=1, parents=["janedoe/ok"]),
        ],
    )
    report = resolve_lineage(
        store.read_snapshot(DAY1), ParentCache.of(store), hub_fetch(HubClient()), max_lookups=10
    )
    assert report.failed == ("janedoe/flaky",)
    table = attributed_table(store, DAY1, registry).set_index("model_id")
    assert lineage_of(table, "x/b")[:3] == ("google/gemma-3-4b-it", "US", 2)
    assert lineage_of(table, "x/a")[:3] == ("janedoe/flaky", INDIVIDUAL, 1)
