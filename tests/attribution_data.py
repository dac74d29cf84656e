"""A small registry and a snapshot with realistic names, shared by the attribution and `orgs` CLI tests.

The registry is our own (not data/orgs.csv, which curators keep extending) so expected results stay put.
"""

from __future__ import annotations

from pathlib import Path

from tests.snapshots import model

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


def write_registry(path: Path, rows: tuple[str, ...] | list[str] = REGISTRY_ROWS) -> Path:
    """A registry file with the standard header and `rows` (CSV lines)."""
    path.write_text("\n".join([REGISTRY_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def realistic_snapshot() -> list[dict]:
    """First-party models, re-publishers (unsloth, bartowski), individual users and an unregistered org."""
    return [
        model("Qwen/Qwen3-8B", downloads=5000),
        model("Qwen/Qwen3-8B-Instruct", downloads=3000, parents=["Qwen/Qwen3-8B"]),
        model("deepseek-ai/DeepSeek-R1", downloads=4000),
        model("meta-llama/Llama-3.1-8B", downloads=2500),
        model("google/gemma-3-4b-it", downloads=1500),
        model("mistralai/Mistral-7B-v0.3", downloads=1000),
        model("unsloth/Qwen3-8B-GGUF", downloads=1200, parents=["Qwen/Qwen3-8B"], relation="quantized"),
        model(
            "bartowski/Llama-3.1-8B-GGUF",
            downloads=900,
            parents=["meta-llama/Llama-3.1-8B"],
            relation="quantized",
        ),
        model(
            "bartowski/R1-Distill-GGUF",
            downloads=600,
            parents=["deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"],
            relation="quantized",
        ),
        model("janedoe/qwen3-lora", downloads=200, parents=["Qwen/Qwen3-8B"], relation="adapter"),
        model(
            "johnsmith/mistral-qwen-merge",
            downloads=100,
            parents=["mistralai/Mistral-7B-v0.3", "Qwen/Qwen3-8B"],
            relation="merge",
        ),
        model("acme-ai/acme-chat", downloads=300, parents=["janedoe/qwen3-lora"]),
    ]
