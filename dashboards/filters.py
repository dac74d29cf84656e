"""The view a user asks for: one immutable value shared by URL state, queries, figures and exports.

Every page control maps to one field here; `dashboards.state` parses URL parameters into it and the query
layer (`dashboards.query`) takes it as its only filter argument, so a chart, its CSV and its export always
describe the same view.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Literal

from pipelines.definitions import (
    DATE_PRESETS,
    INDIVIDUAL_GROUPINGS,
    INTERNATIONAL_ONLINE,
    INTERNATIONAL_ONLINE_CODES,
    LEADER_NEXT_DEFAULT,
    LEADER_NEXT_MAX,
    MAX_COMPARED,
    ROLLING_WINDOWS,
)
from pipelines.events import KINDS as EVENT_KINDS
from pipelines.registry import INDIVIDUAL, INTERNATIONAL, ISO_COUNTRIES, UNATTRIBUTED_ORG  # noqa: F401  (re-exported for the pages)
from pipelines.store import DATE_MAX, DATE_MIN, parse_date

Period = Literal["day", "week", "month"]
Attribution = Literal["publisher", "lineage"]
Scope = Literal["all", "first-party", "atom"]
FlowMeasure = Literal["count", "downloads"]
FlowCells = Literal["count", "share"]

PERIODS: tuple[Period, ...] = ("day", "week", "month")
ATTRIBUTIONS: tuple[Attribution, ...] = ("publisher", "lineage")
SCOPES: tuple[Scope, ...] = ("all", "first-party", "atom")
#: Cross-border views (dashboards.crossborder): new derivatives or their downloads; counts or row shares.
FLOW_MEASURES: tuple[FlowMeasure, ...] = ("count", "downloads")
FLOW_CELLS: tuple[FlowCells, ...] = ("count", "share")

#: ATOM's size classes by total parameters (labels are stable ids used in URLs and exports).
SIZE_CLASSES: tuple[str, ...] = ("<1B", "1-5B", "7-9B", "10-50B", "50-100B", "100-250B", "250B+")


#: Series labels used when countries are grouped for display.
REST_OF_WORLD = "Rest of world"
UNATTRIBUTED = "Unattributed"
#: The group of individuals and international organisations under the international-online grouping.
INTERNATIONAL_ONLINE_GROUP = INTERNATIONAL_ONLINE


def grouped_codes(individuals: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(codes shown as International/Online, codes shown as Unattributed) under a view's grouping of
    individuals (`Filters.individuals`); any other code not selected is Rest of world. The query layer's
    SQL and `dashboards.colors.display_group` both group by this."""
    online = INTERNATIONAL_ONLINE_CODES if individuals == INDIVIDUAL_GROUPINGS[1] else ()
    return online, tuple(code for code in (UNATTRIBUTED_ORG, INDIVIDUAL) if code not in online)

#: URL / command-line parameter name of each Filters field (`?from=2025-01-01&countries=CN,US&log=1`).
PARAM_NAMES: dict[str, str] = {
    "start": "from",
    "end": "to",
    "period": "period",
    "countries": "countries",
    "attribution": "attribution",
    "scope": "scope",
    "task": "task",
    "size_class": "size",
    "log_scale": "log",
    "channel": "channel",
    "events": "events",
    # Organisation comparison, leader vs next N, and how individuals are grouped (issue 13, points 3-4).
    "orgs": "orgs",
    "leader_next": "next",
    "individuals": "individuals",
    "pair": "pair",
    "flow_measure": "measure",
    "flow_cells": "cells",
    "preset": "range",
    "rolling": "rolling",
}

#: The view's channel values: the Hub, ModelScope, or both side by side (never summed into one number).
CHANNEL_CHOICES = ("hf", "modelscope", "all")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")
_MAX_TASK_LENGTH = 64
_MAX_NOTED_LENGTH = 200

ParamValue = str | Sequence[str] | None


@dataclass(frozen=True)
class Filters:
    """What to show. Defaults are the view a first-time visitor gets: China vs US, monthly, by publisher."""

    start: dt.date | None = None
    end: dt.date | None = None
    period: Period = "month"
    countries: tuple[str, ...] = ("CN", "US")
    attribution: Attribution = "publisher"
    scope: Scope = "all"
    task: str | None = None
    size_class: str | None = None
    log_scale: bool = False
    channel: str = "hf"  # which usage channels the channel charts show: a key of CHANNEL_CHOICES
    #: Kinds of events (data/events.csv) drawn on time charts; none (the default) draws none.
    events: tuple[str, ...] = ()
    #: Organisations compared (namespaces, as the organisation pages use them), at most MAX_COMPARED.
    orgs: tuple[str, ...] = ()
    #: How many organisations after the leader the leader-vs-next chart sums.
    leader_next: int = LEADER_NEXT_DEFAULT
    #: Where individuals and international organisations go (definitions: `individuals_grouping`).
    individuals: str = INDIVIDUAL_GROUPINGS[0]
    #: Cross-border views: the two countries whose derivatives of each other's bases are followed.
    pair: tuple[str, str] = ("CN", "US")
    flow_measure: FlowMeasure = "count"
    flow_cells: FlowCells = "count"
    #: A date preset (`DATE_PRESETS`): the URL keeps it instead of dates, which are resolved from the store's
    #: last counted day (`dashboards.timeview.resolve_preset`) into `start` and `end`.
    preset: str | None = None
    #: Days of the rolling average of daily views (0: none; `ROLLING_WINDOWS`).
    rolling: int = 0

    def __post_init__(self) -> None:
        """Dates outside DATE_MIN..DATE_MAX are refused here too, so that no query meets them (month
        arithmetic on year 9999 overflows); the parsers never produce them."""
        for day in (self.start, self.end):
            if day is not None:
                parse_date(day)

    @property
    def every_model(self) -> bool:
        """Whether every model counts: no scope, task or size-class filter (dates and countries aside)."""
        return self.scope == "all" and not self.task and not self.size_class

    @classmethod
    def from_params(cls, params: Mapping[str, ParamValue]) -> tuple[Filters, list[str]]:
        """Parse URL query / command-line values (names in PARAM_NAMES) into Filters, never failing.

        Each value that is missing keeps its default; each invalid one also keeps its default and adds a note
        saying what was wrong and what is used instead, for the dashboard to show. Values may be lists (from
        `parse_qs`): the last wins. Unknown parameter names are ignored (other pages may add their own).
        """
        filters, problems = parse_params(params)
        return filters, [problem.note for problem in problems]

    def to_params(self) -> dict[str, str]:
        """The non-default fields as parameters (the inverse of from_params): short, shareable URLs."""
        defaults = Filters()
        params: dict[str, str] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if self.preset and field.name in ("start", "end"):
                continue  # a preset link stays relative to the latest data
            if value != getattr(defaults, field.name):
                params[PARAM_NAMES[field.name]] = _format(value)
        return params


@dataclass(frozen=True)
class ParamProblem:
    """An invalid parameter value: `message` says what is wrong, `note` also what is used instead."""

    param: str
    value: str
    message: str
    fallback: str

    @property
    def note(self) -> str:
        return f"{self.param}={self.value!r}: {self.message}; {self.fallback}"


def parse_params(params: Mapping[str, ParamValue]) -> tuple[Filters, list[ParamProblem]]:
    """Filters from parameters, and each problem found (the command line refuses them, the dashboard notes
    them and falls back to the default)."""
    defaults = Filters()
    problems: list[ParamProblem] = []
    values: dict[str, object] = {}
    for field in fields(Filters):
        name = PARAM_NAMES[field.name]
        raw = _last(params.get(name))
        if raw is None:
            continue
        parsed, message = _PARSERS[field.name](raw.strip())
        if message:
            fallback = f"using {_describe(getattr(defaults, field.name))}"
            problems.append(ParamProblem(name, raw, message, fallback))
        else:
            values[field.name] = parsed
    start, end = values.get("start"), values.get("end")
    if isinstance(start, dt.date) and isinstance(end, dt.date) and start > end:
        problem = ParamProblem("from", start.isoformat(), f"is after the end date {end}", "showing all dates")
        problems.append(problem)
        del values["start"], values["end"]
    if "preset" in values:
        for name in ("start", "end"):
            if values.pop(name, None) is not None:
                raw = _last(params.get(PARAM_NAMES[name])) or ""
                message = f"not used with range={values['preset']}"
                problems.append(ParamProblem(PARAM_NAMES[name], raw, message, "the range sets the dates"))
        if values["preset"] == "all":
            values["preset"] = None  # every date: the default view
    return Filters(**values), problems  # type: ignore[arg-type]


def check_task(filters: Filters, known_tasks: Sequence[str]) -> tuple[Filters, list[ParamProblem]]:
    """The view with a task that no model in the store has replaced by all tasks, and the problem found: a
    well-formed but unknown task would show empty charts, and no control can show it."""
    if not filters.task or filters.task in known_tasks:
        return filters, []
    shown = ", ".join(known_tasks[:12]) + (", ..." if len(known_tasks) > 12 else "")
    message = f"no model in the store has this task (known: {shown})"
    problem = ParamProblem(PARAM_NAMES["task"], filters.task, message, "using all tasks")
    return replace(filters, task=None), [problem]


def _last(value: ParamValue) -> str | None:
    """The value of a parameter (the last of a list); anything but text (a number or an object in a Dash
    callback's filters) is passed on as its JSON-ish text, for the parser to refuse with a note."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return value[-1] if len(value) else None
    return repr(value)[:_MAX_NOTED_LENGTH]


def _describe(value: object) -> str:
    return "the default (none)" if value is None else f"the default {_format(value)!r}"


def _format(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ",".join(value)
    return "" if value is None else str(value)


def _parse_date(raw: str) -> tuple[dt.date | None, str | None]:
    try:
        return parse_date(raw), None
    except ValueError:
        return None, f"not a date in YYYY-MM-DD form between {DATE_MIN} and {DATE_MAX}"


def _choice(options: Sequence[str]):
    def parse(raw: str) -> tuple[str | None, str | None]:
        value = raw.lower()
        if value in options:
            return value, None
        return None, f"must be one of {', '.join(options)}"

    return parse


def _parse_countries(raw: str) -> tuple[tuple[str, ...] | None, str | None]:
    codes = tuple(dict.fromkeys(code.strip().upper() for code in raw.split(",") if code.strip()))
    unknown = [code for code in codes if code not in ISO_COUNTRIES]
    if unknown or not codes:
        named = f"{', '.join(unknown)}: not " if unknown else ""
        return None, f"{named}ISO 3166-1 alpha-2 country codes separated by commas, e.g. CN,US"
    return codes, None


def _parse_task(raw: str) -> tuple[str | None, str | None]:
    if raw.lower() in ("", "all"):
        return None, None
    if len(raw) > _MAX_TASK_LENGTH or not all(ch.isalnum() or ch in "-_." for ch in raw):
        return None, "a task is a Hub pipeline tag such as text-generation"
    return raw.lower(), None


def _parse_size_class(raw: str) -> tuple[str | None, str | None]:
    if raw.lower() in ("", "all"):
        return None, None
    if raw in SIZE_CLASSES:
        return raw, None
    return None, f"must be one of {', '.join(SIZE_CLASSES)}"


def _parse_pair(raw: str) -> tuple[tuple[str, str] | None, str | None]:
    codes, message = _parse_countries(raw)
    if message or codes is None:
        return None, message
    if len(codes) != 2:
        return None, "two different ISO 3166-1 alpha-2 country codes separated by a comma, e.g. CN,US"
    return (codes[0], codes[1]), None


def _parse_bool(raw: str) -> tuple[bool | None, str | None]:
    if raw.lower() in _TRUE:
        return True, None
    if raw.lower() in _FALSE:
        return False, None
    return None, "must be 1 or 0"


def _parse_events(raw: str) -> tuple[tuple[str, ...] | None, str | None]:
    """`1`/`all` for every kind of event, `0`/empty for none, or kinds separated by commas."""
    value = raw.lower()
    if value in _FALSE or value == "none":
        return (), None
    if value in _TRUE or value == "all":
        return EVENT_KINDS, None
    kinds = tuple(dict.fromkeys(kind.strip() for kind in value.split(",") if kind.strip()))
    if kinds and all(kind in EVENT_KINDS for kind in kinds):
        return tuple(kind for kind in EVENT_KINDS if kind in kinds), None
    return None, f"must be 1 (all events), 0 (none) or kinds separated by commas: {', '.join(EVENT_KINDS)}"


_NAMESPACE_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
_MAX_NAMESPACE_LENGTH = 96


def _parse_orgs(raw: str) -> tuple[tuple[str, ...] | None, str | None]:
    """Organisation ids (Hub namespaces) separated by commas, each once (case-insensitively), at most
    MAX_COMPARED; whether each one exists is the store's to say (`dashboards.comparison.check_orgs`)."""
    first_spelling: dict[str, str] = {}
    for part in raw.split(","):
        if part.strip():
            first_spelling.setdefault(part.strip().lower(), part.strip())
    names = list(first_spelling.values())
    malformed = [n for n in names if len(n) > _MAX_NAMESPACE_LENGTH or not set(n) <= _NAMESPACE_CHARACTERS]
    if malformed:
        shown = ", ".join(repr(name[:40]) for name in malformed[:3])
        return None, f"{shown}: not organisation ids (Hub namespaces such as Qwen or meta-llama)"
    if len(names) > MAX_COMPARED:
        return None, f"at most {MAX_COMPARED} organisations can be compared, not {len(names)}"
    return tuple(names), None


def _parse_leader_next(raw: str) -> tuple[int | None, str | None]:
    if raw.isdigit() and 1 <= int(raw) <= LEADER_NEXT_MAX:
        return int(raw), None
    return None, f"must be a whole number from 1 to {LEADER_NEXT_MAX}"


def _parse_rolling(raw: str) -> tuple[int | None, str | None]:
    if raw in ("", "0", "off"):
        return 0, None
    if raw.isdigit() and int(raw) in ROLLING_WINDOWS:
        return int(raw), None
    return None, f"must be one of {', '.join(map(str, ROLLING_WINDOWS))} (days) or 0"


_PARSERS = {
    "start": _parse_date,
    "end": _parse_date,
    "period": _choice(PERIODS),
    "countries": _parse_countries,
    "attribution": _choice(ATTRIBUTIONS),
    "scope": _choice(SCOPES),
    "task": _parse_task,
    "size_class": _parse_size_class,
    "log_scale": _parse_bool,
    "channel": _choice(CHANNEL_CHOICES),
    "events": _parse_events,
    "orgs": _parse_orgs,
    "leader_next": _parse_leader_next,
    "individuals": _choice(INDIVIDUAL_GROUPINGS),
    "pair": _parse_pair,
    "flow_measure": _choice(FLOW_MEASURES),
    "flow_cells": _choice(FLOW_CELLS),
    "preset": _choice(tuple(DATE_PRESETS)),
    "rolling": _parse_rolling,
}
