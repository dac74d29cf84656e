"""`python -m pipelines snapshot` and take_snapshot against the fake Hub: data contract, scope, atomicity."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.hub import HubPageError
from pipelines.schema import SNAPSHOT_SCHEMA
from pipelines.snapshot import CHECKPOINT_FILE, Scope, SnapshotError, take_snapshot
from pipelines.store import Store, StoreError, sha256_file
from tests.fakehub import Fault, _base_models, make_model, make_models

DATE = dt.date(2026, 11, 28)
ROOT = Path(__file__).resolve().parent.parent


def edge_models() -> list[dict]:
    """Models with every field the Hub may leave out, or fill oddly."""
    no_all_time = make_model(
        "Qwen/no-all-time", downloads=500, downloads_all_time=None, params_total=7_000_000
    )
    bare = make_model("Qwen/bare", downloads=0, pipeline_tag=None, library_name=None, gated="manual")
    bare.pop("lastModified")
    bare.pop("author")
    distilled = make_model(
        "someone/distilled", downloads=150, base_models=["deepseek-ai/DeepSeek-R1"], relation="distillation"
    )
    merged = make_model("someone/merge", downloads=120, base_models=["Qwen/a", "google/b"], relation="merge")
    return [no_all_time, bare, distilled, merged]


def hub_date(value: str | None) -> dt.datetime | None:
    return (
        None if value is None else dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    )


def expected_row(model: dict) -> dict:
    """What the snapshot must hold for a fake Hub model, computed straight from the Hub JSON."""
    base = _base_models(model) or {"relation": None, "models": []}
    safetensors = model.get("safetensors")
    gated = model.get("gated")
    return {
        "model_id": model["id"],
        "author": model["id"].split("/")[0],
        "downloads_30d": model.get("downloads"),
        "downloads_all_time": model.get("downloadsAllTime"),
        "likes": model.get("likes"),
        "created_at": hub_date(model.get("createdAt")),
        "last_modified": hub_date(model.get("lastModified")),
        "pipeline_tag": model.get("pipeline_tag"),
        "library_name": model.get("library_name"),
        "params_total": safetensors["total"] if safetensors else None,
        "gated": None if gated is None else str(gated).lower(),
        "tags": model.get("tags"),
        "base_models": [parent["id"] for parent in base["models"]],
        "base_relation": base["relation"],
        "hub_id": model["_id"],
    }


def snapshot_rows(store: Store, date: dt.date = DATE) -> list[dict]:
    files = store.data_files(date)
    return [row for f in files for row in pq.read_table(f).to_pylist()]


@pytest.fixture
def hub(fake_hub, hf_env):
    fake_hub.load(make_models(120, seed=11) + edge_models())
    fake_hub.max_page_size = 25
    return fake_hub


TWO_NAMESPACES = Scope(("Qwen", "unsloth"))


def snap(store: Store, scope: Scope = TWO_NAMESPACES, **kwargs) -> object:
    return take_snapshot(store, DATE, scope, page_size=25, **kwargs)


def test_snapshot_holds_exactly_what_the_hub_returned(hub, tmp_path):
    store = Store(tmp_path / "store")
    result = snap(store, Scope(("Qwen", "unsloth"), min_downloads=100))
    in_scope = [
        m
        for m in hub.models.values()
        if m["id"].split("/")[0].lower() in {"qwen", "unsloth"} or m["downloads"] >= 100
    ]
    assert snapshot_rows(store) == sorted((expected_row(m) for m in in_scope), key=lambda r: r["model_id"])
    assert result.rows == len(in_scope)
    assert pq.read_schema(store.data_files(DATE)[0]) == SNAPSHOT_SCHEMA


def test_missing_values_stay_null_not_zero(hub, tmp_path):
    store = Store(tmp_path / "store")
    snap(store)
    rows = {r["model_id"]: r for r in snapshot_rows(store)}
    assert rows["Qwen/no-all-time"]["downloads_all_time"] is None
    assert rows["Qwen/bare"]["downloads_30d"] == 0
    assert (
        rows["Qwen/bare"]["last_modified"],
        rows["Qwen/bare"]["pipeline_tag"],
        rows["Qwen/bare"]["params_total"],
    ) == (
        None,
        None,
        None,
    )
    assert rows["Qwen/bare"]["gated"] == "manual" and rows["Qwen/bare"]["author"] == "Qwen"
    assert (rows["someone/distilled"]["base_relation"], rows["someone/merge"]["base_models"]) == (
        "distillation",
        ["Qwen/a", "google/b"],
    )


def test_provenance_describes_source_scope_counts_and_files(hub, tmp_path, no_sleep):
    store = Store(tmp_path / "store")
    hub.inject("list", [Fault.status(503), Fault.missing_id(index=2)], page=1, author="Qwen")
    result = snap(store, Scope(("Qwen",), min_downloads=1000))
    record = store.provenance(DATE)
    assert record["source"] == {"kind": "hub-api", "endpoint": hub.url, "dataset": None, "revision": None}
    assert record["synthetic"] is False and record["date"] == "2026-11-28"
    assert record["scope"]["namespaces"] == ["Qwen"] and record["scope"]["min_downloads"] == 1000
    assert [p["name"] for p in record["scope"]["phases"]] == ["author:Qwen", "top"]
    assert record["requests"] == len(hub.requests) and record["retries"] == 1 and record["skipped"] == 1
    assert record["pages"] == result.stats.pages and record["rows"] == len(snapshot_rows(store))
    assert "KeyError: 'id'" in record["skipped_examples"][0]["error"]
    assert record["huggingface_hub_version"].startswith("2.")
    assert record["started_at"] <= record["finished_at"]
    (entry,) = record["files"]
    assert entry["sha256"] == sha256_file(store.data_files(DATE)[0])
    assert not store.staging_dir(DATE).exists()


def test_a_model_in_several_phases_appears_once(hub, tmp_path):
    store = Store(tmp_path / "store")
    snap(store, Scope(("Qwen",), min_downloads=0, full=True))
    ids = [r["model_id"] for r in snapshot_rows(store)]
    assert len(ids) == len(set(ids)) == len(hub.models)


def test_a_snapshot_of_many_id_ranges_is_the_same_as_one_done_at_once(hub, tmp_path, monkeypatch):
    """The final deduplication holds one model id range in memory at a time (flat memory at any size)."""
    scope = Scope(("Qwen", "google"), min_downloads=0, full=True)  # most models are fetched twice or more
    whole = Store(tmp_path / "whole")
    snap(whole, scope)
    monkeypatch.setattr("pipelines.snapshot._BUCKET_ROWS", 20)  # ~300 rows fetched: ~15 ranges
    ranges = Store(tmp_path / "ranges")
    snap(ranges, scope)
    assert snapshot_rows(ranges) == snapshot_rows(whole)
    assert len(snapshot_rows(ranges)) == len(hub.models)


def test_the_top_listing_stops_at_the_download_floor(hub, tmp_path, monkeypatch):
    # Decoding waits (normally at most 50 ms) for the next request to be out: here, however loaded the
    # machine, so the request past the floor is always sent.
    monkeypatch.setattr("pipelines.hub.SEND_WAIT", 10.0)
    store = Store(tmp_path / "store")
    snap(store, Scope((), min_downloads=100))
    above = sum(m["downloads"] >= 100 for m in hub.models.values())
    assert len(snapshot_rows(store)) == above
    pages_to_the_floor = above // 25 + 1
    # Requests run a page ahead of decoding: the one or two past the floor are dropped, not stored.
    assert pages_to_the_floor + 1 <= len(hub.requests_to("list")) <= pages_to_the_floor + 2
    assert pages_to_the_floor + 2 < len(hub.models) / 25
    assert store.provenance(DATE)["pages"] == pages_to_the_floor


def test_a_page_of_invalid_json_fails_clearly_and_publishes_nothing(hub, tmp_path):
    store = Store(tmp_path / "store")
    hub.inject("list", Fault.broken_json(), page=2)
    hub.inject("list", Fault.stall(0.5), page=3)  # requested ahead while page 2 is decoded: still in flight
    with pytest.raises(HubPageError, match="not valid JSON"):
        snap(store, Scope((), min_downloads=0))
    assert store.dates() == [] and not store.snapshot_dir(DATE).exists()
    # The failed run waited for its last request: nothing of it goes on to break the next run's session.
    assert not [thread.name for thread in threading.enumerate() if thread.name.startswith("hub-")]
    first_run = len(hub.requests_to("list"))  # pages 1, 2 and perhaps 3, requested while 2 was decoded
    result = snap(store, Scope((), min_downloads=0))  # the same command again resumes at page 2
    assert result.rows == len(hub.models)
    second_run = hub.requests_to("list")[first_run:]
    assert len(second_run) == 4 and all(r.param("cursor") for r in second_run)  # page 1 was not fetched again


def test_a_finished_date_is_left_alone_and_force_replaces_it_only_when_complete(hub, tmp_path):
    store = Store(tmp_path / "store")
    snap(store)
    first = store.provenance(DATE)
    before = len(hub.requests)
    assert snap(store).path is None and len(hub.requests) == before  # no-op, not even a request

    hub.models["Qwen/no-all-time"]["downloadsAllTime"] = 777
    hub.inject("list", Fault.html(), page=1, author="unsloth")
    with pytest.raises(HubPageError):
        snap(store, force=True)
    assert store.provenance(DATE) == first  # the failed replacement left the old snapshot untouched
    assert sha256_file(store.data_files(DATE)[0]) == first["files"][0]["sha256"]

    snap(store, force=True)  # resumes the interrupted replacement and swaps it in
    rows = {r["model_id"]: r for r in snapshot_rows(store)}
    assert rows["Qwen/no-all-time"]["downloads_all_time"] == 777
    assert store.dates() == [DATE]


def test_a_second_run_of_the_same_date_is_refused_while_one_holds_it(hub, tmp_path):
    """One writer per date (`Store.lock_date`, shared with the channels): a second run fails at once, without
    a request to the Hub, and the first run's date is then taken normally."""
    store = Store(tmp_path / "store")
    held = store.lock_date(DATE, "test")
    try:
        with pytest.raises(StoreError, match=f"another snapshot run for {DATE} is in progress on "):
            snap(store)
    finally:
        held.release()
    assert hub.requests == [] and store.dates() == []
    snap(store)
    assert store.dates() == [DATE]


def test_a_scope_that_finds_nothing_publishes_nothing(fake_hub, hf_env, tmp_path):
    store = Store(tmp_path / "store")
    with pytest.raises(SnapshotError, match="no models"):
        take_snapshot(store, DATE, Scope(("nobody",), min_downloads=None))
    assert store.dates() == []


def test_a_different_scope_restarts_instead_of_mixing_runs(hub, tmp_path):
    store = Store(tmp_path / "store")
    hub.inject("list", Fault.broken_json(), page=1, author="unsloth")
    with pytest.raises(HubPageError):
        snap(store, Scope(("Qwen", "unsloth")))
    assert json.loads((store.staging_dir(DATE) / CHECKPOINT_FILE).read_text())["parts"] > 0
    snap(store, Scope(("google",), min_downloads=None))
    assert {r["author"] for r in snapshot_rows(store)} == {"google"}


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pipelines", "snapshot", *args],
        env=full_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_cli_help_explains_the_defaults():
    result = run_cli(["--help"], {})
    assert result.returncode == 0
    for text in (
        "--min-downloads",
        "default 100",
        "--full",
        "--store",
        "OWT_STORE",
        "--timeout",
        "default 60",
        "--force",
    ):
        assert text in result.stdout


def test_cli_prints_one_summary_line_and_never_the_token(hub, hf_env, tmp_path):
    secret = "hf_NeverLogMeTokenValue42"
    hub.inject("list", [Fault.status(503), Fault.missing_id()], page=1, author="Qwen")
    store = tmp_path / "store"
    args = ["--store", str(store), "--date", "2026-11-28", "--min-downloads", "200", "--timeout", "5"]
    result = run_cli(args, {**hf_env, "HF_TOKEN": secret})
    assert result.returncode == 0, result.stderr
    (summary,) = result.stdout.strip().splitlines()
    assert summary.startswith("snapshot 2026-11-28: ") and "1 retries, 1 skipped items" in summary
    assert {r.headers.get("authorization") for r in hub.requests_to("list")} == {f"Bearer {secret}"}
    written = "".join(p.read_text(errors="replace") for p in store.rglob("*") if p.is_file())
    assert secret not in result.stdout + result.stderr + written
    assert "503" in result.stderr  # the retry was reported, without the token


def test_cli_reports_a_bad_date_clearly(hf_env, tmp_path):
    result = run_cli(["--store", str(tmp_path), "--date", "28/11/2026"], hf_env)
    assert result.returncode == 1 and "not a date in YYYY-MM-DD form: '28/11/2026'" in result.stderr


def test_a_bad_field_never_drops_a_model_only_a_missing_id_does(fake_hub, hf_env, tmp_path):
    """Odd items served by the fake Hub, read through huggingface_hub's session: each bad value is stored
    as null and counted per field in the provenance, with an example; only the item without an id is lost."""
    odd = {
        "Qwen/st-total-only": {"safetensors": {"total": 1234}},
        "Qwen/st-string": {"safetensors": "7B"},
        "Qwen/st-total-only-2": {"safetensors": {"total": 99}},
        "Qwen/bad-date": {"createdAt": "2024-06-01"},
        "Qwen/tags-string": {"tags": "text-generation"},
        "Qwen/tags-mixed": {"tags": ["transformers", 3]},
        "Qwen/likes-text": {"likes": "lots"},
    }
    models = [make_model("Qwen/fine", downloads=10)]
    for i, (model_id, change) in enumerate(odd.items()):
        models.append({**make_model(model_id, downloads=20 + i), **change})
    newest = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)  # first in the listing (newest first): loses its id
    models.append(make_model("Qwen/no-id", downloads=5, created_at=newest))
    fake_hub.load(models)
    fake_hub.inject("list", Fault.missing_id(index=0), page=1, author="Qwen")
    store = Store(tmp_path / "store")
    take_snapshot(store, DATE, Scope(("Qwen",), min_downloads=None), page_size=100)  # one listing

    rows = {row["model_id"]: row for row in snapshot_rows(store)}
    served = {m["id"]: m for m in models}
    assert sorted(rows) == sorted(["Qwen/fine", *odd])  # every model but the one without an id
    for model_id in rows:
        assert rows[model_id]["downloads_30d"] == served[model_id]["downloads"]
        assert rows[model_id]["downloads_all_time"] == served[model_id]["downloadsAllTime"]
    assert rows["Qwen/st-total-only"]["params_total"] is None
    assert rows["Qwen/st-string"]["params_total"] is None
    assert rows["Qwen/bad-date"]["created_at"] is None
    assert rows["Qwen/bad-date"]["last_modified"] == hub_date(served["Qwen/bad-date"]["lastModified"])
    assert rows["Qwen/tags-string"]["tags"] is None and rows["Qwen/tags-mixed"]["base_models"] == []
    assert rows["Qwen/likes-text"]["likes"] is None and rows["Qwen/fine"] == expected_row(served["Qwen/fine"])

    provenance = store.provenance(DATE)
    assert provenance["skipped"] == 1 and "KeyError: 'id'" in provenance["skipped_examples"][0]["error"]
    assert provenance["nulled_fields"] == {"safetensors": 3, "createdAt": 1, "tags": 2, "likes": 1}
    examples = {e["field"]: e for e in provenance["nulled_examples"]}
    assert set(examples) == {"safetensors", "createdAt", "tags", "likes"}
    assert examples["safetensors"]["model_id"].startswith("Qwen/st-")
    assert examples["createdAt"] == {
        "field": "createdAt",
        "model_id": "Qwen/bad-date",
        "error": "ValueError: createdAt is '2024-06-01', not a Hub date (YYYY-MM-DDTHH:MM:SS.fffZ)",
    }
