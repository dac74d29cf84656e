"""The concentration chart's SQL (`dashboards.query.concentration_sql`: HHI and Gini of organisations per
period) against the plain Python of `dashboards.metrics.hhi` / `gini` (sort every organisation, rank it) on
generated groups and daily rows (hypothesis), ties, zero days and shared organisations included; the SQL
runs on an in-memory DuckDB connection holding the two tables it reads."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboards import metrics
from dashboards.filters import PERIODS
from dashboards.query import concentration_sql
from pipelines.periods import period_start
from tests.duck_rows import insert_rows

START = dt.date(2025, 12, 25)
#: One connection for every example (opening one costs more than most examples' queries).
CON = duckdb.connect()

groups = st.lists(
    st.tuples(
        st.sampled_from(["Qwen", "qwen", "THUDM", "zai-org", "meta-llama", "someone"]),
        st.sampled_from([None, "Alibaba", "Z.ai", "z.ai"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
)
#: Few distinct values, so periods hold ties (equal organisations) and zero sums.
amounts = st.one_of(st.integers(0, 3), st.sampled_from([10, 1000, 10**9, 10**12]))


@st.composite
def views(draw):
    """(ns_groups rows, ns_day rows, period, where) of one generated view."""
    rows = draw(groups)
    days = st.integers(0, 40).map(lambda n: START + dt.timedelta(days=n))
    facts = draw(st.lists(st.tuples(days, st.integers(0, len(rows) - 1), amounts), min_size=1, max_size=60))
    return rows, facts, draw(st.sampled_from(PERIODS)), draw(st.sampled_from(["true", "first_party"]))


def reference(rows, facts, period: str, where: str) -> dict[dt.date, tuple[float, float]]:
    """{period: (hhi, gini)} by the Python rules: an organisation is its registry name, else its namespace
    (case-insensitive, `ORG_KEY_SQL`); periods where no organisation has downloads are left out."""
    keys = {
        grp: f"organization:{org.lower()}" if org else f"namespace:{namespace.lower()}"
        for grp, (namespace, org, first_party) in enumerate(rows)
        if where == "true" or first_party
    }
    frame = pd.DataFrame(
        [(period_start(day, period), keys[grp], n) for day, grp, n in facts if grp in keys],
        columns=["period", "org", "downloads"],
    )
    sums = frame.groupby(["period", "org"])["downloads"].sum()
    sums = sums[sums > 0]
    return {
        p: (metrics.hhi(per_org), metrics.gini(per_org)) for p, per_org in sums.groupby(level="period")
    }


@settings(max_examples=100, deadline=None)
@given(views())
def test_concentration_sql_equals_ranking_every_organisation_in_python(view):
    rows, facts, period, where = view
    CON.execute("CREATE OR REPLACE TABLE ns_groups (grp INTEGER, namespace VARCHAR, organization VARCHAR, "
                "first_party BOOLEAN)")  # fmt: skip
    groups_rows = [(i, *row) for i, row in enumerate(rows)]
    insert_rows(CON, "ns_groups", ("INTEGER", "VARCHAR", "VARCHAR", "BOOLEAN"), groups_rows)
    CON.execute("CREATE OR REPLACE TABLE ns_day (day DATE, grp INTEGER, downloads BIGINT)")
    insert_rows(CON, "ns_day", ("DATE", "INTEGER", "BIGINT"), facts)
    got = CON.execute(concentration_sql("ns_day", where), [period]).fetchall()
    want = reference(rows, facts, period, where)
    assert [p for p, _, _ in got] == sorted(want)
    for p, hhi, gini in got:
        assert (hhi, gini) == pytest.approx(want[p], rel=1e-12, abs=1e-12)


def test_a_tied_run_takes_the_ranks_it_would_hold_one_by_one() -> None:
    # Organisations 1, 1, 1, 4 (total 7): ranked 1..4 the rank sum is 1 + 2 + 3 + 16 = 22, so
    # Gini = 2 * 22 / (4 * 7) - 5 / 4 = 0.32142857...; HHI = (1 + 1 + 1 + 16) / 49 * 10,000 = 3,877.55...
    CON.execute("CREATE OR REPLACE TABLE ns_groups (grp INTEGER, namespace VARCHAR, organization VARCHAR)")
    CON.execute("INSERT INTO ns_groups VALUES (0, 'a', NULL), (1, 'b', NULL), (2, 'c', NULL), (3, 'd', NULL)")
    CON.execute("CREATE OR REPLACE TABLE ns_day (day DATE, grp INTEGER, downloads BIGINT)")
    CON.execute("INSERT INTO ns_day VALUES ('2026-01-05', 0, 1), ('2026-01-05', 1, 1), ('2026-01-05', 2, 1), "
                "('2026-01-05', 3, 4)")  # fmt: skip
    [(_, hhi, gini)] = CON.execute(concentration_sql("ns_day", "true"), ["day"]).fetchall()
    assert gini == pytest.approx(2 * 22 / (4 * 7) - 5 / 4) and gini == pytest.approx(0.3214286)
    assert hhi == pytest.approx(19 / 49 * 10_000) and hhi == pytest.approx(3877.55, abs=0.01)
