"""Coverage: the share of 30-day downloads whose country is known counts the same thing in code and in words.

Known means an ISO country code. INTL (a truly international organisation), a registered organisation whose
country is not confirmed (`unknown` in the registry: UNATTRIBUTED_ORG), individuals and unregistered
namespaces are not known. Both implementations (pandas for `orgs audit`, SQL for the dashboard) are checked
against the same hand computation.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from dashboards.filters import Filters
from dashboards.query import open_warehouse
from pipelines.attribution import attribute, coverage
from pipelines.definitions import measure
from pipelines.registry import INDIVIDUAL, INTERNATIONAL, UNATTRIBUTED_ORG, Registry, load_registry
from pipelines.store import Store
from tests.attribution_data import write_registry
from tests.snapshots import model, write_snapshot

ROWS = (
    "Qwen,Alibaba Cloud (Qwen team),CN,china,company,https://qwenlm.github.io,",
    "bigcode,BigCode,,unknown,lab,https://www.bigcode-project.org,international open collaboration",
    "rhymes-ai,Rhymes AI,unknown,unknown,company,https://huggingface.co/rhymes-ai,headquarters not confirmed",
    "EleutherAI,EleutherAI,,unknown,community,https://www.eleuther.ai,distributed research collective",
)

#: model id -> (30-day downloads, parents, publisher country expected)
MODELS = {
    "Qwen/Qwen3-8B": (500, (), "CN"),
    "bigcode/starcoder2": (200, (), INTERNATIONAL),
    "rhymes-ai/Aria": (150, (), UNATTRIBUTED_ORG),
    "EleutherAI/pythia": (100, (), INDIVIDUAL),
    "acme-ai/chat": (40, (), UNATTRIBUTED_ORG),  # unregistered, reads like an organisation
    "janedoe/qwen3-lora": (10, ("Qwen/Qwen3-8B",), INDIVIDUAL),  # lineage CN
}
# Hand computation over 1,000 downloads: by publisher only Qwen's 500 has a country; by lineage also the
# 10 of janedoe's adapter of Qwen. Counting INTL as known would add bigcode's 200 to both.
PUBLISHER_KNOWN = 500 / 1000
LINEAGE_KNOWN = (500 + 10) / 1000


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return load_registry(write_registry(tmp_path / "orgs.csv", ROWS), override=None)


def rows() -> list[dict]:
    return [
        model(model_id, downloads=downloads, parents=parents, relation="adapter" if parents else None)
        for model_id, (downloads, parents, _) in MODELS.items()
    ]


def test_coverage_rule_counts_intl_and_unconfirmed_countries_as_unknown(registry: Registry) -> None:
    table = attribute(pd.DataFrame(rows()), registry)
    assert table.set_index("model_id")["publisher_country"].to_dict() == {
        model_id: country for model_id, (_, _, country) in MODELS.items()
    }
    cover = coverage(table)
    assert cover.downloads_30d == 1000
    assert cover.publisher_known == pytest.approx(PUBLISHER_KNOWN)
    assert cover.lineage_known == pytest.approx(LINEAGE_KNOWN)
    # registered: Qwen 500 + bigcode 200 + rhymes-ai 150 + EleutherAI 100 (+ janedoe and acme-ai are not)
    assert cover.registered == pytest.approx(950 / 1000)


def test_coverage_rule_in_the_warehouse_equals_the_hand_computation(
    tmp_path: Path, registry: Registry
) -> None:
    store = Store(tmp_path / "store")
    write_snapshot(store, dt.date(2025, 3, 1), rows())
    warehouse = open_warehouse(store, registry)
    assert warehouse.coverage(Filters()) == pytest.approx(PUBLISHER_KNOWN)
    assert warehouse.coverage(Filters(attribution="lineage")) == pytest.approx(LINEAGE_KNOWN)
    # The view's countries only group the charts: coverage is about the country, not the selection.
    assert warehouse.coverage(Filters(countries=("US", "FR"))) == pytest.approx(PUBLISHER_KNOWN)


def test_coverage_rule_words_say_what_the_code_counts() -> None:
    words = measure("coverage").explanation
    assert "ISO country code" in words
    not_known = words.split("are not known")[0]
    for bucket in ("International organisations", "not confirmed", "individuals", "unregistered"):
        assert bucket in not_known
