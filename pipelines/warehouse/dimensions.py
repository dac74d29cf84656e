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


def _refresh_dims(
    con: duckdb.DuckDBPyConnection, registry: Registry, parents: ParentCache, *, only_changed: bool
) -> None:
    """Attribute models' latest metadata into `dims`; models already there whose groups changed are left in
    the temp table `old_dims` with their previous dimensions.

    With `only_changed` (same registry and lineage lookups as the current dims), only models whose metadata
    changed in this refresh and their descendants are attributed again, with their ancestors as context.
    """
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'dims' AND table_schema = 'main'"
    ).fetchall()[0][0]
    subset = ""
    if only_changed and exists:
        con.execute(LINEAGE_CLOSURE_SQL)
        subset = "WHERE model_id IN (SELECT model_id FROM context)"
    meta = con.execute(
        "SELECT key, model_id, author, base_models, base_relation, created_at, pipeline_tag, library_name, "
        "params_total, NULL::BIGINT AS downloads_30d, NULL::BIGINT AS downloads_all_time "
        f"FROM meta {subset} ORDER BY key"
    ).df()
    attributed = attribute(meta.drop(columns=["key"]), registry, parents)
    atom = set(atom_tracked_ids())
    dims = pd.DataFrame(
        {
            "key": meta["key"].astype("int32"),
            "model_id": attributed["model_id"],
            "namespace": attributed["namespace"],
            "organization": attributed["organization"],
            "publisher_country": attributed["publisher_country"],
            "publisher_region": attributed["publisher_region"],
            "lineage_root": attributed["lineage_root"],
            "lineage_country": attributed["lineage_country"],
            "lineage_region": attributed["lineage_region"],
            "lineage_depth": attributed["lineage_depth"],
            "base_model": attributed["base_model"],
            "first_party": attributed["first_party"].astype(bool),
            "atom": attributed["model_id"].isin(atom),
            "root_atom": attributed["lineage_root"].isin(atom),
            "task": attributed["pipeline_tag"],
            "library": attributed["library_name"],
            "params_total": attributed["params_total"],
            "created_at": attributed["created_at"],
            "base_relation": attributed["base_relation"],
        }
    )
    con.register("dims_frame", dims)
    typed = ", ".join(f"{name}::{kind} AS {name}" for name, kind in DIMS_SCHEMA.items() if name != "grp")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE fresh_dims AS
        SELECT {typed}
        FROM (
            SELECT * EXCLUDE (base_relation, created_at),
                CASE WHEN base_model IS NULL THEN 'original' ELSE coalesce(base_relation, 'unknown') END
                    AS relation,
                {size_class_sql("params_total")} AS size_class,
                created_at::DATE AS created
            FROM dims_frame
        )
        """
    )
    con.unregister("dims_frame")
    if subset:  # only the affected models change; everything else in dims stays as it is
        con.execute(
            "CREATE OR REPLACE TEMP TABLE new_dims AS "
            "SELECT * FROM fresh_dims WHERE model_id IN (SELECT model_id FROM affected)"
        )
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE new_dims AS SELECT * FROM fresh_dims")
    con.execute("DROP TABLE fresh_dims")
    grouping = ", ".join(dict.fromkeys((*ROLLUP_DIMS, *NAMESPACE_DIMS)))
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


#: The models an incremental refresh attributes again: `affected`, the models whose first-parent chain
#: (`meta.base_models[1]`, the rule of `pipelines.lineage`) passes through one in `meta_changed`, and
#: `context`, every model on those chains. Tested against `trace_lineage` with hypothesis.
LINEAGE_CLOSURE_SQL = """
    CREATE TEMP TABLE IF NOT EXISTS meta_changed (key INTEGER);
    CREATE OR REPLACE TEMP TABLE affected AS
    WITH RECURSIVE down(model_id) AS (
        SELECT m.model_id FROM meta m SEMI JOIN meta_changed c USING (key)
        UNION
        SELECT m.model_id FROM meta m JOIN down d ON m.base_models[1] = d.model_id
    )
    SELECT DISTINCT model_id FROM down;
    CREATE OR REPLACE TEMP TABLE context AS
    WITH RECURSIVE up(model_id) AS (
        SELECT model_id FROM affected
        UNION
        SELECT m.base_models[1] FROM meta m JOIN up u ON m.model_id = u.model_id
        WHERE m.base_models[1] IS NOT NULL
    )
    SELECT DISTINCT model_id FROM up;
"""
