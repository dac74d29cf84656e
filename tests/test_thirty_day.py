"""A history of 30-day counts only (most public trackers, older dumps): imported with the real command, it
charts its 30-day series, and every chart computed from all-time counts says in words that it cannot be
drawn, in the page and in the export (which exits non-zero), instead of showing an empty chart."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from dashboards.charts import THIRTY_DAY_CHART, get_chart, render_chart
from dashboards.filters import Filters
from dashboards.query import open_warehouse
from pipelines.__main__ import main
from pipelines.store import Store

ROOT = Path(__file__).resolve().parent.parent

#: One tracker file with a date column; Qwen is CN and meta-llama US in the registry, `someone` is an
#: individual (charted as Unattributed). Qwen/b is gone by March, meta-llama/z new.
HISTORY = """snapshot_date,repo_id,downloads_last_month
2025-01-01,Qwen/a,100
2025-01-01,Qwen/b,50
2025-01-01,meta-llama/x,300
2025-01-01,someone/y,7
2025-02-03,Qwen/a,120
2025-02-03,Qwen/b,60
2025-02-03,meta-llama/x,250
2025-02-03,someone/y,9
2025-03-01,Qwen/a,150
2025-03-01,meta-llama/x,280
2025-03-01,meta-llama/z,40
"""
#: The 30-day chart's points, summed by hand from HISTORY: (date, country) -> 30-day downloads.
EXPECTED = {
    ("2025-01-01", "CN"): 100 + 50,
    ("2025-01-01", "US"): 300,
    ("2025-01-01", "Unattributed"): 7,
    ("2025-02-03", "CN"): 120 + 60,
    ("2025-02-03", "US"): 250,
    ("2025-02-03", "Unattributed"): 9,
    ("2025-03-01", "CN"): 150,
    ("2025-03-01", "US"): 280 + 40,
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    folder = tmp_path_factory.mktemp("thirty-day")
    (folder / "tracker.csv").write_text(HISTORY)
    store = Store(folder / "store")
    assert main(["backfill", "--source", str(folder / "tracker.csv"), "--store", str(store.root)]) == 0
    return store


def export(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "dashboards", "export", "--store", str(store.root), *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_a_30_day_only_history_charts_its_30_day_series(store: Store) -> None:
    warehouse = open_warehouse(store)
    assert warehouse.measures() == {"downloads_30d"}
    result = render_chart(THIRTY_DAY_CHART, warehouse, Filters())
    assert result.unavailable is None
    plotted = {(str(r.date)[:10], r.country): r.downloads_30d for r in result.data.itertuples()}
    assert plotted == EXPECTED
    drawn = {(str(x)[:10], trace.name) for trace in result.figure.data for x in trace.x}
    assert len(drawn) == len(EXPECTED)
    assert result.subtitle.startswith(
        "The Hub's rolling count of downloads over the 30 days before each snapshot, as reported."
    )


def test_the_charts_computed_from_all_time_counts_say_they_cannot_be_drawn(store: Store) -> None:
    warehouse = open_warehouse(store)
    for chart_id in ("cumulative-by-country", "downloads-by-country", "share-by-country", "concentration"):
        result = render_chart(chart_id, warehouse, Filters())
        assert result.unavailable and "no all-time download counts" in result.unavailable
        assert result.data.empty
        words = " ".join(note.text for note in result.figure.layout.annotations).replace("<br>", " ")
        assert "Cannot be drawn from this store" in words and THIRTY_DAY_CHART in words
    assert not get_chart("derivatives-by-country").needs_all_time  # counts new models, not downloads


def test_export_of_an_all_time_chart_fails_with_the_reason_and_writes_nothing(
    store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "downloads.csv"
    run = export(store, "--chart", "downloads-by-country", "--format", "csv", "--out", str(out))
    assert run.returncode == 1 and not out.exists()
    assert "error: downloads-by-country: Cannot be drawn from this store" in run.stderr
    assert "no all-time download counts" in run.stderr

    out = tmp_path / "thirty.csv"
    run = export(store, "--chart", THIRTY_DAY_CHART, "--format", "csv", "--out", str(out))
    assert run.returncode == 0, run.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "date,country,country_name,downloads_30d"
    rows = {(d, c): int(v) for d, c, _, v in (line.split(",") for line in lines[1:])}
    coded = {"Unattributed": "UNATTRIBUTED"}  # the CSV holds codes, the chart display names
    assert rows == {(d, coded.get(c, c)): v for (d, c), v in EXPECTED.items()}

    every = tmp_path / "every"
    run = export(store, "--chart", "all", "--format", "csv", "--out", str(every))
    assert run.returncode == 0, run.stderr
    assert "skipped: share-by-country: Cannot be drawn" in run.stderr
    written = {p.stem for p in every.iterdir()}
    assert THIRTY_DAY_CHART in written and "share-by-country" not in written
    assert "derivatives-by-country" in written


def test_the_30_day_chart_is_listed_for_export() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "dashboards", "export", "--list"], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0
    assert any(line.split()[0] == THIRTY_DAY_CHART for line in run.stdout.splitlines())


def test_the_overview_shows_the_30_day_chart_when_it_is_the_only_measure(store: Store) -> None:
    from dashboards.pages import overview

    app = create_app(store)
    with app.server.app_context():
        page = str(overview.layout())
    assert f"data-chart='{THIRTY_DAY_CHART}'" in page
    assert "cumulative-by-country" not in page and "share-by-country" not in page
    assert "30-day download counts only" in page
    cards = str(overview.headline_cards(open_warehouse(store).headline(Filters()), Filters()))
    # The headline numbers need all-time counts too: no value, and the note above says why.
    assert "no complete month in the selected dates" in cards
    response = app.server.test_client().get("/download/chart/downloads-by-country.csv")
    assert response.status_code == 409
    assert "no all-time download counts" in response.get_data(as_text=True)
    assert dt.date(2025, 3, 1) in store.dates()
