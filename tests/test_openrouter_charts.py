"""The OpenRouter token charts on a store filled by real pulls from the fake Data API: shares and their
range bounds worked out by hand (`tests/openrouter_data.py` gives the per-day tokens), the restated day
charted from the newest vintage, the view from the URL, and exports carrying channel, licence and citation.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

from dashboards.__main__ import main
from dashboards.charts import chart_ids, render_chart
from dashboards.filters import Filters
from dashboards.query import open_warehouse
from dashboards.state import parse_search
from pipelines.channels.openrouter import Client, pull
from pipelines.demo import generate_demo_store
from pipelines.registry import load_registry
from pipelines.store import Store
from tests import openrouter_data as data
from tests.fakeopenrouter import FakeOpenRouter

D = dt.date
BY_COUNTRY, OPEN_CLOSED = "openrouter-open-share-by-country", "openrouter-open-vs-closed"
CITATION = "Source: OpenRouter (openrouter.ai/rankings), as of 2026-02-02T02:00:00Z."


@pytest.fixture(scope="module")
def token_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A small Hub store (its warehouse is what charts open) plus the OpenRouter vintages of a backfill from
    2025-01-01 on 2026-02-01 and a daily pull on 2026-02-02 that restates 2026-01-20 (Qwen 400 -> 1400)."""
    root = tmp_path_factory.mktemp("tokens") / "store"
    generate_demo_store(Store(root), models=20, days=2, seed=3, end=D(2025, 1, 1))  # no OpenRouter day
    with FakeOpenRouter(data.KEY, today=D(2026, 2, 1)) as fake:
        data.load(fake, D(2025, 1, 1), D(2026, 1, 31))
        client = Client(data.KEY, fake.url)
        pull(Store(root), D(2026, 2, 1), client, backfill_from=D(2025, 1, 1))
        fake.usage[D(2026, 2, 1)] = data.day_usage(D(2026, 2, 1))
        fake.restate(D(2026, 1, 20), data.QWEN, 1400, as_of="2026-02-02T02:00:00Z")
        pull(Store(root), D(2026, 2, 2), client)
    yield root


@pytest.fixture(scope="module")
def warehouse(token_store: Path):
    return open_warehouse(Store(token_store), load_registry(override=None))


def rows(result, key: str) -> dict:
    return {(row["period"].date(), row[key]): row for row in result.data.to_dict("records")}


def test_monthly_shares_and_their_bounds_are_the_hand_computed_ones(warehouse):
    view = Filters(start=D(2025, 1, 1), end=D(2025, 7, 31))
    by_country = rows(render_chart(BY_COUNTRY, warehouse, view), "country")
    # January: every day T = 1136 tokens, of which U = 100 unattributable (stealth 50, delisted 40, other 10);
    # CN = Qwen 200 + its :free variant 100, US = Llama 100, FR (Rest of world) = Mistral 50. A month of equal
    # days has the days' shares.
    jan = D(2025, 1, 1)
    for country, tokens in (("CN", 300), ("US", 100), ("Rest of world", 50)):
        row = by_country[(jan, country)]
        assert (row["tokens"], row["unattributed_tokens"], row["total_tokens"]) == (
            31 * tokens, 31 * 100, 31 * 1136
        )
        assert Fraction(row["share_low"]).limit_denominator(10**6) == Fraction(tokens, 1136)
        assert Fraction(row["share_high"]).limit_denominator(10**6) == Fraction(tokens + 100, 1136)
    # July: Qwen doubles to 400, so T = 1336 and CN = 500
    jul = by_country[(D(2025, 7, 1), "CN")]
    assert (jul["tokens"], jul["total_tokens"]) == (31 * 500, 31 * 1336)
    assert jul["share_low"] == pytest.approx(500 / 1336) and jul["share_high"] == pytest.approx(600 / 1336)
    assert {country for _, country in by_country} == {"CN", "US", "Rest of world"}

    open_closed = rows(render_chart(OPEN_CLOSED, warehouse, view), "openness")
    # January: open O = 450, closed C = GPT 500 + 43 fillers x 2 = 586; O + C + U = 1136
    assert open_closed[(jan, "open")]["share_low"] == pytest.approx(450 / 1136)
    assert open_closed[(jan, "open")]["share_high"] == pytest.approx(550 / 1136)
    assert open_closed[(jan, "closed")]["share_low"] == pytest.approx(586 / 1136)
    assert open_closed[(jan, "closed")]["share_high"] == pytest.approx(686 / 1136)
    assert open_closed[(D(2025, 7, 1), "open")]["share_low"] == pytest.approx(650 / 1336)


def test_the_restated_day_is_charted_from_the_newest_vintage(warehouse):
    view, notes = parse_search("?period=day&from=2026-01-20&to=2026-01-20&countries=CN,US")
    assert notes == [] and view.period == "day"
    result = render_chart(BY_COUNTRY, warehouse, view)
    cn = rows(result, "country")[(D(2026, 1, 20), "CN")]
    # restated Qwen 1400 + :free 100; T = 1336 - 400 + 1400 = 2336 (the backfill's vintage said 400 and 1336)
    assert (cn["tokens"], cn["total_tokens"]) == (1500, 2336)
    assert cn["share_low"] == pytest.approx(1500 / 2336) and cn["share_high"] == pytest.approx(1600 / 2336)
    assert CITATION in result.source  # the newest vintage's as_of
    assert "Licence: CC BY 4.0." in result.source


def test_charts_say_what_they_count_and_cite_openrouter(warehouse):
    assert {BY_COUNTRY, OPEN_CLOSED} <= set(chart_ids())
    month = render_chart(BY_COUNTRY, warehouse, Filters())
    assert "Per month: tokens summed over the UTC days of each month." in month.subtitle
    assert "Share of OpenRouter tokens" in month.figure.layout.yaxis.title.text
    assert (month.channel, month.licence, month.citation) == ("openrouter", "CC BY 4.0", CITATION)
    assert "2025-01-01 to 2026-02-01" in month.source
    # the last month holds one day of February: an incomplete period, drawn with an open circle
    feb = month.data[month.data["period"] == "2026-02-01"]
    assert not feb["complete"].any() and month.data[month.data["period"] == "2026-01-01"]["complete"].all()
    assert "downloads" not in " ".join(month.data.columns)


def test_export_carries_channel_licence_and_citation(token_store: Path, tmp_path: Path, capsys):
    out = tmp_path / "tokens.zip"
    code = main([
        "export", "--chart", OPEN_CLOSED, "--format", "csv", "--out", str(out), "--store", str(token_store),
        "--from", "2025-01-01", "--to", "2025-01-31",
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    with zipfile.ZipFile(out) as archive:
        metadata = json.loads(archive.read("metadata.json"))
        csv = archive.read(f"{OPEN_CLOSED}.csv").decode().splitlines()
        readme = archive.read("README.md").decode()
    [chart] = metadata["charts"]
    assert (chart["channels"], chart["licence"], chart["citation"]) == (["openrouter"], "CC BY 4.0", CITATION)
    assert CITATION in chart["source"] and CITATION in readme
    assert csv[0] == "period,openness,tokens,unattributed_tokens,total_tokens,share_low,share_high,complete"
    assert csv[1].startswith(f"2025-01-01,closed,{31 * 586},{31 * 100},{31 * 1136},")


def test_methodology_states_the_channel_coverage(token_store: Path):
    from dashboards.tokens import coverage_text

    text = coverage_text(Store(token_store), load_registry(override=None))
    # 397 days (2025-01-01 .. 2026-02-01): 181 at T = 1136, 216 at T = 1336, plus the restatement's +1000.
    # open 181 x 450 + 216 x 650 + 1000 = 222,850; closed 397 x 586 = 232,642; unknown 397 x 100 = 39,700
    assert "2 daily vintage(s), the newest 2026-02-02" in text
    assert "holding 397 days from 2025-01-01 to 2026-02-01. Of their 495,192 tokens" in text
    assert "45.0% are attributed to open models and 47.0% to closed ones; 8.0% cannot be attributed" in text
    assert CITATION in text
