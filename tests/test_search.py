"""Finding models and organisations: the tokenisation rule (words in any order, across separators), its SQL
twin compared with hypothesis, ranking by downloads, real paging with the total, odd input, and the Models
and Organisations pages answering from the URL's query and page."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator

import duckdb
import pytest
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboards.query import Warehouse
from dashboards.search import (
    MAX_QUERY_CHARS,
    MAX_TERMS,
    PAGE_SIZE,
    matches,
    page_count,
    parse_page,
    search_terms,
    terms_condition,
)
from pipelines.store import Store
from tests.app_render import call, components, render_page
from tests.duck_rows import insert_rows
from tests.snapshots import model, write_snapshot

#: (id, 30-day downloads); all-time (the ranking key) = 11 x the 30-day count at the last snapshot.
NAMED = [
    ("Qwen/Qwen3-4B", 500),
    ("Qwen/Qwen3-14B", 900),  # "4b" is in "14b": it matches `qwen3 4b` too, and ranks first
    ("Qwen/Qwen2.5-3B", 300),
    ("unsloth/Qwen3-4B-GGUF", 200),
    ("meta-llama/Llama-3.1-8B", 1000),
    ("bartowski/Meta-Llama-3.1-8B-Instruct-GGUF", 400),
    ("TheBloke/Llama-2-7B-GGUF", 50),
    ("someone/gguf_tools-for-llama", 10),
    ("deepseek-ai/DeepSeek-R1", 800),
]
#: 450 models named "filler/model-<i>" with i + 1 downloads (all-time 10 x): 3 pages of 200, 200, 50.
FILLERS = 450


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("search") / "store")
    counts = [*NAMED, *((f"filler/model-{i:03d}", i + 1) for i in range(FILLERS))]
    write_snapshot(store, dt.date(2025, 3, 1), [model(name, downloads=d) for name, d in counts])
    # A day later each model has as many more all-time downloads as its 30-day count: the organisations
    # have downloads in the dates, ranked like the models.
    later = [model(name, downloads=d, downloads_all_time=11 * d) for name, d in counts]
    write_snapshot(store, dt.date(2025, 3, 2), later)
    return store


def found(warehouse: Warehouse, text: str, page: int = 1) -> tuple[list[str], int]:
    frame, total = warehouse.search_models(text, page=page, per_page=PAGE_SIZE)
    return frame["model_id"].tolist(), total


# ---- the rule ---------------------------------------------------------------------------------------------


def test_terms_are_lowercase_ascii_words_split_on_any_other_character() -> None:
    assert search_terms("qwen3 4b") == ("qwen3", "4b")
    assert search_terms("  Qwen/Qwen3-4B ") == ("qwen", "qwen3", "4b")
    assert search_terms("llama_GGUF.q4") == ("llama", "gguf", "q4")
    assert search_terms("100%") == ("100",)
    assert search_terms("%_'\"; --") == ()  # only separators: no terms, everything is listed
    assert search_terms("a a A") == ("a",)
    assert search_terms(None) == ()
    assert len(search_terms(" ".join(f"w{i}" for i in range(20)))) == MAX_TERMS
    assert search_terms("x" * 500 + " y") == ("x" * MAX_QUERY_CHARS,)  # cut first: the `y` is past the cut


def test_a_name_matches_when_every_term_occurs_in_any_order() -> None:
    assert matches(search_terms("qwen3 4b"), "Qwen/Qwen3-4B")
    assert matches(search_terms("4b qwen3"), "Qwen/Qwen3-4B")
    assert matches(search_terms("llama gguf"), "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF")
    assert not matches(search_terms("llama gguf"), "meta-llama/Llama-3.1-8B")
    # each word in the namespace or the organisation's name: "org" in zai-org, "zhipu" in Zhipu AI
    assert matches(search_terms("zhipu org"), "zai-org", "Zhipu AI")
    assert not matches(search_terms("zhipu glm"), "zai-org", "Zhipu AI")
    assert matches(search_terms("zhipu"), "THUDM", None) is False
    assert matches((), "anything")


IDS = st.text(alphabet="abAB12-_./ %'", max_size=12)


@pytest.fixture(scope="module")
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    """One in-memory DuckDB for every example (a connection per example was 9/10 of the test's time)."""
    with duckdb.connect() as con:
        yield con


@settings(max_examples=300, deadline=None)
@given(names=st.lists(st.tuples(IDS, st.one_of(st.none(), IDS)), max_size=8), query=IDS)
def test_the_sql_condition_is_the_python_rule(
    duck: duckdb.DuckDBPyConnection, names: list[tuple[str, str | None]], query: str
) -> None:
    terms = search_terms(query)
    condition, params = terms_condition(terms, "a", "b")
    duck.execute("CREATE OR REPLACE TEMP TABLE t (i INTEGER, a VARCHAR, b VARCHAR)")  # each example afresh
    insert_rows(duck, "t", ("INTEGER", "VARCHAR", "VARCHAR"), [(i, a, b) for i, (a, b) in enumerate(names)])
    rows = duck.execute(f"SELECT i FROM t WHERE {condition}", params).fetchall()
    in_sql = sorted(row[0] for row in rows)
    assert in_sql == [i for i, (a, b) in enumerate(names) if matches(terms, a, b)]


def test_page_numbers_from_the_url() -> None:
    assert parse_page(None) == (1, None) and parse_page("3") == (3, None)
    for bad in ("0", "-1", "two", "1e3", "9999999", "1; DROP"):
        page, problem = parse_page(bad)
        assert page == 1 and "not a page number" in problem
    assert (page_count(0), page_count(200), page_count(201), page_count(450)) == (1, 1, 2, 3)


# ---- the query --------------------------------------------------------------------------------------------


def test_qwen3_4b_finds_the_model_and_ranks_matches_by_downloads(warehouse: Warehouse) -> None:
    # All-time downloads: Qwen3-14B 9,900 > Qwen3-4B 5,500 > unsloth GGUF 2,200; Qwen2.5-3B has no "qwen3".
    assert found(warehouse, "qwen3 4b") == (["Qwen/Qwen3-14B", "Qwen/Qwen3-4B", "unsloth/Qwen3-4B-GGUF"], 3)
    assert found(warehouse, "4B QWEN3") == found(warehouse, "qwen3 4b")
    assert found(warehouse, "qwen3-4b-gguf") == (["unsloth/Qwen3-4B-GGUF"], 1)


def test_llama_gguf_finds_the_gguf_re_uploads_of_llama(warehouse: Warehouse) -> None:
    # 4,400, 550, 110 all-time; meta-llama/Llama-3.1-8B (no "gguf") is not one of them.
    assert found(warehouse, "llama gguf") == (
        [
            "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF",
            "TheBloke/Llama-2-7B-GGUF",
            "someone/gguf_tools-for-llama",
        ],
        3,
    )


def test_pages_past_200_results_with_the_total(warehouse: Warehouse) -> None:
    first, total = found(warehouse, "filler model")
    assert total == FILLERS and len(first) == PAGE_SIZE
    assert first[0] == "filler/model-449" and first[-1] == "filler/model-250"
    second, _ = found(warehouse, "filler model", page=2)
    assert (second[0], second[-1], len(second)) == ("filler/model-249", "filler/model-050", 200)
    third, _ = found(warehouse, "filler model", page=3)
    assert (third[0], third[-1], len(third)) == ("filler/model-049", "filler/model-000", 50)
    assert found(warehouse, "filler model", page=4) == ([], FILLERS)  # past the last page: empty, same total
    everything = len(NAMED) + FILLERS
    assert found(warehouse, "")[1] == everything
    # No words: the most downloaded first (meta-llama 11,000 all-time), page 3 is the last 59 of 459.
    assert found(warehouse, "")[0][:2] == ["meta-llama/Llama-3.1-8B", "Qwen/Qwen3-14B"]
    assert len(found(warehouse, "", page=3)[0]) == everything - 2 * PAGE_SIZE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("%", len(NAMED) + FILLERS),  # no wildcard: only a separator, so no terms, so every model
        ("_", len(NAMED) + FILLERS),
        ("qwen%4b", 3),  # the same as `qwen 4b`: Qwen3-4B, Qwen3-14B, unsloth's GGUF
        ("'; DROP TABLE dims; --", 0),
        ("\" OR 1=1 --", 0),  # terms "or", "1": no id holds "or" (deepseek-ai has none either)
        ("ｑｗｅｎ", len(NAMED) + FILLERS),  # full-width letters are not ASCII words: no terms
    ],
)
def test_odd_characters_are_words_or_separators_never_sql(
    warehouse: Warehouse, text: str, expected: int
) -> None:
    assert found(warehouse, text)[1] == expected
    assert found(warehouse, "qwen3 4b")[1] == 3  # the tables are still there


def test_a_very_long_query_is_cut_not_refused(warehouse: Warehouse) -> None:
    assert found(warehouse, "llama " + "x" * 100_000) == ([], 0)  # "llama" and a 194-char word: no model
    assert found(warehouse, "gguf " * 10_000) == found(warehouse, "gguf")


# ---- the pages --------------------------------------------------------------------------------------------


def _texts_and_links(layout: str) -> tuple[str, list[str]]:
    parts = list(components(layout))
    text = json.dumps([c["props"].get("children") for c in parts])
    links = [c["props"]["href"] for c in parts if c["type"] == "Link"]
    return text, links


def test_the_models_page_answers_the_urls_query_and_page(client: FlaskClient) -> None:
    layout = render_page(client, "/models", "?q=qwen3+4b&period=week")
    text, links = _texts_and_links(layout)
    assert '"value": "qwen3 4b"' in layout  # the search box shows the query
    assert "3 models match qwen3 + 4b; showing 1-3" in text and "Page 1 of 1" in text
    assert "[Qwen/Qwen3-4B](/models/Qwen/Qwen3-4B?period=week)" in layout  # a result keeps the view

    layout = render_page(client, "/models", "?q=filler+model&page=2&period=week")
    text, links = _texts_and_links(layout)
    assert "450 models match filler + model; showing 201-400" in text and "Page 2 of 3" in text
    assert links == ["/models?period=week&q=filler+model", "/models?period=week&q=filler+model&page=3"]
    assert "filler/model-249" in layout and "filler/model-250" not in layout


def test_the_models_page_explains_a_page_it_cannot_show(client: FlaskClient) -> None:
    text, _ = _texts_and_links(render_page(client, "/models", "?q=filler&page=9"))
    assert "there is no page 9 (the last is 3); showing page 3" in text and "Page 3 of 3" in text
    text, _ = _texts_and_links(render_page(client, "/models", "?page=abc"))
    assert "page='abc' is not a page number" in text and "Page 1 of 3" in text


def test_typing_a_search_lists_its_first_page(client: FlaskClient) -> None:
    answer = call(
        client,
        "..models-grid.rowData...models-count.children...models-pager.children...models-shown.data..",
        {"models-search.value": "llama gguf", "filters.data": {}},
        {"models-shown.data": {"text": "", "view": {}}},
    )
    rows = answer["models-grid.rowData"]
    assert [row["model"].split("]")[0][1:] for row in rows] == [
        "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF",
        "TheBloke/Llama-2-7B-GGUF",
        "someone/gguf_tools-for-llama",
    ]
    assert answer["models-count.children"].startswith("3 models match llama + gguf")


def _organisation(cell: str) -> str:
    return re.search(r"\]\(/organisations/([^?)]+)", cell).group(1)


def test_organisation_search_matches_words_and_keeps_the_overall_rank(client: FlaskClient) -> None:
    output = (
        "..organisations-grid.rowData...organisations-growth-note.children...organisations-count.children.."
    )
    answer = call(client, output, {"filters.data": {}, "organisations-search.value": "LLAMA meta"})
    rows = answer["organisations-grid.rowData"]
    # Only the namespace meta-llama holds both words (bartowski's GGUF names them, but that is a model).
    assert [_organisation(row["organisation"]) for row in rows] == ["meta-llama"]
    # Downloads in the dates (the day between the snapshots = each model's 30-day count): filler 1+...+450 =
    # 101,475, Qwen 900+500+300 = 1,700, meta-llama 1,000: third of all organisations.
    assert rows[0]["rank"] == 3 and rows[0]["downloads"] == 1_000
    assert answer["organisations-count.children"].startswith("1 organisations match llama + meta")
    answer = call(client, output, {"filters.data": {}, "organisations-search.value": "'; --"})
    ranked = [_organisation(row["organisation"]) for row in answer["organisations-grid.rowData"]]
    assert ranked[:4] == ["filler", "Qwen", "meta-llama", "deepseek-ai"] and len(ranked) == 8
