"""pipelines.hub against the fake Hub: the real huggingface_hub client and every fault the real API sends."""

from __future__ import annotations

import functools
import re

import httpx2
import pyarrow as pa
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from pipelines.hub import (
    SNAPSHOT_EXPAND,
    HubClient,
    HubPageError,
    HubStats,
    base_model_relations,
    list_params,
    parse_model_info,
    snapshot_row,
    snapshot_table,
)
from pipelines.schema import SNAPSHOT_SCHEMA
from tests.fakehub import Fault, make_model, make_models


def crawl(client: HubClient, params: dict, resume_url: str | None = None) -> list[str]:
    return [m.id for page in client.pages(params, resume_url) for m in client.parse_items(page)]


@pytest.fixture
def hub(fake_hub, hf_env):
    """Fake Hub with 30 models served 10 per page (3 pages for a hub-wide listing)."""
    fake_hub.load(make_models(30, seed=7))
    fake_hub.max_page_size = 10
    return fake_hub


def test_pager_sends_exactly_the_query_list_models_sends(hub):
    list(
        HfApi(endpoint=hub.url).list_models(
            author="Qwen", sort="created_at", limit=1000, expand=list(SNAPSHOT_EXPAND)
        )
    )
    crawl(HubClient(), list_params(author="Qwen", sort="created_at", limit=1000))
    library, ours = hub.requests_to("list")[0], hub.requests_to("list")[-1]
    assert ours.query == library.query
    assert ours.query[:3] == (("author", "Qwen"), ("sort", "createdAt"), ("limit", "1000"))


def test_pages_carry_the_next_url_and_a_crawl_resumes_from_it(hub):
    client = HubClient()
    params = list_params(sort="downloads", limit=10)
    pages = list(client.pages(params))
    assert [len(p.items) for p in pages] == [10, 10, 10]
    assert pages[0].next_url.startswith(f"{hub.url}/api/models?") and pages[-1].next_url is None
    resumed = crawl(HubClient(), params, resume_url=pages[0].next_url)
    assert resumed == [item["id"] for p in pages[1:] for item in p.items]
    assert client.stats.pages == 3 and client.stats.requests == 3 and client.stats.retries == 0


@pytest.mark.parametrize(
    "fault, expected_wait",
    [
        (Fault.rate_limited(ratelimit=True, retry_after=False), 1.0),  # RateLimit r=0;t=0 -> t + 1
        (Fault.rate_limited(ratelimit=False, retry_after=True), 1.0),  # Retry-After: 0 -> 0 + 1
        (Fault.rate_limited(ratelimit=True, retry_after=True, reset=3), 4.0),
    ],
)
def test_rate_limited_page_waits_as_told_and_goes_on(hub, no_sleep, fault, expected_wait):
    hub.inject("list", fault, page=2)
    client = HubClient()
    assert len(crawl(client, list_params(limit=10))) == 30
    assert no_sleep.waits == [expected_wait]
    assert (client.stats.rate_limited, client.stats.rate_limit_waits, client.stats.retries) == (
        1,
        expected_wait,
        1,
    )


def test_bursts_of_server_errors_and_408_are_retried(hub, no_sleep):
    hub.inject("list", [Fault.status(code) for code in (500, 502, 503, 504, 408)], page=3)
    client = HubClient()
    assert len(crawl(client, list_params(limit=10))) == 30
    assert no_sleep.waits == [1, 2, 4, 8, 8]
    assert client.stats.retries == 5 and client.stats.requests == 8


def test_a_stalled_response_times_out_and_is_retried(hub, no_sleep):
    hub.inject("list", Fault.stall(30), page=2)  # the fake releases a stall when it stops
    client = HubClient(timeout=1.0)  # long enough that a loaded machine does not time out a normal page
    assert len(crawl(client, list_params(limit=10))) == 30
    assert client.stats.retries == 1
    assert [r.fault for r in hub.requests_to("list")] == [None, "stall", None, None]


def test_a_body_cut_short_is_retried(hub, no_sleep):
    hub.inject("list", Fault.short_body(), page=1)
    client = HubClient()
    assert len(crawl(client, list_params(limit=10))) == 30
    assert client.stats.retries == 1


def test_persistent_errors_surface_as_the_library_error_after_five_retries(hub, no_sleep):
    hub.inject("list", [Fault.status(500)] * 6, page=2)
    client = HubClient()
    with pytest.raises(HfHubHTTPError, match="500"):
        crawl(client, list_params(limit=10))
    assert client.stats.retries == 5


def test_owt_hub_retries_sets_how_often_a_request_is_retried(hub, no_sleep, monkeypatch):
    """OWT_HUB_RETRIES=2: a page failing three times ends the crawl after 1 + 2 tries
    waiting 1 and 2 s (http_backoff doubles its 1 s base wait); the default would serve the fourth try."""
    hub.inject("list", [Fault.status(500)] * 3, page=2)
    monkeypatch.setenv("OWT_HUB_RETRIES", "2")
    client = HubClient()
    with pytest.raises(HfHubHTTPError, match="500"):
        crawl(client, list_params(limit=10))
    assert client.stats.retries == 2
    assert no_sleep.waits == [1, 2]


@pytest.mark.parametrize("value", ["many", "-1", "2.5"])
def test_a_bad_owt_hub_retries_is_refused_with_the_variable_named(value, monkeypatch):
    monkeypatch.setenv("OWT_HUB_RETRIES", value)
    with pytest.raises(ValueError, match=f"OWT_HUB_RETRIES='{re.escape(value)}': expected a whole number"):
        HubClient("http://127.0.0.1:9")


@pytest.mark.parametrize("fault", [Fault.broken_json(), Fault.html()], ids=["broken-json", "html"])
def test_a_page_that_is_not_json_stops_the_crawl_with_a_clear_message(hub, fault):
    hub.inject("list", fault, page=2)
    with pytest.raises(HubPageError, match=r"not valid JSON.*run the same command again to resume"):
        crawl(HubClient(), list_params(limit=10))


@pytest.mark.parametrize(
    "fault, error",
    [
        (Fault.missing_id(index=3), "KeyError: 'id'"),
        (Fault.safetensors_without_parameters(index=3), "KeyError: 'parameters'"),
        (Fault.bad_date(index=3), "ValueError"),
    ],
)
def test_a_malformed_item_is_skipped_counted_and_kept_as_an_example(hub, fault, error):
    hub.inject("list", fault, page=2)
    client = HubClient()
    ids = crawl(client, list_params(limit=10))
    assert len(ids) == 29 and client.stats.items == 30
    assert client.stats.skipped == 1
    (example,) = client.stats.skipped_examples
    assert example["error"].startswith(error) and "item 3" in example["where"]


def test_an_item_with_an_unusable_field_type_keeps_its_model_with_that_field_null(fake_hub, hf_env):
    good, odd = make_model("Qwen/good"), make_model("Qwen/odd")
    odd["likes"] = "lots"
    fake_hub.load([good, odd])
    assert sorted(crawl(HubClient(), list_params())) == ["Qwen/good", "Qwen/odd"]  # the library accepts it
    client = HubClient()
    parse = functools.partial(snapshot_row, on_null=client.stats.record_null)
    pages = list(client.pages(list_params()))
    converted = {row["model_id"]: row for page in pages for row in client.parse_items(page, parse)}
    assert sorted(converted) == ["Qwen/good", "Qwen/odd"] and client.stats.skipped == 0
    assert converted["Qwen/odd"]["likes"] is None
    assert converted["Qwen/odd"]["downloads_all_time"] == odd["downloadsAllTime"]
    assert client.stats.nulled_fields == {"likes": 1}


def test_a_relative_next_link_is_resolved_on_the_endpoint(hub):
    hub.inject("list", Fault.relative_link(), page=1)
    assert len(crawl(HubClient(), list_params(limit=10))) == 30


def test_a_next_link_to_another_host_is_refused_so_the_token_stays_home(hub):
    hub.inject("list", Fault.foreign_link(), page=1)
    with pytest.raises(HubPageError, match="leaves the endpoint"):
        crawl(HubClient(), list_params(limit=10))


def test_model_info_is_retried_unlike_the_library(hub, no_sleep):
    model_id = next(iter(hub.models))
    hub.inject("model", [Fault.status(503), Fault.rate_limited()], model_id=model_id)
    client = HubClient()
    info = client.model_info(model_id, expand=["baseModels", "downloadsAllTime"])
    assert info.id == model_id and client.stats.retries == 2
    with pytest.raises(RepositoryNotFoundError):
        client.model_info("nobody/nothing")


def test_the_token_is_sent_but_never_kept(hub, monkeypatch):
    secret = "hf_SecretTokenForTestsOnly123"
    monkeypatch.setenv("HF_TOKEN", secret)
    hub.inject("list", Fault.missing_id(), page=1)
    client = HubClient()
    crawl(client, list_params(limit=10))
    assert {r.headers.get("authorization") for r in hub.requests_to("list")} == {f"Bearer {secret}"}
    assert secret not in repr(client.stats.to_dict())


def test_the_forced_timeout_also_applies_to_plain_library_calls(hub, no_sleep):
    hub.inject("list", [Fault.stall(5)] * 6, page=1)
    HubClient(timeout=0.2)
    with pytest.raises(httpx2.TimeoutException):
        list(HfApi(endpoint=hub.url).list_models(limit=5))


def test_base_model_tags_give_parents_and_the_relation_verbatim():
    tags = [
        "base_model:Qwen/Qwen2.5-7B",
        "base_model:finetune:Qwen/Qwen2.5-7B",
        "base_model:distillation:deepseek-ai/DeepSeek-R1",
        "base_model:quantized:gpt2",
        "license:mit",
    ]
    assert base_model_relations(tags) == (["Qwen/Qwen2.5-7B", "deepseek-ai/DeepSeek-R1", "gpt2"], "finetune")
    assert base_model_relations(["base_model:distillation:a/b"]) == (["a/b"], "distillation")
    assert base_model_relations(None) == ([], None)


def test_the_fast_row_parse_reads_items_exactly_as_the_library_does():
    items = make_models(300, seed=2)
    items[0]["createdAt"] = "2024-11-16T00:27:02Z"  # no fraction
    items[1]["lastModified"] = "2022-08-19T07:19:38.123456789Z"  # nanoseconds
    for item in items:
        info, row = parse_model_info(dict(item)), snapshot_row(dict(item))
        assert (row["model_id"], row["author"], row["hub_id"]) == (info.id, info.author, info._id)
        assert (row["downloads_30d"], row["downloads_all_time"], row["likes"]) == (
            info.downloads,
            info.downloads_all_time,
            info.likes,
        )
        assert (row["created_at"], row["last_modified"]) == (info.created_at, info.last_modified)
        assert (row["pipeline_tag"], row["library_name"], row["tags"]) == (
            info.pipeline_tag,
            info.library_name,
            info.tags,
        )
        assert row["params_total"] == (info.safetensors.total if info.safetensors else None)
        assert row["gated"] == str(info.gated).lower()


@pytest.mark.parametrize(
    "change, key, column",
    [
        ({"safetensors": {"total": 5}}, "safetensors", "params_total"),
        ({"createdAt": "2024-01-01T00:00:00+00:00"}, "createdAt", "created_at"),
        ({"createdAt": "yesterday"}, "createdAt", "created_at"),
    ],
    ids=["safetensors-without-parameters", "offset-date", "not-a-date"],
)
def test_what_the_library_rejects_the_row_parse_nulls_field_by_field(change, key, column):
    item = {**make_model("Qwen/x", params_total=5), **change}
    with pytest.raises((KeyError, ValueError)):
        parse_model_info(dict(item))  # the library loses the whole model
    nulled: list[tuple[str, str, str]] = []
    row = snapshot_row(dict(item), on_null=lambda *what: nulled.append(what))
    assert row[column] is None and [(k, m) for k, m, _ in nulled] == [(key, "Qwen/x")]
    assert row == {**snapshot_row(make_model("Qwen/x", params_total=5)), column: None}


def test_only_an_item_without_a_usable_id_is_refused_every_other_odd_value_is_nulled():
    for change in ({"id": None}, {"id": ""}, {"id": 5}):
        with pytest.raises((TypeError, KeyError)):
            snapshot_row({**make_model("Qwen/x"), **change})
    odd = {
        "downloads": "12",
        "tags": "text-generation",
        "likes": 1.5,
        "safetensors": "7B",
        "lastModified": 20240101,
        "pipeline_tag": ["text-generation"],
        "author": 42,
    }
    for key, value in odd.items():
        stats = HubStats()
        row = snapshot_row({**make_model("Qwen/x"), key: value}, on_null=stats.record_null)
        assert stats.nulled_fields == {key: 1} and row["model_id"] == "Qwen/x", key
    assert snapshot_row({**make_model("Qwen/x"), "author": 42})["author"] == "Qwen"  # from the id
    assert snapshot_row({**make_model("Qwen/x"), "tags": "a"})["base_models"] == []


def test_the_whole_page_parse_gives_exactly_the_rows_of_the_item_parse():
    bare = make_model(
        "Qwen/bare", pipeline_tag=None, library_name=None, downloads_all_time=None, gated="manual"
    )
    merge = make_model("x/merge", base_models=["a/b", "c/d"], relation="merge", params_total=3)
    items = [*make_models(500, seed=4), bare, merge]
    items[0].pop("author")
    expected = pa.Table.from_pylist([snapshot_row(dict(item)) for item in items], schema=SNAPSHOT_SCHEMA)
    assert snapshot_table([dict(item) for item in items]).equals(expected)


@pytest.mark.parametrize(
    "change",
    [
        {"id": None},
        {"downloads": 2.0},
        {"likes": True},
        {"createdAt": ""},
        {"createdAt": "2022-08-19T07:19:38.123456789Z"},
        {"createdAt": "2024-01-01T00:00:00+00:00"},
        {"safetensors": {"total": 5}},
        {"tags": ["ok", 3]},
    ],
)
def test_the_whole_page_parse_refuses_whatever_the_item_parse_might_treat_differently(change):
    items = [make_model("Qwen/a"), {**make_model("Qwen/b"), **change}]
    with pytest.raises(Exception):  # noqa: B017  # any refusal sends the page to the item-by-item path
        snapshot_table(items)
