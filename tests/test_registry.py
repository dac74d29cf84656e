"""The org registry: every kind of mistake is reported with its line, and nothing half-valid is ever used."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.registry import (
    COLUMNS,
    INDIVIDUAL,
    INTERNATIONAL,
    SHIPPED_REGISTRY,
    UNATTRIBUTED_ORG,
    RegistryError,
    check_registry,
    load_registry,
    region_of,
)
from tests.attribution_data import REGISTRY_HEADER, write_registry

GOOD_ROW = "Qwen,Alibaba Cloud (Qwen team),CN,china,company,https://qwenlm.github.io,"


@pytest.mark.parametrize(
    ("bad_row", "expected"),
    [
        ("meta-llama,Meta,US,us,company", "5 columns, expected 7"),
        ("meta-llama,Meta,US,us,company,https://ai.meta.com,,extra", "8 columns, expected 7"),
        ("meta-llama,Meta,XX,us,company,https://ai.meta.com,", "country 'XX' is not an ISO 3166-1 alpha-2"),
        ("meta-llama,Meta,us,us,company,https://ai.meta.com,", "(did you mean 'US'?)"),
        ("meta-llama,Meta,USA,us,company,https://ai.meta.com,", "country 'USA' is not an ISO 3166-1 alpha-2"),
        ("mistralai,Mistral AI,FR,us,company,https://mistral.ai,", "not match country FR: expected 'eu'"),
        ("mistralai,Mistral AI,FR,europe,company,https://mistral.ai,", "region 'europe' is not one of"),
        ("QWEN,Alibaba,CN,china,company,https://qwen.ai,", "duplicate namespace 'QWEN' (first at line 2"),
        ("meta-llama,Meta,US,us,company,,", "source is empty"),
        ("EleutherAI,EleutherAI,,unknown,community,https://eleuther.ai,", "country is empty without a"),
        ("meta-llama,Meta,US,us,corporation,https://ai.meta.com,", "kind 'corporation' is not one of"),
        ("meta-llama,,US,us,company,https://ai.meta.com,", "organization is empty"),
        ("meta llama,Meta,US,us,company,https://ai.meta.com,", "is not a Hub namespace"),
        (",Meta,US,us,company,https://ai.meta.com,", "namespace is empty"),
    ],
)
def test_each_error_is_reported_with_its_line(tmp_path: Path, bad_row: str, expected: str) -> None:
    path = write_registry(tmp_path / "orgs.csv", [GOOD_ROW, bad_row])
    problems = check_registry(path)
    assert [(p.line, p.severity) for p in problems] == [(3, "error")]
    assert expected in problems[0].message
    assert str(problems[0]).startswith(f"{path}:3: ")


def test_line_numbers_count_physical_lines_of_quoted_multiline_fields(tmp_path: Path) -> None:
    rows = ['google,Google,US,us,company,https://ai.google,"contested:\nUS or GB"', "b,B,ZZ,us,company,x,"]
    problems = check_registry(write_registry(tmp_path / "orgs.csv", rows))
    assert [(p.line, p.message[:12]) for p in problems] == [(4, "country 'ZZ'")]


def test_text_that_is_not_utf8_is_reported_by_line(tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    path.write_bytes(
        f"{REGISTRY_HEADER}\n{GOOD_ROW}\n".encode()
        + "mistralai,Mistral AI,FR,eu,company,https://mistral.ai,Société\n".encode("latin-1")
    )
    problems = check_registry(path)
    assert [p.line for p in problems] == [3]
    assert "not UTF-8 (byte 0xe9" in problems[0].message and "save the file as UTF-8" in problems[0].message


def test_a_missing_header_is_reported_on_line_1(tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    path.write_text(GOOD_ROW + "\n", encoding="utf-8")
    problems = check_registry(path)
    assert [(p.line, p.message.split(" ")[0]) for p in problems] == [(1, "missing")]
    assert "first line must be namespace,organization,country,region,kind,source,notes" in str(problems[0])


def test_an_empty_file_and_a_missing_file_are_reported(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert [(p.line, p.message[:10]) for p in check_registry(empty)] == [(1, "empty file")]
    missing = tmp_path / "nope.csv"
    assert [str(p) for p in check_registry(missing)] == [f"{missing}: registry file not found"]


def test_spaces_around_fields_are_a_warning_and_the_row_still_loads(tmp_path: Path) -> None:
    path = write_registry(tmp_path / "orgs.csv", [" Qwen , Alibaba Cloud,CN,china,company,https://q.ai,"])
    assert [(p.line, p.severity) for p in check_registry(path)] == [(2, "warning")]
    assert load_registry(path).lookup("qwen").country == "CN"


def test_load_refuses_the_whole_registry_and_lists_every_error(tmp_path: Path) -> None:
    path = write_registry(tmp_path / "orgs.csv", [GOOD_ROW, "a,A,XX,us,company,x,", "b,B,US,us,company,,"])
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    message = str(caught.value)
    assert f"{path}:3: country 'XX'" in message and f"{path}:4: source is empty" in message
    assert len(caught.value.problems) == 2


def test_lookup_is_case_insensitive_and_keeps_the_registry_spelling(tmp_path: Path) -> None:
    registry = load_registry(write_registry(tmp_path / "orgs.csv"))
    assert registry.lookup("qwen").namespace == "Qwen"
    assert registry.lookup("DEEPSEEK-AI").organization == "DeepSeek"
    assert registry.lookup("bartowski") is None


def test_override_rows_replace_and_add_namespaces(tmp_path: Path) -> None:
    shipped = write_registry(tmp_path / "orgs.csv")
    override = write_registry(
        tmp_path / "mine.csv",
        ["MISTRALAI,Mistral AI,US,us,company,my reading,", "bartowski,Bartowski,CA,other,individual,hf,"],
    )
    registry = load_registry(shipped, override)
    assert registry.lookup("mistralai").country == "US"
    assert registry.lookup("bartowski").country == "CA"
    assert len(registry) == len(load_registry(shipped)) + 1
    assert registry.files == (shipped, override)


def test_the_override_file_can_come_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    shipped = write_registry(tmp_path / "orgs.csv")
    override = write_registry(tmp_path / "mine.csv", ["mistralai,Mistral AI,US,us,company,my reading,"])
    monkeypatch.setenv("OWT_REGISTRY", str(override))
    assert load_registry(shipped).lookup("mistralai").country == "US"


def test_errors_in_the_override_file_refuse_the_registry(tmp_path: Path) -> None:
    override = write_registry(tmp_path / "mine.csv", ["mistralai,Mistral AI,FR,us,company,x,"])
    with pytest.raises(RegistryError, match=r"mine.csv:2: region 'us' does not match country FR"):
        load_registry(write_registry(tmp_path / "orgs.csv"), override)


def test_the_digest_follows_content_not_layout(tmp_path: Path) -> None:
    rows = ["Qwen,Alibaba,CN,china,company,x,", "google,Google,US,us,company,y,"]
    first = load_registry(write_registry(tmp_path / "a.csv", rows))
    reordered = load_registry(write_registry(tmp_path / "b.csv", rows[::-1]))
    corrected = load_registry(write_registry(tmp_path / "c.csv", [rows[0], "google,Google,GB,eu,company,y,"]))
    assert first.digest == reordered.digest
    assert corrected.digest != first.digest


def test_rows_without_a_country_count_as_international_or_individual(tmp_path: Path) -> None:
    registry = load_registry(write_registry(tmp_path / "orgs.csv"))
    assert registry.lookup("bigcode").attributed_country == INTERNATIONAL
    assert registry.lookup("EleutherAI").attributed_country == INDIVIDUAL
    assert registry.lookup("Qwen").attributed_country == "CN"
    frame = registry.to_frame()
    assert tuple(frame.columns) == COLUMNS
    assert len(frame) == len(registry)


@pytest.mark.parametrize(
    ("country", "region"),
    [("US", "us"), ("CN", "china"), ("HK", "china"), ("MO", "china"), ("TW", "other"), ("FR", "eu"),
     ("GB", "eu"), ("CH", "eu"), ("NO", "eu"), ("IS", "eu"), ("CY", "eu"), ("IL", "other"), ("KR", "other"),
     ("", "unknown"), (INTERNATIONAL, "unknown"), ("XX", "unknown")],
)
def test_countries_reduce_to_regions(country: str, region: str) -> None:
    assert region_of(country) == region


def test_the_shipped_registry_is_valid_and_every_row_has_a_source() -> None:
    assert [str(p) for p in check_registry(SHIPPED_REGISTRY) if p.severity == "error"] == []
    registry = load_registry()
    assert all(org.source for org in registry.orgs.values())


def test_an_unconfirmed_country_is_unknown_not_international(tmp_path: Path) -> None:
    unconfirmed_intl = "rhymes-ai,Rhymes AI,,unknown,company,https://rhymes.ai,headquarters not confirmed"
    path = write_registry(tmp_path / "orgs.csv", [GOOD_ROW, unconfirmed_intl])
    problems = [str(p) for p in check_registry(path)]
    assert problems == [
        f"{path}:3: country is empty, which makes a company international (INTL), but the notes say its "
        "country is not confirmed: write 'unknown' in country (counted as unknown)"
    ]
    # A community without a country is INDIVIDUAL, not INTL: its unconfirmed notes are fine.
    community = "cognitivecomputations,Cognitive Computations,,unknown,community,https://x,unconfirmed base"
    unknown = "rhymes-ai,Rhymes AI,unknown,unknown,company,https://rhymes.ai,headquarters not confirmed"
    registry = load_registry(write_registry(tmp_path / "fixed.csv", [unknown, community]), override=None)
    assert registry.lookup("rhymes-ai").attributed_country == UNATTRIBUTED_ORG
    assert registry.lookup("cognitivecomputations").attributed_country == INDIVIDUAL


@pytest.mark.parametrize(
    ("bad_row", "expected"),
    [
        ("rhymes-ai,Rhymes AI,unknown,unknown,company,https://x,", "country is 'unknown' without a reason"),
        ("rhymes-ai,Rhymes AI,Unknown,unknown,company,https://rhymes.ai,x", "(did you mean 'unknown'?)"),
        ("rhymes-ai,Rhymes AI,unknown,other,company,https://rhymes.ai,x", "expected 'unknown'"),
        ("x-ai,X,,unknown,lab,https://x,country unverified", "notes say its country is not confirmed"),
    ],
)
def test_the_unknown_country_value_needs_a_reason_and_the_unknown_region(
    tmp_path: Path, bad_row: str, expected: str
) -> None:
    path = write_registry(tmp_path / "orgs.csv", [GOOD_ROW, bad_row])
    assert any(p.line == 3 and expected in p.message for p in check_registry(path)), check_registry(path)


def test_the_shipped_registry_marks_unconfirmed_headquarters_unknown() -> None:
    registry = load_registry(override=None)
    for namespace in ("Falconsai", "myshell-ai", "rhymes-ai", "second-state"):
        assert registry.lookup(namespace).attributed_country == UNATTRIBUTED_ORG, namespace
