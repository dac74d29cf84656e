"""`python -m dashboards export` end to end (a subprocess on a small synthetic store), and the one parser
that URL parameters and command-line options share."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
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
    assert sorted(p.stem for p in out.iterdir()) == sorted(chart_ids())
    downloads = pd.read_csv(out / "downloads-by-country.csv", keep_default_na=False)
    assert list(downloads.columns) == ["period", "country", "downloads", "complete"]
    assert set(downloads["country"]) <= {"CN", "US", "FR", "Rest of world", "Unattributed"}
    weeks = pd.to_datetime(downloads["period"])
    assert (weeks.dt.day_of_week == 0).all()  # weekly periods start on Mondays


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


def test_an_empty_store_says_how_to_fill_it(tmp_path: Path, capsys):
    out = tmp_path / "r.pdf"
    code = main(["export", "--chart", "all", "--format", "pdf", "--out", str(out), "--store", str(tmp_path)])
    assert code == 1
    assert "python -m pipelines demo" in capsys.readouterr().err
    assert not out.exists()


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
