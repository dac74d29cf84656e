"""The token shares (DuckDB over the vintages) against a plain-Python reference written here, on random
vintages: each day from the newest vintage holding it, variants merged, unknown tokens widening the range."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboards.filters import Filters
from dashboards.tokens import open_share_by_country, open_vs_closed
from pipelines.channels import channel_store
from pipelines.channels.openrouter import catalogue_table, observation_table
from pipelines.channels.openrouter_attribution import catalogue_store
from pipelines.periods import period_start
from pipelines.registry import load_registry
from pipelines.store import Store

FIRST = dt.date(2025, 1, 27)
#: permaslug -> (kind, country) as the rule must find it (Qwen CN, meta-llama US, mistralai FR).
SLUGS = {
    "qwen/qwen3-8b": ("open", "CN"),
    "qwen/qwen3-8b:free": ("open", "CN"),
    "meta-llama/llama-3-8b": ("open", "US"),
    "mistralai/mistral-7b": ("open", "FR"),
    "openai/gpt-4o": ("closed", None),
    "stealth/x": ("unknown", None),
    "gone/never-listed": ("unknown", None),
    "other": ("unknown", None),
}
HUB = {"qwen/qwen3-8b": "Qwen/Qwen3-8B", "meta-llama/llama-3-8b": "meta-llama/Meta-Llama-3-8B",
       "mistralai/mistral-7b": "mistralai/Mistral-7B-v0.1", "openai/gpt-4o": None}  # fmt: skip
REGISTRY = load_registry(override=None)

day_rows = st.dictionaries(st.sampled_from(sorted(SLUGS)), st.integers(0, 10**15), min_size=1)
vintage = st.dictionaries(st.integers(0, 40), day_rows, min_size=1, max_size=6)  # day offset -> rows


def write(store: Store, vintages: list[dict[int, dict[str, int]]]) -> None:
    fetched = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    catalogue = [{"canonical_slug": slug, "hugging_face_id": hub} for slug, hub in HUB.items()]
    for number, days in enumerate(vintages):
        date = dt.date(2026, 1, 1) + dt.timedelta(days=number)
        rows = [{"date": (FIRST + dt.timedelta(days=offset)).isoformat(), "model_permaslug": slug,
                 "total_tokens": str(tokens)}
                for offset, tokens_of in days.items() for slug, tokens in tokens_of.items()]  # fmt: skip
        observations = observation_table([{"data": rows, "meta": {}}], HUB, fetched)
        for target, table in (
            (catalogue_store(store), catalogue_table(catalogue, fetched)),
            (channel_store(store, "openrouter"), observations),
        ):
            with target.fresh_staging(date) as staged:
                pq.write_table(table, staged / "part-0.parquet")
                target.publish(staged, date, {"window": {"end": date.isoformat()}})


def reference(vintages: list[dict[int, dict[str, int]]], period: str, countries: tuple[str, ...]):
    """Per (period, group): [tokens, unknown, total], from the newest vintage holding each day."""
    newest: dict[int, dict[str, int]] = {}
    for days in vintages:  # oldest first: a later vintage replaces a day
        newest.update(days)
    totals: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
    groups: dict[tuple[dt.date, str], int] = defaultdict(int)
    for offset, tokens_of in newest.items():
        start = period_start(FIRST + dt.timedelta(days=offset), period)  # type: ignore[arg-type]
        for slug, tokens in tokens_of.items():
            kind, country = SLUGS[slug]
            totals[start][0] += tokens
            totals[start][1] += tokens if kind == "unknown" else 0
            if kind != "unknown":
                groups[(start, kind)] += tokens
            if kind == "open":
                shown = country if country in countries else "Rest of world"
                groups[(start, "country:" + shown)] += tokens
    return groups, totals


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(vintage, min_size=1, max_size=3), st.sampled_from(["day", "week", "month"]),
       st.sampled_from([("CN", "US"), ("CN",), ("FR", "US")]))  # fmt: skip
def test_shares_match_the_python_reference(vintages, period, countries):
    with tempfile.TemporaryDirectory() as root:
        store = Store(Path(root))
        write(store, vintages)
        view = Filters(period=period, countries=countries)
        groups, totals = reference(vintages, period, countries)
        got = {}
        for frame, column, prefix in (
            (open_vs_closed(store, view, REGISTRY), "openness", ""),
            (open_share_by_country(store, view, REGISTRY), "country", "country:"),
        ):
            for row in frame.to_dict("records"):
                start = row["period"].date()
                got[(start, prefix + row[column])] = row["tokens"]
                total, unknown = totals[start]
                assert (row["total_tokens"], row["unattributed_tokens"]) == (total, unknown)
                low = row["tokens"] / total if total else float("nan")  # a period without tokens: no share
                assert row["share_low"] == pytest.approx(low, nan_ok=True)
                high = (row["tokens"] + unknown) / total if total else float("nan")
                assert row["share_high"] == pytest.approx(high, nan_ok=True)
        assert got == {key: value for key, value in groups.items()}, json.dumps(str(vintages))[:300]
