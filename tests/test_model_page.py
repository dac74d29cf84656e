"""A model page finds its model by exact id, whatever its siblings: `acme-ai/m` among 60 more-downloaded
`acme-ai/m-v*` (a substring search limited to 50 results missed it and said 'No model ... in this store')."""

from __future__ import annotations

import datetime as dt

import pytest
from flask.testing import FlaskClient

from dashboards.query import Warehouse
from pipelines.store import Store
from tests.app_render import card_specs, render_card, render_page, texts, values
from tests.snapshots import model, write_snapshot

SIBLINGS = [f"acme-ai/m-v{i}" for i in range(60)]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """acme-ai/m (70 all-time downloads) and 60 siblings whose ids contain it, each downloaded more."""
    store = Store(tmp_path_factory.mktemp("siblings") / "store")
    rows = [model("acme-ai/m", downloads=7)]
    rows += [model(sibling, downloads=100 + i) for i, sibling in enumerate(SIBLINGS)]
    rows.append(model("acme-ai/Case", downloads=3))
    write_snapshot(store, dt.date(2025, 3, 1), rows)
    return store


def test_model_lookup_rule_is_exact_id_whatever_its_siblings(warehouse: Warehouse) -> None:
    searched = warehouse.model_search("acme-ai/m", limit=50)["model_id"].tolist()
    assert len(searched) == 50 and "acme-ai/m" not in searched  # the siblings fill the search's 50 rows
    row = warehouse.model_row("acme-ai/m")
    assert row is not None
    # all-time = 10 x the 30-day count (tests.snapshots.model)
    assert (row["model_id"], row["namespace"], row["downloads_30d"], row["downloads_all_time"]) == (
        "acme-ai/m", "acme-ai", 7, 70
    )
    assert warehouse.model_row("acme-ai/m-v59")["downloads_all_time"] == 1590
    assert warehouse.model_row("acme-ai/") is None and warehouse.model_row("acme-ai/m-v") is None


def test_model_lookup_rule_gives_the_hubs_case_for_an_id_typed_in_another(warehouse: Warehouse) -> None:
    assert warehouse.model_row("ACME-AI/case")["model_id"] == "acme-ai/Case"
    assert warehouse.model_row("acme-ai/case ") is None


def test_model_page_of_a_model_with_60_more_downloaded_siblings(client: FlaskClient) -> None:
    page = render_page(client, "/models/acme-ai/m")
    assert "No model" not in page
    assert texts(page, "H1") == ["acme-ai/m"]
    facts = texts(page, "Span")
    assert facts[facts.index("All-time downloads") + 1] == "70"
    assert facts[facts.index("30-day downloads") + 1] == "7"
    cards = card_specs(page)
    assert [card["chart"] for card in cards] == ["model-series", "model-ram"]
    assert all(card["params"] == {"model": "acme-ai/m"} for card in cards)
    series = render_card(client, cards[0], {})
    assert series["chart-title.children"] == "All-time downloads: acme-ai/m"
    (trace,) = series["chart-graph.figure"]["data"]
    assert trace["name"] == "acme-ai/m" and values(trace["y"]) == [70]


def test_model_page_says_when_the_store_has_no_such_model(client: FlaskClient) -> None:
    page = render_page(client, "/models/acme-ai/m-v")
    assert "No model 'acme-ai/m-v' in this store." in page
    assert card_specs(page) == []
    assert texts(render_page(client, "/models/ACME-AI/case"), "H1") == ["acme-ai/Case"]


