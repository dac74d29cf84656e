"""A synthetic OpenRouter vintage for the demo store, marked synthetic like the demo's Hub snapshots.

So that the demo shows the token charts too: a dozen models with the shapes of the public figures (closed
models holding most tokens, Chinese open models gaining through 2025), a stealth model and an `other` row,
every number generated. Written through the same tables and store as a real pull.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow.parquet as pq

from pipelines.channels import channel_store
from pipelines.channels.openrouter import CHANNEL, catalogue_table, observation_table
from pipelines.channels.openrouter_attribution import CITATION, DATASET_START, LICENCE, catalogue_store
from pipelines.store import Store

#: permaslug, Hugging Face id (None: closed), tokens a day on 2025-01-01, yearly growth factor.
DEMO_MODELS: tuple[tuple[str, str | None, float, float], ...] = (
    ("openai/gpt-4o-2024-05-13", None, 9.0e9, 0.8),
    ("anthropic/claude-3.5-sonnet-20240620", None, 8.0e9, 1.6),
    ("google/gemini-2.0-flash-001", None, 4.0e9, 2.5),
    ("x-ai/grok-3-beta", None, 1.0e9, 2.0),
    ("deepseek/deepseek-chat-v3-0324", "deepseek-ai/DeepSeek-V3-0324", 2.0e9, 3.0),
    ("qwen/qwen3-235b-a22b-04-28", "Qwen/Qwen3-235B-A22B", 0.6e9, 4.0),
    ("moonshotai/kimi-k2", "moonshotai/Kimi-K2-Instruct", 0.2e9, 6.0),
    ("z-ai/glm-4.5", "zai-org/GLM-4.5", 0.2e9, 5.0),
    ("meta-llama/llama-3.3-70b-instruct", "meta-llama/Llama-3.3-70B-Instruct", 2.5e9, 0.7),
    ("google/gemma-3-27b-it", "google/gemma-3-27b-it", 0.5e9, 1.5),
    ("mistralai/mistral-small-3.1-24b-instruct-2503", "mistralai/Mistral-Small-3.1-24B-Instruct-2503",
     0.6e9, 1.2),
    ("stealth/quasar-alpha", None, 0.3e9, 1.0),
)
_OTHER = ("other", 3.0e9, 1.3)


def write_demo_vintage(store: Store, end: dt.date, seed: int) -> bool:
    """The vintage of `end` holding every day from 2025-01-01 to the day before, unless it exists or the
    dates hold no OpenRouter day. True when written."""
    rankings = channel_store(store, CHANNEL)
    last = end - dt.timedelta(days=1)
    if last < DATASET_START or rankings.has_snapshot(end):
        return False
    rng = np.random.default_rng(seed)
    days = [DATASET_START + dt.timedelta(days=i) for i in range((last - DATASET_START).days + 1)]
    years = np.arange(len(days)) / 365.0
    rows = []
    for slug, base, growth in [(m[0], m[2], m[3]) for m in DEMO_MODELS] + [_OTHER]:
        tokens = base * growth**years * rng.lognormal(0.0, 0.08, len(days))
        rows += [(day, slug, int(value)) for day, value in zip(days, tokens, strict=True)]
    rows.sort(key=lambda row: (row[0], -row[2]))
    as_of = f"{end.isoformat()}T02:00:00Z"
    body = {
        "data": [{"date": d.isoformat(), "model_permaslug": s, "total_tokens": str(t)} for d, s, t in rows],
        "meta": {"as_of": as_of, "start_date": days[0].isoformat(), "end_date": last.isoformat()},
    }
    fetched_at = dt.datetime.combine(end, dt.time(3), dt.UTC)
    catalogue = [
        {"canonical_slug": slug, "id": slug, "name": slug, "hugging_face_id": hub_id, "created": 1735689600}
        for slug, hub_id, _, _ in DEMO_MODELS
        if not slug.startswith("stealth/")
    ]
    mapping = {m["canonical_slug"]: m["hugging_face_id"] for m in catalogue}
    provenance = {"channel": CHANNEL, "synthetic": True, "licence": LICENCE, "as_of": as_of,
                  "citation": CITATION.format(as_of=as_of), "generator": "pipelines.demo",
                  "window": {"start": days[0].isoformat(), "end": last.isoformat()}}  # fmt: skip
    models = catalogue_store(store)
    if not models.has_snapshot(end):
        with models.fresh_staging(end) as staged:
            pq.write_table(catalogue_table(catalogue, fetched_at), staged / "part-0.parquet")
            models.publish(staged, end, {"channel": CHANNEL, "synthetic": True})
    with rankings.fresh_staging(end) as staged:
        pq.write_table(observation_table([body], mapping, fetched_at), staged / "part-0.parquet")
        rankings.publish(staged, end, provenance)
    return True
