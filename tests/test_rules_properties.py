"""Every rule the warehouse writes in SQL, against its Python reference, on generated inputs (hypothesis).

The references are the plain Python of `pipelines.definitions` (`spread`, `model_facts`, `daily_downloads`,
`size_class`), `pipelines.periods` and `pipelines.lineage.trace_lineage`; the SQL is the production SQL,
run on small in-memory DuckDB connections.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import defaultdict
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboards.filters import PERIODS
from dashboards.query import LINEAGE_CHAIN_SQL
from pipelines.definitions import (
    daily_downloads,
    grouped_spread_sql,
    model_facts,
    size_class,
    size_class_sql,
    spread,
)
from pipelines.lineage import trace_lineage
from pipelines.periods import add_months, next_month, period_end, period_start
from pipelines.schema import COLUMNS, SNAPSHOT_SCHEMA
from pipelines.warehouse import (
    FLAG_BASELINE,
    FLAG_CLAMPED,
    FLAG_MISSING,
    FLAG_NEW,
    FLAG_OK,
    LINEAGE_CLOSURE_SQL,
    _create_tables,
    _facts_for_batch,
    _facts_relation,
    _rollup_queries,
)
from tests.snapshots import model

FLAGS = {FLAG_OK: "ok", FLAG_CLAMPED: "clamped", FLAG_MISSING: "missing", FLAG_BASELINE: "baseline",
         FLAG_NEW: "new"}  # fmt: skip
START = dt.date(2025, 1, 1)
QUICK = settings(max_examples=200, deadline=None)
STORE_LIKE = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: One connection for every example (opening one costs more than most examples' queries).
CON = duckdb.connect()
CON.execute("SET TimeZone = 'UTC'")


def empty_connection() -> duckdb.DuckDBPyConnection:
    """CON with every table of the previous example dropped."""
    for database, table in CON.execute("SELECT database_name, table_name FROM duckdb_tables()").fetchall():
        CON.execute(f"DROP TABLE {database}.main.{table}")
    return CON


# ----------------------------------------------------------------------------------------------- gap rule


gaps = st.tuples(st.integers(1, 60), st.lists(st.integers(0, 10_000), min_size=1, max_size=6))


@QUICK
@given(st.lists(gaps, min_size=1, max_size=10))
def test_gap_rule_the_grouped_sql_spread_equals_spreading_each_model_and_adding(cases):
    """The warehouse groups models sharing a gap by the remainder of their growth; each remainder group's
    days must equal the sum of `spread` over its models (the documented per-model rule). Each case is a gap
    length and the growths of the models sharing it."""
    rows = []
    for case, (days, totals) in enumerate(cases):
        groups: dict[int, list[int]] = defaultdict(list)
        for total in totals:
            groups[total % days].append(total)
        rows += [(case, days, sum(members), len(members), remainder) for remainder, members in groups.items()]
    got = CON.execute(
        f"SELECT g, i, sum({grouped_spread_sql('i', 'inc', 'models', 'remainder', 'span')})::BIGINT "
        "FROM (SELECT *, unnest(range(1, span + 1)) AS i FROM (SELECT col0 AS g, col1 AS span, col2 AS inc, "
        f"col3 AS models, col4 AS remainder FROM (VALUES {', '.join(map(str, rows))}))) "
        "GROUP BY ALL ORDER BY g, i"
    ).fetchall()
    expected = [
        (case, i, sum(parts))
        for case, (days, totals) in enumerate(cases)
        for i, parts in enumerate(zip(*(spread(t, days) for t in totals), strict=True), start=1)
    ]
    assert got == expected


# ------------------------------------------------- differencing (clamping, first-seen, missing) and rollups

sightings = st.one_of(st.none(), st.just("missing"), st.integers(0, 300))  # absent, no count, a count


@st.composite
def histories(draw):
    """Snapshot dates 1-40 days apart; per model: a sighting or absence at each date (counts that rise,
    fall and go missing; models appearing late and disappearing), a creation day near the dates or none,
    a country; and where the build splits the dates into two batches (an incremental refresh)."""
    gaps = draw(st.lists(st.integers(1, 40), min_size=0, max_size=6))
    dates = [START]
    for gap in gaps:
        dates.append(dates[-1] + dt.timedelta(days=gap))
    span = (dates[-1] - START).days
    models = {}
    for n in range(draw(st.integers(1, 5))):
        seen = draw(st.lists(sightings, min_size=len(dates), max_size=len(dates)))
        if all(s is None for s in seen):
            seen[draw(st.integers(0, len(dates) - 1))] = draw(st.integers(0, 300))
        created = draw(st.one_of(st.none(), st.integers(-5, span + 2)))
        models[f"org{n % 2}/m{n}"] = {
            "seen": seen,
            "created": None if created is None else START + dt.timedelta(days=created),
            "country": draw(st.sampled_from(["CN", "US"])),
        }
    split = draw(st.integers(1, len(dates)))
    return dates, models, split


def write_batch_files(folder: Path, dates, models) -> list[str]:
    files = []
    for i, date in enumerate(dates):
        rows = []
        for model_id, m in models.items():
            seen = m["seen"][i]
            if seen is None:
                continue
            created = m["created"]
            row = model(model_id, created_at=None if created is None else
                        dt.datetime.combine(created, dt.time(12), tzinfo=dt.UTC))  # fmt: skip
            row["downloads_all_time"] = None if seen == "missing" else seen
            rows.append(row)
        path = folder / f"date={date.isoformat()}" / "part-00000.parquet"
        path.parent.mkdir(parents=True)
        table = pa.Table.from_pylist([{c: r.get(c) for c in COLUMNS} for r in rows], schema=SNAPSHOT_SCHEMA)
        pq.write_table(table, path)
        files.append(str(path))
    return files


def reference_facts(dates, models):
    out = {}
    for model_id, m in models.items():
        seen = [(d, None if s == "missing" else s, m["created"])
                for d, s in zip(dates, m["seen"], strict=True) if s is not None]  # fmt: skip
        out[model_id] = model_facts(seen, dates)
    return out


@STORE_LIKE
@given(histories())
def test_differencing_and_spreading_in_sql_equal_the_python_rules_even_across_batches(history):
    """`_facts_for_batch` (two batches, state carried between them) gives every model the facts of
    `model_facts`, and the daily rollups by country and by organisation group, and the monthly one by release
    month, are the per-model `daily_downloads` (gap and day-label rules) summed."""
    dates, models, split = history
    con = empty_connection()
    _create_tables(con)
    con.executemany("INSERT INTO snapshots (date) VALUES (?)", [[d] for d in dates])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = write_batch_files(folder, dates, models)
        targets = []
        for n, batch in enumerate((files[:split], files[split:])):
            if batch:
                targets.append(folder / f"facts-{n}.parquet")
                _facts_for_batch(con, batch, targets[-1])
        facts = _facts_relation(targets)
        rows = con.execute(
            f"SELECT m.model_id, f.date, f.inc, f.span, f.baseline, f.cum, f.flag "
            f"FROM {facts} f JOIN models m USING (key) ORDER BY m.model_id, f.date"
        ).fetchall()
        got = defaultdict(list)
        for model_id, date, inc, span, baseline, cum, flag in rows:
            got[model_id].append((date, inc, span, baseline, cum, FLAGS[flag]))
        reference = reference_facts(dates, models)
        assert dict(got) == {
            model_id: [(f.date, f.inc, f.span, f.baseline, f.cum, f.flag) for f in fs]
            for model_id, fs in reference.items()
        }
        con.execute(
            "CREATE TABLE dims AS SELECT m.key, c.country AS publisher_country, c.country AS lineage_country,"
            " true AS first_party, false AS atom, NULL::VARCHAR AS size_class, 'text-generation' AS task, "
            "'transformers' AS library, 'original' AS relation, c.created, c.grp "
            "FROM models m JOIN (SELECT unnest(?::VARCHAR[]) AS model_id, unnest(?::VARCHAR[]) AS country, "
            "unnest(?::DATE[]) AS created, unnest(?::INTEGER[]) AS grp) c USING (model_id)",
            [list(models), [m["country"] for m in models.values()], [m["created"] for m in models.values()],
             [int(i.split("/")[0][3:]) for i in models]],
        )  # fmt: skip
        queries = _rollup_queries(con, facts)
        by_country = con.execute(
            f"SELECT day, publisher_country, sum(downloads)::BIGINT FROM ({queries['roll_day']}) "
            "GROUP BY ALL HAVING sum(downloads) <> 0"
        ).fetchall()
        by_group = con.execute(
            f"SELECT day, grp, sum(downloads)::BIGINT FROM ({queries['ns_day']}) GROUP BY ALL "
            "HAVING sum(downloads) <> 0"
        ).fetchall()
        by_release = con.execute(
            f"SELECT month, release_month, sum(downloads)::BIGINT FROM ({queries['roll_release']}) "
            "GROUP BY ALL HAVING sum(downloads) <> 0"
        ).fetchall()
    expected_country: dict[tuple, int] = defaultdict(int)
    expected_group: dict[tuple, int] = defaultdict(int)
    expected_release: dict[tuple, int] = defaultdict(int)
    for model_id, fs in reference.items():
        created = models[model_id]["created"]
        for day, downloads in daily_downloads(fs).items():
            expected_country[(day, models[model_id]["country"])] += downloads
            expected_group[(day, int(model_id.split("/")[0][3:]))] += downloads
            release = None if created is None else period_start(created, "month")
            expected_release[(period_start(day, "month"), release)] += downloads
    assert {(d, c): v for d, c, v in by_country} == {k: v for k, v in expected_country.items() if v}
    assert {(d, g): v for d, g, v in by_group} == {k: v for k, v in expected_group.items() if v}
    assert {(m, r): v for m, r, v in by_release} == {k: v for k, v in expected_release.items() if v}


# ----------------------------------------------------------------------------------------------- size class


@QUICK
@given(st.lists(st.one_of(st.none(), st.integers(-10, 10**13), st.floats(-1e13, 1e13)), max_size=30))
def test_size_class_sql_equals_the_python_classification(params):
    sql = f"SELECT list_transform(?::DOUBLE[], lambda p: {size_class_sql('p')})"
    got = CON.execute(sql, [params]).fetchone()[0]
    assert got == [size_class(p) for p in params]


# ------------------------------------------------------------------------------------ periods and months

days = st.dates(dt.date(1990, 1, 1), dt.date(2090, 12, 31))


@QUICK
@given(st.lists(st.tuples(days, st.integers(-1200, 1200), st.sampled_from(PERIODS)), min_size=1, max_size=30))
def test_month_and_period_arithmetic_equals_the_sql_calendar(cases):
    """`pipelines.periods` against DuckDB's calendar, which groups the rollups by period (`date_trunc`)."""
    got = CON.execute(
        "SELECT (date_trunc('month', d) + to_months(n))::DATE, date_trunc(p, d)::DATE, "
        "(date_trunc(p, d) + CASE p WHEN 'month' THEN INTERVAL 1 MONTH WHEN 'week' THEN INTERVAL 7 DAY "
        "ELSE INTERVAL 1 DAY END - INTERVAL 1 DAY)::DATE "
        "FROM (SELECT unnest(?::DATE[]) AS d, unnest(?::INTEGER[]) AS n, unnest(?::VARCHAR[]) AS p, "
        "generate_subscripts(?::DATE[], 1) AS i) ORDER BY i",
        [[c[0] for c in cases], [c[1] for c in cases], [c[2] for c in cases], [c[0] for c in cases]],
    ).fetchall()
    expected = [
        (add_months(d, n), period_start(d, p), period_end(period_start(d, p), p)) for d, n, p in cases
    ]
    assert got == expected
    assert all(next_month(d) == add_months(d, 1) > d for d, _, _ in cases)
    assert all(period_end(d, p) == period_end(period_start(d, p), p) >= d for d, _, p in cases)


# --------------------------------------------------------------------------------- first-parent lineage


@st.composite
def graphs(draw):
    """Models with 0-3 parents each, drawn among themselves (cycles, self-parents, merges) and models outside
    the store; a subset of them changed (what an incremental refresh re-attributes)."""
    ids = [f"org{k % 3}/m{k}" for k in range(draw(st.integers(1, 8)))]
    candidates = st.one_of(st.sampled_from(ids), st.sampled_from(["ext/a", "ext/b"]))
    parents = {m: draw(st.lists(candidates, max_size=3)) for m in ids}
    changed = draw(st.sets(st.sampled_from(ids)))
    return parents, changed


def python_paths(parents: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each model's first-parent chain down to its root, from `trace_lineage` (base_model, root, depth)."""
    ids = list(parents)
    table = trace_lineage(pd.Series(ids), pd.Series([parents[m] for m in ids])).table
    base = dict(zip(table["model_id"], table["base_model"], strict=True))
    paths = {}
    walks = zip(table["model_id"], table["lineage_root"], table["lineage_depth"], strict=True)
    for model_id, root, depth in walks:
        path = [model_id]
        while len(path) - 1 < depth:
            path.append(base[path[-1]])
        assert path[-1] == root
        paths[model_id] = path
    return paths


@STORE_LIKE
@given(graphs())
def test_first_parent_lineage_in_sql_follows_the_python_walk(graph):
    """The model page's chain (`LINEAGE_CHAIN_SQL`) and the incremental refresh's closure
    (`LINEAGE_CLOSURE_SQL`) follow the same first parents, cycles and roots as `trace_lineage`."""
    parents, changed = graph
    paths = python_paths(parents)
    con = empty_connection()
    ids = list(parents)
    table = trace_lineage(pd.Series(ids), pd.Series([parents[m] for m in ids])).table
    con.register("traced", table)
    con.execute(
        "CREATE TABLE dims AS SELECT model_id, base_model, lineage_root, 'XX' AS lineage_country, "
        "lineage_depth, 'finetune' AS relation, split_part(model_id, '/', 1) AS namespace, "
        "'Org' AS organization, 'XX' AS publisher_country FROM traced"
    )
    con.unregister("traced")
    for model_id, path in paths.items():
        chain = con.execute(LINEAGE_CHAIN_SQL, [model_id, 64, model_id]).fetchall()
        assert [(depth, node) for depth, node, *_ in chain] == list(enumerate(path))
    con.execute(
        "CREATE TABLE meta AS SELECT k::INTEGER AS key, m AS model_id, p::VARCHAR[] AS base_models "
        "FROM (SELECT unnest(range(?)) AS k, unnest(?::VARCHAR[]) AS m, unnest(?::VARCHAR[][]) AS p)",
        [len(ids), ids, [parents[m] for m in ids]],
    )
    con.execute("CREATE TEMP TABLE meta_changed AS SELECT key FROM meta WHERE list_contains(?, model_id)",
                [sorted(changed)])  # fmt: skip
    con.execute(LINEAGE_CLOSURE_SQL)
    affected = {m for (m,) in con.execute("SELECT model_id FROM affected").fetchall()}
    context = {m for (m,) in con.execute("SELECT model_id FROM context").fetchall()}
    assert affected == {m for m, path in paths.items() if changed & set(path)}
    assert context == {node for m in affected for node in paths[m]}
