"""The CSV package a reader can trust: the tidy table (codes beside names, integer counts, natural order)
checked on hand-made chart results, and the zip's metadata.json and README."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pandas as pd
import plotly.graph_objects as go

from dashboards.charts import ChartResult, SourceInfo
from dashboards.export import chart_package, tidy_data
from dashboards.filters import Filters

SOURCE = SourceInfo(
    span="3 snapshots from 2025-09-01 to 2025-09-03",
    kinds="synthetic demo",
    coverage={"publisher": 0.9, "lineage": 0.8},
    synthetic=True,
    first=dt.date(2025, 9, 1),
    last=dt.date(2025, 9, 3),
)


def result(chart_id: str, data: pd.DataFrame, measures: tuple[str, ...]) -> ChartResult:
    return ChartResult(
        chart_id=chart_id,
        figure=go.Figure(),
        data=data,
        title=f"Title of {chart_id}",
        subtitle="Subtitle.",
        source="Source: hand-made.",
        synthetic=True,
        measure_ids=measures,
    )


def test_size_classes_come_by_size_countries_as_the_legend_and_counts_as_integers():
    # As a query may return them: alphabetical size classes, counts as floats, display groups as labels.
    data = pd.DataFrame(
        {
            "size_class": ["10-50B", "1-5B", "1-5B", "<1B", "unknown", "7-9B", "1-5B"],
            "country": ["CN", "Unattributed", "US", "Rest of world", "FR", "US", "CN"],
            "downloads": [5.0, 4.0, 3.0, 2.0, 1.0, 15814939.0, 7.0],
        }
    )
    view = Filters(countries=("US", "FR", "CN"))
    tidy = tidy_data(result("size-by-country", data, ("downloads_period", "publisher_country")), view)
    expected = pd.DataFrame(
        {
            "size_class": ["<1B", "1-5B", "1-5B", "1-5B", "7-9B", "10-50B", "unknown"],
            "country": ["REST_OF_WORLD", "US", "CN", "UNATTRIBUTED", "US", "CN", "FR"],
            "country_name": ["Rest of world", "United States", "China", "Unattributed", "United States",
                             "China", "France"],
            "downloads": [2, 3, 7, 4, 15814939, 5, 1],
        }
    )  # fmt: skip
    pd.testing.assert_frame_equal(tidy, expected, check_dtype=False)
    assert str(tidy["downloads"].dtype) == "Int64"
    assert "15814939.0" not in tidy.to_csv(index=False) and "15814939" in tidy.to_csv(index=False)


def test_periods_are_dates_in_time_order_and_rankings_keep_their_rank():
    periods = pd.DataFrame(
        {
            "period": pd.to_datetime(["2025-09-08", "2025-09-01", "2025-09-01"]),
            "country": ["US", "US", "CN"],
            "downloads": [10, 20, 30],
        }
    )
    tidy = tidy_data(result("downloads-by-country", periods, ("downloads_period",)), Filters())
    assert tidy.to_dict("list") == {
        "period": ["2025-09-01", "2025-09-01", "2025-09-08"],
        "country": ["CN", "US", "US"],
        "country_name": ["China", "United States", "United States"],
        "downloads": [30, 20, 10],
    }
    ranked = pd.DataFrame(
        {
            "organization": ["Zhipu", "Alpha"],
            "namespace": ["zai-org", "alpha"],
            "country": ["CN", "INDIVIDUAL"],
            "downloads": [900, 100],
            "group": ["CN", "Unattributed"],
        }
    )
    tidy = tidy_data(result("top-organisations", ranked, ("downloads_period",)), Filters())
    assert tidy["organization"].tolist() == ["Zhipu", "Alpha"]
    assert tidy["country_name"].tolist() == ["China", "Individual / community"]
    assert tidy["group"].tolist() == ["CN", "UNATTRIBUTED"]


def test_the_package_holds_the_csv_its_metadata_and_a_readme():
    data = pd.DataFrame({"period": pd.to_datetime(["2025-09-01"]), "country": ["CN"], "share": [0.5]})
    view = Filters(countries=("CN", "DE"), period="week", start=dt.date(2025, 9, 1))
    payload = chart_package(
        [result("share-by-country", data, ("share", "lineage_country"))], view, SOURCE, demo_note="Demo here."
    )
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        assert sorted(archive.namelist()) == ["README.md", "metadata.json", "share-by-country.csv"]
        metadata = json.loads(archive.read("metadata.json"))
        readme = archive.read("README.md").decode("utf-8")
        csv_text = archive.read("share-by-country.csv").decode("utf-8")
    assert csv_text.splitlines() == ["period,country,country_name,share", "2025-09-01,CN,China,0.5"]
    assert metadata["synthetic"] is True and metadata["demo_store"] == "Demo here."
    assert metadata["filters"] == {
        "from": "2025-09-01", "to": None, "period": "week", "countries": ["CN", "DE"],
        "attribution": "publisher", "scope": "all", "task": None, "size": None, "log": False, "channel": "hf",
        "events": [],
        "orgs": [], "next": 8, "individuals": "unattributed",
        "pair": ["CN", "US"], "measure": "count", "cells": "count", "range": None, "rolling": 0,
    }  # fmt: skip
    assert metadata["snapshots"]["first"] == "2025-09-01" and metadata["snapshots"]["last"] == "2025-09-03"
    chart = metadata["charts"][0]
    assert chart["attribution"] == "lineage" and chart["source"] == "Source: hand-made."
    assert chart["description"].startswith("Each country group's share")
    assert chart["definitions"][0]["label"] == "Share of downloads"
    assert set(chart["columns"]) == {"period", "country", "country_name", "share"}
    assert metadata["project"]["name"] == "Open Weights Tracker" and metadata["project"]["version"]
    assert "Apache-2.0" in metadata["licence"]
    assert "SYNTHETIC DEMO DATA" in readme and "`share-by-country.csv`" in readme and "Demo here." in readme
