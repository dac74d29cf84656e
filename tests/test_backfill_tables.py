"""Backfill of dated CSV/Parquet tables (public download trackers' histories) through the real command line:
a real-shaped monthly history (tests/realshaped.py), aliases and --columns, --dry-run, and files that cannot
be imported."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipelines.__main__ import main
from pipelines.store import Store
from tests import realshaped

ROOT = Path(__file__).resolve().parent.parent


def backfill(*args: str) -> list[str]:
    return ["backfill", *args]


@pytest.fixture
def history(tmp_path: Path) -> Path:
    return realshaped.write_history(tmp_path / "qwen-tracker" / "data")


def test_a_real_shaped_monthly_history_imports_with_one_command(history: Path, tmp_path: Path, capsys):
    store = Store(tmp_path / "store")
    assert main(backfill("--source", str(history), "--store", str(store.root))) == 0
    out = capsys.readouterr().out
    assert out.startswith("backfill: imported 19 snapshot(s), 161 rows (0 unusable rows skipped)")
    assert "all-time downloads (downloads per period, shares, cumulative) on 15 date(s)" in out
    assert "30-day downloads (the 30-day chart) on 19 date(s)" in out

    assert store.dates() == list(realshaped.DATES)
    # Models per snapshot, counted by hand from the tables: 5 originals, Qwen2-57B-A14B from 2024-03-01,
    # Qwen2-7B-Instruct absent on 2024-06-24 and 2024-07-15, four Qwen2.5 on 2024-10-04, Coder, then QwQ.
    rows = [5, 5, 6, 6, 6, 6, 5, 5, 6, 6, 10, 11, 12, 12, 12, 12, 12, 12, 12]
    assert [store.provenance(d)["rows"] for d in store.dates()] == rows
    assert sum(rows) == 161

    def stored(day: str) -> pd.DataFrame:
        return store.read_snapshot(dt.date.fromisoformat(day)).set_index("model_id")

    first = stored("2024-01-01")  # older layout: model_id, downloads_last_month only
    assert first.loc["Qwen/Qwen2-7B", "downloads_30d"] == 20000
    assert first["downloads_all_time"].isna().all() and first["created_at"].isna().all()
    assert (first["author"] == "Qwen").all()
    october = stored("2024-10-04")  # the newer layout without downloadsAllTime
    assert october["downloads_all_time"].isna().all()
    assert october.loc["Qwen/Qwen2.5-7B", "downloads_30d"] == 32000
    november = stored("2024-11-17")
    assert november.loc["Qwen/Qwen2.5-Coder-7B", "downloads_all_time"] == 4200
    assert pd.isna(november.loc["Qwen/Qwen2.5-Coder-7B", "created_at"])
    assert november.loc["Qwen/Qwen2-7B", "created_at"].isoformat() == "2023-12-20T09:00:00+00:00"
    assert november.loc["Qwen/Qwen2-7B", "pipeline_tag"] == "text-generation"
    assert stored("2024-12-18").loc["Qwen/Qwen2-0.5B", "downloads_all_time"] == 100600  # the recount
    assert "Qwen/Qwen2-7B-Instruct" not in stored("2024-06-24").index
    assert stored("2024-08-04").loc["Qwen/Qwen2-7B-Instruct", "downloads_all_time"] == 120000
    last = stored("2025-06-13")
    # Sum of the last column of ALL_TIME, by hand: 153700 + 113800 + 549000 + 276500 + 29450 + 19560
    # + 214400 + 536000 + 160800 + 241200 + 149800 + 295500.
    assert last["downloads_all_time"].sum() == 2_739_710
    for index, day in enumerate(realshaped.DATES):  # every value, as the tables say
        snapshot = store.read_snapshot(day).set_index("model_id")
        got = {
            m: (None if pd.isna(r.downloads_all_time) else r.downloads_all_time, r.downloads_30d)
            for m, r in snapshot.iterrows()
        }
        assert got == realshaped.expected_rows(index), day

    provenance = store.provenance(dt.date(2024, 1, 1))
    source = provenance["source"]
    assert source["kind"] == "backfill" and source["format"] == "dated tables"
    assert source["path"] == str(history.resolve())
    dt.datetime.fromisoformat(source["accessed_at"])
    (entry,) = source["files"]
    assert entry["name"] == "data/qwen-models-2024-01-01.csv"
    assert entry["sha256"] == hashlib.sha256((history / entry["name"][5:]).read_bytes()).hexdigest()
    assert entry["columns"] == {"model_id": "model_id", "downloads_30d": "downloads_last_month"}
    assert entry["date_from"] == "file name"
    assert provenance["synthetic"] is False and provenance["skipped"] == 0
    assert provenance["nulled_fields"] == {} and provenance["duplicates"] == 0
    assert store.provenance(dt.date(2025, 6, 13))["source"]["files"][0]["columns"] == {
        "model_id": "modelId",
        "downloads_all_time": "downloadsAllTime",
        "downloads_30d": "downloads",
        "likes": "likes",
        "created_at": "createdAt",
        "pipeline_tag": "pipeline_tag",
        "library_name": "library_name",
    }
    # Idempotent: a second run finds every date present and imports nothing, successfully.
    assert main(backfill("--source", str(history), "--store", str(store.root))) == 0
    assert "imported 0 snapshot(s), 0 rows (0 unusable rows skipped), 19 date(s) already present" in (
        capsys.readouterr().out
    )


def test_a_dry_run_reports_dates_rows_columns_and_measures_and_writes_nothing(
    history: Path, tmp_path: Path, capsys
):
    store = tmp_path / "store"
    args = backfill("--source", str(history), "--store", str(store), "--dry-run", "--to", "2024-03-19")
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("backfill (dry run, nothing written): would import 4 snapshot(s), 22 rows")
    assert out[1:5] == [f"  {day}  {n} rows" for day, n in (
        ("2024-01-01", 5), ("2024-02-01", 5), ("2024-03-01", 6), ("2024-03-19", 6))]  # fmt: skip
    assert "columns (3 file(s)): model_id<-model_id, downloads_30d<-downloads_last_month" in out
    assert any(line.startswith("columns (1 file(s)): model_id<-modelId, downloads_all_time<-downloadsAllTime")
               for line in out)  # fmt: skip
    measures = "measures: all-time downloads (downloads per period, shares, cumulative) on 1 date(s); "
    assert measures + "30-day downloads (the 30-day chart) on 4 date(s)" in out
    assert not store.exists()


def test_a_history_with_30_day_counts_only_says_which_charts_it_can_give(tmp_path: Path, capsys):
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "stats.csv").write_text("snapshot_date,repo_id,downloads_30d\n2025-01-01,Qwen/a,100\n")
    (folder / "fetch.py").write_text("print('the tracker script')\n")
    assert main(backfill("--source", str(folder), "--store", str(tmp_path / "s"), "--dry-run")) == 0
    out = capsys.readouterr().out
    assert f"ignored (not CSV or Parquet): {folder / 'fetch.py'}" in out
    assert "measures: 30-day downloads (the 30-day chart) on 1 date(s)" in out
    assert "note: no all-time counts, so only the 30-day chart (downloads-30d-by-country) can be drawn" in out


def test_columns_maps_names_no_alias_knows_and_aliases_cover_the_common_ones(tmp_path: Path, capsys):
    folder = tmp_path / "tracker"
    (folder / "2025-03-01").mkdir(parents=True)
    (folder / "2025-03-01" / "dump.csv").write_text(
        "checkpoint,DL Total,All Time Downloads,Created_At,tags\n"
        "Qwen/a,1000,5000,2025-01-05,\"[\"\"transformers\"\", \"\"base_model:finetune:Qwen/base\"\"]\"\n"
        "Qwen/b,10,,not a date,\"[oops\"\n"
    )
    store = Store(tmp_path / "store")
    args = backfill("--source", str(folder), "--store", str(store.root))
    assert main(args) == 2
    assert "no model id column" in capsys.readouterr().err  # `checkpoint` is no alias of the id
    assert main([*args, "--columns", "model_id=checkpoint,downloads_30d=DL Total"]) == 0
    snapshot = store.read_snapshot(dt.date(2025, 3, 1)).set_index("model_id")
    assert snapshot.loc["Qwen/a", "downloads_all_time"] == 5000  # "All Time Downloads" is an alias
    assert snapshot.loc["Qwen/a", "downloads_30d"] == 1000
    assert snapshot.loc["Qwen/a", "created_at"].isoformat() == "2025-01-05T00:00:00+00:00"
    assert list(snapshot.loc["Qwen/a", "base_models"]) == ["Qwen/base"]
    assert snapshot.loc["Qwen/a", "base_relation"] == "finetune"
    # Unreadable optional values are nulled, counted and shown by example; the row is kept.
    assert pd.isna(snapshot.loc["Qwen/b", "created_at"]) and snapshot.loc["Qwen/b", "tags"] is None
    assert pd.isna(snapshot.loc["Qwen/b", "downloads_all_time"])
    provenance = store.provenance(dt.date(2025, 3, 1))
    assert provenance["nulled_fields"] == {"tags": 1, "created_at": 1}
    assert {e["field"] for e in provenance["nulled_examples"]} == {"tags", "created_at"}
    assert provenance["options"]["columns"] == {"model_id": "checkpoint", "downloads_30d": "DL Total"}
    assert main([*args, "--force", "--columns", "model_id=checkpoint,downloads_30d=Nope"]) == 2
    assert "--columns downloads_30d=Nope: no file has such a column" in capsys.readouterr().err
    assert main([*args, "--columns", "downloads=x"]) == 2
    assert "unknown target 'downloads'" in capsys.readouterr().err


def test_files_that_cannot_be_imported_are_each_named_with_their_reason(tmp_path: Path):
    bad = tmp_path / "backup-2020-01-01" / "bad"  # a date above the source folder dates none of its files
    bad.mkdir(parents=True)
    (bad / "2025-01-01-no-id.csv").write_text("name,downloads\nx,1\n")
    (bad / "undated.csv").write_text("id,downloads\nQwen/a,1\n")
    (bad / "2025-01-02-numbers.csv").write_text("id,downloadsAllTime\nQwen/a,12\nQwen/b,many\n")
    (bad / "2025-01-03-empty.csv").write_text("")
    (bad / "2025-01-04-no-counts.csv").write_text("id,likes\nQwen/a,1\n")
    (bad / "2025-01-05.parquet").write_text("not parquet at all")
    (bad / "2025-01-06.json").write_text('[{"id": "Qwen/a", "downloads": 1}]')
    run = subprocess.run(
        [sys.executable, "-m", "pipelines", "backfill", "--source", str(bad), "--store", str(tmp_path / "s")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2 and run.stdout == ""
    lines = run.stderr.splitlines()
    assert lines[0] == "backfill: cannot import:"
    reasons = {Path(line.strip().split(": ", 1)[0]).name: line.split(": ", 1)[1] for line in lines[1:]}
    assert reasons["2025-01-01-no-id.csv"].startswith("no model id column")
    assert reasons["undated.csv"].startswith("no date: no date column")
    assert reasons["2025-01-02-numbers.csv"] == (
        "column 'downloadsAllTime' (downloads_all_time) has 1 value(s) that are not whole numbers of "
        "downloads, e.g. 'many' in data row 2"
    )
    assert reasons["2025-01-03-empty.csv"] == "the file is empty"
    assert reasons["2025-01-04-no-counts.csv"].startswith("no download counts")
    assert reasons["2025-01-05.parquet"].startswith("cannot read it as Parquet")
    assert reasons["2025-01-06.json"] == "ignored, not a CSV or Parquet file"
    assert not (tmp_path / "s" / "snapshots").exists()


def test_a_source_with_no_rows_is_an_error_not_a_silent_success(tmp_path: Path, capsys):
    folder = tmp_path / "headers-only"
    folder.mkdir()
    (folder / "2025-01-01.csv").write_text("id,downloads\n,5\n")  # one row, without an id
    (folder / "README.md").write_text("monthly stats")
    assert main(backfill("--source", str(folder), "--store", str(tmp_path / "s"))) == 2
    err = capsys.readouterr().err
    assert "no rows to import" in err and "2025-01-01.csv: no row with a model id" in err
    assert "README.md: not a CSV or Parquet file" in err
    empty = tmp_path / "nothing"
    empty.mkdir()
    assert main(backfill("--source", str(empty), "--store", str(tmp_path / "s"))) == 2
    assert "no rows to import" in capsys.readouterr().err
    assert main(backfill("--source", str(folder / "2025-01-01.csv"), "--from", "2026-01-01")) == 2


def test_the_warehouse_keeps_the_30_day_counts_of_every_date_even_without_all_time_counts(
    history: Path, tmp_path: Path
):
    from dashboards.charts import THIRTY_DAY_CHART, render_chart
    from dashboards.filters import Filters
    from dashboards.query import open_warehouse

    store = Store(tmp_path / "store")
    assert main(backfill("--source", str(history), "--store", str(store.root))) == 0
    data = render_chart(THIRTY_DAY_CHART, open_warehouse(store), Filters()).data
    by_date = {str(d)[:10]: v for d, v in data.groupby("date")["downloads_30d"].sum().items()}
    assert len(by_date) == 19
    assert set(data["country"]) == {"CN"}  # one organisation
    # Column sums of THIRTY_DAY, by hand: the five 2023 models on 2024-01-01 (30-day counts only) ...
    assert by_date["2024-01-01"] == 5000 + 6000 + 20000 + 12000 + 1500
    # ... the ten models of 2024-10-04 (30-day counts only, four of them new) ...
    assert by_date["2024-10-04"] == 9000 + 6000 + 30000 + 15000 + 1500 + 1200 + 12800 + 32000 + 9600 + 14400
    # ... and all twelve on the last date.
    assert by_date["2025-06-13"] == (
        9000 + 6000 + 30000 + 15000 + 1500 + 1200 + 24000 + 60000 + 18000 + 27000 + 21000 + 45000
    )


def test_one_long_parquet_file_with_a_date_column_gives_one_snapshot_per_date(tmp_path: Path):
    path = tmp_path / "history.parquet"
    pd.DataFrame(
        {
            "fetched_at": ["2025-01-01T02:30:00Z", "2025-01-01T02:30:00Z", "2025-02-01T02:31:00Z"],
            "model": ["Qwen/a", "Qwen/a", "Qwen/a"],  # a repeated row: the first is kept
            "downloads_all_time": [100, 999, 160],
            "num_parameters": [7_000_000_000, 7_000_000_000, 7_000_000_000],
            "baseModels": [None, None, {"relation": "finetune", "models": [{"id": "Qwen/base"}]}],
            "tags": [[], [], ["base_model:finetune:Qwen/base"]],
        }
    ).to_parquet(path)
    store = Store(tmp_path / "store")
    assert main(backfill("--source", str(path), "--store", str(store.root))) == 0
    assert store.dates() == [dt.date(2025, 1, 1), dt.date(2025, 2, 1)]
    january = store.read_snapshot(dt.date(2025, 1, 1))
    assert january["downloads_all_time"].tolist() == [100] and january["params_total"].tolist() == [7e9]
    assert store.provenance(dt.date(2025, 1, 1))["duplicates"] == 1
    february = store.read_snapshot(dt.date(2025, 2, 1))
    assert list(february["base_models"][0]) == ["Qwen/base"] and february["base_relation"][0] == "finetune"
    assert store.provenance(dt.date(2025, 2, 1))["source"]["files"][0]["date_from"] == "column 'fetched_at'"


def test_help_explains_the_accepted_shapes(capsys):
    with pytest.raises(SystemExit):
        main(["backfill", "--help"])
    text = capsys.readouterr().out
    for words in ("hub-stats dumps", "dated tables", "--columns", "--dry-run", "YYYY-MM-DD"):
        assert words in text
    assert "downloadsAllTime" in text
