"""A small registry and a snapshot with realistic names, shared by the attribution and `orgs` CLI tests.

The registry is our own (not data/orgs.csv, which curators keep extending) so expected results stay put.
"""

from __future__ import annotations

from pathlib import Path

from tests.fakehub import make_model

REGISTRY_HEADER = "namespace,organization,country,region,kind,source,notes"

REGISTRY_ROWS = (
    "Qwen,Alibaba Cloud (Qwen team),CN,china,company,https://qwenlm.github.io,",
    "deepseek-ai,DeepSeek,CN,china,company,https://www.deepseek.com,",
    "meta-llama,Meta,US,us,company,https://ai.meta.com,",
    "google,Google,US,us,company,https://ai.google,",
    "mistralai,Mistral AI,FR,eu,company,https://mistral.ai,",
    "unsloth,Unsloth AI,US,us,company,https://unsloth.ai,",
    "THUDM,Zhipu AI,CN,china,lab,https://github.com/THUDM,renamed to zai-org",
    "zai-org,Zhipu AI,CN,china,company,https://z.ai,formerly THUDM",
    "EleutherAI,EleutherAI,,unknown,community,https://www.eleuther.ai,distributed research collective",
    "bigcode,BigCode,,unknown,lab,https://www.bigcode-project.org,international open collaboration",
)


#: Registry rows of the two organisations most warehouse tests need.
QWEN_META_ROWS = (
    "Qwen,Alibaba Cloud (Qwen team),CN,china,company,https://qwenlm.github.io,",
    "meta-llama,Meta,US,us,company,https://ai.meta.com,",
)


def write_registry(path: Path, rows: tuple[str, ...] | list[str] = REGISTRY_ROWS) -> Path:
    """A registry file with the standard header and `rows` (CSV lines)."""
    path.write_text("\n".join([REGISTRY_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


#: (model_id, 30-day downloads, parents, relation): first-party models, re-publishers (unsloth, bartowski),
#: individual users, an unregistered organisation; the last three have too few downloads to be in a snapshot
#: that lists models down to 50 downloads, so they are parents outside the snapshot.
REALISTIC_MODELS: tuple[tuple[str, int, tuple[str, ...], str | None], ...] = (
    ("Qwen/Qwen3-8B", 5000, (), None),
    ("deepseek-ai/DeepSeek-R1", 4000, (), None),
    ("Qwen/Qwen3-8B-Instruct", 3000, ("Qwen/Qwen3-8B",), "finetune"),
    ("meta-llama/Llama-3.1-8B", 2500, (), None),
    ("google/gemma-3-4b-it", 1500, (), None),
    ("unsloth/Qwen3-8B-GGUF", 1200, ("Qwen/Qwen3-8B",), "quantized"),
    ("mistralai/Mistral-7B-v0.3", 1000, (), None),
    ("bartowski/Llama-3.1-8B-GGUF", 900, ("meta-llama/Llama-3.1-8B",), "quantized"),
    ("bartowski/R1-Distill-GGUF", 600, ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",), "quantized"),
    ("bartowski/Hermes-3-GGUF", 500, ("NousResearch/Hermes-3-Llama-3.1-8B",), "quantized"),
    ("TheDrummer/Cydonia-24B", 400, (), None),
    ("acme-ai/acme-chat", 300, ("janedoe/qwen3-lora",), "finetune"),
    ("janedoe/qwen3-lora", 200, ("Qwen/Qwen3-8B",), "adapter"),
    ("johnsmith/mistral-qwen-merge", 100, ("mistralai/Mistral-7B-v0.3", "Qwen/Qwen3-8B"), "merge"),
    ("NousResearch/Hermes-3-Llama-3.1-8B", 30, ("meta-llama/Llama-3.1-8B",), "finetune"),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", 20, ("Qwen/Qwen2.5-Math-7B",), "finetune"),
    ("Qwen/Qwen2.5-Math-7B", 10, (), None),
)
SNAPSHOT_MIN_DOWNLOADS = 50


def realistic_hub_models() -> list[dict]:
    """REALISTIC_MODELS as the fake Hub serves them (base_model tags, all-time = 10x the 30-day count)."""
    return [
        make_model(
            model_id,
            downloads=downloads,
            downloads_all_time=downloads * 10,
            base_models=parents,
            relation=relation or "finetune",
        )
        for model_id, downloads, parents, relation in REALISTIC_MODELS
    ]
