"""The warehouse at scale, on small real stores: a build under a tiny DuckDB memory budget gives the same
tables as an unbounded one, every table a build makes is named in `pipelines.warehouse.schema`, and a
registry edit re-attributes over the existing facts files without rewriting them."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from dashboards.filters import Filters
from dashboards.query import Warehouse
from pipelines.__main__ import main
from pipelines.demo import generate_demo_store
from pipelines.registry import load_registry
from pipelines.store import Store
from pipelines.warehouse import BuildLimits, Version, current_version, refresh
from pipelines.warehouse.limits import SPILL_DIR, parse_memory_limit
from pipelines.warehouse.partitions import connect as connect_version
from pipelines.warehouse.schema import TABLES, WarehouseError
from tests.attribution_data import write_registry
from tests.snapshots import model, write_snapshot

END = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A small synthetic store (1,000 models x 30 days), shared read-only: tests build copies of it."""
    store = Store(tmp_path_factory.mktemp("memory") / "demo")
    generate_demo_store(store, models=1000, days=30, end=END)
    return store


def copy_of(store: Store, target: Path) -> Store:
    shutil.copytree(store.root / "snapshots", target / "snapshots")
    return Store(target)


def table_rows(version: Version) -> dict[str, list[tuple]]:
    """Every table of a version as readers see it (Parquet partitions included), rows sorted (physical order
    is not part of the result)."""
    con = connect_version(version.path)
    try:
        names = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() AND table_schema = 'main'"
            ).fetchall()
        ]
        return {name: con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall() for name in names}
    finally:
        con.close()


def test_a_build_under_a_tiny_memory_budget_gives_the_same_tables_as_an_unbounded_one(demo_store, tmp_path):
    registry = load_registry()
    tight = copy_of(demo_store, tmp_path / "tight")
    roomy = copy_of(demo_store, tmp_path / "roomy")
    refresh(tight, registry, limits=BuildLimits("64MB", threads=1))
    refresh(roomy, registry, limits=BuildLimits("16GB"))
    tight_version, roomy_version = current_version(tight), current_version(roomy)
    assert tight_version is not None and roomy_version is not None
    tight_tables, roomy_tables = table_rows(tight_version), table_rows(roomy_version)
    assert sorted(tight_tables) == sorted(roomy_tables) == sorted(TABLES)  # the schema names every table
    for name in TABLES:
        assert tight_tables[name] == roomy_tables[name], name
    assert tight_tables["models"] and tight_tables["roll_day"]  # the store really had something to build
    # The facts files are the same bytes, and the spill directory went with the build.
    tight_facts, roomy_facts = tight_version.facts_files(), roomy_version.facts_files()
    assert [f.name for f in tight_facts] == [f.name for f in roomy_facts]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(tight_facts, roomy_facts, strict=True))
    assert not (tight_version.path / SPILL_DIR).exists()


def test_a_registry_edit_re_attributes_over_the_facts_files_as_they_are(tmp_path):
    registry_file = write_registry(
        tmp_path / "orgs.csv",
        (
            "Qwen,Alibaba Cloud (Qwen team),CN,china,company,https://qwenlm.github.io,",
            "mistralai,Mistral AI,FR,eu,company,https://mistral.ai,",
        ),
    )
    registry = load_registry(registry_file, override=None)
    store = Store(tmp_path / "store")
    # Three snapshots refreshed one by one: three facts files (fewer than compaction waits for).
    for n, (qwen, mistral) in enumerate([(100, 10), (150, 40), (190, 100)], start=1):
        write_snapshot(
            store,
            dt.date(2025, 3, n),
            [
                model("Qwen/Qwen3-8B", downloads_all_time=qwen),
                model("mistralai/Mistral-7B", downloads_all_time=mistral),
            ],
        )
        refresh(store, registry)
    before = current_version(store)
    assert before is not None and len(before.facts_files()) == 3
    facts_before = {f.name: (f.read_bytes(), os.stat(f).st_ino) for f in before.facts_files()}

    override = write_registry(tmp_path / "override.csv", ("mistralai,Mistral AI,US,us,company,https://x.test,",))
    corrected = load_registry(registry_file, override=override)
    report = refresh(store, corrected)
    after = current_version(store)
    assert report.mode == "rollups" and after is not None and after.path != before.path
    # Byte for byte the same files, and the same inodes: hard links, nothing rewritten.
    assert {f.name: (f.read_bytes(), os.stat(f).st_ino) for f in after.facts_files()} == facts_before

    # Mistral's growth (40 - 10 + 100 - 40 = 90) moved from FR to US, as a rebuild from the snapshots says.
    view = Filters(period="month", countries=("CN", "US", "FR"))
    reattributed = Warehouse(store).downloads_by_country(view)
    assert reattributed.groupby("country")["downloads"].sum().to_dict() == {"CN": 90, "US": 90}
    refresh(store, corrected, rebuild=True)
    rebuilt = Warehouse(store).downloads_by_country(view)
    pd.testing.assert_frame_equal(reattributed, rebuilt)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2GB", "2GB"), ("512 mb", "512MB"), ("1.5GiB", "1.5GiB"), (" 64MiB ", "64MiB")],
)
def test_memory_limits_are_read_in_duckdbs_units(text, expected):
    assert parse_memory_limit(text) == expected


@pytest.mark.parametrize("text", ["lots", "2", "0GB", "-1GB", "2 GBs"])
def test_a_malformed_memory_limit_says_what_is_expected(text):
    with pytest.raises(WarehouseError, match="memory limit"):
        parse_memory_limit(text)


def test_the_command_takes_the_budget_from_its_option_else_the_environment(
    demo_store, tmp_path, monkeypatch, capsys
):
    store = copy_of(demo_store, tmp_path / "store")
    monkeypatch.setenv("OWT_MEMORY_LIMIT", "a lot")
    assert main(["warehouse", "--store", str(store.root)]) == 2
    assert "memory limit 'a lot': expected a size such as 2GB" in capsys.readouterr().err
    assert current_version(store) is None  # nothing was built, nothing half-built left
    assert not list((store.root / "warehouse").glob(".v*"))
    assert main(["warehouse", "--store", str(store.root), "--memory-limit", "128MB", "--threads", "1"]) == 0
    built = capsys.readouterr()
    assert "warehouse: full" in built.out
    # Each step says when it ends and how long it took (a rebuild of years of history takes an hour).
    steps = re.findall(r"^warehouse: (.+) done in \d+\.\d s$", built.err, re.MULTILINE)
    assert steps == ["facts of 30 new snapshot(s)", "dimensions", "rollups", "compaction", "tables written"]
    # A budget too small for the build: it says which setting to raise, and keeps the version built.
    assert main(["warehouse", "--store", str(store.root), "--rebuild", "--memory-limit", "4MB"]) == 1
    error = capsys.readouterr().err
    assert "OutOfMemoryException" in error and "--memory-limit or $OWT_MEMORY_LIMIT; it had 4MB" in error
    assert "free some space" not in error and current_version(store) is not None
    assert not list((store.root / "warehouse").glob(".v*"))
    monkeypatch.setenv("OWT_THREADS", "two")
    assert main(["warehouse", "--store", str(store.root), "--rebuild"]) == 2
    assert "$OWT_THREADS 'two': expected a whole number of threads" in capsys.readouterr().err
