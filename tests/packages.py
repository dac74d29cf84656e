"""A chart's CSV package: `/download/chart/<id>.csv` answers a zip of the CSV, metadata.json, README."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd


def package_table(payload: bytes) -> pd.DataFrame:
    """The tidy CSV inside a chart package."""
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".csv")]
        return pd.read_csv(io.BytesIO(archive.read(name)))


def package_metadata(payload: bytes) -> dict:
    """The metadata.json inside a chart package."""
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        return json.loads(archive.read("metadata.json"))
