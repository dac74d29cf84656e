"""One store rule for every command: a store path that does not exist is an error that creates nothing, a
synthetic snapshot is never taken for the real one, and demo snapshots never go into a real store."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipelines.__main__ import main
from pipelines.demo import generate_demo_store
from pipelines.store import PROVENANCE_FILE, Store

DAY = dt.date(2025, 9, 30)


@pytest.mark.parametrize(
    "command",
    [
        ["verify"],
        ["status"],
        ["warehouse"],
        ["warehouse", "--check"],
        ["attribution", "--out", "models.csv"],
        ["orgs", "audit"],
    ],
)
def test_a_store_that_does_not_exist_is_an_error_and_is_not_created(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "stroe"
    code = main([*command, "--store", str(typo)])
    assert code != 0
    assert f"no store at {typo}" in capsys.readouterr().err
    assert not typo.exists()


def test_the_environment_store_is_checked_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "from-env"
    monkeypatch.setenv("OWT_STORE", str(typo))
    assert main(["verify"]) == 1
    assert f"no store at {typo} (OWT_STORE)" in capsys.readouterr().err
    assert not typo.exists()


def test_snapshot_refuses_to_take_a_synthetic_snapshot_for_the_real_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(tmp_path / "store")
    generate_demo_store(store, models=20, days=1, end=DAY)
    before = (store.snapshot_dir(DAY) / PROVENANCE_FILE).read_bytes()
    code = main(["snapshot", "--date", DAY.isoformat(), "--store", str(store.root), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"the snapshot of {DAY} in {store.root} is synthetic" in err and "--force" in err
    assert (store.snapshot_dir(DAY) / PROVENANCE_FILE).read_bytes() == before


def test_demo_refuses_a_store_that_holds_real_snapshots(tmp_path: Path, capsys) -> None:
    store = Store(tmp_path / "store")
    generate_demo_store(store, models=20, days=1, end=DAY)
    provenance = store.snapshot_dir(DAY) / PROVENANCE_FILE
    record = json.loads(provenance.read_text())
    provenance.write_text(json.dumps({**record, "synthetic": False}))  # as a Hub snapshot would say
    code = main(["demo", "--models", "20", "--days", "2", "--end", "2025-10-01", "--store", str(store.root)])
    assert code == 1
    assert "holds 1 real snapshot(s)" in capsys.readouterr().err
    assert store.dates() == [DAY]


def test_demo_writes_to_the_demo_store_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    demo, real = tmp_path / "demo-store", tmp_path / "store"
    monkeypatch.setenv("OWT_DEMO_STORE", str(demo))
    monkeypatch.setenv("OWT_STORE", str(real))
    assert main(["demo", "--models", "20", "--days", "1", "--end", DAY.isoformat()]) == 0
    assert Store(demo).dates() == [DAY] and not real.exists()
