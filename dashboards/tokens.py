"""Queries of the token charts: OpenRouter's daily tokens per period, as shares with a low and a high bound.

Reads the OpenRouter channel's vintages (`pipelines.channels.openrouter_attribution.token_days`: the newest
vintage of each day, each permaslug attributed open / closed / unknown) and adds them up per period in
DuckDB. Tokens are never added to downloads: these frames feed the token charts only.

Every share is of all tokens OpenRouter ranked in the period (the day's top 50 models plus `other`):
`share_low = tokens / total_tokens` counts the group's attributed tokens only, `share_high = (tokens +
unattributed_tokens) / total_tokens` adds every token that cannot be attributed (stealth, delisted, router
and `other`), the most the group could hold.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from dataclasses import dataclass

import duckdb
import pandas as pd

from dashboards.colors import display_group
from dashboards.filters import PERIODS, Filters
from dashboards.metrics import period_coverage
from pipelines.channels import channel_store
from pipelines.channels.openrouter_attribution import CITATION, LICENCE, catalogue_store, token_days
from pipelines.registry import Registry, load_registry
from pipelines.store import Store

SHARE_COLUMNS = ["tokens", "unattributed_tokens", "total_tokens", "share_low", "share_high"]
OPEN, CLOSED = "open", "closed"


@dataclass(frozen=True)
class TokenSource:
    """What the token charts of a view rest on: the days shown, the newest vintage and OpenRouter's as_of."""

    first: dt.date | None
    last: dt.date | None
    vintages: int
    latest_vintage: dt.date | None
    as_of: str | None
    synthetic: bool = False
    licence: str = LICENCE

    @property
    def citation(self) -> str | None:
        """OpenRouter's required citation, with the as_of of the newest vintage."""
        return CITATION.format(as_of=self.as_of) if self.as_of else None


@functools.lru_cache(maxsize=8)
def _days(
    store: Store, vintages: tuple[dt.date, ...], catalogues: tuple[dt.date, ...], registry: Registry
) -> pd.DataFrame:
    """Attributed token days, kept until a vintage, a catalogue or the registry changes (the key)."""
    return token_days(store, registry)


def attributed_days(store: Store, registry: Registry | None = None) -> pd.DataFrame:
    """`token_days` of the store, kept per vintages, catalogues and registry."""
    vintages = tuple(channel_store(store, "openrouter").dates())
    catalogues = tuple(catalogue_store(store).dates())
    return _days(store, vintages, catalogues, registry or load_registry())


def _in_view(days: pd.DataFrame, f: Filters) -> pd.DataFrame:
    keep = pd.Series(True, index=days.index)
    if f.start:
        keep &= days["day"] >= f.start
    if f.end:
        keep &= days["day"] <= f.end
    return days[keep]


def _shares(days: pd.DataFrame, f: Filters, group_sql: str) -> pd.DataFrame:
    """Per period and group (`group_sql` over the day rows, NULL rows left out): tokens and their share."""
    if f.period not in PERIODS:
        raise ValueError(f"unknown period {f.period!r}; expected one of {PERIODS}")
    rows = days.assign(day=pd.to_datetime(days["day"]))  # noqa: F841 (read by DuckDB below)
    sql = f"""
        WITH d AS (
            SELECT CAST(date_trunc('{f.period}', day) AS DATE) AS period, tokens, kind, {group_sql} AS grp
            FROM rows
        ), totals AS (
            SELECT period, sum(tokens) AS total_tokens,
                coalesce(sum(tokens) FILTER (WHERE kind = 'unknown'), 0) AS unattributed_tokens
            FROM d GROUP BY period
        )
        SELECT d.period, d.grp AS grp, sum(d.tokens) AS tokens,
            any_value(t.unattributed_tokens) AS unattributed_tokens, any_value(t.total_tokens) AS total_tokens
        FROM d JOIN totals t USING (period)
        WHERE d.grp IS NOT NULL
        GROUP BY d.period, d.grp
        ORDER BY d.period, d.grp
    """
    con = duckdb.connect()
    try:
        out = con.execute(sql).df()
    finally:
        con.close()
    for column in ("tokens", "unattributed_tokens", "total_tokens"):
        out[column] = out[column].astype("int64")
    out["share_low"] = out["tokens"] / out["total_tokens"]
    out["share_high"] = (out["tokens"] + out["unattributed_tokens"]) / out["total_tokens"]
    out["period"] = pd.to_datetime(out["period"])
    if len(days):  # a period is complete when the view holds every one of its days
        first, last = days["day"].min(), days["day"].max()
        out["complete"] = [
            operator.eq(*period_coverage(start.date(), f.period, first, last)) for start in out["period"]
        ]
    else:
        out["complete"] = pd.Series(dtype=bool)
    return out


def open_share_by_country(store: Store, f: Filters, registry: Registry | None = None) -> pd.DataFrame:
    """Open models' tokens per period and country group (the view's countries, Rest of world,
    Unattributed): `period, country` + SHARE_COLUMNS."""
    days = _in_view(attributed_days(store, registry), f)
    groups = [
        display_group(code, f.countries) if kind == OPEN else None
        for code, kind in zip(days["country"], days["kind"], strict=True)
    ]
    shares = _shares(days.assign(grp=groups), f, "grp")
    return shares.rename(columns={"grp": "country"})[["period", "country", *SHARE_COLUMNS, "complete"]]


def open_vs_closed(store: Store, f: Filters, registry: Registry | None = None) -> pd.DataFrame:
    """Open and closed models' tokens per period: `period, openness` + SHARE_COLUMNS."""
    days = _in_view(attributed_days(store, registry), f)
    shares = _shares(days, f, "CASE WHEN kind IN ('open', 'closed') THEN kind END")
    return shares.rename(columns={"grp": "openness"})[["period", "openness", *SHARE_COLUMNS, "complete"]]


def token_source(store: Store, f: Filters, registry: Registry | None = None) -> TokenSource:
    """The days a view's token charts hold and the citation's vintage and `as_of`."""
    rankings = channel_store(store, "openrouter")
    vintages = rankings.dates()
    if not vintages:
        return TokenSource(None, None, 0, None, None)
    days = _in_view(attributed_days(store, registry), f)["day"]
    latest = vintages[-1]
    provenance = rankings.provenance(latest)
    first, last = (days.min(), days.max()) if len(days) else (None, None)
    synthetic = bool(provenance.get("synthetic"))
    return TokenSource(first, last, len(vintages), latest, provenance.get("as_of"), synthetic)


def coverage_text(store: Store, registry: Registry | None = None) -> str:
    """The OpenRouter channel's counting rule and coverage in one paragraph (Methodology)."""
    held = token_source(store, Filters(), registry)
    if not held.vintages:
        return (
            "No OpenRouter data in this store yet: `python -m pipelines snapshot --channel openrouter` (with "
            "OPENROUTER_API_KEY set) pulls it, from 2025-01-01 on the first run."
        )
    days = attributed_days(store, registry)
    total = int(days["tokens"].sum())
    share = {kind: int(days.loc[days["kind"] == kind, "tokens"].sum()) / total for kind in (OPEN, CLOSED)}
    unknown = 1 - share[OPEN] - share[CLOSED]
    return (
        f"OpenRouter: {held.vintages} daily vintage(s), the newest {held.latest_vintage} ({held.citation}), "
        f"holding {days['day'].nunique():,} days from {held.first} to {held.last}. Of their "
        f"{total:,} tokens, {share[OPEN]:.1%} are attributed to open models and {share[CLOSED]:.1%} to "
        f"closed ones; {unknown:.1%} cannot be attributed (the 'other' row, stealth, router and delisted "
        "models) and widen every token share into a range. Counting rule: tokens per UTC day as OpenRouter "
        "reports them (see 'Share of OpenRouter tokens' and 'OpenRouter attribution' above). Licence: "
        f"{held.licence}."
    )
