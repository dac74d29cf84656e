"""The synthetic demo store: deterministic, marked synthetic, resumable, shaped like the public figures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dashboards.filters import Filters
from dashboards.query import open_warehouse
from pipelines.__main__ import main
from pipelines.demo import generate_demo_store
from pipelines.store import Store

END = dt.date(2025, 3, 10)


def checksums(store: Store) -> dict[str, list[str]]:
    return {d.isoformat(): [f["sha256"] for f in store.provenance(d)["files"]] for d in store.dates()}


def test_the_same_seed_gives_byte_identical_snapshots_and_another_seed_does_not(tmp_path: Path):
    first, second, other = (Store(tmp_path / name) for name in ("a", "b", "c"))
    generate_demo_store(first, models=120, days=5, seed=7, end=END)
    generate_demo_store(second, models=120, days=5, seed=7, end=END)
    generate_demo_store(other, models=120, days=5, seed=8, end=END)
    assert first.dates() == [END - dt.timedelta(days=n) for n in range(4, -1, -1)]
    assert checksums(first) == checksums(second)
    assert checksums(first) != checksums(other)


def test_every_snapshot_says_it_is_synthetic_and_a_second_run_skips_existing_dates(tmp_path: Path, capsys):
    store = Store(tmp_path / "store")
    args = ["demo", "--models", "80", "--days", "3", "--end", END.isoformat(), "--store", str(store.root)]
    assert main(args) == 0
    assert "wrote 3 synthetic snapshots (0 already present) of 80 models" in capsys.readouterr().out
    provenance = store.provenance(END)
    assert provenance["synthetic"] is True
    assert provenance["source"]["kind"] == "synthetic"
    assert provenance["rows"] == len(store.read_snapshot(END))
    assert main(args) == 0
    assert "wrote 0 synthetic snapshots (3 already present)" in capsys.readouterr().out


def test_the_demo_has_heavy_tails_derivative_chains_and_real_names(tmp_path: Path):
    store = Store(tmp_path / "store")
    generate_demo_store(store, models=400, days=1, seed=1, end=END)
    snapshot = store.read_snapshot(END)
    downloads = snapshot["downloads_30d"].sort_values(ascending=False)
    assert downloads.head(len(downloads) // 100).sum() > 0.3 * downloads.sum()  # top 1% > 30%
    assert {"Qwen", "meta-llama", "deepseek-ai"} <= set(snapshot["author"])
    relations = set(snapshot["base_relation"].dropna())
    assert relations == {"finetune", "quantized", "adapter", "merge"}
    derivatives = {
        m for m, bases in zip(snapshot["model_id"], snapshot["base_models"], strict=True) if len(bases)
    }
    parents = {p for bases in snapshot["base_models"] for p in bases}
    assert parents & set(snapshot["model_id"]), "derivatives point at models of the same snapshot"
    assert parents & derivatives, "some chains are deeper than one step (a quantisation of a fine-tune)"


def test_chinese_models_overtake_us_models_in_2025_on_the_demo(tmp_path: Path):
    store = Store(tmp_path / "store")
    generate_demo_store(store, models=400, days=395, seed=3, end=dt.date(2025, 9, 30))  # from 2024-09-01
    warehouse = open_warehouse(store)
    tracked = warehouse.crossover(Filters(scope="atom"), "CN", "US").set_index("measure")["period"]
    assert dt.date(2025, 5, 1) <= tracked["cumulative"] <= dt.date(2025, 9, 30)  # ATOM: summer 2025
    everything = warehouse.crossover(Filters(), "CN", "US").set_index("measure")["period"]
    assert dt.date(2024, 9, 1) <= everything["downloads_period"] <= dt.date(2025, 6, 30)
    assert warehouse.snapshots()["synthetic"].all()
