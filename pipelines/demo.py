"""Write a synthetic demo store: realistic-looking daily snapshots, every one marked synthetic.

The generated models use real organisation and model names (ATOM's tracked list where available) and a
realistic shape: heavy-tailed downloads, derivative chains (fine-tunes, quantisations, adapters, merges by
third-party re-publishers and individuals), a size and task mix, models appearing and disappearing, a
downward recount of some counters in June 2026, and Chinese models overtaking US ones in 2025. Every number
is generated: provenance says `synthetic: true` and anything showing it must say so.

Output is deterministic: the same --models, --days, --seed and --end give byte-identical data files.
Dates already in the store are skipped, so an interrupted run can simply be repeated.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.definitions import atom_dir
from pipelines.schema import SCHEMA_VERSION, SNAPSHOT_SCHEMA
from pipelines.store import Store, date_argument, demo_store_path, is_synthetic, resolve_store

DEFAULT_MODELS = 3000
DEFAULT_START = dt.date(2024, 1, 1)
DEFAULT_SEED = 42
_WARMUP_DAYS = 30  # simulated before the first snapshot so the first 30-day counts are full
_RECOUNT_DATE = dt.date(2026, 6, 15)  # the Hub reported lower all-time counts for some repos around here
_OLD_REPO_DATE = dt.datetime(2022, 3, 2, 23, 29, 4)  # the Hub's createdAt for every repo older than that

# (namespace, region, popularity multiplier, active from, active to). Regions drive the trend only; the
# country a dashboard shows always comes from the registry at query time.
_ORIGINAL_ORGS: tuple[tuple[str, str, float, str, str], ...] = (
    ("Qwen", "china", 8.0, "2023-08-01", "2026-10-01"),
    ("deepseek-ai", "china", 5.0, "2023-11-01", "2026-09-01"),
    ("THUDM", "china", 1.5, "2023-06-01", "2025-04-01"),
    ("zai-org", "china", 2.0, "2025-04-01", "2026-10-01"),
    ("internlm", "china", 1.0, "2023-07-01", "2026-06-01"),
    ("01-ai", "china", 1.0, "2023-11-01", "2024-12-01"),
    ("baichuan-inc", "china", 0.7, "2023-09-01", "2025-01-01"),
    ("OpenGVLab", "china", 1.2, "2024-01-01", "2026-08-01"),
    ("BAAI", "china", 2.5, "2023-08-01", "2026-06-01"),
    ("Alibaba-NLP", "china", 1.5, "2023-11-01", "2026-06-01"),
    ("PaddlePaddle", "china", 1.0, "2024-06-01", "2026-10-01"),
    ("moonshotai", "china", 2.0, "2025-01-15", "2026-10-01"),
    ("MiniMaxAI", "china", 1.5, "2025-01-10", "2026-10-01"),
    ("tencent", "china", 1.2, "2024-06-01", "2026-10-01"),
    ("baidu", "china", 1.0, "2025-06-01", "2026-10-01"),
    ("ByteDance-Seed", "china", 1.5, "2025-03-01", "2026-10-01"),
    ("openbmb", "china", 1.0, "2024-02-01", "2026-06-01"),
    ("inclusionAI", "china", 0.8, "2025-03-01", "2026-10-01"),
    ("XiaomiMiMo", "china", 0.8, "2025-05-01", "2026-10-01"),
    ("Skywork", "china", 0.6, "2024-06-01", "2026-06-01"),
    ("meta-llama", "us", 7.0, "2023-07-15", "2025-04-10"),
    ("google", "us", 4.0, "2023-03-01", "2026-09-01"),
    ("microsoft", "us", 3.0, "2023-06-01", "2026-06-01"),
    ("nvidia", "us", 2.0, "2024-01-01", "2026-10-01"),
    ("openai", "us", 4.0, "2022-09-01", "2025-09-01"),
    ("allenai", "us", 1.0, "2024-02-01", "2026-10-01"),
    ("ibm-granite", "us", 1.0, "2024-05-01", "2026-10-01"),
    ("HuggingFaceTB", "us", 1.5, "2024-07-01", "2026-06-01"),
    ("google-bert", "us", 9.0, "2022-03-02", "2022-03-03"),
    ("FacebookAI", "us", 4.0, "2022-03-02", "2022-03-03"),
    ("sentence-transformers", "other", 9.0, "2022-03-02", "2024-06-01"),
    ("mistralai", "other", 2.5, "2023-09-27", "2026-06-01"),
    ("stabilityai", "other", 1.5, "2023-04-01", "2025-03-01"),
    ("black-forest-labs", "other", 1.5, "2024-08-01", "2026-06-01"),
    ("tiiuae", "other", 0.8, "2023-05-01", "2026-06-01"),
    ("CohereLabs", "other", 0.6, "2024-03-01", "2026-06-01"),
    ("LiquidAI", "us", 0.6, "2024-10-01", "2026-10-01"),
    ("Snowflake", "us", 0.6, "2024-04-01", "2026-06-01"),
)

# Organisations whose demand swings over time: a multiplier of the demand for their models and for every
# derivative of them, linear between the dates. Llama leads until its 2025 fade, Qwen from mid-2025 on and
# DeepSeek jumps with R1, as public figures describe (README, *Reproducing published figures*: in Feb 2026
# Qwen's month beats the next eight organisations combined).
_ORG_TRENDS: dict[str, tuple[tuple[str, float], ...]] = {
    "meta-llama": (("2024-01-01", 10.0), ("2025-03-01", 8.0), ("2025-10-01", 1.5), ("2026-06-01", 0.6)),
    "Qwen": (("2024-01-01", 1.0), ("2024-10-01", 1.5), ("2025-06-01", 6.0), ("2026-03-01", 12.0)),
    "deepseek-ai": (("2024-12-01", 1.0), ("2025-01-25", 4.0), ("2026-06-01", 2.5)),
}

# Third-party re-publishers of other organisations' models: (namespace, what they mostly publish).
_REPUBLISHERS: tuple[tuple[str, str], ...] = (
    ("unsloth", "quantized"),
    ("bartowski", "quantized"),
    ("mradermacher", "quantized"),
    ("TheBloke", "quantized"),
    ("lmstudio-community", "quantized"),
    ("mlx-community", "quantized"),
    ("NousResearch", "finetune"),
    ("cognitivecomputations", "finetune"),
)

# Well-known models of organisations whose repos are not in ATOM's LLM list: (name, task, library, params).
_KNOWN_MODELS: dict[str, tuple[tuple[str, str, str, float], ...]] = {
    "google-bert": (
        ("bert-base-uncased", "fill-mask", "transformers", 110e6),
        ("bert-base-multilingual-cased", "fill-mask", "transformers", 179e6),
        ("bert-large-uncased", "fill-mask", "transformers", 336e6),
    ),
    "FacebookAI": (
        ("roberta-base", "fill-mask", "transformers", 125e6),
        ("xlm-roberta-large", "fill-mask", "transformers", 561e6),
        ("roberta-large", "fill-mask", "transformers", 355e6),
    ),
    "sentence-transformers": (
        ("all-MiniLM-L6-v2", "sentence-similarity", "sentence-transformers", 22.7e6),
        ("all-mpnet-base-v2", "sentence-similarity", "sentence-transformers", 109e6),
        ("paraphrase-multilingual-MiniLM-L12-v2", "sentence-similarity", "sentence-transformers", 118e6),
    ),
    "openai": (
        ("whisper-large-v3", "automatic-speech-recognition", "transformers", 1.54e9),
        ("clip-vit-large-patch14", "zero-shot-image-classification", "transformers", 428e6),
        ("whisper-small", "automatic-speech-recognition", "transformers", 242e6),
    ),
    "BAAI": (
        ("bge-m3", "sentence-similarity", "sentence-transformers", 568e6),
        ("bge-large-en-v1.5", "feature-extraction", "sentence-transformers", 335e6),
        ("bge-reranker-v2-m3", "text-classification", "sentence-transformers", 568e6),
    ),
    "Alibaba-NLP": (
        ("gte-multilingual-base", "sentence-similarity", "sentence-transformers", 305e6),
        ("gte-large-en-v1.5", "sentence-similarity", "sentence-transformers", 434e6),
        ("gte-multilingual-reranker-base", "text-classification", "sentence-transformers", 306e6),
    ),
    "PaddlePaddle": (
        ("PaddleOCR-VL", "image-text-to-text", "PaddleOCR", 958e6),
        ("PP-OCRv5_server_det", "image-to-text", "PaddleOCR", 84e6),
    ),
    "stabilityai": (
        ("stable-diffusion-xl-base-1.0", "text-to-image", "diffusers", 3.5e9),
        ("sdxl-turbo", "text-to-image", "diffusers", 3.5e9),
    ),
    "black-forest-labs": (
        ("FLUX.1-dev", "text-to-image", "diffusers", 12e9),
        ("FLUX.1-schnell", "text-to-image", "diffusers", 12e9),
    ),
}

_TASKS_LLM = ("text-generation", "text-generation", "text-generation", "image-text-to-text")
_OTHER_TASKS = (
    ("feature-extraction", "sentence-transformers", 0.25),
    ("fill-mask", "transformers", 0.12),
    ("automatic-speech-recognition", "transformers", 0.10),
    ("text-to-image", "diffusers", 0.10),
    ("image-classification", "timm", 0.08),
    ("text-classification", "transformers", 0.15),
    ("translation", "transformers", 0.05),
    ("token-classification", "transformers", 0.05),
    ("object-detection", "transformers", 0.05),
    ("text-to-speech", "transformers", 0.05),
)
_RELATIONS = (("finetune", 0.45), ("quantized", 0.30), ("adapter", 0.15), ("merge", 0.10))
_PARAMS_RE = re.compile(r"(?:(\d+)x)?(\d+(?:\.\d+)?)([BbMm])(?![a-z])")
#: Sizes of well-known families whose names omit them (first match wins), so DeepSeek's flagships land in
#: 250B+ as in the public figures rather than at the 7B default.
_UNSIZED_FAMILIES = (
    (re.compile(r"^DeepSeek-.*Lite"), 16e9),
    (re.compile(r"^DeepSeek-(Coder-)?V2"), 236e9),
    (re.compile(r"^DeepSeek-(V3|R1|Math-V2)"), 671e9),
    (re.compile(r"^Kimi-K2"), 1.04e12),
)


@dataclass(frozen=True)
class DemoResult:
    """What a demo run did (for the summary line and for callers such as the dashboard's first start)."""

    store: Path
    written: list[dt.date]
    skipped: list[dt.date]
    models: int
    seconds: float


def _day(value: str) -> int:
    return (dt.date.fromisoformat(value) - DEFAULT_START).days


def _params_from_name(name: str) -> float | None:
    """Total parameters from names like Qwen2.5-7B, Mixtral-8x7B, SmolLM-135M (first match wins), else from
    `_UNSIZED_FAMILIES`."""
    match = _PARAMS_RE.search(name)
    if not match:
        return next((params for family, params in _UNSIZED_FAMILIES if family.search(name)), None)
    experts, size, unit = match.groups()
    value = float(size) * (1e9 if unit in "Bb" else 1e6)
    return value * (int(experts) if experts else 1)


def _generated(rng: np.random.Generator, start: int, stop: int) -> list[tuple[int, str]]:
    """Numbered model names with a plausible size suffix, for organisations that run out of real names."""
    sizes = ("0.5B", "1.5B", "3B", "7B", "8B", "14B", "32B", "70B", "235B")
    weights = np.array([3, 3, 3, 4, 3, 2, 2, 1, 0.5])
    picks = rng.choice(len(sizes), size=max(stop - start, 0), p=weights / weights.sum())
    return [(start + i, sizes[p]) for i, p in enumerate(picks)]


def _atom_names() -> dict[str, list[str]]:
    """ATOM's tracked model names per organisation (empty when no copy of the list is available)."""
    folder = atom_dir()
    names: dict[str, list[str]] = {}
    if folder is None:
        return names
    with open(folder / "models.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            names.setdefault(row["org"], []).append(row["model"])
    return names


class _Catalogue:
    """The generated population of models: static metadata plus the parameters of their download curves."""

    def __init__(self, n_models: int, rng: np.random.Generator, last_day: int) -> None:
        self.ids: list[str] = []
        self.author: list[str] = []
        self.region: list[str] = []
        self.created: list[int] = []  # day index relative to DEFAULT_START (negative = before)
        self.task: list[str | None] = []
        self.library: list[str | None] = []
        self.params: list[float | None] = []
        self.base: list[int] = []  # index of the parent model, -1 for originals
        self.relation: list[str | None] = []
        self.popularity: list[float] = []
        self.tier: list[str] = []  # 'atom' | 'original' | 'derivative': calibrated separately
        self.root_author: list[str] = []  # namespace at the root of the model's derivative chain
        self._taken: set[str] = set()
        self._rng = rng
        self._last_day = last_day
        self._n_models = n_models
        self._atom_rows: set[int] = set()
        n_originals = max(1, int(n_models * 0.3))
        self._originals(n_originals)
        for row in self._atom_rows:
            self.tier[row] = "atom"
        self._derivatives(n_models - len(self.ids))

    def _add(
        self,
        model_id: str,
        author: str,
        region: str,
        created: int,
        task: str | None,
        library: str | None,
        params: float | None,
        base: int,
        relation: str | None,
        pop: float,
    ) -> None:
        if model_id in self._taken:
            model_id = f"{model_id}-{len(self.ids)}"
        self._taken.add(model_id)
        self.ids.append(model_id)
        self.author.append(author)
        self.region.append(region)
        self.created.append(created)
        self.task.append(task)
        self.library.append(library)
        self.params.append(params)
        self.base.append(base)
        self.relation.append(relation)
        self.popularity.append(pop)
        self.tier.append("original" if base < 0 else "derivative")
        self.root_author.append(author if base < 0 else self.root_author[base])

    def _originals(self, count: int) -> None:
        rng = self._rng
        atom = _atom_names()
        weights = np.array([org[2] for org in _ORIGINAL_ORGS])
        per_org = rng.multinomial(int(count * 0.6), weights / weights.sum())
        for (namespace, region, pop, start, end), k in zip(_ORIGINAL_ORGS, per_org, strict=True):
            known = {m[0]: m[1:] for m in _KNOWN_MODELS.get(namespace, ())}
            atom_names = set(atom.get(namespace, []))
            names = list(known) + sorted(atom.get(namespace, []), key=str.lower)
            if len(names) > k:
                names = [names[i] for i in sorted(rng.choice(len(names), size=k, replace=False))]
            family = namespace.split("-")[0].capitalize()
            names += [
                f"{family}-{'v' if known else 'LM'}{i}-{size}" for i, size in _generated(rng, len(names), k)
            ]
            first, last = _day(start), min(_day(end), self._last_day)
            for rank, name in enumerate(names):
                created = first + int((last - first) * (rank + rng.random()) / max(k, 1))
                if name in atom_names:
                    self._atom_rows.add(len(self.ids))
                if name in known:
                    task, library, params = known[name]
                else:
                    params = _params_from_name(name) or 7e9
                    task, library = self._task(not known)
                self._add(
                    f"{namespace}/{name}",
                    namespace,
                    region,
                    created,
                    task,
                    library,
                    params,
                    -1,
                    None,
                    pop * float(rng.lognormal(0.0, 2.2)),
                )
        # The long tail of first-party uploads by small labs and individuals.
        for i in range(count - sum(per_org)):
            owner = self._owner("lab") if rng.random() < 0.4 else self._owner("user")
            task, library = self._task(rng.random() < 0.4)
            created = int(rng.integers(-700, self._last_day + 1))
            params = float(10 ** rng.uniform(7.5, 10.5))
            self._add(
                f"{owner}/model-{i:06d}",
                owner,
                "other",
                created,
                task,
                library,
                params,
                -1,
                None,
                0.05 * float(rng.lognormal(0.0, 2.0)),
            )

    def _task(self, is_llm: bool) -> tuple[str, str]:
        if is_llm:
            return str(self._rng.choice(_TASKS_LLM)), "transformers"
        probs = np.array([t[2] for t in _OTHER_TASKS])
        task, library, _ = _OTHER_TASKS[int(self._rng.choice(len(_OTHER_TASKS), p=probs / probs.sum()))]
        return task, library

    def _owner(self, kind: str) -> str:
        """A small lab or individual account: a few are prolific, most publish one or two models."""
        pool = max(20, self._n_models // 8)
        return f"{kind}-{int(pool * self._rng.random() ** 1.5):05d}"

    def _derivatives(self, count: int) -> None:
        """Derivatives of popular bases, chosen month by month: Chinese bases become the favourite in 2025."""
        rng = self._rng
        relations, rel_p = zip(*_RELATIONS, strict=True)
        created = np.sort(
            np.where(
                rng.random(count) < 0.9,
                rng.integers(0, self._last_day + 1, count),
                rng.integers(-500, 0, count),
            )
        )
        for month_start in range(int(created.min()) // 30 * 30, int(created.max()) + 1, 30):
            in_month = created[(created >= month_start) & (created < month_start + 30)]
            if in_month.size == 0:
                continue
            known_created = np.array(self.created)
            pool = np.flatnonzero(known_created < month_start)
            if pool.size == 0:
                pool = np.flatnonzero(known_created == known_created.min())
            is_derivative = np.array(self.base)[pool] >= 0
            weight = np.sqrt(np.array(self.popularity)[pool]) * np.where(is_derivative, 0.2, 1.0)
            shares = _region_shares(month_start + 15)
            weight *= np.array([shares[self.region[j]] for j in pool])
            parents = pool[rng.choice(pool.size, size=in_month.size, p=weight / weight.sum())]
            chosen = rng.choice(len(relations), size=in_month.size, p=np.array(rel_p))
            to_republisher = rng.random(in_month.size) < 0.5
            for day, parent, rel_index, republish in zip(
                in_month, parents, chosen, to_republisher, strict=True
            ):
                relation = relations[rel_index]
                candidates = [r for r in _REPUBLISHERS if r[1] == relation]
                if candidates and republish:
                    owner = candidates[int(rng.integers(len(candidates)))][0]
                else:
                    owner = self._owner("user")
                base_name = self.ids[parent].split("/", 1)[1]
                suffix = {"quantized": "GGUF", "adapter": "lora", "merge": "merged", "finetune": "ft"}[
                    relation
                ]
                library = {"quantized": "gguf", "adapter": "peft"}.get(relation, self.library[parent])
                self._add(
                    f"{owner}/{base_name}-{suffix}",
                    owner,
                    self.region[parent],  # demand for a derivative follows its base's popularity
                    max(int(day), self.created[parent] + 1),
                    self.task[parent],
                    library,
                    self.params[parent],
                    int(parent),
                    relation,
                    self.popularity[parent] * min(0.1, 0.008 * float(rng.lognormal(0.0, 1.2))),
                )


def _region_shares(day: float) -> dict[str, float]:
    """Target shares of daily downloads by the region of a model's base: China takes off in late 2024.

    With `_HISTORY` this puts the monthly crossover of Chinese over US models in October 2024 and the
    cumulative one of the tracked (ATOM) set in July 2025, the shape public analyses describe.
    """
    rise = 1.0 / (1.0 + np.exp(-(day - 300.0) / 90.0))  # midpoint late October 2024
    china, us = 0.15 + 0.50 * rise, 0.50 - 0.25 * rise
    return {"china": float(china), "us": float(us), "other": float(1.0 - china - us)}


#: Share of all downloads going to each tier of models (kept constant over time). The few named
#: non-ATOM models (embeddings, BERTs, extra generated names) share the 'original' tier with the long tail;
#: a larger share there would let one lucky draw among them lead every period.
_TIER_SHARES = {"atom": 0.60, "original": 0.20, "derivative": 0.20}
#: Downloads before 2024 per tier, in days of its early-2024 daily total, and their split by region.
_HISTORY_DAYS = {"atom": 120.0, "original": 900.0, "derivative": 100.0}
_HISTORY_SHARES = {"china": 0.2, "us": 0.6, "other": 0.2}


def _trend_weights(root_author: np.ndarray) -> tuple[np.ndarray, Callable[[int], np.ndarray]]:
    """Each model's index into the trend table and a function giving the table's weights on a day (the
    last entry, 1.0, is for models outside `_ORG_TRENDS`)."""
    index = np.full(len(root_author), len(_ORG_TRENDS))
    curves = []
    for position, (namespace, points) in enumerate(_ORG_TRENDS.items()):
        index[root_author == namespace] = position
        curves.append(([_day(d) for d, _ in points], [w for _, w in points]))

    def weights(day: int) -> np.ndarray:
        return np.array([*(float(np.interp(day, days, values)) for days, values in curves), 1.0])

    return index, weights


#: Weight of the 'other' region per tier, before renormalising (the China:US ratio stays `_region_shares`'s):
#: the few tracked labs outside China and the US (Mistral above all) would otherwise share a third of the
#: tracked set's downloads and lead 2024.
_OTHER_WEIGHT = {"atom": 0.4, "original": 1.0, "derivative": 1.0}


def _tier_shares(shares: dict[str, float], tier: str) -> dict[str, float]:
    """One tier's target shares by region on a day (see `_OTHER_WEIGHT`)."""
    weighted = {**shares, "other": shares["other"] * _OTHER_WEIGHT[tier]}
    total = sum(weighted.values())
    return {region: value / total for region, value in weighted.items()}


def _total_daily(day: int, models: int) -> float:
    """Target downloads per day over all models: grows 80% a year."""
    return models * 300.0 * 1.8 ** (day / 365.0)


def _age_curve(age: np.ndarray) -> np.ndarray:
    """Daily demand by age in days: a fast ramp after release, then a slow power-law decay."""
    ramp = np.clip((age + 1) / 7.0, 0.0, 1.0)
    return np.where(age >= 0, ramp * (1.0 + np.maximum(age, 0) / 60.0) ** -0.7, 0.0)


def _age_integral(age: np.ndarray) -> np.ndarray:
    """Integral of the decay from release to `age` (closed form), for downloads before the simulation."""
    a = np.maximum(age, 0.0)
    return 60.0 / 0.3 * ((1.0 + a / 60.0) ** 0.3 - 1.0)


def _static_columns(cat: _Catalogue, seed: int) -> dict[str, pa.Array]:
    base_ids = [cat.ids[b] if b >= 0 else None for b in cat.base]
    created = [
        dt.datetime.combine(DEFAULT_START + dt.timedelta(days=c), dt.time(12), tzinfo=dt.UTC)
        if c > (_OLD_REPO_DATE.date() - DEFAULT_START).days
        else _OLD_REPO_DATE.replace(tzinfo=dt.UTC)
        for c in cat.created
    ]
    tags = [
        [t for t in (lib, task, f"base_model:{rel}:{b}" if b else None) if t]
        for lib, task, rel, b in zip(cat.library, cat.task, cat.relation, base_ids, strict=True)
    ]
    gated = ["manual" if a in ("meta-llama", "google") else "false" for a in cat.author]
    return {
        "model_id": pa.array(cat.ids, pa.string()),
        "author": pa.array(cat.author, pa.string()),
        "created_at": pa.array(created, pa.timestamp("ms", tz="UTC")),
        "last_modified": pa.array(created, pa.timestamp("ms", tz="UTC")),
        "pipeline_tag": pa.array(cat.task, pa.string()),
        "library_name": pa.array(cat.library, pa.string()),
        "params_total": pa.array([None if p is None else int(p) for p in cat.params], pa.int64()),
        "gated": pa.array(gated, pa.string()),
        "tags": pa.array(tags, pa.list_(pa.string())),
        "base_models": pa.array([[b] if b else [] for b in base_ids], pa.list_(pa.string())),
        "base_relation": pa.array(cat.relation, pa.string()),
        "hub_id": pa.array([f"{seed % 65536:04x}{i:020x}" for i in range(len(cat.ids))], pa.string()),
    }


def generate_demo_store(
    store: Store,
    models: int = DEFAULT_MODELS,
    days: int | None = None,
    seed: int = DEFAULT_SEED,
    end: dt.date | None = None,
    *,
    progress: bool = False,
) -> DemoResult:
    """Write daily synthetic snapshots ending at `end` (default today, UTC) into `store`.

    `days` defaults to every day from 2024-01-01. Existing dates are left alone (resumable, idempotent).
    """
    began = time.perf_counter()
    end = end or dt.datetime.now(dt.UTC).date()
    days = days if days is not None else (end - DEFAULT_START).days + 1
    if models < 1 or days < 1:
        raise ValueError("--models and --days must be at least 1")
    first = end - dt.timedelta(days=days - 1)
    offset = (first - DEFAULT_START).days  # day index of the first snapshot
    rng = np.random.default_rng(seed)
    cat = _Catalogue(models, rng, (end - DEFAULT_START).days)
    order = np.argsort(np.array(cat.ids, dtype=object), kind="stable")
    static = {name: col.take(pa.array(order)) for name, col in _static_columns(cat, seed).items()}
    created = np.array(cat.created)[order]
    popularity = np.array(cat.popularity)[order] * 40.0
    region = np.array(cat.region)[order]
    tier = np.array(cat.tier)[order]
    trend_index, trend_weights = _trend_weights(np.array(cat.root_author, dtype=object)[order])
    groups = [(t, r, (tier == t) & (region == r)) for t in _TIER_SHARES for r in ("china", "us", "other")]
    last_day = (end - DEFAULT_START).days
    deleted_day = np.where(rng.random(models) < 0.02, rng.integers(0, last_day + 1, models), 10**9)
    recount = rng.random(models) < 0.01

    def calibrated(raw: np.ndarray, total: float, shares: dict[str, float]) -> np.ndarray:
        """Scale each group's demand to its target share of `total` (tier share x region share)."""
        factor = np.zeros(models)
        per_tier = {t: _tier_shares(shares, t) for t in _TIER_SHARES}
        for t, r, mask in groups:
            factor[mask] = total * _TIER_SHARES[t] * per_tier[t][r] / max(raw[mask].sum(), 1e-9)
        return raw * factor

    # Downloads before the simulation: the closed-form history of each model, scaled per group.
    start_day = -_WARMUP_DAYS
    cumulative = np.zeros(models)
    for t, r, mask in groups:
        raw = (popularity * trend_weights(start_day)[trend_index])[mask] * _age_integral(
            start_day - created[mask]
        )
        target = _HISTORY_DAYS[t] * _TIER_SHARES[t] * _HISTORY_SHARES[r] * _total_daily(start_day, models)
        cumulative[mask] = raw * target / max(raw.sum(), 1e-9)
    window = np.zeros((30, models))  # the last 30 days of downloads (ring buffer)
    written: list[dt.date] = []
    skipped: list[dt.date] = []
    iterator = range(start_day, last_day + 1)
    if progress and sys.stderr.isatty():
        from tqdm import tqdm

        iterator = tqdm(iterator, desc="demo snapshots", unit="day")
    for day in iterator:
        weekday = 0.85 if (DEFAULT_START + dt.timedelta(days=day)).weekday() >= 5 else 1.05
        noise = rng.lognormal(0.0, 0.25, models)
        demand = popularity * trend_weights(day)[trend_index] * _age_curve(day - created) * noise
        daily = np.floor(calibrated(demand, _total_daily(day, models), _region_shares(day)) * weekday)
        cumulative += daily
        window[day % 30] = daily
        if day == (_RECOUNT_DATE - DEFAULT_START).days:
            cumulative[recount] *= 0.9  # a retroactive recount lowers some all-time counters
        if day < offset:
            continue
        date = DEFAULT_START + dt.timedelta(days=day)
        if store.has_snapshot(date):
            skipped.append(date)
            continue
        present = (created <= day) & (deleted_day > day)
        _write_snapshot(store, date, static, present, cumulative, window.sum(axis=0), seed, models, days, end)
        written.append(date)
    from pipelines.channels.openrouter_demo import write_demo_vintage  # requests, DuckDB: only when used

    write_demo_vintage(store, end, seed)  # the token charts' synthetic OpenRouter data
    return DemoResult(store.root, written, skipped, models, time.perf_counter() - began)


def _write_snapshot(
    store: Store,
    date: dt.date,
    static: dict[str, pa.Array],
    present: np.ndarray,
    cumulative: np.ndarray,
    last30: np.ndarray,
    seed: int,
    models: int,
    days: int,
    end: dt.date,
) -> None:
    started = dt.datetime.now(dt.UTC)
    mask = pa.array(present)
    all_time = cumulative.astype(np.int64)
    columns = {name: col.filter(mask) for name, col in static.items()}
    columns["downloads_all_time"] = pa.array(all_time[present])
    columns["downloads_30d"] = pa.array(last30.astype(np.int64)[present])
    columns["likes"] = pa.array(np.sqrt(all_time[present]).astype(np.int64) // 20)
    table = pa.table({name: columns[name] for name in SNAPSHOT_SCHEMA.names}, schema=SNAPSHOT_SCHEMA)
    with store.fresh_staging(date) as staged:
        pq.write_table(table, staged / "part-0.parquet", compression="zstd")
        provenance = {
            "schema_version": SCHEMA_VERSION,
            "source": {
                "kind": "synthetic",
                "generator": "pipelines.demo",
                "seed": seed,
                "models": models,
                "days": days,
                "end": end.isoformat(),
            },
            "synthetic": True,
            "scope": "demo",
            "options": {"seed": seed, "models": models, "days": days, "end": end.isoformat()},
            "huggingface_hub_version": None,
            "started_at": started.isoformat(),
            "finished_at": dt.datetime.now(dt.UTC).isoformat(),
            "pages": 0,
            "requests": 0,
            "retries": 0,
            "rate_limit_waits": 0,
            "skipped": 0,
            "skipped_examples": [],
        }
        store.publish(staged, date, provenance)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models",
        type=int,
        default=DEFAULT_MODELS,
        help=f"number of models to generate (default {DEFAULT_MODELS})",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=None,
        help="number of daily snapshots ending at --end (default: every day from 2024-01-01)",
    )
    parser.add_argument(
        "--end",
        type=date_argument,
        default=None,
        help="date of the last snapshot, YYYY-MM-DD (default: today, UTC)",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--store",
        default=None,
        help="store directory (default: $OWT_DEMO_STORE, else data/demo-store: the one the dashboard and "
        "`python -m dashboards export` fall back to; never a store holding real snapshots)",
    )


def run(args: argparse.Namespace) -> int:
    store = resolve_store(args.store or demo_store_path())
    real = [date for date in store.dates() if not is_synthetic(store, date)]
    if real:
        print(
            f"error: {store.root} holds {len(real)} real snapshot(s) ({real[0]} ...): synthetic snapshots "
            "would take their place in its series; choose another --store",
            file=sys.stderr,
        )
        return 1
    result = generate_demo_store(store, args.models, args.days, args.seed, args.end, progress=True)
    print(
        f"demo: wrote {len(result.written)} synthetic snapshots ({len(result.skipped)} already present) of "
        f"{result.models} models to {result.store} in {result.seconds:.1f} s"
    )
    return 0
