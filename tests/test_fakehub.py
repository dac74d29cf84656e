"""The fake Hub behaves like the contract in hf-hub-api.md, checked with the real huggingface_hub client."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import httpx2
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import BadRequestError, HfHubHTTPError, RepositoryNotFoundError

from tests.fakehub import FakeHub, Fault, hub_date, make_model, make_models


def test_list_models_pages_through_absolute_keyset_links(fake_hub, hf_env):
    models = make_models(25, seed=3)
    fake_hub.load(models)
    fake_hub.max_page_size = 10
    listed = list(HfApi(endpoint=fake_hub.url).list_models(sort="downloads", limit=1000))
    expected = sorted(models, key=lambda m: m["_id"])
    expected.sort(key=lambda m: m["downloads"], reverse=True)
    assert [m.id for m in listed] == [m["id"] for m in expected]
    pages = fake_hub.requests_to("list")
    assert len(pages) == 3
    assert pages[1].param("cursor") and pages[1].param("sort") == "downloads"
    assert all(r.headers["host"] == f"127.0.0.1:{fake_hub.port}" for r in pages)


def test_default_item_shape_has_no_all_time_downloads_and_a_model_id(fake_hub, hf_env):
    fake_hub.load([make_model("Qwen/Qwen2.5-7B", downloads=5, downloads_all_time=50)])
    response = httpx2.get(f"{fake_hub.url}/api/models")
    (item,) = response.json()
    assert set(item) == {
        "_id",
        "id",
        "likes",
        "trendingScore",
        "private",
        "downloads",
        "tags",
        "pipeline_tag",
        "library_name",
        "createdAt",
        "modelId",
    }
    assert response.headers["RateLimit"].startswith('"api";r=')
    assert response.headers["RateLimit-Policy"] == '"fixed window";"api";q=1000;w=300'


def test_expand_projects_only_the_requested_keys_and_rejects_detail_only_ones(fake_hub, hf_env):
    fake_hub.load([make_model("google/gemma", downloads_all_time=None)])
    api = HfApi(endpoint=fake_hub.url)
    (model,) = api.list_models(expand=["downloads", "downloadsAllTime", "createdAt"])
    assert model.downloads == 100 and model.downloads_all_time is None and model.likes is None
    assert model.created_at == dt.datetime(2022, 3, 2, 23, 29, 4, tzinfo=dt.UTC)
    with pytest.raises(BadRequestError):
        list(api.list_models(expand=["baseModels"]))
    with pytest.raises(BadRequestError):
        list(api.list_models(expand=["notAKey"]))


def test_author_search_and_filter_narrow_the_listing(fake_hub, hf_env):
    fake_hub.load(
        [
            make_model("Qwen/a", pipeline_tag="text-generation"),
            make_model("qwen/b-gguf", library_name="gguf"),
            make_model("google/c", pipeline_tag="text-to-image"),
        ]
    )
    api = HfApi(endpoint=fake_hub.url)
    assert sorted(m.id for m in api.list_models(author="Qwen")) == ["Qwen/a", "qwen/b-gguf"]
    assert [m.id for m in api.list_models(search="GGUF")] == ["qwen/b-gguf"]
    assert [m.id for m in api.list_models(filter=["text-to-image", "transformers"])] == ["google/c"]


def test_model_info_with_base_models_and_missing_repo(fake_hub, hf_env):
    fake_hub.load([make_model("unsloth/q-GGUF", base_models=["Qwen/q"], relation="quantized")])
    api = HfApi(endpoint=fake_hub.url)
    info = api.model_info("unsloth/q-GGUF", expand=["baseModels", "downloadsAllTime"])
    assert info.base_models == {
        "relation": "quantized",
        "models": [{"_id": info.base_models["models"][0]["_id"], "id": "Qwen/q"}],
    }
    assert api.model_info("unsloth/q-GGUF", revision="main").id == "unsloth/q-GGUF"
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("nobody/nothing")


def test_agent_harnesses_and_unknown_paths_are_404(fake_hub):
    assert httpx2.get(f"{fake_hub.url}/api/agent-harnesses").status_code == 404
    assert httpx2.get(f"{fake_hub.url}/no/such/thing").status_code == 404


def test_injected_faults_are_used_once_each_in_order(fake_hub, hf_env, no_sleep):
    fake_hub.load(make_models(5))
    fake_hub.inject(
        "list", [Fault.status(503), Fault.rate_limited(retry_after=True), Fault.short_body()], page=1
    )
    assert len(list(HfApi(endpoint=fake_hub.url).list_models())) == 5
    assert [r.fault for r in fake_hub.requests_to("list")] == ["status", "status", "short_body", None]
    assert [r.status for r in fake_hub.requests_to("list")] == [503, 429, 200, 200]
    assert no_sleep.waits == [1, 1.0, 4]  # exponential 1, then RateLimit t=0 -> 1 s, then exponential 4
    assert fake_hub.pending_faults() == 0


def test_unretried_faults_reach_the_caller(fake_hub, hf_env, no_sleep):
    fake_hub.load(make_models(3))
    api = HfApi(endpoint=fake_hub.url)
    fake_hub.inject("list", Fault.broken_json(), page=1)
    with pytest.raises(ValueError):  # JSONDecodeError
        list(api.list_models())
    fake_hub.inject("list", Fault.missing_id(), page=1)
    with pytest.raises(KeyError):
        list(api.list_models())
    fake_hub.inject("model", Fault.status(500), model_id=next(iter(fake_hub.models)))
    with pytest.raises(HfHubHTTPError):
        api.model_info(next(iter(fake_hub.models)))  # model_info has no retry


def test_keyset_cursor_skips_a_model_whose_downloads_change_mid_crawl(fake_hub, hf_env):
    fake_hub.load([make_model(f"org/m{i}", downloads=100 - i) for i in range(4)])
    fake_hub.max_page_size = 2
    pages = HfApi(endpoint=fake_hub.url).list_models(sort="downloads")
    first_two = [next(pages).id, next(pages).id]
    fake_hub.models["org/m3"]["downloads"] = 1000  # jumps above the cursor: the crawl never sees it
    assert first_two + [m.id for m in pages] == ["org/m0", "org/m1", "org/m2"]


def test_custom_routes_get_rate_limit_headers_and_faults(fake_hub):
    from tests.fakehub import FakeResponse

    fake_hub.add_route(
        "GET",
        r"^/api/datasets/(?P<repo>.+)$",
        lambda r: FakeResponse.json({"id": r.match["repo"]}),
        name="dataset",
    )
    fake_hub.inject("dataset", Fault.status(502))
    assert httpx2.get(f"{fake_hub.url}/api/datasets/a/b").status_code == 502
    response = httpx2.get(f"{fake_hub.url}/api/datasets/a/b")
    assert response.json() == {"id": "a/b"} and "RateLimit" in response.headers


def test_dates_use_the_hub_format():
    assert hub_date(dt.datetime(2024, 9, 16, 11, 55, 40, 123456, tzinfo=dt.UTC)) == "2024-09-16T11:55:40.123Z"


def test_standalone_server_prints_its_url_and_serves(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakehub", "--models", "30", "--page-size", "7"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert len(httpx2.get(f"{url}/api/models").json()) == 7
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_fake_hub_as_context_manager_frees_its_port():
    with FakeHub(make_models(2)) as hub:
        url = hub.url
        assert httpx2.get(f"{url}/api/models").status_code == 200
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"{url}/api/models")
