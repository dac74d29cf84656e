"""The RAM reference curve: the warehouse's SQL against its Python reference (definitions), by hand and with
hypothesis, on ram_reference tables written directly."""

from __future__ import annotations

import duckdb
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.definitions import RAM_REFERENCE_RANK, ram_reference_curve
from pipelines.warehouse import ram_reference_curve_sql


def sql_curve(tops: dict[tuple[str, int], list[int]]) -> dict[str, list[tuple[int, float | None]]]:
    """Run the warehouse's SQL over a ram_reference table holding `tops` ((size class, age) -> top counts,
    highest first); the curve per size class as (age, reference) pairs."""
    con = duckdb.connect()
    con.execute("CREATE TABLE ram_reference (size_class VARCHAR, age_days INTEGER, top BIGINT[])")
    rows = [(size, age, top) for (size, age), top in tops.items()]
    if rows:
        con.executemany("INSERT INTO ram_reference VALUES (?, ?, ?)", rows)
    frame = con.execute(f"SELECT * FROM ({ram_reference_curve_sql()}) ORDER BY size_class, age_days").df()
    curves: dict[str, list[tuple[int, float | None]]] = {}
    for size, age, reference in frame.itertuples(index=False):
        curves.setdefault(size, []).append((int(age), None if pd.isna(reference) else float(reference)))
    return curves


def python_curve(tops: dict[tuple[str, int], list[int]]) -> dict[str, list[tuple[int, float | None]]]:
    per_class: dict[str, list[tuple[int, float | None]]] = {}
    for (size, age), top in tops.items():
        tenth = float(top[RAM_REFERENCE_RANK - 1]) if len(top) >= RAM_REFERENCE_RANK else None
        per_class.setdefault(size, []).append((age, tenth))
    return {size: ram_reference_curve(pairs) for size, pairs in per_class.items()}


def ten(tenth: int) -> list[int]:
    """A top-10 list whose 10th-best is `tenth`."""
    return [tenth + 100 * (10 - i) for i in range(9)] + [tenth]


def test_a_drop_of_the_tenth_best_keeps_the_reference_up_and_a_rise_lifts_it():
    # 7-9B: age 0 has 5 counts (no reference yet), then 10th-best 10, 6 (a drop), 12, and 9 counts at age 4.
    tops = {
        ("7-9B", 0): [50, 40, 30, 20, 10],
        ("7-9B", 1): ten(10),
        ("7-9B", 2): ten(6),
        ("7-9B", 3): ten(12),
        ("7-9B", 4): ten(12)[:9],
        ("<1B", 1): ten(3),  # another class never borrows from this one
    }
    expected = {"7-9B": [(0, None), (1, 10.0), (2, 10.0), (3, 12.0), (4, 12.0)], "<1B": [(1, 3.0)]}
    assert sql_curve(tops) == expected
    assert python_curve(tops) == expected


#: Top lists (highest first, up to the rank) at (size class, age) keys.
TOP_LISTS = st.lists(st.integers(0, 10**9), max_size=RAM_REFERENCE_RANK).map(lambda t: sorted(t)[::-1])
KEYS = st.tuples(st.sampled_from(["<1B", "7-9B"]), st.integers(0, 40))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(KEYS, TOP_LISTS, max_size=40))
def test_the_sql_curve_matches_its_python_reference_and_never_falls(tops):
    curves = sql_curve(tops)
    assert curves == python_curve(tops)
    for curve in curves.values():
        values = [value for _age, value in curve if value is not None]
        assert values == sorted(values)
