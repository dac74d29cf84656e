"""Backfill of hub-stats dumps into ordinary snapshots: local files and folders, and a Hub dataset read
through the real huggingface_hub client from the fake Hub."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dashboards.filters import Filters
from dashboards.query import open_warehouse
from pipelines.__main__ import main
from pipelines.backfill import BackfillError, backfill
from pipelines.store import Store
from tests.hubstats import COMMIT, dump_row, serve_dataset, write_dump

JUNE_1, JUNE_8 = dt.date(2025, 6, 1), dt.date(2025, 6, 8)


def week(all_time: int, extra: int = 0) -> list[dict]:
    return [
        dump_row("Qwen/Qwen3-8B", all_time, params=8_190_000_000),
        dump_row("unsloth/Qwen3-8B-GGUF", 1000 + extra, parents=("Qwen/Qwen3-8B",), relation="quantized"),
        dump_row("meta-llama/Llama-3.1-8B", None),  # the dump has no all-time count for it
        {**dump_row("broken/row", 5), "id": None},  # unusable: no id
    ]


@pytest.fixture
def dumps(tmp_path: Path) -> Path:
    folder = tmp_path / "dumps" / "models"
    write_dump(folder / JUNE_1.isoformat() / "models.parquet", week(10_000))
    write_dump(folder / JUNE_8.isoformat() / "models.parquet", week(17_000, extra=70))
    return tmp_path / "dumps"


def test_a_local_folder_of_dumps_becomes_one_snapshot_per_date(dumps: Path, tmp_path: Path):
    store = Store(tmp_path / "store")
    report = backfill(store, str(dumps))
    assert report.imported == [JUNE_1, JUNE_8]
    assert (report.rows, report.skipped_rows) == (6, 2)
    snapshot = store.read_snapshot(JUNE_8).set_index("model_id")
    assert list(snapshot.index) == ["Qwen/Qwen3-8B", "meta-llama/Llama-3.1-8B", "unsloth/Qwen3-8B-GGUF"]
    assert snapshot.loc["Qwen/Qwen3-8B", "downloads_all_time"] == 17_000
    assert snapshot.loc["Qwen/Qwen3-8B", "params_total"] == 8_190_000_000
    assert snapshot.loc["Qwen/Qwen3-8B", "created_at"].isoformat() == "2024-05-01T10:00:00+00:00"
    assert list(snapshot.loc["unsloth/Qwen3-8B-GGUF", "base_models"]) == ["Qwen/Qwen3-8B"]
    assert snapshot.loc["unsloth/Qwen3-8B-GGUF", "base_relation"] == "quantized"
    assert snapshot["downloads_all_time"].isna().sum() == 1
    provenance = store.provenance(JUNE_8)
    assert provenance["source"]["kind"] == "backfill"
    assert provenance["source"]["revision"].startswith("sha256:")
    assert provenance["synthetic"] is False and provenance["skipped"] == 1


def test_backfill_is_idempotent_resumable_and_honours_the_date_range(dumps: Path, tmp_path: Path, capsys):
    store = Store(tmp_path / "store")
    args = ["backfill", "--source", str(dumps), "--store", str(store.root)]
    assert main([*args, "--to", "2025-06-05"]) == 0
    assert store.dates() == [JUNE_1]
    assert main(args) == 0
    assert store.dates() == [JUNE_1, JUNE_8]
    assert "imported 1 snapshot(s)" in capsys.readouterr().out.splitlines()[-1]
    assert main(args) == 0
    assert "imported 0 snapshot(s), 0 rows (0 unusable rows skipped), 2 date(s) already present" in (
        capsys.readouterr().out
    )


def test_weekly_dumps_give_daily_series_by_the_gap_rule(dumps: Path, tmp_path: Path):
    store = Store(tmp_path / "store")
    backfill(store, str(dumps))
    warehouse = open_warehouse(store)
    daily = warehouse.downloads_by_country(Filters(period="day", countries=("CN", "US")))
    china = daily[daily["country"] == "CN"]
    assert len(china) == 7 and china["downloads"].sum() == 7_000  # spread over June 1..7 (day-label rule)
    assert warehouse.snapshots()["source_kind"].eq("backfill").all()


def test_a_file_outside_a_dated_folder_or_a_bad_source_gets_a_clear_message(tmp_path: Path, capsys):
    stray = write_dump(tmp_path / "misc" / "models.parquet", week(1))
    with pytest.raises(BackfillError, match="folder named YYYY-MM-DD"):
        backfill(Store(tmp_path / "store"), str(stray))
    assert (
        main(["backfill", "--source", str(tmp_path / "nowhere" / "x"), "--store", str(tmp_path / "s")]) == 2
    )
    assert "neither a local file/folder nor a Hub dataset id" in capsys.readouterr().err


def test_a_hub_dataset_is_read_through_huggingface_hub_fetching_only_the_needed_columns(
    dumps: Path, tmp_path: Path, fake_hub, hf_env, no_sleep, capsys
):
    served = serve_dataset(fake_hub, "hfmlsoc/hub_weekly_snapshots", dumps)
    store = Store(tmp_path / "store")
    assert main(["backfill", "--source", "hfmlsoc/hub_weekly_snapshots", "--store", str(store.root)]) == 0
    assert "imported 2 snapshot(s), 6 rows" in capsys.readouterr().out
    source = store.provenance(JUNE_1)["source"]
    assert source == {
        "kind": "backfill",
        "dataset": "hfmlsoc/hub_weekly_snapshots",
        "revision": COMMIT,
        "path": "models/2025-06-01/models.parquet",
    }
    # With blocks smaller than a column chunk, only the needed columns are fetched (cardData never is).
    name = "models/2025-06-08/models.parquet"
    before = served.bytes_read(name)
    small_blocks = Store(tmp_path / "again")
    backfill(
        small_blocks, "hfmlsoc/hub_weekly_snapshots", start=JUNE_8, endpoint=fake_hub.url, block_size=4096
    )
    assert 0 < served.bytes_read(name) - before < (dumps / name).stat().st_size / 4
    assert (
        store.read_snapshot(JUNE_8).set_index("model_id").loc["Qwen/Qwen3-8B", "downloads_all_time"] == 17_000
    )


def test_a_dry_run_of_dumps_reads_only_their_footers_and_writes_nothing(dumps: Path, tmp_path: Path, capsys):
    store = tmp_path / "store"
    assert main(["backfill", "--source", str(dumps), "--store", str(store), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("backfill (dry run, nothing written): would import 2 snapshot(s), 8 rows")
    assert out[1:] == ["  2025-06-01  4 rows", "  2025-06-08  4 rows"]  # rows as stored in each dump
    assert not store.exists()
    assert main(["backfill", "--source", str(dumps), "--store", str(store), "--from", "2026-01-01"]) == 2
    assert "no dump dated within 2026-01-01 to the last date" in capsys.readouterr().err
