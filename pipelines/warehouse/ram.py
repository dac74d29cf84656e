"""The RAM reference: the best counts at each age in each size class, the reference RAM v2 compares a model
with (rule and Python reference in `pipelines.definitions`)."""

from __future__ import annotations

import duckdb

from pipelines.definitions import RAM_REFERENCE_RANK
from pipelines.warehouse.schema import FLAG_CLAMPED, FLAG_MISSING, FLAG_OK

#: A model's count stands for the days after its snapshot until the next one, for at most this many days.
RAM_FILL_DAYS = 7


def ram_counts_sql(facts: str, dims: str) -> str:
    """SQL of (key, size_class, age_days, cum): each model's cleaned all-time count at each age in days.

    A snapshot gives the count at its own date; the days between two reported counts (at most RAM_FILL_DAYS
    after the earlier one) take the earlier count, which the later row carries as `cum - inc`. Missing
    counts give nothing, so every model has at most one count per age and a count never moves once set.
    `dims` needs key, size_class and created.
    """
    return f"""
        SELECT f.key, d.size_class, ((f.date - d.created) - f.back)::INTEGER AS age_days,
            CASE WHEN f.back = 0 THEN f.cum ELSE f.cum - f.inc END AS cum
        FROM (
            SELECT key, date, cum, inc, unnest(
                CASE WHEN flag IN ({FLAG_OK}, {FLAG_CLAMPED}) AND span > 1
                    THEN list_prepend(0, range(greatest(1, span - {RAM_FILL_DAYS}), span)) ELSE [0] END
            ) AS back
            FROM {facts} WHERE flag <> {FLAG_MISSING}
        ) f
        JOIN (
            SELECT key, size_class, created FROM {dims} WHERE size_class IS NOT NULL AND created IS NOT NULL
        ) d USING (key)
        WHERE f.date - f.back::INTEGER >= d.created
    """


def ram_reference_curve_sql(table: str = "ram_reference") -> str:
    """SQL of (size_class, age_days, reference): each size class's RAM reference curve, the running maximum
    over ages of the RAM_REFERENCE_RANK-th best count (NULL until some age has that many); the rule, and its
    Python reference, are `pipelines.definitions.ram_reference_curve`."""
    return f"""
        SELECT size_class, age_days,
            max(CASE WHEN len(top) >= {RAM_REFERENCE_RANK} THEN top[{RAM_REFERENCE_RANK}] END) OVER (
                PARTITION BY size_class ORDER BY age_days ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
            ) AS reference
        FROM {table}
    """


def _ram_tops(facts: str) -> str:
    return (
        f"SELECT size_class, age_days, max(cum, {RAM_REFERENCE_RANK}) AS top "
        f"FROM ({ram_counts_sql(facts, 'dims')}) GROUP BY ALL"
    )


def _rebuild_ram_reference(con: duckdb.DuckDBPyConnection, facts: str) -> None:
    """`ram_reference(size_class, age_days, top)`: the RAM_REFERENCE_RANK highest counts at each age in each
    size class, highest first (RAM v2's reference is the last of them once there are that many)."""
    con.execute(
        f"CREATE OR REPLACE TABLE ram_reference AS "
        f"SELECT * FROM ({_ram_tops(facts)}) ORDER BY size_class, age_days"
    )


def _add_ram_reference(con: duckdb.DuckDBPyConnection, facts: str) -> None:
    """Merge new facts into `ram_reference`: the top counts of a union are the top of both tops (exact,
    because a model's count at an age is set once, by the facts that first reach that age)."""
    con.execute(
        f"""
        CREATE OR REPLACE TABLE ram_reference AS
        SELECT size_class, age_days,
            list_slice(list_sort(flatten(list(top)), 'DESC'), 1, {RAM_REFERENCE_RANK}) AS top
        FROM (SELECT * FROM ram_reference UNION ALL {_ram_tops(facts)})
        GROUP BY ALL ORDER BY size_class, age_days
        """
    )
