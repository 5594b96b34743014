"""The same dbt project on PostgreSQL: built from the same raw and audit tables, every mart equals the DuckDB build."""

from __future__ import annotations

import pytest
from citytrade import warehouse
from citytrade.config import Settings
from citytrade.transform.build import build_models
from conftest import normalised_rows
from pg_cluster import NoPostgres, start_cluster, stop_cluster

SELECTION = ["resource_type:seed", "+path:models/marts"]  # the marts and everything they are built from
COPIED_SCHEMAS = ("raw", "audit")  # what Python writes (the loader and the GX gate); dbt builds the rest

PG_TYPES = {
    "VARCHAR": "text", "INTEGER": "integer", "BIGINT": "bigint", "SMALLINT": "smallint", "DOUBLE": "double precision",
    "FLOAT": "real", "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz", "JSON": "text",
}  # fmt: skip


@pytest.fixture(scope="module")
def postgres():
    try:
        cluster = start_cluster()
    except NoPostgres as error:
        pytest.skip(f"PostgreSQL parity not checked: {error}")
    yield cluster
    stop_cluster(cluster)


def _pg_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.replace("DECIMAL", "numeric")
    return PG_TYPES[duckdb_type]


def _copy_inputs(source_path, duckdb_target_path, pg_dsn: str) -> dict[str, int]:
    """raw.* and audit.* of a built warehouse into a fresh DuckDB file and into PostgreSQL; returns rows per table."""
    import psycopg2
    from psycopg2.extras import execute_values

    duckdb_target_path.parent.mkdir(parents=True, exist_ok=True)
    source = warehouse.connect(source_path)
    source.execute(f"attach '{duckdb_target_path}' as copy_target")
    pg = psycopg2.connect(pg_dsn)
    copied = {}
    try:
        tables = source.execute(
            "select table_schema, table_name from information_schema.tables where table_schema in ('raw', 'audit') "
            "and table_type = 'BASE TABLE' order by 1, 2"
        ).fetchall()
        with pg, pg.cursor() as cursor:
            for schema in COPIED_SCHEMAS:
                source.execute(f"create schema if not exists copy_target.{schema}")
                cursor.execute(f"create schema if not exists {schema}")
            for schema, table in tables:
                columns = source.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position", [schema, table]
                ).fetchall()  # fmt: skip
                source.execute(f"create table copy_target.{schema}.{table} as select * from {schema}.{table}")
                cursor.execute(f"create table {schema}.{table} ({', '.join(f'{name} {_pg_type(kind)}' for name, kind in columns)})")
                rows = source.execute(f"select * from {schema}.{table}").fetchall()
                if rows:
                    execute_values(cursor, f"insert into {schema}.{table} values %s", rows)
                copied[f"{schema}.{table}"] = len(rows)
    finally:
        pg.close()
        source.execute("detach copy_target")
    return copied


def test_every_mart_built_on_postgres_equals_the_duckdb_build(sample_home, postgres, tmp_path, monkeypatch):
    import psycopg2

    admin = psycopg2.connect(postgres.dsn())
    admin.autocommit = True
    admin.cursor().execute("create database citytrade")
    admin.close()

    duckdb_settings = Settings.from_args(tmp_path / "raw", tmp_path / "duckdb-home")
    pg_settings = Settings.from_args(tmp_path / "raw", tmp_path / "pg-home", target="postgres")
    copied = _copy_inputs(sample_home / "warehouse.duckdb", duckdb_settings.warehouse_path, postgres.dsn("citytrade"))
    assert copied["raw.trade_observations"] > 0 and copied["raw.top100_entries"] > 0

    # ---- build: the same project, once per engine
    build_models(duckdb_settings, select=SELECTION)
    monkeypatch.setenv("CITYTRADE_PG_HOST", postgres.host)
    monkeypatch.setenv("CITYTRADE_PG_PORT", str(postgres.port))
    monkeypatch.setenv("CITYTRADE_PG_USER", postgres.user)
    monkeypatch.setenv("CITYTRADE_PG_DATABASE", "citytrade")
    statuses = build_models(pg_settings, select=SELECTION)
    assert "city_trade_ranking" in statuses
    # a second build takes the incremental models' incremental path (delete+insert) on PostgreSQL too
    assert build_models(pg_settings, select=SELECTION)["int_trade_observations_sourced"] == "success"
    duckdb_settings.apply_environment()

    # ---- compare every mart, row for row
    built = warehouse.connect(duckdb_settings.warehouse_path)
    pg = psycopg2.connect(postgres.dsn("citytrade"))
    try:
        marts = [row[0] for row in built.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall()]  # fmt: skip
        assert {"city_trade_ranking", "province_trade_ranking", "trade_concentration", "growth_leaders",
                "region_distribution", "top100_competitiveness", "top100_vs_trade", "fct_trade"} <= set(marts)  # fmt: skip
        with pg.cursor() as cursor:
            cursor.execute("select table_name from information_schema.tables where table_schema = 'marts'")
            assert set(marts) <= {row[0] for row in cursor.fetchall()}
            for mart in marts:
                duck_columns = [row[0] for row in built.execute(
                    "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ? "
                    "order by ordinal_position", [mart]).fetchall()]  # fmt: skip
                cursor.execute(
                    "select column_name from information_schema.columns where table_schema = 'marts' and table_name = %s "
                    "order by ordinal_position", [mart]
                )  # fmt: skip
                assert [row[0] for row in cursor.fetchall()] == duck_columns, f"{mart}: columns differ"
                column_list = ", ".join(f'"{name}"' for name in duck_columns)
                duck_rows = normalised_rows(built.execute(f"select {column_list} from marts.{mart}").fetchall())
                cursor.execute(f"select {column_list} from marts.{mart}")
                pg_rows = normalised_rows(cursor.fetchall())
                assert len(pg_rows) == len(duck_rows), f"{mart}: {len(pg_rows)} rows on PostgreSQL, {len(duck_rows)} on DuckDB"
                for duck_row, pg_row in zip(duck_rows, pg_rows):
                    assert pg_row == duck_row, f"{mart}: first differing row\n duckdb:   {duck_row}\n postgres: {pg_row}"
        # the comparison means something only if the marts hold the sample's figures
        assert built.execute("select count(*) from marts.city_trade_ranking").fetchone()[0] > 20
    finally:
        pg.close()
        built.close()
