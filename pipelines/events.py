"""The events file: `events check [FILE]` validates data/events.csv (or FILE), each problem as file:line.

The events file (UTF-8, header `date,kind,title,organisation,model_id,source_url,notes`) lists what happened
when: open-weight releases and policy events (export-control rules, licence or use-policy changes) that
time charts can show as annotations (`events` view parameter, `--events` in `python -m dashboards export`).
Every row needs a date in YYYY-MM-DD form (the store's date rule), a known kind, a title, an organisation
and a source URL (http or https: an official announcement, model card, Federal Register or press page);
model_id, when given, is a Hub model id `namespace/name`; notes say e.g. that the date is an announcement
date. A row repeating the date, kind and title of an earlier one is a duplicate. A row with a model_id names
its organisation as the org registry does for that namespace (a warning otherwise, and when the namespace is
not in the registry), so an event reads like the organisation the dashboard shows. Exit code 1 on any error
(warnings alone exit 0), so the check can gate a commit or CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pipelines.registry import Problem, RegistryError, _decode_lines, load_registry, table_rows
from pipelines.store import parse_date

SHIPPED_EVENTS = Path(__file__).resolve().parent.parent / "data" / "events.csv"
#: Environment variable naming another events file for the charts (same columns; replaces the shipped one).
EVENTS_ENV = "OWT_EVENTS"
COLUMNS = ("date", "kind", "title", "organisation", "model_id", "source_url", "notes")
#: What an event is: a model released with open weights, or a policy (a rule, an order, a use-policy change).
KINDS = ("release", "policy")
#: How the shipped data/events.csv was last verified, row by row (shown on Methodology & data).
SHIPPED_VERIFICATION = (
    "Every row was checked on 4 Dec 2026 without live web access, against stored public copies: the "
    "organisations' own READMEs, release notes, model cards and commit history (Meta's llama-models, "
    "Qwen, DeepSeek, Kimi, GLM, MiniMax, gpt-oss), the transformers model docs and Hugging Face blog "
    "index (which date releases), DeepSeek's news index, Federal Register and BIS pages, and dated news "
    "pages. Model ids were matched, case included, to ATOM's tracked list and the transformers docs; "
    "organisations to the org registry. A source URL counts as checked when its stored copy, or the "
    "organisation's own README or index linking it, was found. Not found in the store: the announcement "
    "pages of ChatGLM-6B, MiniMax-Text-01, MiniMax-M2 and Kimi K2 Thinking, whose dates rest on "
    "repository history and dated third-party posts (their sources are the Hub model cards, which give "
    "no date)."
)
_MODEL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Event:
    """One dated event of the events file."""

    date: dt.date
    kind: str
    title: str
    organisation: str
    model_id: str
    source_url: str
    notes: str


class EventsError(ValueError):
    """An events file that cannot be used; `problems` holds every error found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"the events file has {len(problems)} error(s); fix them and retry:\n{lines}")


def _url_problem(url: str) -> str | None:
    """Why `url` is not a usable source link (None when it is one)."""
    if not url:
        return "source_url is empty: give the page that dates the event (announcement, model card, rule)"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "." not in parts.hostname:
        return f"source_url {url!r} is not an http(s) URL with a host name"
    if any(ch.isspace() for ch in url):
        return f"source_url {url!r} contains spaces"
    return None


def _row_problems(row: dict[str, str]) -> tuple[dt.date | None, list[str]]:
    """The row's date (None when invalid) and what is wrong with it."""
    messages = []
    try:
        date = parse_date(row["date"])
    except ValueError as error:
        date = None
        messages.append(f"date: {error}")
    if row["kind"] not in KINDS:
        messages.append(f"kind {row['kind']!r} is not one of {', '.join(KINDS)}")
    for column in ("title", "organisation"):
        if not row[column]:
            messages.append(f"{column} is empty")
    if row["model_id"] and not _MODEL_ID_RE.match(row["model_id"]):
        messages.append(f"model_id {row['model_id']!r} is not a Hub model id (namespace/name)")
    url_problem = _url_problem(row["source_url"])
    if url_problem:
        messages.append(url_problem)
    return date, messages


def _parse(path: Path) -> tuple[list[tuple[int, Event]], list[Problem]]:
    """The valid events with their lines (in file order) and every problem of one events file."""
    problems: list[Problem] = []
    if not path.is_file():
        return [], [Problem(path, 0, "events file not found")]
    table = table_rows(path, _decode_lines(path, problems), COLUMNS, problems)
    if table is None:
        return [], problems
    events: list[tuple[int, Event]] = []
    first_seen: dict[tuple[str, str, str], int] = {}
    for line, row in table:
        date, messages = _row_problems(row)
        key = (row["date"], row["kind"], row["title"].casefold())
        if key in first_seen:
            messages.append(f"duplicate event: same date, kind and title as line {first_seen[key]}")
        else:
            first_seen[key] = line
        problems += [Problem(path, line, message) for message in messages]
        if not messages and date is not None:
            events.append((line, Event(**{**row, "date": date})))  # type: ignore[arg-type]
    return events, problems


def _organisation_warnings(path: Path, events: list[tuple[int, Event]]) -> list[Problem]:
    """Rows whose organisation is not the registry's organisation of their model's namespace (compared
    case-insensitively, as the registry compares organisations), or whose namespace the registry lacks."""
    try:
        registry = load_registry()
    except RegistryError as error:
        errors = len(error.problems)
        message = f"organisations not checked: the org registry has {errors} error(s) (see `orgs check`)"
        return [Problem(path, 0, message, "warning")]
    warnings = []
    for line, event in events:
        if not event.model_id:
            continue
        namespace = event.model_id.split("/", 1)[0]
        org = registry.lookup(namespace)
        if org is None:
            message = (f"namespace {namespace!r} of model_id {event.model_id!r} is not in the org registry, "
                       "so the organisation cannot be checked")  # fmt: skip
        elif event.organisation.casefold() != org.organization.casefold():
            message = (f"organisation {event.organisation!r} is not the registry's organisation of namespace "
                       f"{namespace!r}: {org.organization!r}")  # fmt: skip
        else:
            continue
        warnings.append(Problem(path, line, message, "warning"))
    return warnings


def check_events(path: Path) -> list[Problem]:
    """Every problem in one events file (errors and warnings, organisations checked against the org
    registry), in file order."""
    events, problems = _parse(Path(path))
    return sorted(problems + _organisation_warnings(Path(path), events), key=lambda problem: problem.line)


def events_file() -> Path:
    """The events file charts annotate with: env `OWT_EVENTS`, else the shipped data/events.csv."""
    chosen = os.environ.get(EVENTS_ENV)
    return Path(chosen).expanduser() if chosen else SHIPPED_EVENTS


def load_events(path: Path | None = None) -> tuple[Event, ...]:
    """The events of `path` (default: the shipped data/events.csv) by date; EventsError lists every error,
    so no chart shows half a file."""
    events, problems = _parse(Path(path) if path else SHIPPED_EVENTS)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise EventsError(errors)
    return tuple(sorted((event for _, event in events), key=lambda event: event.date))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="events_command", metavar="{check}", required=True)
    check = commands.add_parser(
        "check", help="validate the events file; every problem with file:line", description=__doc__
    )
    check.add_argument(
        "file", nargs="?", type=Path, default=SHIPPED_EVENTS, metavar="FILE",
        help="events file to check (default: the shipped data/events.csv)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    problems = check_events(args.file)
    for problem in problems:
        print(problem)
    errors = sum(problem.severity == "error" for problem in problems)
    warnings = len(problems) - errors
    if errors:
        print(f"events check: {errors} error(s), {warnings} warning(s) in {args.file}")
        return 1
    events = load_events(args.file)
    kinds = ", ".join(f"{sum(e.kind == kind for e in events)} {kind}" for kind in KINDS)
    span = f"{events[0].date} to {events[-1].date}" if events else "no events"
    print(f"events check: OK, {len(events)} events ({kinds}; {span}), {warnings} warning(s) in {args.file}")
    return 0
