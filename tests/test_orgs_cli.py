"""The curator's commands `orgs check`, `orgs audit` and `attribution`, run through the `python -m pipelines`
dispatcher on a snapshot taken from the fake Hub, checked row by row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from pipelines.__main__ import main
from pipelines.registry import INDIVIDUAL, UNATTRIBUTED_ORG
from pipelines.snapshot import Scope, take_snapshot
from pipelines.store import Store
from tests.attribution_data import SNAPSHOT_MIN_DOWNLOADS, realistic_hub_models, write_registry

DATE = dt.date(2026, 3, 1)
TOTAL_30D = 21200  # the snapshot's models: every REALISTIC_MODELS row with at least 50 downloads


@pytest.fixture
def registry_file(tmp_path: Path) -> Path:
    return write_registry(tmp_path / "orgs.csv")


@pytest.fixture
def store(tmp_path: Path, fake_hub, hf_env, no_sleep) -> Store:
    """A snapshot of the fake Hub's realistic models, taken by the snapshot pipeline (top models >= 50)."""
    fake_hub.load(realistic_hub_models())
    store = Store(tmp_path / "store")
    take_snapshot(store, DATE, Scope(namespaces=(), min_downloads=SNAPSHOT_MIN_DOWNLOADS))
    return store


def run(*argv: str) -> int:
    return main([str(a) for a in argv])


def test_orgs_check_accepts_a_valid_registry(registry_file: Path, capsys) -> None:
    assert run("orgs", "check", "--base-registry", registry_file) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"orgs check: OK, 10 namespaces (10 with a source), 0 warning(s) in {registry_file}"
    )


def test_orgs_check_accepts_the_shipped_registry(capsys) -> None:
    assert run("orgs", "check") == 0
    assert "orgs check: OK" in capsys.readouterr().out


def test_orgs_check_prints_every_problem_with_file_and_line(tmp_path: Path, registry_file: Path, capsys):
    bad = tmp_path / "mine.csv"
    bad.write_bytes(
        b"namespace,organization,country,region,kind,source,notes\n"
        b"Qwen,Alibaba,CN,china,company,https://qwenlm.github.io,\n"
        b"qwen,Alibaba again,CN,china,company,https://qwenlm.github.io,\n"
        b"meta-llama,Meta,USA,us,company,https://ai.meta.com,\n"
        b"mistralai,Mistral AI,FR,us,company,https://mistral.ai,\n"
        b"google,Google,US,us,company,,\n"
        b"bigcode,BigCode,,unknown,lab,https://www.bigcode-project.org,\n"
        b"unsloth,Unsloth AI,US,us,startup,https://unsloth.ai,\n"
        b"TheBloke,Tom Jobbins,GB,eu,individual\n"
        b"jinaai,Jina AI,DE,eu,company,https://jina.ai,Berlin \xe2\x80\x94 K\xf6ln\n"
    )
    assert run("orgs", "check", "--base-registry", registry_file, "--registry", bad) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[0] for line in lines[:-1]] == [f"{bad}:{n}" for n in range(3, 11)]
    assert [line.split(": ", 1)[1].split(" ")[0:2] for line in lines[:-1]] == [
        ["duplicate", "namespace"],
        ["country", "'USA'"],
        ["region", "'us'"],
        ["source", "is"],
        ["country", "is"],
        ["kind", "'startup'"],
        ["5", "columns,"],
        ["not", "UTF-8"],
    ]
    assert lines[-1] == f"orgs check: 8 error(s), 0 warning(s) in {registry_file} + {bad}"


def test_orgs_audit_lists_unregistered_namespaces_and_coverage(
    store: Store, registry_file: Path, tmp_path: Path, capsys
) -> None:
    out_csv = tmp_path / "unregistered.csv"
    argv = ["--store", store.root, "--base-registry", registry_file, "--out", out_csv, "--top", 3]
    assert run("orgs", "audit", *argv) == 0
    listed = pd.read_csv(out_csv)
    assert listed[["namespace", "bucket", "models", "downloads_30d"]].values.tolist() == [
        ["bartowski", "INDIVIDUAL", 3, 2000],
        ["TheDrummer", "INDIVIDUAL", 1, 400],
        ["acme-ai", "UNATTRIBUTED_ORG", 1, 300],
        ["janedoe", "INDIVIDUAL", 1, 200],
        ["johnsmith", "INDIVIDUAL", 1, 100],
    ]
    assert listed["share"].tolist() == pytest.approx([d / TOTAL_30D for d in (2000, 400, 300, 200, 100)])

    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Top 3 unregistered namespaces by 30-day downloads, snapshot {DATE}:"
    assert out[1].split() == ["namespace", "bucket", "models", "downloads_30d", "share"]
    assert out[2].split() == ["bartowski", "INDIVIDUAL", "3", "2,000", f"{2000 / TOTAL_30D:.2%}"]
    assert out[4].split() == ["acme-ai", "UNATTRIBUTED_ORG", "1", "300", f"{300 / TOTAL_30D:.2%}"]
    publisher_known = (5000 + 4000 + 3000 + 2500 + 1500 + 1200 + 1000) / TOTAL_30D
    lineage_known = (TOTAL_30D - 400 - 500) / TOTAL_30D  # not TheDrummer's model, nor the Hermes GGUF
    assert f"  publisher country known  {publisher_known:6.1%}" in out
    assert f"  lineage country known    {lineage_known:6.1%}" in out
    assert out[-1].startswith(f"orgs audit: {DATE}, 5 unregistered namespaces ({3000 / TOTAL_30D:.1%} of")


EXPECTED_ATTRIBUTION = [
    # model_id, namespace, publisher_country, lineage_country, lineage_root, lineage_depth, base_relation, 30d
    ("Qwen/Qwen3-8B", "Qwen", "CN", "CN", "Qwen/Qwen3-8B", 0, None, 5000),
    ("deepseek-ai/DeepSeek-R1", "deepseek-ai", "CN", "CN", "deepseek-ai/DeepSeek-R1", 0, None, 4000),
    ("Qwen/Qwen3-8B-Instruct", "Qwen", "CN", "CN", "Qwen/Qwen3-8B", 1, "finetune", 3000),
    ("meta-llama/Llama-3.1-8B", "meta-llama", "US", "US", "meta-llama/Llama-3.1-8B", 0, None, 2500),
    ("google/gemma-3-4b-it", "google", "US", "US", "google/gemma-3-4b-it", 0, None, 1500),
    ("unsloth/Qwen3-8B-GGUF", "unsloth", "US", "CN", "Qwen/Qwen3-8B", 1, "quantized", 1200),
    ("mistralai/Mistral-7B-v0.3", "mistralai", "FR", "FR", "mistralai/Mistral-7B-v0.3", 0, None, 1000),
    ("bartowski/Llama-3.1-8B-GGUF", "bartowski", INDIVIDUAL, "US", "meta-llama/Llama-3.1-8B", 1, "quantized",
     900),
    ("bartowski/R1-Distill-GGUF", "bartowski", INDIVIDUAL, "CN", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", 1,
     "quantized", 600),
    ("bartowski/Hermes-3-GGUF", "bartowski", INDIVIDUAL, UNATTRIBUTED_ORG,
     "NousResearch/Hermes-3-Llama-3.1-8B", 1, "quantized", 500),
    ("TheDrummer/Cydonia-24B", "TheDrummer", INDIVIDUAL, INDIVIDUAL, "TheDrummer/Cydonia-24B", 0, None, 400),
    ("acme-ai/acme-chat", "acme-ai", UNATTRIBUTED_ORG, "CN", "Qwen/Qwen3-8B", 2, "finetune", 300),
    ("janedoe/qwen3-lora", "janedoe", INDIVIDUAL, "CN", "Qwen/Qwen3-8B", 1, "adapter", 200),
    ("johnsmith/mistral-qwen-merge", "johnsmith", INDIVIDUAL, "FR", "mistralai/Mistral-7B-v0.3", 1, "merge",
     100),
]  # fmt: skip
CSV_HEAD = ["model_id", "namespace", "publisher_country", "lineage_country", "lineage_root", "lineage_depth",
            "base_relation", "downloads_30d", "downloads_all_time"]  # fmt: skip


def read_rows(path: Path) -> list[tuple]:
    table = pd.read_csv(path, keep_default_na=False)
    assert list(table.columns[: len(CSV_HEAD)]) == CSV_HEAD
    assert (table["downloads_all_time"] == table["downloads_30d"] * 10).all()
    return [
        (*row[:6], row[6] or None, row[7])
        for row in table[CSV_HEAD[:-1]].itertuples(index=False, name=None)
    ]


def test_attribution_writes_the_per_model_table(store: Store, registry_file: Path, tmp_path: Path, capsys):
    out_csv = tmp_path / "attribution.csv"
    assert run("attribution", "--store", store.root, "--base-registry", registry_file, "--out", out_csv) == 0
    assert read_rows(out_csv) == EXPECTED_ATTRIBUTION
    summary = capsys.readouterr().out
    assert summary.startswith(f"attribution: {DATE}, 14 models -> {out_csv}; publisher known 85.8%, lineage")


def test_attribution_resolves_outside_parents_on_the_hub(
    store: Store, registry_file: Path, tmp_path: Path, fake_hub, capsys
) -> None:
    out_csv = tmp_path / "attribution.csv"
    argv = ["attribution", "--store", store.root, "--base-registry", registry_file, "--out", out_csv]
    assert run(*argv, "--resolve-lineage", "--max-lookups", 10) == 0
    resolved = {row[0]: row for row in read_rows(out_csv)}
    assert resolved["bartowski/Hermes-3-GGUF"][3:7] == ("US", "meta-llama/Llama-3.1-8B", 2, "quantized")
    assert resolved["bartowski/R1-Distill-GGUF"][3:7] == ("CN", "Qwen/Qwen2.5-Math-7B", 2, "quantized")
    assert "looked up 3 parents (0 not found, 0 failed), 0 still unresolved" in capsys.readouterr().out
    lookups = [r.path for r in fake_hub.requests_to("model")]
    assert sorted(lookups) == [
        "/api/models/NousResearch/Hermes-3-Llama-3.1-8B",
        "/api/models/Qwen/Qwen2.5-Math-7B",
        "/api/models/deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
    ]  # meta-llama/Llama-3.1-8B is in the snapshot: no lookup

    assert run(*argv) == 0  # later runs use the cached answers, without --resolve-lineage and without the Hub
    assert read_rows(out_csv) == list(resolved.values())
    assert len(fake_hub.requests_to("model")) == len(lookups)


def test_a_bad_registry_stops_before_anything_is_written(store: Store, tmp_path: Path, capsys) -> None:
    bad = write_registry(tmp_path / "bad.csv", ["Qwen,Alibaba,CN,us,company,https://qwenlm.github.io,"])
    out_csv = tmp_path / "attribution.csv"
    assert run("attribution", "--store", store.root, "--base-registry", bad, "--out", out_csv) == 1
    assert f"{bad}:2: region 'us' does not match country CN" in capsys.readouterr().err
    assert not out_csv.exists()
    assert run("orgs", "audit", "--store", store.root, "--base-registry", bad) == 1


def test_missing_snapshots_are_named_clearly(tmp_path: Path, registry_file: Path, capsys) -> None:
    empty = tmp_path / "empty-store"
    empty.mkdir()  # a store that does not exist at all is an error (tests/test_store_paths.py)
    assert run("orgs", "audit", "--store", empty, "--base-registry", registry_file) == 1
    assert "no snapshot in" in capsys.readouterr().err


def test_an_absent_date_lists_the_latest_ones(store: Store, registry_file: Path, tmp_path: Path, capsys):
    out_csv = tmp_path / "x.csv"
    argv = ["attribution", "--store", store.root, "--base-registry", registry_file, "--out", out_csv]
    assert run(*argv, "--date", "2026-02-28") == 1
    assert f"no snapshot for 2026-02-28 in {store.root} (latest: {DATE})" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["orgs", "check"], ["orgs", "audit"], ["attribution"]])
def test_every_command_explains_itself(command: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    assert "--registry FILE" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("command", "option"), [(["orgs", "audit"], "--top"), (["attribution"], "--max-lookups")]
)
def test_counts_must_be_positive(command: list[str], option: str, capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main([*command, "--out", "x.csv", option, "0"])
    assert done.value.code == 2
    assert f"{option}: expected a whole number >= 1, got '0'" in capsys.readouterr().err
