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

from pipelines.definitions import DATE_PRESETS, ROLLING_WINDOWS
from pipelines.registry import INDIVIDUAL, INTERNATIONAL, ISO_COUNTRIES, UNATTRIBUTED_ORG  # noqa: F401  (re-exported for the pages)
from pipelines.store import DATE_MAX, DATE_MIN, parse_date

Period = Literal["day", "week", "month"]
Attribution = Literal["publisher", "lineage"]
Scope = Literal["all", "first-party", "atom"]

PERIODS: tuple[Period, ...] = ("day", "week", "month")
ATTRIBUTIONS: tuple[Attribution, ...] = ("publisher", "lineage")
SCOPES: tuple[Scope, ...] = ("all", "first-party", "atom")

#: ATOM's size classes by total parameters (labels are stable ids used in URLs and exports).
SIZE_CLASSES: tuple[str, ...] = ("<1B", "1-5B", "7-9B", "10-50B", "50-100B", "100-250B", "250B+")


#: Series labels used when countries are grouped for display.
REST_OF_WORLD = "Rest of world"
UNATTRIBUTED = "Unattributed"

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
    "preset": "range",
    "rolling": "rolling",
}

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
    def country_column(self) -> str:
        """The attributed-table column that this view groups by."""
        return f"{self.attribution}_country"

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


def _parse_bool(raw: str) -> tuple[bool | None, str | None]:
    if raw.lower() in _TRUE:
        return True, None
    if raw.lower() in _FALSE:
        return False, None
    return None, "must be 1 or 0"


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
    "preset": _choice(tuple(DATE_PRESETS)),
    "rolling": _parse_rolling,
}
