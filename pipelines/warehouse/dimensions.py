"""Dimensions: each model's latest metadata attributed (publisher and lineage country, first party, size
class, ...) into `dims`, and the per-organisation groups `ns_groups`: the only step reading the registry."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.attribution import attribute
from pipelines.definitions import atom_tracked_ids, size_class_sql
from pipelines.lineage import ParentCache
from pipelines.registry import Registry
from pipelines.warehouse.schema import DIMS_SCHEMA, NAMESPACE_DIMS, ROLLUP_DIMS

#: Models attributed per chunk: pandas holds one chunk (with the ancestors its lineage needs) at a time, so a
#: full refresh of the dimensions needs the same memory whatever the number of models (README "Warehouse
#: rebuild memory"); everything else stays in DuckDB, within the build's memory limit.
DIMS_CHUNK_MODELS = 200_000


def _refresh_dims(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    parents: ParentCache,
    *,
    only_changed: bool,
    chunk_models: int = DIMS_CHUNK_MODELS,
) -> None:
    """Attribute models' latest metadata into `dims`; models already there whose groups changed are left in
    the temp table `old_dims` with their previous dimensions.

    With `only_changed` (same registry and lineage lookups as the current dims), only models whose metadata
    changed in this refresh and their descendants are attributed again. Models are attributed `chunk_models`
    at a time, each chunk with its ancestors as context: the same result as attributing all at once.
    """
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'dims' AND table_schema = 'main'"
    ).fetchall()[0][0]
    edges = parents.first_parent_edges()
    con.execute(
        "CREATE OR REPLACE TEMP TABLE cached_edges AS "
        "SELECT unnest(?::VARCHAR[]) AS model_id, unnest(?::VARCHAR[]) AS parent",
        [list(edges), list(edges.values())],
    )
    con.execute(_EDGES_SQL)
    if only_changed and exists:
        con.execute(AFFECTED_SQL)
        targets = "SELECT key, model_id FROM meta SEMI JOIN affected USING (model_id)"
    else:
        targets = "SELECT key, model_id FROM meta"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE dims_targets AS "
        f"SELECT key, model_id, (row_number() OVER (ORDER BY key) - 1) // {int(chunk_models)} AS chunk "
        f"FROM ({targets})"
    )
    chunks = con.execute("SELECT coalesce(max(chunk) + 1, 0) FROM dims_targets").fetchall()[0][0]
    typed = ", ".join(f"{name}::{kind} AS {name}" for name, kind in DIMS_SCHEMA.items() if name != "grp")
    columns = ", ".join(f"{name} {kind}" for name, kind in DIMS_SCHEMA.items() if name != "grp")
    con.execute(f"CREATE OR REPLACE TEMP TABLE new_dims ({columns})")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE atom_ids AS SELECT unnest(?::VARCHAR[]) AS model_id",
        [atom_tracked_ids()],
    )
    for chunk in range(chunks):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE dims_chunk AS "
            "SELECT key, model_id FROM dims_targets WHERE chunk = ?",
            [chunk],
        )
        con.execute(_ancestors_sql("dims_chunk"))
        meta = con.execute(
            "SELECT key, key IN (SELECT key FROM dims_chunk) AS target, model_id, author, base_models, "
            "base_relation, created_at, pipeline_tag, library_name, params_total, "
            "NULL::BIGINT AS downloads_30d, NULL::BIGINT AS downloads_all_time "
            "FROM meta SEMI JOIN context USING (model_id) ORDER BY key"
        ).df()
        con.register("dims_frame", _dims_frame(meta, registry, parents))
        con.execute(
            f"""
            INSERT INTO new_dims
            SELECT {typed}
            FROM (
                SELECT * EXCLUDE (base_relation, created_at),
                    CASE WHEN base_model IS NULL THEN 'original' ELSE coalesce(base_relation, 'unknown') END
                        AS relation,
                    {size_class_sql("params_total")} AS size_class,
                    created_at::DATE AS created,
                    model_id IN (SELECT model_id FROM atom_ids) AS atom,
                    lineage_root IN (SELECT model_id FROM atom_ids) AS root_atom
                FROM dims_frame
            )
            """
        )
        con.unregister("dims_frame")
    for table in ("dims_targets", "dims_chunk", "lineage_edges", "cached_edges", "atom_ids"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    # What rollup rows are keyed by: a model whose values change moves its past rows (`corrections`); the
    # release date keys the rollup by release month and, with the size class, the RAM reference.
    grouping = ", ".join(dict.fromkeys((*ROLLUP_DIMS, *NAMESPACE_DIMS, "created")))
    if exists:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE old_dims AS
            SELECT * FROM dims WHERE key IN (
                SELECT key FROM (
                    SELECT key, {grouping} FROM dims SEMI JOIN new_dims USING (key)
                    EXCEPT SELECT key, {grouping} FROM new_dims
                )
            )
            """
        )
    else:
        columns = ", ".join(f"{column} {kind}" for column, kind in DIMS_SCHEMA.items())
        groups = ", ".join(f"{column} {DIMS_SCHEMA[column]}" for column in ("grp", *NAMESPACE_DIMS))
        con.execute(f"CREATE OR REPLACE TEMP TABLE old_dims ({columns})")
        con.execute(f"CREATE TABLE ns_groups ({groups})")
        con.execute(f"CREATE TABLE dims ({columns})")
    # Group numbers are only ever added, so rollup rows keep pointing at the right group; new ones are
    # numbered in the groups' order: the same inputs give the same numbers whatever DuckDB's threads.
    con.execute(
        f"""
        INSERT INTO ns_groups
        SELECT ((SELECT coalesce(max(grp), 0) FROM ns_groups)
            + row_number() OVER (ORDER BY {", ".join(NAMESPACE_DIMS)}))::INTEGER, *
        FROM (SELECT DISTINCT {", ".join(NAMESPACE_DIMS)} FROM new_dims
              EXCEPT SELECT {", ".join(NAMESPACE_DIMS)} FROM ns_groups)
        """
    )
    same_group = " AND ".join(f"g.{c} IS NOT DISTINCT FROM d.{c}" for c in NAMESPACE_DIMS)
    con.execute("DELETE FROM dims WHERE key IN (SELECT key FROM new_dims)")
    con.execute(
        f"INSERT INTO dims BY NAME SELECT d.*, g.grp FROM new_dims d JOIN ns_groups g ON {same_group}"
    )
    con.execute("DROP TABLE new_dims")


def _dims_frame(meta: pd.DataFrame, registry: Registry, parents: ParentCache) -> pd.DataFrame:
    """The dimensions of the `target` rows of `meta` (a chunk of models and their ancestors), attributed."""
    attributed = attribute(meta.drop(columns=["key", "target"]), registry, parents)
    attributed = attributed[meta["target"].to_numpy()]
    return pd.DataFrame(
        {
            "key": meta.loc[meta["target"], "key"].astype("int32").to_numpy(),
            "model_id": attributed["model_id"].to_numpy(),
            "namespace": attributed["namespace"].to_numpy(),
            "organization": attributed["organization"].to_numpy(),
            "publisher_country": attributed["publisher_country"].to_numpy(),
            "publisher_region": attributed["publisher_region"].to_numpy(),
            "lineage_root": attributed["lineage_root"].to_numpy(),
            "lineage_country": attributed["lineage_country"].to_numpy(),
            "lineage_region": attributed["lineage_region"].to_numpy(),
            "lineage_depth": attributed["lineage_depth"].to_numpy(),
            "base_model": attributed["base_model"].to_numpy(),
            "first_party": attributed["first_party"].astype(bool).to_numpy(),
            "task": attributed["pipeline_tag"].to_numpy(),
            "library": attributed["library_name"].to_numpy(),
            "params_total": attributed["params_total"].to_numpy(),
            "created_at": attributed["created_at"].to_numpy(),
            "base_relation": attributed["base_relation"].to_numpy(),
        }
    )


#: Each model's first parent (`meta.base_models[1]`, the rule of `pipelines.lineage`), and for parents outside
#: the store the first parent the parent cache knows (`cached_edges`, when there is one; such a chain may come
#: back into the store): the lineage graph the closures below walk, narrower than `meta`.
_EDGES_SQL = """
    CREATE TEMP TABLE IF NOT EXISTS cached_edges (model_id VARCHAR, parent VARCHAR);
    CREATE OR REPLACE TEMP TABLE lineage_edges AS
    SELECT model_id, base_models[1] AS parent FROM meta WHERE base_models[1] IS NOT NULL
    UNION ALL
    SELECT model_id, parent FROM cached_edges ANTI JOIN meta USING (model_id);
"""

#: `affected`: the models whose first-parent chain passes through one in `meta_changed` (needs
#: `lineage_edges`).
AFFECTED_SQL = """
    CREATE TEMP TABLE IF NOT EXISTS meta_changed (key INTEGER);
    CREATE OR REPLACE TEMP TABLE affected AS
    WITH RECURSIVE down(model_id) AS (
        SELECT m.model_id FROM meta m SEMI JOIN meta_changed c USING (key)
        UNION
        SELECT e.model_id FROM lineage_edges e JOIN down d ON e.parent = d.model_id
    )
    SELECT DISTINCT model_id FROM down;
"""


def _ancestors_sql(seeds: str) -> str:
    """`context`: the models of table `seeds` and every model on their first-parent chains (needs
    `lineage_edges`); UNION stops at cycles. What `trace_lineage` needs to walk the seeds to their roots."""
    return f"""
        CREATE OR REPLACE TEMP TABLE context AS
        WITH RECURSIVE up(model_id) AS (
            SELECT model_id FROM {seeds}
            UNION
            SELECT e.parent FROM lineage_edges e JOIN up u ON e.model_id = u.model_id
        )
        SELECT DISTINCT model_id FROM up;
    """


#: The models an incremental refresh attributes again, `affected`, and `context`, every model on their chains.
#: Tested against `trace_lineage` with hypothesis.
LINEAGE_CLOSURE_SQL = _EDGES_SQL + AFFECTED_SQL + _ancestors_sql("affected")
