"""The events file: `pipelines events check` finds each bad row at its file:line, the shipped file passes,
and time charts show exactly the events inside their dates, at the events' dates."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.__main__ import main
from pipelines.events import COLUMNS, SHIPPED_EVENTS, EventsError, check_events, load_events

HEADER = ",".join(COLUMNS)
GOOD = "2024-07-23,release,Llama 3.1,Meta,meta-llama/Llama-3.1-405B,https://ai.meta.com/blog/meta-llama-3-1/,"


def write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "events.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_the_shipped_events_file_passes_its_check_with_at_least_30_sourced_events(capsys) -> None:
    assert main(["events", "check"]) == 0
    assert "events check: OK" in capsys.readouterr().out
    events = load_events()
    assert len(events) >= 30
    assert {event.kind for event in events} == {"release", "policy"}
    assert all(event.source_url.startswith("https://") for event in events)
    assert [e.date for e in events] == sorted(e.date for e in events)
    assert check_events(SHIPPED_EVENTS) == []


def test_each_bad_row_is_reported_at_its_line_with_the_reason(tmp_path: Path, capsys) -> None:
    path = write(
        tmp_path,
        GOOD,  # line 2
        "2024-13-01,release,Bad month,Meta,,https://example.org/a,",  # 3
        "2024-09-25,launch,Unknown kind,Meta,,https://example.org/b,",  # 4
        "2024-09-26,release,No source,Meta,,,",  # 5
        "2024-09-27,policy,Bad URL,BIS,,ftp://example.org/rule,",  # 6
        "2024-09-28,release,Bad model id,Meta,Llama 3,https://example.org/c,",  # 7
        "2024-07-23,release,LLAMA 3.1,Meta,,https://example.org/d,",  # 8: duplicate of line 2
        "2024-09-29,release,,Meta,,https://example.org/e,",  # 9: no title
        "2024-09-30,release,Too few columns,Meta",  # 10
        "20240901,policy,Compact date,BIS,,https://example.org/f,",  # 11
    )
    assert main(["events", "check", str(path)]) == 1
    out = capsys.readouterr().out
    expected = {
        3: "date: not a date in YYYY-MM-DD form: '2024-13-01'",
        4: "kind 'launch' is not one of release, policy",
        5: "source_url is empty",
        6: "source_url 'ftp://example.org/rule' is not an http(s) URL with a host name",
        7: "model_id 'Llama 3' is not a Hub model id (namespace/name)",
        8: "duplicate event: same date, kind and title as line 2",
        9: "title is empty",
        10: "4 columns, expected 7",
        11: "date: not a date in YYYY-MM-DD form: '20240901'",
    }
    for line, reason in expected.items():
        assert f"{path}:{line}: {reason}" in out
    assert f"{path}:2:" not in out
    assert "events check: 9 error(s), 0 warning(s)" in out
    with pytest.raises(EventsError) as raised:
        load_events(path)
    assert [problem.line for problem in raised.value.problems] == list(expected)


def test_a_wrong_header_and_a_missing_file_are_errors(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, GOOD, header="date,kind,title")
    assert main(["events", "check", str(path)]) == 1
    assert f"{path}:1: missing or wrong header 'date,kind,title'" in capsys.readouterr().out
    assert main(["events", "check", str(tmp_path / "none.csv")]) == 1
    assert "events file not found" in capsys.readouterr().out


def test_a_date_outside_the_supported_range_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "1999-12-31,release,Too early,Meta,,https://example.org/a,")
    [problem] = check_events(path)
    reason = "date: 1999-12-31 is outside the supported dates 2000-01-01 to 2100-12-31"
    assert (problem.line, problem.message) == (2, reason)
