"""Downloads by channel, computed by hand: Hub snapshots written by hand, ModelScope snapshots taken from the
fake ModelScope on two dates; per-period differencing, charts with and without ModelScope, the channel
control in URLs, the command line and exports."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest

from dashboards import channels
from dashboards.charts import chart_ids, render_chart
from dashboards.filters import Filters
from pipelines.channels.modelscope import Namespace, take_modelscope_snapshot
from pipelines.store import Store
from tests.fakemodelscope import FakeModelScope, ms_model
from tests.snapshots import model, write_snapshot

FIRST, SECOND = dt.date(2026, 3, 1), dt.date(2026, 3, 11)
OWNERS = [Namespace("Qwen", "Qwen", "t", ""), Namespace("LLM-Research", "mirror", "t", "")]
LLAMA_LINK = "https://huggingface.co/meta-llama/Meta-Llama-3-8B"
NEW_MINUTE = (dt.date(2026, 3, 6) - dt.date(2025, 1, 1)).days * 1440  # created 2026-03-06


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Hub: Qwen3-8B 1,000 -> 1,500 (CN), Meta-Llama-3-8B 2,000 -> 2,300 (US).
    ModelScope: Qwen-A 100 -> 400, Qwen-B 500 -> 450 (a decrease), Qwen-C new on 2026-03-06 with 60,
    the Llama mirror 50 -> 250 (US by its link), an unknown mirror 10 -> 30 (unattributed)."""
    held = Store(tmp_path_factory.mktemp("channels") / "store")
    for date, qwen, llama in ((FIRST, 1000, 1500), (SECOND, 1500, 1800)):
        write_snapshot(held, date, [
            model("Qwen/Qwen3-8B", downloads_all_time=qwen),
            model("meta-llama/Meta-Llama-3-8B", downloads_all_time=llama + 500),
        ])
    first = [
        ms_model("Qwen/Qwen-A", 100), ms_model("Qwen/Qwen-B", 500),
        ms_model("LLM-Research/Meta-Llama-3-8B", 50, readme=LLAMA_LINK),
        ms_model("LLM-Research/Unknown-Model", 10),
    ]
    fake = FakeModelScope(first).start()
    try:
        take_modelscope_snapshot(held, FIRST, OWNERS, endpoint=fake.url, min_interval=0)
        for model_id, value in (("Qwen/Qwen-A", 400), ("Qwen/Qwen-B", 450),
                                ("LLM-Research/Meta-Llama-3-8B", 250), ("LLM-Research/Unknown-Model", 30)):
            fake.models[model_id]["downloads"] = value
        fake.models["Qwen/Qwen-C"] = ms_model("Qwen/Qwen-C", 60, minute=NEW_MINUTE)
        take_modelscope_snapshot(held, SECOND, OWNERS, endpoint=fake.url, min_interval=0)
    finally:
        fake.stop()
    return held


def test_modelscope_periods_come_from_differencing_with_the_hubs_rules(store: Store) -> None:
    per_day = channels.daily(store)
    days = {(m, d): n for m, d, n in per_day.itertuples(index=False)}
    # by hand: Qwen-A +300 over the 10 days 03-01..03-10 (day-label rule: the 03-11 snapshot holds to 03-10)
    assert [days[("Qwen/Qwen-A", dt.date(2026, 3, d))] for d in range(1, 11)] == [30] * 10
    assert not [k for k in days if k[0] == "Qwen/Qwen-B"], "a decrease counts as zero (clamping rule)"
    # new on 03-06, first seen with 60: 60 over 03-06..03-10 = 12 a day (first-seen rule)
    assert [days[("Qwen/Qwen-C", dt.date(2026, 3, d))] for d in range(6, 11)] == [12] * 5
    assert sum(n for (m, _), n in days.items() if m == "LLM-Research/Meta-Llama-3-8B") == 200
    assert len(per_day) == 10 + 5 + 10 + 10  # A, C, the Llama mirror, the unknown mirror


def test_downloads_by_channel_never_sums_channels(warehouse) -> None:
    data = channels.downloads_by_channel(warehouse, Filters(channel="all"))
    got = {(c, k): n for _, c, k, n in data.itertuples(index=False)}
    # by hand, March 2026: Hub CN 500, US 300; ModelScope CN 300 + 60, US 200 (the mirror), unattributed 20
    assert got == {("hf", "CN"): 500, ("hf", "US"): 300, ("modelscope", "CN"): 360,
                   ("modelscope", "US"): 200, ("modelscope", "Unattributed"): 20}
    only_hub = channels.downloads_by_channel(warehouse, Filters())
    assert set(only_hub["channel"]) == {"hf"}


def test_china_vs_us_share_with_and_without_modelscope(warehouse) -> None:
    data = channels.china_us_share(warehouse, Filters())
    got = {(b, c): s for _, b, c, _, s in data.itertuples(index=False)}
    # by hand: Hub alone 500 and 300 of 800; with ModelScope 860 and 500 of 800 + 580 = 1,380
    assert got[("Hugging Face", "CN")] == pytest.approx(500 / 800)
    assert got[("Hugging Face", "US")] == pytest.approx(300 / 800)
    assert got[(channels.COMBINED, "CN")] == pytest.approx(860 / 1380)
    assert got[(channels.COMBINED, "US")] == pytest.approx(500 / 1380)


def test_each_organisation_by_channel(warehouse) -> None:
    data = channels.organisations_by_channel(warehouse, Filters(channel="all"))
    got = {(o, c): n for o, _, c, n in data.itertuples(index=False)}
    assert got == {("Alibaba Cloud (Qwen team)", "hf"): 500, ("Alibaba Cloud (Qwen team)", "modelscope"): 360,
                   ("Meta", "hf"): 300, ("Meta", "modelscope"): 200}


def test_the_charts_name_their_channels_in_title_legend_and_source(warehouse) -> None:
    assert {"downloads-by-channel", "china-us-share-by-channel", "organisation-downloads-by-channel"} <= set(
        chart_ids())
    share = render_chart("china-us-share-by-channel", warehouse, Filters())
    assert share.title == "China vs US, Hugging Face + ModelScope downloads"
    assert {t.name.removesuffix(" (incomplete)") for t in share.figure.data} == {
        "China, Hugging Face", "United States, Hugging Face",
        "China, Hugging Face + ModelScope", "United States, Hugging Face + ModelScope"}
    assert "Channels: Hugging Face, ModelScope." in share.source and "ModelScope OpenAPI" in share.source
    bars = render_chart("downloads-by-channel", warehouse, Filters(channel="all"))
    names = {t.name.removesuffix(" (incomplete)") for t in bars.figure.data if t.name}
    assert names == {"China, Hugging Face", "United States, Hugging Face", "China, ModelScope",
                     "United States, ModelScope", "Unattributed, ModelScope"}
    hub_only = render_chart("downloads-by-channel", warehouse, Filters())
    assert "ModelScope" not in hub_only.source and "Channels: Hugging Face." in hub_only.source
    assert "Downloads by channel" in share.subtitle or "never added" in share.subtitle


def test_the_channel_control_in_urls_the_command_line_and_exports(warehouse) -> None:
    from dashboards.__main__ import build_parser, filters_from_args
    from dashboards.state import parse_search, to_search

    assert parse_search("?channel=all")[0].channel == "all"
    assert to_search(Filters(channel="modelscope")) == "?channel=modelscope"
    assert "channel='tokens'" in parse_search("?channel=tokens")[1][0]
    args = build_parser().parse_args(["export", "--chart", "downloads-by-channel", "--channel", "all"])
    assert filters_from_args(args)[0].channel == "all"

    from dashboards.charts import source_info
    from dashboards.export import chart_package

    view = Filters(channel="all")
    package = chart_package([render_chart("downloads-by-channel", warehouse, view)], view,
                            source_info(warehouse, view))
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        metadata = json.loads(archive.read("metadata.json"))
    assert metadata["filters"]["channel"] == "all" and metadata["channels"] == ["hf", "modelscope"]
    assert metadata["charts"][0]["channels"] == ["hf", "modelscope"]


def test_the_overview_and_methodology_show_the_channels(store: Store, warehouse) -> None:
    from app import create_app
    from tests.app_render import card_specs, render_card, render_page

    client = create_app(store).server.test_client()
    overview = render_page(client, "/", "?channel=all")
    cards = {card["chart"]: card for card in card_specs(overview)}
    assert {"china-us-share-by-channel", "downloads-by-channel"} <= set(cards)
    drawn = render_card(client, cards["downloads-by-channel"], {"channel": "all"})
    assert "ModelScope" in json.dumps(drawn)
    methodology = render_page(client, "/methodology")
    assert "Channels: where downloads are counted" in methodology
    # by hand: 5 ModelScope models in the latest snapshot, all attributed but Unknown-Model (30 of
    # 400 + 450 + 60 + 250 + 30 = 1,190 cumulative downloads): 1,160 / 1,190 = 97.5%
    assert "5 models, 97.5% of their cumulative downloads attributed" in methodology


def test_dates_beside_every_snapshot_give_empty_channel_charts(warehouse) -> None:
    view = Filters(start=dt.date(2030, 1, 1), channel="all")
    for chart_id in channels.CHANNEL_CHARTS:
        assert render_chart(chart_id, warehouse, view).data.empty, chart_id
