"""The Spark target: the tables Python writes reach Spark as Parquet, and what Spark builds comes back the same way.

A run on Spark keeps DuckDB for what is small and local: the loader's raw tables, the gates' verdicts and alerts,
the run log, the published file. Between the two engines there are only Parquet files under `<home>/lake`:

  raw/<table>/<batch>.parquet   rows of the releases loaded since the last export, one file per table and export
  audit/<table>/data.parquet    the gates' verdicts and alerts, replaced whole after each gate (they are small)
  warehouse/, metastore/        Spark's own: the tables dbt builds and its catalog (dbt_project/profiles.yml)

dbt registers the raw and audit folders as external tables before each build (macros/lake_sources.sql). The GX
gates and the publish read what Spark built through DuckDB views over its tables' Parquet (`attach_built`), so
they run unchanged on either engine.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb

# the warehouse tables the dbt sources name (models/staging/*/_*__sources.yml), by the schema they are read from
SOURCE_TABLES = {
    "raw": ("releases", "trade_observations", "trade_detail", "top100_entries", "top100_region_counts", "top100_subindex_scores"),
    "audit": ("row_verdicts", "alerts"),
}
EXPORTED = "raw/releases"  # a release is in the lake once its row is here: written after its data


def export_sources(con: duckdb.DuckDBPyConnection, lake: Path) -> int:
    """Bring the lake up to date with the warehouse: the raw rows of every release not yet exported (work in
    proportion to what was loaded since), and the audit tables whole. Returns the releases exported.

    Each file is written under a hidden name and renamed into place, data before the releases' own rows, so an
    interrupted export leaves nothing Spark reads half-written, and the next export writes that batch again."""
    exported = _exported_release_ids(con, lake)
    con.execute("create or replace temporary table lake_batch as select release_id from raw.releases where release_id not in (select unnest(?::varchar[]))", [sorted(exported)])
    ids = [release_id for (release_id,) in con.execute("select release_id from lake_batch order by release_id").fetchall()]
    if ids or not (lake / EXPORTED).exists():
        batch = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
        for table in (*SOURCE_TABLES["raw"][1:], SOURCE_TABLES["raw"][0]):
            _copy(con, f"select * from raw.{table} where release_id in (select release_id from lake_batch)", lake / "raw" / table / f"{batch}.parquet")
    con.execute("drop table lake_batch")
    for table in SOURCE_TABLES["audit"]:
        _copy(con, f"select * from audit.{table}", lake / "audit" / table / "data.parquet")
    return len(ids)


def _exported_release_ids(con: duckdb.DuckDBPyConnection, lake: Path) -> set[str]:
    folder = lake / EXPORTED
    if not any(folder.glob("*.parquet")):
        return set()
    return {release_id for (release_id,) in con.execute("select release_id from read_parquet(?)", [str(folder / "*.parquet")]).fetchall()}


def _copy(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    """One Parquet file, there whole or not at all: Spark ignores names that begin with a dot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    hidden = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    con.execute(f"copy ({query}) to '{hidden}' (format parquet)")
    os.replace(hidden, path)


def attach_built(con: duckdb.DuckDBPyConnection, lake: Path) -> list[str]:
    """Views in the DuckDB warehouse over every table Spark built, by the same schema and name, for the gates and
    the publish to read; returns their names. A table Spark manages lives at `<warehouse>/<schema>.db/<table>`
    (spark.sql.warehouse.dir, dbt_project/profiles.yml), its Parquet files at the top of that folder or, when
    partitioned, in a `<column>=<value>` folder each; a view has no folder. Needs no Spark session: `citytrade
    validate` reads a build that another process made."""
    names = []
    for folder in sorted((lake / "warehouse").glob("*.db")):
        schema = folder.name.removesuffix(".db")
        con.execute(f"create schema if not exists {schema}")
        for table in sorted(path for path in folder.iterdir() if path.is_dir() and not path.name.startswith(("_", "."))):
            partitioned = any("=" in path.name for path in table.iterdir() if path.is_dir())
            if not partitioned and not any(table.glob("*.parquet")):
                continue  # a partitioned table with no rows has no file to read a schema from; no gate reads one
            files = f"{table}/*/*.parquet', hive_partitioning = true, hive_types_autocast = false" if partitioned else f"{table}/*.parquet'"
            if _is_table(con, schema, table.name):  # built here by a DuckDB run of the same home: Spark's replaces it
                con.execute(f"drop table {schema}.{table.name}")
            con.execute(f"create or replace view {schema}.{table.name} as select * from read_parquet('{files})")
            names.append(f"{schema}.{table.name}")
    if not names:
        raise FileNotFoundError(f"no table built on Spark in {lake / 'warehouse'}: build on the spark target first")
    return names


def _is_table(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return con.execute(
        "select count(*) from information_schema.tables where table_catalog = current_database() and table_schema = ? "
        "and table_name = ? and table_type = 'BASE TABLE'", [schema, name]
    ).fetchone()[0] > 0  # fmt: skip
