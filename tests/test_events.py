"""The events file: `pipelines events check` finds each bad row at its file:line, the shipped file passes,
and time charts show exactly the events inside their dates, at the events' dates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from dashboards.charts import render_chart
from dashboards.filters import EVENT_KINDS, Filters
from pipelines.__main__ import main
from pipelines.events import (
    COLUMNS,
    SHIPPED_EVENTS,
    SHIPPED_VERIFICATION,
    EventsError,
    check_events,
    load_events,
)

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


REGISTRY_HEADER = "namespace,organization,country,region,kind,source,notes"


def test_an_organisation_other_than_the_registrys_for_the_model_namespace_is_a_warning_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    override = tmp_path / "orgs-override.csv"
    override.write_text(f"{REGISTRY_HEADER}\nhand-lab,Hand Lab (Example),US,us,company,https://example.org,\n")
    monkeypatch.setenv("OWT_REGISTRY", str(override))
    path = write(
        tmp_path,
        "2025-01-01,release,Named as the registry names it,Hand Lab (Example),hand-lab/model-a,https://example.org/a,",
        "2025-01-02,release,Same name in other case,HAND LAB (example),hand-lab/model-b,https://example.org/b,",
        "2025-01-03,release,Another name,Hand Lab,hand-lab/model-c,https://example.org/c,",  # line 4
        "2025-01-04,release,Unregistered namespace,Someone,nobody-xyz/model-d,https://example.org/d,",  # 5
        "2025-01-05,policy,No model so nothing to compare,Agency B,,https://example.org/e,",
    )
    assert main(["events", "check", str(path)]) == 0  # a naming slip is a warning: the row stays usable
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"{path}:4: warning: organisation 'Hand Lab' is not the registry's organisation of namespace "
        "'hand-lab': 'Hand Lab (Example)'",
        f"{path}:5: warning: namespace 'nobody-xyz' of model_id 'nobody-xyz/model-d' is not in the org "
        "registry, so the organisation cannot be checked",
        f"events check: OK, 5 events (4 release, 1 policy; 2025-01-01 to 2025-01-05), 2 warning(s) in {path}",
    ]
    assert len(load_events(path)) == 5  # charts do not depend on the registry


def test_a_broken_registry_leaves_organisations_unchecked_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    override = tmp_path / "orgs-override.csv"
    override.write_text(f"{REGISTRY_HEADER}\nhand-lab,Hand Lab,FR,us,company,https://example.org,\n")
    monkeypatch.setenv("OWT_REGISTRY", str(override))
    path = write(tmp_path, GOOD)
    assert [(p.line, p.severity, p.message) for p in check_events(path)] == [
        (0, "warning", "organisations not checked: the org registry has 1 error(s) (see `orgs check`)")
    ]


def test_a_date_outside_the_supported_range_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "1999-12-31,release,Too early,Meta,,https://example.org/a,")
    [problem] = check_events(path)
    reason = "date: 1999-12-31 is outside the supported dates 2000-01-01 to 2100-12-31"
    assert (problem.line, problem.message) == (2, reason)


# ---- events on time charts ------------------------------------------------------------------------------

#: The chart store (tests/conftest.py) holds daily snapshots from 2025-07-18 to 2025-09-30.
HAND_EVENTS = [
    "2025-07-17,release,Day before the first snapshot,Lab A,,https://example.org/1,",
    "2025-07-18,release,On the first snapshot,Lab A,,https://example.org/2,",
    "2025-08-15,policy,Mid August rule,Agency B,,https://example.org/3,",
    "2025-09-30,policy,On the last snapshot,Agency B,,https://example.org/4,",
    "2025-10-01,release,After the last snapshot,Lab A,,https://example.org/5,",
]


@pytest.fixture
def hand_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write(tmp_path, *HAND_EVENTS)
    monkeypatch.setenv("OWT_EVENTS", str(path))
    return path


def marked(result) -> list[tuple[str, str]]:
    """(date, label) of each event marker drawn: the line's x and the label's text at the same x."""
    lines = [shape.x0 for shape in result.figure.layout.shapes if shape.name == "event"]
    labels = [(note.x, note.text) for note in result.figure.layout.annotations if note.name == "event"]
    assert [x for x, _ in labels] == lines
    return [(pd.Timestamp(x).date().isoformat(), text) for x, text in labels]


def test_a_chart_over_snapshot_dates_marks_only_the_events_between_its_first_and_last_snapshot(
    chart_warehouse, hand_events: Path
) -> None:
    result = render_chart("cumulative-by-country", chart_warehouse, Filters(events=EVENT_KINDS))
    assert marked(result) == [
        ("2025-07-18", "On the first snapshot"),
        ("2025-08-15", "Mid August rule"),
        ("2025-09-30", "On the last snapshot"),
    ]
    assert [event.title for event in result.events] == [text for _, text in marked(result)]
    assert result.source.endswith("Events (release and policy): 3 marked, from events.csv, each with its "
                                  "source there.")  # fmt: skip
    policy = render_chart("cumulative-by-country", chart_warehouse, Filters(events=("policy",)))
    assert marked(policy) == [("2025-08-15", "Mid August rule"), ("2025-09-30", "On the last snapshot")]


def test_a_period_chart_marks_the_events_of_its_whole_periods_within_the_view(
    chart_warehouse, hand_events: Path
) -> None:
    # Monthly periods July to September 2025: 1 Jul to 30 Sep; the October event is outside.
    monthly = render_chart("downloads-by-country", chart_warehouse, Filters(events=EVENT_KINDS))
    assert [date for date, _ in marked(monthly)] == ["2025-07-17", "2025-07-18", "2025-08-15", "2025-09-30"]
    # From 1 Aug the chart starts with August: the July events are outside its dates.
    august_on = Filters(start=dt.date(2025, 8, 1), events=EVENT_KINDS)
    assert [d for d, _ in marked(render_chart("downloads-by-country", chart_warehouse, august_on))] == [
        "2025-08-15",
        "2025-09-30",
    ]


def test_no_events_unless_asked_and_none_on_charts_not_drawn_over_time(
    chart_warehouse, hand_events: Path
) -> None:
    off = render_chart("cumulative-by-country", chart_warehouse, Filters())
    assert marked(off) == [] and off.events == () and "Events" not in off.source
    sizes = render_chart("size-by-country", chart_warehouse, Filters(events=EVENT_KINDS))
    assert marked(sizes) == [] and "Events" not in sizes.source


def test_a_bad_events_file_leaves_the_chart_drawn_and_says_why_in_its_source_line(
    chart_warehouse, hand_events: Path
) -> None:
    hand_events.write_text(HEADER + "\n2025-08-15,launch,Bad,Lab,,https://example.org/x,\n", encoding="utf-8")
    result = render_chart("cumulative-by-country", chart_warehouse, Filters(events=EVENT_KINDS))
    assert marked(result) == [] and not result.data.empty
    assert f"Events not shown: {hand_events}:2: kind 'launch' is not one of release, policy" in result.source


def test_the_events_view_parameter_round_trips_and_refuses_unknown_kinds() -> None:
    assert Filters.from_params({"events": "1"})[0].events == ("release", "policy")
    assert Filters.from_params({"events": "policy"})[0].to_params() == {"events": "policy"}
    assert Filters.from_params({"events": "0"})[0].to_params() == {}
    filters, notes = Filters.from_params({"events": "launch"})
    assert filters.events == () and "must be 1 (all events), 0 (none) or kinds" in notes[0]


def _all_text(node) -> str:
    """Every string in a Dash component tree (children, depth first)."""
    if isinstance(node, str):
        return node
    if isinstance(node, (list, tuple)):
        return " ".join(_all_text(child) for child in node)
    return _all_text(getattr(node, "children", None) or [])


def test_methodology_says_how_the_shipped_events_were_verified_and_says_nothing_of_another_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboards.pages.methodology import _events_section

    monkeypatch.delenv("OWT_EVENTS", raising=False)
    shipped = _all_text(_events_section())
    assert SHIPPED_VERIFICATION in shipped
    assert "Qwen2 (0.5B to 72B)" in shipped  # the table is there too
    monkeypatch.setenv("OWT_EVENTS", str(write(tmp_path, GOOD)))
    other = _all_text(_events_section())
    assert "Llama 3.1" in other
    assert SHIPPED_VERIFICATION not in other
