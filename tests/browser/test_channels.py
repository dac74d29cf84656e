"""The channel control in a real browser: over a store with ModelScope snapshots (taken from the fake), the
Overview shows the channel charts and the Channel control; choosing "Both" puts `channel=all` in the URL and
ModelScope's series, named, on the downloads-by-channel chart; other pages hide the control."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from pipelines.channels.modelscope import Namespace, take_modelscope_snapshot
from tests.browser.conftest import served
from tests.browser.support import small_demo_store, store_end
from tests.browser.test_pages import chart, wait_for_charts
from tests.fakemodelscope import FakeModelScope, ms_model

pytestmark = pytest.mark.browser

CHANNEL_CHARTS = ("china-us-share-by-channel", "downloads-by-channel")


@pytest.fixture(scope="module")
def channel_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard over the small demo store plus two ModelScope snapshots ten days apart."""
    from app import create_app

    store = small_demo_store(tmp_path_factory.mktemp("channel-store"))
    owners = [Namespace("Qwen", "Qwen", "t", ""), Namespace("LLM-Research", "mirror", "t", "")]
    link = "https://huggingface.co/meta-llama/Meta-Llama-3-8B"
    fake = FakeModelScope([
        ms_model("Qwen/Qwen-A", 1000), ms_model("LLM-Research/Meta-Llama-3-8B", 500, readme=link)
    ]).start()
    try:
        end = store_end()
        first = end - dt.timedelta(days=10)
        take_modelscope_snapshot(store, first, owners, endpoint=fake.url, min_interval=0)
        fake.models["Qwen/Qwen-A"]["downloads"] = 9000
        fake.models["LLM-Research/Meta-Llama-3-8B"]["downloads"] = 4500
        take_modelscope_snapshot(store, end, owners, endpoint=fake.url, min_interval=0)
    finally:
        fake.stop()
    with served(create_app(store)) as url:
        yield url


def test_the_channel_control_shows_modelscope_beside_the_hub(app_page: Page, channel_app: str) -> None:
    page = app_page
    page.goto(channel_app + "/")
    wait_for_charts(page, CHANNEL_CHARTS)
    share = chart(page, "china-us-share-by-channel")
    expect(share.locator(".chart-title")).to_have_text("China vs US, Hugging Face + ModelScope downloads")
    expect(share.locator(".legend")).to_contain_text("China, Hugging Face + ModelScope")
    downloads = chart(page, "downloads-by-channel")
    expect(downloads.locator(".legend")).not_to_contain_text("ModelScope")

    control = page.locator("#control-channel")
    expect(control).to_be_visible()
    control.get_by_text("Both", exact=True).click()
    expect(page).to_have_url(re.compile(r"/\?channel=all$"))
    expect(downloads.locator(".legend")).to_contain_text("China, ModelScope")
    expect(downloads.locator(".legend")).to_contain_text("United States, ModelScope")
    expect(downloads.locator(".legend")).to_contain_text("China, Hugging Face")

    page.goto(channel_app + "/organisations?channel=all")
    expect(page.locator("#control-wrap-channel")).to_have_class(re.compile("control--hidden"))
