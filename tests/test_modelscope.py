"""The ModelScope channel against a fake ModelScope on loopback (tests/fakemodelscope.py): snapshots exact
through every fault, resumable after kill -9, attributed to the organisation behind the weights."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from pipelines.channels import channel_store
from pipelines.channels.attribution import (
    MIRROR_HUB_ID,
    MIRROR_NAME,
    OFFICIAL,
    UNMATCHED,
    attribute_all,
    coverage,
)
from pipelines.channels.modelscope import (
    Namespace,
    NamespaceTableError,
    load_namespaces,
    take_modelscope_snapshot,
)
from pipelines.registry import UNATTRIBUTED_ORG, load_registry
from pipelines.store import Store
from pipelines.verify import verify_store
from tests.fakemodelscope import BIG_OWNER, FakeModelScope, MSFault, make_world, ms_model, trap
from tests.ops_support import run_cli

DAY = dt.date(2026, 12, 1)
OWNERS = [
    Namespace("Qwen", "Qwen", "test", ""),
    Namespace("deepseek-ai", "deepseek-ai", "test", ""),
    Namespace("ZhipuAI", "zai-org", "test", ""),
    Namespace(BIG_OWNER, "Alibaba-NLP", "test", ""),
    Namespace("LLM-Research", "mirror", "test", ""),
    Namespace("AI-ModelScope", "mirror", "test", ""),
]


@pytest.fixture
def fake() -> Iterator[FakeModelScope]:
    server = FakeModelScope(make_world()).start()
    try:
        yield server
    finally:
        server.stop()


def frame(store: Store, date: dt.date = DAY) -> pd.DataFrame:
    """A published ModelScope snapshot without its read times (they differ between runs by nature)."""
    data = channel_store(store, "modelscope").read_snapshot(date)
    return data.drop(columns=["fetched_at"]).sort_values("channel_model_id", ignore_index=True)


def expected_rows(fake: FakeModelScope) -> dict[str, int]:
    """The fake's models of the crawled owners (exact owner match), with their downloads."""
    owners = {row.owner.lower() for row in OWNERS}
    return {m["id"]: m["downloads"] for m in fake.models.values() if m["id"].split("/")[0].lower() in owners}


def test_a_snapshot_equals_the_fakes_data_through_every_fault(tmp_path: Path, fake: FakeModelScope) -> None:
    trap(fake)
    fake.faults.extend([MSFault("429", 1)] * 3 + [MSFault("5xx")] * 3 + [MSFault("stall", 5)])
    fake.insert_after = (2, ms_model("Qwen/Qwen-new", 42, minute=999_999))  # lands on page 1, already read
    waits: list[float] = []
    result = take_modelscope_snapshot(
        Store(tmp_path), DAY, OWNERS, endpoint=fake.url, timeout=1, min_interval=0, sleep=waits.append
    )

    data = frame(Store(tmp_path))
    want = expected_rows(fake)
    # by hand: Qwen 120 + the inserted one, deepseek-ai 7, ZhipuAI 5, iic 3,120, mirrors 5 + 2
    assert len(want) == 121 + 7 + 5 + 3120 + 7 == len(data) == result.rows
    assert dict(zip(data["channel_model_id"], data["value"], strict=True)) == want
    assert want["Qwen/Qwen-new"] == 42 and "Qwen-community/Qwen-000-GGUF" not in want
    assert set(data["metric"]) == {"downloads"} and set(data["semantics"]) == {"cumulative"}
    assert waits[:3] == [1.0, 1.0, 1.0], "the 429 storm waited for Retry-After"
    stats = result.stats
    assert (stats.rate_limited, stats.server_errors, stats.timeouts) == (3, 3, 1)

    pages = [parse_qs(urlsplit(r).query) for r in fake.requests if urlsplit(r).path == "/openapi/v1/models"]
    assert all(int(q["page_number"][0]) * int(q["page_size"][0]) <= 3000 for q in pages), "past the cap"
    assert not [r for r in fake.requests if r.startswith("/api/")], "the legacy surface is never asked"

    links = dict(zip(data["channel_model_id"], data["hub_model_id"], strict=True))
    assert links["LLM-Research/Meta-Llama-3-8B"] == "meta-llama/Meta-Llama-3-8B"
    assert links["LLM-Research/Phi-3-mini-4k-instruct"] == "microsoft/Phi-3-mini-4k-instruct"
    assert pd.isna(links["LLM-Research/Llama-Guard-3-8B"]), "a 404 of the OpenAPI is not followed to legacy"
    assert pd.isna(links["Qwen/Qwen-000"])

    provenance = channel_store(Store(tmp_path), "modelscope").provenance(DAY)
    owners = {o["owner"]: o for o in provenance["owners"]}
    assert owners["Qwen"]["passes"] == 2, "the insertion mid-crawl left a gap, closed by a second pass"
    assert owners["Qwen"]["total_count"] == 122  # 121 of its own + Qwen-community matched by `owner=`
    assert owners[BIG_OWNER]["partitions"][1:] == [
        "task:auto-speech-recognition", "task:ocr-recognition", "task:text-generation"
    ]
    assert owners[BIG_OWNER]["rows"] == owners[BIG_OWNER]["total_count"] == 3120
    assert provenance["requests"] == len(fake.requests)
    assert provenance["channel"] == "modelscope" and "terms" in provenance["licence"]
    assert provenance["source"]["endpoint"] == fake.url
    assert verify_store(channel_store(Store(tmp_path), "modelscope")).problems == []


def test_a_listing_that_cannot_be_proved_complete_publishes_nothing(
    tmp_path: Path, fake: FakeModelScope
) -> None:
    for i in range(3001):  # over the cap, and no task to split by
        fake.models[f"Bare/m-{i}"] = ms_model(f"Bare/m-{i}", i, tasks=())
    result = None
    with pytest.raises(Exception, match="cannot be proved complete"):
        result = take_modelscope_snapshot(
            Store(tmp_path), DAY, [Namespace("Bare", "mirror", "t", "")], endpoint=fake.url, min_interval=0
        )
    assert result is None and channel_store(Store(tmp_path), "modelscope").dates() == []


def test_the_namespace_table_is_checked_like_the_registry(tmp_path: Path) -> None:
    registry = load_registry()
    shipped = {row.owner: row.namespace for row in load_namespaces(registry)}
    for owner in ("Qwen", "deepseek-ai", "ZhipuAI", "Shanghai_AI_Laboratory", "moonshotai", "MiniMax",
                  "baichuan-inc", "01ai", "OpenBMB", "stepfun-ai"):
        assert registry.lookup(shipped[owner]).country == "CN", owner
    assert shipped["LLM-Research"] == shipped["AI-ModelScope"] == "mirror"
    bad = tmp_path / "ns.csv"
    bad.write_text(
        "owner,namespace,source,notes\nQwen,Qwen,s,\nqwen,Qwen,s,\nX,no-such-org,s,\nY,mirror,,\n"
        "bad owner!,mirror,s,\n", encoding="utf-8"
    )
    with pytest.raises(NamespaceTableError) as raised:
        load_namespaces(registry, bad)
    lines = [str(p) for p in raised.value.problems]
    assert [line.split(": ")[0] for line in lines] == [f"{bad}:{n}" for n in (3, 4, 5, 6)]
    assert "duplicate owner" in lines[0] and "no-such-org" in lines[1] and "no source" in lines[2]



def test_the_namespace_table_reads_its_rows_with_the_registrys_rule(tmp_path: Path) -> None:
    """Header, column count and spaces are judged by the registry's CSV rule, with its wording."""
    registry = load_registry()
    table = tmp_path / "ns.csv"
    table.write_text("owner,ns\nQwen,Qwen,s,\n", encoding="utf-8")
    with pytest.raises(NamespaceTableError) as raised:
        load_namespaces(registry, table)
    assert [str(p) for p in raised.value.problems] == [
        f"{table}:1: missing or wrong header 'owner,ns': the first line must be owner,namespace,source,notes"
    ]
    table.write_text("owner,namespace,source,notes\n\nQwen,Qwen,s\n Qwen , Qwen ,s,\n", encoding="utf-8")
    with pytest.raises(NamespaceTableError) as raised:
        load_namespaces(registry, table)
    assert [str(p) for p in raised.value.problems] == [  # line 2 is blank; line 4 is only a warning
        f"{table}:3: 3 columns, expected 4 (owner,namespace,source,notes); quote fields that contain commas"
    ]
    table.write_text("owner,namespace,source,notes\n Qwen , Qwen ,s,\n", encoding="utf-8")
    assert load_namespaces(registry, table) == [Namespace("Qwen", "Qwen", "s", "")]

def test_mirrors_count_for_the_original_organisations_country(tmp_path: Path, fake: FakeModelScope) -> None:
    trap(fake)
    take_modelscope_snapshot(Store(tmp_path), DAY, OWNERS, endpoint=fake.url, min_interval=0)
    data = channel_store(Store(tmp_path), "modelscope").read_snapshot(DAY)
    hub = [  # the Hub models the name match sees: the originals and a later re-upload by another org
        ("meta-llama/Meta-Llama-3-8B", dt.datetime(2024, 4, 17, tzinfo=dt.UTC)),
        ("google/gemma-2-9b", dt.datetime(2024, 6, 24, tzinfo=dt.UTC)),
        ("unsloth/gemma-2-9b", dt.datetime(2024, 7, 1, tzinfo=dt.UTC)),
        ("mistralai/Mistral-7B-Instruct-v0.2", dt.datetime(2023, 12, 11, tzinfo=dt.UTC)),
        ("Qwen/Qwen2.5-7B-Instruct", dt.datetime(2024, 9, 16, tzinfo=dt.UTC)),
        ("someone/Obscure-Model-7B", None),  # an unregistered namespace: no attribution from it
    ]
    result = attribute_all(
        zip(data["channel_model_id"], data["hub_model_id"], strict=True), OWNERS, load_registry(), hub
    )
    by_id = {a.channel_model_id: a for a in result}
    assert (by_id["LLM-Research/Meta-Llama-3-8B"].country, by_id["LLM-Research/Meta-Llama-3-8B"].method) == (
        "US", MIRROR_HUB_ID)
    assert by_id["LLM-Research/gemma-2-9b"].upstream == "google/gemma-2-9b", "the earliest of two orgs"
    assert by_id["LLM-Research/gemma-2-9b"].method == MIRROR_NAME
    assert by_id["AI-ModelScope/Mistral-7B-Instruct-v0.2"].country == "FR"
    assert by_id["AI-ModelScope/Qwen2.5-7B-Instruct"].country == "CN"
    assert by_id["LLM-Research/Phi-3-mini-4k-instruct"].organization == "Microsoft"
    assert by_id["LLM-Research/Llama-Guard-3-8B"].method == UNMATCHED, "no link read, no Hub model by name"
    assert by_id["LLM-Research/Obscure-Model-7B"].country == UNATTRIBUTED_ORG
    zhipu = by_id["ZhipuAI/glm-0"]
    assert (zhipu.organization, zhipu.country, zhipu.method) == ("Z.ai (Zhipu AI)", "CN", OFFICIAL)

    downloads = dict(zip(data["channel_model_id"], data["value"], strict=True))
    facts = coverage(result, downloads)
    # by hand: unattributed = Llama-Guard 2,500 + Obscure 600; all = the fake's total
    total = sum(expected_rows(fake).values())
    assert facts["downloads_unattributed"] == 3100 and facts["models_unattributed"] == 2
    assert facts["share_attributed"] == pytest.approx((total - 3100) / total)


# ------------------------------------------------------------------------------------------ kill -9, resume

SMALL_OWNERS = [row for row in OWNERS if row.owner != BIG_OWNER]


def _run(root: str, url: str) -> None:
    take_modelscope_snapshot(Store(Path(root)), DAY, SMALL_OWNERS, endpoint=url, timeout=5, min_interval=0.01)


def test_kill_9_at_random_points_then_resume_gives_the_same_snapshot(
    tmp_path: Path, fake: FakeModelScope
) -> None:
    for model_id in [m for m in fake.models if m.startswith(BIG_OWNER)]:
        del fake.models[model_id]  # keep the world small: each run a few dozen requests
    fork = multiprocessing.get_context("fork")
    reference = Store(tmp_path / "ref")
    process = fork.Process(target=_run, args=(str(reference.root), fake.url))
    process.start()
    process.join(60)
    assert process.exitcode == 0
    store = Store(tmp_path / "store")
    rng = random.Random(20261204)
    kills = 0
    for attempt in range(6):  # five runs killed at a random request (unless done), then one free run
        before = len(fake.requests)
        process = fork.Process(target=_run, args=(str(store.root), fake.url))
        process.start()
        stop_at = before + rng.randint(1, 6) if attempt < 5 else None  # an owner is 1-6 requests
        while process.is_alive() and (stop_at is None or len(fake.requests) < stop_at):
            time.sleep(0.001)
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.join(60)
        assert verify_store(channel_store(store, "modelscope")).problems == []
        if channel_store(store, "modelscope").has_snapshot(DAY):
            break
    assert kills >= 3
    pd.testing.assert_frame_equal(frame(store), frame(reference))
    assert not channel_store(store, "modelscope").staging_dir(DAY).exists()


def test_the_cli_snapshot_verify_and_status_cover_the_channel(tmp_path: Path) -> None:
    registry = load_registry()
    shipped = load_namespaces(registry)
    models = [ms_model(f"{row.owner}/model-{n}", 10 * n + 1, minute=n) for row in shipped for n in range(2)]
    server = FakeModelScope(models).start()
    secret = "ms-secret-token-0123456789"
    env = {"MODELSCOPE_ENDPOINT": server.url, "MODELSCOPE_API_TOKEN": secret, "MODELSCOPE_MIN_INTERVAL": "0",
           "OWT_STORE": str(tmp_path / "store")}
    try:
        done = run_cli("snapshot", "--channel", "modelscope", "--date", DAY.isoformat(), "--quiet", env=env)
        assert done.returncode == 0, done.stderr
        assert f"{2 * len(shipped)} models" in done.stdout
        again = run_cli("snapshot", "--channel", "modelscope", "--date", DAY.isoformat(), env=env)
        assert "already in the store" in again.stdout
    finally:
        server.stop()
    hub_only = run_cli("snapshot", "--channel", "modelscope", "--full", env=env)
    assert hub_only.returncode == 2 and "apply to the Hub only" in hub_only.stderr
    verified = run_cli("verify", env=env)
    assert verified.returncode == 0 and "1 snapshots" in verified.stdout, verified.stdout
    status = run_cli("status", "--json", env=env)
    facts = json.loads(status.stdout)
    assert facts["channels"]["modelscope"]["latest"] == DAY.isoformat()
    assert "channel      modelscope: 1 snapshots" in run_cli("status", env=env).stdout
    part = next((tmp_path / "store" / "channels" / "modelscope" / "snapshots").glob("date=*/part-*.parquet"))
    target = part.parent / "provenance.json"
    target.write_text(target.read_text().replace(part.name, "part-x.parquet"))
    assert run_cli("verify", env=env).returncode == 1, "a damaged channel snapshot fails verify"
    everything = "".join(p.read_text(errors="replace") for p in (tmp_path / "store").rglob("*") if p.is_file()
                         and p.suffix != ".parquet")
    assert secret not in everything + done.stdout + done.stderr


def test_the_scheduler_takes_the_modelscope_snapshot_daily_by_default() -> None:
    from pipelines.schedule import load_jobs

    jobs = {job.name: job for job in load_jobs(None, "30 2 * * *")}
    assert jobs["snapshot-modelscope"].args == ("--channel", "modelscope", "--date", "{date}")
    assert jobs["snapshot-modelscope"].cron == "30 2 * * *" and jobs["snapshot"].args == ("--date", "{date}")


def test_status_is_unhealthy_when_the_channel_is_stale(tmp_path: Path) -> None:
    from pipelines.status import collect, healthy
    from tests.ops_support import publish_small_snapshot

    store = Store(tmp_path / "store")
    today = dt.datetime.now(dt.UTC).date()
    publish_small_snapshot(store, today)
    publish_small_snapshot(channel_store(store, "modelscope"), today - dt.timedelta(days=3))
    facts = collect(store, dt.timedelta(hours=36), 5)
    assert facts["fresh"] and not facts["channels"]["modelscope"]["fresh"] and not healthy(facts)
    publish_small_snapshot(channel_store(store, "modelscope"), today)
    assert healthy(collect(store, dt.timedelta(hours=36), 5))


def test_a_second_run_of_the_same_date_is_refused_while_one_holds_it(tmp_path: Path) -> None:
    """One writer per date and channel (`Store.lock_date`): a second run fails at once, saying why."""
    from pipelines.channels.openrouter import Client, pull
    from pipelines.store import StoreError

    store = Store(tmp_path)
    for channel, run, writer in [
        ("modelscope", lambda: take_modelscope_snapshot(store, DAY, OWNERS, endpoint="http://127.0.0.1:9"),
         "ModelScope run"),
        ("openrouter", lambda: pull(store, DAY, Client("key", "http://127.0.0.1:9")), "OpenRouter pull"),
    ]:
        held = channel_store(store, channel).lock_date(DAY, "test")
        try:
            with pytest.raises(StoreError, match=f"another {writer} for {DAY} is in progress on "):
                run()
        finally:
            held.release()
        assert not channel_store(store, channel).staging_dir(DAY).exists(), "nothing was staged"
