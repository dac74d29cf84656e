"""The view in the URL: query string <-> `Filters` <-> the values of the page controls.

The URL is the single source of truth, so a copied link restores the view and back/forward work. Parsing
and validation belong to `Filters.from_params` (one parser for URL and command line); this module only
moves values between the three places they live.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

import flask

from dashboards.filters import PARAM_NAMES, Filters, check_task, parse_params
from pipelines.store import Store

#: Id of each page control, keyed by the `Filters` field it edits (the date range edits start and end).
CONTROL_IDS: dict[str, str] = {
    "period": "control-period",
    "countries": "control-countries",
    "attribution": "control-attribution",
    "scope": "control-scope",
    "task": "control-task",
    "size_class": "control-size",
    "log_scale": "control-log",
    "channel": "control-channel",
    "events": "control-events",
    "individuals": "control-individuals",
    "pair": "control-pair",
    "flow_measure": "control-flow-measure",
    "flow_cells": "control-flow-cells",
    "preset": "control-range",
    "rolling": "control-rolling",
}
DATE_RANGE_ID = "control-dates"
#: URL parameters that pages set with their own inputs (no shared control): kept when a control changes.
_PAGE_PARAMS = frozenset({PARAM_NAMES["orgs"], PARAM_NAMES["leader_next"]})


def parse_search(
    search: str | None, known_tasks: Sequence[str] | None = None
) -> tuple[Filters, list[str]]:
    """The view a query string (`?from=...&countries=CN,US`) asks for, and notes on ignored values; given
    the store's tasks, a task none of its models has is one of them (it would show empty charts)."""
    query = (search or "").lstrip("?")
    filters, problems = parse_params(parse_qs(query, keep_blank_values=True))
    if known_tasks is not None:
        filters, task_problems = check_task(filters, known_tasks)
        problems += task_problems
    return with_store_dates(filters), [problem.note for problem in problems]


def filters_from_mapping(params: Mapping[str, Any]) -> Filters:
    """The view stored as parameters (filters store, Flask `request.args`); invalid values -> defaults."""
    return with_store_dates(Filters.from_params(params)[0])


def with_store_dates(filters: Filters) -> Filters:
    """The view with its date preset resolved against the served store's last counted day (`range=30d`
    means the 30 days up to the newest data); unchanged outside a request of the app."""
    if not filters.preset or not flask.has_app_context():
        return filters
    from dashboards.timeview import last_counted, resolve_preset  # the query layer, loaded with the app

    return resolve_preset(filters, last_counted(app_state().warehouse))


def to_search(filters: Filters, extra: Mapping[str, str] | None = None) -> str:
    """The shortest query string for a view ('' for the default view), with optional extra parameters."""
    params = {**filters.to_params(), **(extra or {})}
    return f"?{urlencode(params, safe=',')}" if params else ""


def control_values(filters: Filters) -> dict[str, Any]:
    """What each control shows for a view (dropdowns use '' for 'all', checklists a list)."""
    return {
        "start_date": filters.start.isoformat() if filters.start else None,
        "end_date": filters.end.isoformat() if filters.end else None,
        "period": filters.period,
        "countries": list(filters.countries),
        "attribution": filters.attribution,
        "scope": filters.scope,
        "task": filters.task or "",
        "size_class": filters.size_class or "",
        "log_scale": ["log"] if filters.log_scale else [],
        "channel": filters.channel,
        "events": list(filters.events),
        "individuals": filters.individuals,
        "pair": list(filters.pair),
        "flow_measure": filters.flow_measure,
        "flow_cells": filters.flow_cells,
        # No preset and no dates: all dates; dates without a preset: none of the presets (custom dates).
        "preset": filters.preset or (None if filters.start or filters.end else "all"),
        "rolling": filters.rolling,
    }


def filters_from_controls(
    values: Mapping[str, Any], kept: Filters | None = None
) -> tuple[Filters, list[str]]:
    """The view the controls show, through the same validation as a URL (a control cannot smuggle in more);
    the fields no shared control edits (a page's own, such as the organisations compared) come from `kept`,
    the view before the change."""
    kept_params = {
        name: value for name, value in (kept or Filters()).to_params().items() if name in _PAGE_PARAMS
    }
    params = {
        **kept_params,
        "from": _date_param(values.get("start_date")),
        "to": _date_param(values.get("end_date")),
        "period": values.get("period") or "",
        "countries": ",".join(values.get("countries") or []),
        "attribution": values.get("attribution") or "",
        "scope": values.get("scope") or "",
        "task": values.get("task") or "",
        "size": values.get("size_class") or "",
        "log": "1" if values.get("log_scale") else "0",
        "channel": values.get("channel") or "",
        "events": ",".join(values.get("events") or []),
        "individuals": values.get("individuals") or "",
        "pair": ",".join(values.get("pair") or []),
        "measure": values.get("flow_measure") or "",
        "cells": values.get("flow_cells") or "",
        "range": values.get("preset") or "",
        "rolling": str(values.get("rolling") or ""),
    }
    return Filters.from_params({name: value for name, value in params.items() if value})


def _date_param(value: str | None) -> str:
    """DatePickerRange gives 'YYYY-MM-DD' or a datetime string; the URL keeps the date (which the view's
    parser checks like any other: a control value is no more trusted than a URL)."""
    return str(value)[:10] if value else ""


#: A snapshot older than this many days makes every page say the data is stale.
STALE_AFTER_DAYS = 3
_APP_STATE_KEY = "OWT_APP_STATE"


@dataclass(frozen=True)
class AppState:
    """What the running app serves: the store, its open warehouse, and what the banners must say about it."""

    store: Store
    warehouse: Any  # dashboards.query.Warehouse (typed loosely: the pages layer only calls its methods)
    demo: bool  # the store is the generated demo store, because the configured one was empty
    configured_store: Store  # the store the user asked for (shown in the banner when the demo stands in)
    tasks: tuple[str, ...]  # Hub pipeline tags present in the store, for the task control

    def latest_date(self) -> dt.date | None:
        dates = self.store.dates()
        return dates[-1] if dates else None

    def synthetic(self) -> bool:
        """True when the newest snapshot says it was generated, not taken from the Hub."""
        latest = self.latest_date()
        return latest is not None and bool(self.store.provenance(latest).get("synthetic"))

    def stale_days(self, today: dt.date | None = None) -> int | None:
        """Days since the newest snapshot when that exceeds STALE_AFTER_DAYS, else None."""
        latest = self.latest_date()
        age = ((today or dt.date.today()) - latest).days if latest else None
        return age if age is not None and age > STALE_AFTER_DAYS else None


#: The server config entry holding the app's job queue (`dashboards.jobs.JobQueue`), when it has one.
JOB_QUEUE_KEY = "OWT_JOB_QUEUE"


def install_app_state(server: flask.Flask, state: AppState) -> None:
    server.config[_APP_STATE_KEY] = state


def state_of(server: flask.Flask) -> AppState:
    return server.config[_APP_STATE_KEY]


def app_state() -> AppState:
    """The state of the app serving the current request (layouts, callbacks and routes run in one)."""
    return state_of(flask.current_app)
