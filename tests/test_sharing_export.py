"""`python -m dashboards export --wide` and `--events`: one column per country for time series (the long
form's values, spread), metadata.json saying each CSV's layout and the events marked; events off unless
asked."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from dashboards.__main__ import main
from pipelines.events import COLUMNS


def export(chart_store: Path, out: Path, *options: str) -> int:
    return main(["export", "--format", "csv", "--out", str(out), "--store", str(chart_store), *options])


def test_wide_csv_holds_the_long_forms_values_one_column_per_country(chart_store: Path, tmp_path: Path):
    assert export(chart_store, tmp_path / "long.csv", "--chart", "downloads-by-country") == 0
    assert export(chart_store, tmp_path / "wide.csv", "--chart", "downloads-by-country", "--wide") == 0
    long = pd.read_csv(tmp_path / "long.csv", keep_default_na=False)
    wide = pd.read_csv(tmp_path / "wide.csv", keep_default_na=False)
    countries = list(dict.fromkeys(long["country"]))  # the legend's order, as in the long form
    assert list(wide.columns) == ["period", "complete", *countries]
    assert list(wide["period"]) == list(dict.fromkeys(long["period"]))
    for row in long.itertuples():  # every point of the long form, in its period's row and country's column
        spread = wide.loc[wide["period"] == row.period]
        assert spread[row.country].item() == row.downloads
        assert spread["complete"].item() == row.complete
    assert len(wide) * len(countries) == len(long)  # no point made up


def test_wide_packages_say_their_layout_and_a_chart_not_over_time_stays_long(
    chart_store: Path, tmp_path: Path, capsys
):
    out = tmp_path / "packages"
    code = export(chart_store, out, "--chart", "cumulative-by-country,size-by-country", "--wide")
    printed = capsys.readouterr().out
    assert code == 0
    assert "note: --wide: size-by-country are not time series by country, written in long form" in printed
    with zipfile.ZipFile(out / "cumulative-by-country.zip") as archive:
        metadata = json.loads(archive.read("metadata.json"))
        table = pd.read_csv(archive.open("cumulative-by-country.csv"))
    [chart] = metadata["charts"]
    assert chart["layout"] == "wide" and list(table.columns)[:2] == ["date", "CN"]
    assert chart["columns"]["CN"] == "all-time downloads at the snapshot (an integer count), for China"
    with zipfile.ZipFile(out / "size-by-country.zip") as archive:
        assert json.loads(archive.read("metadata.json"))["charts"][0]["layout"] == "long"


def test_wide_is_refused_for_images(chart_store: Path, tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["export", "--chart", "share-by-country", "--format", "png", "--out", str(tmp_path / "s.png"),
              "--store", str(chart_store), "--wide"])  # fmt: skip
    assert exited.value.code == 2
    assert "--wide: a table layout, for --format csv (not png)" in capsys.readouterr().err


def test_events_are_marked_only_when_asked_and_listed_in_metadata(
    chart_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    events = tmp_path / "events.csv"
    events.write_text(
        ",".join(COLUMNS) + "\n"
        "2025-08-05,release,Model X,Lab,,https://example.org/x,\n"
        "2025-08-20,policy,Rule Y,Agency,,https://example.org/y,\n"
        "2026-01-01,release,Later model,Lab,,https://example.org/z,\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("OWT_EVENTS", str(events))

    def metadata(*options: str) -> dict:
        out = tmp_path / f"c{len(options)}.zip"
        assert export(chart_store, out, "--chart", "cumulative-by-country", *options) == 0
        with zipfile.ZipFile(out) as archive:
            return json.loads(archive.read("metadata.json"))["charts"][0]

    off = metadata()
    assert off["events"] == [] and "Events" not in off["source"]
    on = metadata("--events")
    assert [(e["date"], e["kind"], e["title"]) for e in on["events"]] == [
        ("2025-08-05", "release", "Model X"),
        ("2025-08-20", "policy", "Rule Y"),
    ]
    assert "Events (release and policy): 2 marked, from events.csv" in on["source"]
    policy = metadata("--events", "policy")
    assert [e["title"] for e in policy["events"]] == ["Rule Y"]
