"""The view a user asks for: one immutable value shared by URL state, queries, figures and exports.

Every page control maps to one field here; `dashboards.state` parses URL parameters into it and the query
layer (`dashboards.query`) takes it as its only filter argument, so a chart, its CSV and its export always
describe the same view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

Period = Literal["day", "week", "month"]
Attribution = Literal["publisher", "lineage"]
Scope = Literal["all", "first-party", "atom"]

PERIODS: tuple[Period, ...] = ("day", "week", "month")
ATTRIBUTIONS: tuple[Attribution, ...] = ("publisher", "lineage")
SCOPES: tuple[Scope, ...] = ("all", "first-party", "atom")

#: ATOM's size classes by total parameters (labels are stable ids used in URLs and exports).
SIZE_CLASSES: tuple[str, ...] = ("<1B", "1-5B", "7-9B", "10-50B", "50-100B", "100-250B", "250B+")

#: Values of the attributed country columns besides ISO 3166-1 alpha-2 codes.
INTERNATIONAL = "INTL"  # registered, no single country (reason in the registry notes)
UNATTRIBUTED_ORG = "UNATTRIBUTED_ORG"  # namespace not in the registry, looks like an organisation
INDIVIDUAL = "INDIVIDUAL"  # namespace not in the registry (or registered as individual/community without country)

#: Series labels used when countries are grouped for display.
REST_OF_WORLD = "Rest of world"
UNATTRIBUTED = "Unattributed"


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

    @property
    def country_column(self) -> str:
        """The attributed-table column that this view groups by."""
        return f"{self.attribution}_country"
