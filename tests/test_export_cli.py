"""`python -m dashboards export` end to end (a subprocess on a small synthetic store), and the one parser
that URL parameters and command-line options share."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from dashboards.__main__ import main
from dashboards.charts import chart_ids
from dashboards.filters import Filters

ROOT = Path(__file__).resolve().parent.parent


def export_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashboards", "export", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


# Most cases call `main` in-process (the function `python -m dashboards` runs) so they cost no interpreter
# start; two run the real command in a subprocess.


def test_list_shows_every_chart_id_with_its_description(capsys):
    assert main(["export", "--list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == chart_ids()
    assert all(len(line.split()) > 3 for line in lines)


def test_every_chart_as_csv_files_for_a_view(chart_store: Path, tmp_path: Path, capsys):
    out = tmp_path / "csv"
    code = main([
        "export", "--chart", "all", "--format", "csv", "--out", str(out), "--store", str(chart_store),
        "--countries", "cn,us,fr", "--period", "week", "--attribution", "lineage",
    ])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert f"wrote {len(chart_ids())} file(s) to {out}" in printed.out
    assert "Attribution: lineage country. Period: week." in printed.out
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{chart_id}.zip" for chart_id in chart_ids())
    for package in out.iterdir():
        with zipfile.ZipFile(package) as archive:
            assert json.loads(archive.read("metadata.json"))["synthetic"] is True, package.name
    with zipfile.ZipFile(out / "downloads-by-country.zip") as archive:
        downloads = pd.read_csv(archive.open("downloads-by-country.csv"), keep_default_na=False)
    assert list(downloads.columns) == ["period", "country", "country_name", "downloads", "complete"]
    assert set(downloads["country"]) <= {"CN", "US", "FR", "REST_OF_WORLD", "UNATTRIBUTED"}
    weeks = pd.to_datetime(downloads["period"])
    assert (weeks.dt.day_of_week == 0).all()  # weekly periods start on Mondays


def test_an_out_file_ending_in_csv_gets_the_bare_csv(chart_store: Path, tmp_path: Path, capsys):
    out = tmp_path / "size.csv"
    code = main(["export", "--chart", "size-by-country", "--format", "csv", "--out", str(out),
                 "--store", str(chart_store)])  # fmt: skip
    assert code == 0
    assert "give --out a directory or a .zip file" in capsys.readouterr().out
    sizes = pd.read_csv(out, keep_default_na=False)
    assert list(sizes.columns) == ["size_class", "country", "country_name", "downloads"]
    natural = ["<1B", "1-5B", "7-9B", "10-50B", "50-100B", "100-250B", "250B+", "unknown"]
    shown = list(dict.fromkeys(sizes["size_class"]))
    assert shown == [size for size in natural if size in shown]


def test_a_pdf_report_of_chosen_charts(chart_store: Path, tmp_path: Path):
    report = tmp_path / "report.pdf"
    done = export_cli(
        "--chart", "downloads-by-country,top-organisations", "--format", "pdf", "--out", str(report),
        "--store", str(chart_store), "--log", "--from", "2025-08-01",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "wrote a PDF report of 2 charts" in done.stdout
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(report.read_bytes())).pages]
    assert len(pages) == 4  # title, definitions, two charts
    assert "2025-08-01 to latest snapshot" in pages[0] and "Scale: log" in pages[0]
    assert "Log scale." in pages[2]  # and each chart drawn on a log axis says so itself
    assert "Downloads per month by publisher country" in pages[2]
    assert "Top 20 organisations" in pages[3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--chart", "china-vs-usa", "--format", "png", "--out", "x"], "unknown chart id(s) china-vs-usa"),
        (["--chart", "all", "--format", "gif", "--out", "x"], "invalid choice: 'gif'"),
        (["--chart", "all", "--format", "pdf", "--out", "x", "--from", "2025-02-30"], "--from '2025-02-30'"),
        (["--chart", "all", "--format", "pdf", "--out", "x", "--period", "year"], "one of day, week, month"),
        (["--chart", "all", "--format", "pdf", "--out", "x", "--countries", "China"], "ISO 3166-1"),
        (["--chart", "all", "--format", "pdf"], "missing --out"),
        (["--chart", "all", "--format", "png", "--out", "x.png"], "several png charts need a directory"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(args, message, tmp_path: Path, capsys):
    """In-process (the same `main` the subprocess runs), so each case costs no interpreter start."""
    with pytest.raises(SystemExit) as exit_info:
        main(["export", *args, "--store", str(tmp_path)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_an_empty_store_exports_from_the_demo_store_and_says_so(
    chart_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """The dashboard's rule: no --store, an empty data/store (here OWT_STORE) -> the demo store stands in;
    the command line and every package say so. (OWT_DEMO_STORE points at a ready-made demo store.)"""
    empty = tmp_path / "empty-store"
    empty.mkdir()
    monkeypatch.setenv("OWT_STORE", str(empty))
    monkeypatch.setenv("OWT_DEMO_STORE", str(chart_store))
    out = tmp_path / "csv"
    code = main(["export", "--chart", "all", "--format", "csv", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert f"The store {empty} has no snapshot" in printed.err and str(chart_store) in printed.err
    with zipfile.ZipFile(out / "share-by-country.zip") as archive:
        metadata = json.loads(archive.read("metadata.json"))
        readme = archive.read("README.md").decode("utf-8")
    assert metadata["synthetic"] is True and f"The store {empty} has no snapshot" in metadata["demo_store"]
    assert "SYNTHETIC DEMO DATA" in readme
    assert not any(empty.iterdir()), "nothing is written into the empty store"


def test_a_store_that_does_not_exist_is_an_error_and_stays_absent(tmp_path: Path, capsys):
    typo = tmp_path / "stroe"
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--chart", "all", "--format", "csv", "--out", str(tmp_path / "o"),
              "--store", str(typo)])  # fmt: skip
    assert exit_info.value.code == 2
    assert f"no store at {typo}" in capsys.readouterr().err
    assert not typo.exists() and not (tmp_path / "o").exists()


def test_a_task_no_model_has_is_refused(chart_store: Path, tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--chart", "all", "--format", "csv", "--out", str(tmp_path / "o"),
              "--store", str(chart_store), "--task", "nonsense"])  # fmt: skip
    assert exit_info.value.code == 2
    assert "--task 'nonsense': no model in the store has this task" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_without_a_browser_image_export_fails_fast_saying_what_to_install(chart_store: Path, tmp_path: Path):
    out = tmp_path / "share.png"
    no_browser = {**os.environ, "BROWSER_PATH": str(tmp_path / "no-such-chromium")}
    done = export_cli(
        "--chart", "share-by-country", "--format", "png", "--out", str(out), "--store", str(chart_store),
        env=no_browser,
    )  # fmt: skip
    assert done.returncode == 1
    assert "apt-get install chromium" in done.stderr
    assert not out.exists()


def test_url_parameters_parse_into_the_view_and_back():
    view, notes = Filters.from_params(
        {"from": "2025-01-01", "to": ["2024-01-01", "2025-06-30"], "countries": "cn, us,FR", "log": "1",
         "size": "7-9B", "period": "week", "attribution": "lineage", "scope": "atom",
         "task": "text-generation"}
    )  # fmt: skip
    assert notes == []
    assert view == Filters(
        start=dt.date(2025, 1, 1), end=dt.date(2025, 6, 30), period="week", countries=("CN", "US", "FR"),
        attribution="lineage", scope="atom", task="text-generation", size_class="7-9B", log_scale=True,
    )  # fmt: skip
    assert Filters.from_params(view.to_params()) == (view, [])
    assert Filters().to_params() == {}


def test_invalid_url_parameters_fall_back_to_defaults_with_a_note_each():
    view, notes = Filters.from_params(
        {"from": "yesterday", "period": "year", "countries": "C N", "size": "huge", "log": "maybe", "x": "1"}
    )
    assert view == Filters()
    assert len(notes) == 5
    assert any(note.startswith("from='yesterday'") and "default" in note for note in notes)
    view, notes = Filters.from_params({"from": "2025-06-01", "to": "2025-01-01"})
    assert (view.start, view.end) == (None, None)
    assert notes == ["from='2025-06-01': is after the end date 2025-01-01; showing all dates"]


def test_without_store_options_an_absent_default_store_is_the_demo_store(
    chart_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """A fresh clone has no data/store: no --store, no OWT_STORE -> the demo store, as the dashboard does
    (the default store's path is pointed into tmp_path, so no developer's real store is read)."""
    import pipelines.store

    absent = tmp_path / "data" / "store"
    monkeypatch.setattr(pipelines.store, "DEFAULT_STORE", absent)
    monkeypatch.delenv("OWT_STORE", raising=False)
    monkeypatch.setenv("OWT_DEMO_STORE", str(chart_store))
    out = tmp_path / "share.zip"
    assert main(["export", "--chart", "share-by-country", "--format", "csv", "--out", str(out)]) == 0
    assert f"The store {absent} has no snapshot" in capsys.readouterr().err
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("metadata.json"))["synthetic"] is True
    assert not absent.exists()
