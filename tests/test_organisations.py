"""Renamed namespaces are one organisation: THUDM and zai-org, google and google-bert rank, count and have a
page as one, checked against numbers worked out by hand on a hand-made store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dashboards.filters import Filters
from dashboards.query import open_warehouse
from pipelines.registry import COLUMNS, RegistryError, load_registry
from pipelines.store import Store
from tests.snapshots import model, write_snapshot

DAY1, DAY2 = dt.date(2025, 3, 1), dt.date(2025, 3, 2)
#: model -> all-time downloads on DAY1 and DAY2; the day's downloads are the difference.
COUNTS = {
    "THUDM/chatglm3-6b": (1000, 1600),  # +600  } Z.ai (Zhipu AI): 1,100
    "zai-org/GLM-4.5": (500, 1000),  # +500     }
    "google/gemma-2-2b": (2000, 2800),  # +800  } Google: 1,200
    "google-bert/bert-base-uncased": (3000, 3400),  # +400 }
    "Qwen/Qwen3-8B": (10000, 10900),  # +900      Alibaba Cloud (Qwen team): 900 (first by namespace)
    "someone/tiny": (100, 150),  # +50            an individual: 50
}
TOTAL = 1100 + 1200 + 900 + 50


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory):
    store = Store(tmp_path_factory.mktemp("orgs") / "store")
    for index, day in enumerate((DAY1, DAY2)):
        rows = [model(m, downloads=10, downloads_all_time=counts[index]) for m, counts in COUNTS.items()]
        write_snapshot(store, day, rows)
    return open_warehouse(store, load_registry(override=None))


@pytest.mark.parametrize(
    "view",
    [Filters(), Filters(task="text-generation"), Filters(start=DAY1)],
    ids=["unfiltered", "filtered", "dated"],
)
def test_the_top_organisations_sum_their_namespaces(warehouse, view: Filters) -> None:
    top = warehouse.top_organisations(view, n=3)
    assert top["organization"].tolist() == ["Google", "Z.ai (Zhipu AI)", "Alibaba Cloud (Qwen team)"]
    assert top["downloads"].tolist() == [1200, 1100, 900]
    assert top["n_models"].tolist() == [2, 2, 1]
    assert top["downloads_all_time"].tolist() == [2800 + 3400, 1600 + 1000, 10900]
    assert top["share"].tolist() == pytest.approx([1200 / TOTAL, 1100 / TOTAL, 900 / TOTAL])


def test_the_others_row_counts_organisations_not_namespaces(warehouse) -> None:
    top = warehouse.top_organisations(Filters(), n=2, others=True)
    assert top["downloads"].tolist() == [1200, 1100, 900 + 50]
    assert top["organization"].iloc[-1] == "2 other organisations"


def test_concentration_is_over_organisations(warehouse) -> None:
    # Shares of 3,250: 36.92%, 33.85%, 27.69%, 1.54% -> HHI 1,363.3 + 1,145.6 + 766.9 + 2.4 = 3,278.1
    # (by namespace it would split Google and Z.ai into four smaller shares and read lower).
    hhi = sum((100 * x / TOTAL) ** 2 for x in (1200, 1100, 900, 50))
    got = warehouse.concentration(Filters())
    assert got["hhi"].tolist() == pytest.approx([hhi]) and hhi == pytest.approx(3278.1, abs=0.05)


def test_an_organisation_page_lists_and_counts_every_namespace(warehouse) -> None:
    for asked in ("THUDM", "zai-org", "ZAI-ORG"):
        tables = warehouse.organisation(asked)
        assert tables["namespaces"]["namespace"].tolist() == ["THUDM", "zai-org"]
        assert sorted(tables["models"]["model_id"]) == ["THUDM/chatglm3-6b", "zai-org/GLM-4.5"]
        assert int(tables["series"]["downloads"].sum()) == 1100
    assert warehouse.organisation("someone")["namespaces"]["namespace"].tolist() == ["someone"]


def test_namespaces_of_one_organisation_must_share_its_country(tmp_path: Path) -> None:
    override = tmp_path / "orgs.csv"
    row = ["zai-org", "Z.ai (Zhipu AI)", "SG", "other", "company", "https://example.org", ""]
    override.write_text(",".join(COLUMNS) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    with pytest.raises(RegistryError) as error:
        load_registry(override=override)
    message = str(error.value)
    assert "organization 'Z.ai (Zhipu AI)' has namespaces in different countries" in message
    assert "THUDM (CN)" in message and "zai-org (SG)" in message


def test_the_shipped_registry_names_renamed_namespaces_as_one_organisation() -> None:
    registry = load_registry(override=None)
    renamed = (
        ("THUDM", "zai-org"),
        ("google", "google-bert"),
        ("CohereForAI", "CohereLabs"),
        ("sberbank-ai", "ai-forever"),
        ("cl-tohoku", "tohoku-nlp"),
        ("AIDC-AI", "ATH-MaaS"),
    )
    for old, new in renamed:
        old_org, new_org = registry.lookup(old), registry.lookup(new)
        assert old_org is not None and new_org is not None
        assert old_org.organization == new_org.organization, old


def test_a_kept_concentration_is_served_only_to_views_it_answers(warehouse) -> None:
    # Kept per version and per period, dates, scope, task and size: countries and scale do not change it,
    # a range before the first snapshot holds no downloads, so it must not get the default view's answer.
    hhi = sum((100 * x / TOTAL) ** 2 for x in (1200, 1100, 900, 50))
    first = warehouse.concentration(Filters())
    first.loc[0, "hhi"] = -1.0  # a caller changing its copy changes nothing kept
    other_view = Filters(countries=("FR",), log_scale=True)
    assert warehouse.concentration(other_view)["hhi"].tolist() == pytest.approx([hhi])
    assert warehouse.concentration(Filters(end=DAY1 - dt.timedelta(days=10))).empty
    assert warehouse.concentration(Filters())["hhi"].tolist() == pytest.approx([hhi])
