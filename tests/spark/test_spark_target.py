"""The same project on Apache Spark (dbt-spark, PySpark in local mode): `citytrade run --target spark` over the
same landing-zone history as a DuckDB home builds every model on Spark, and what it builds and publishes equals
the DuckDB run's, row for row, but for the columns that belong to a run (when it loaded, which run it was)."""

from __future__ import annotations

import hashlib
import shutil

import duckdb
import pytest
from citytrade.transform import spark
from conftest import SAMPLE_RAW, normalised, normalised_rows, run_cli, run_flow

HELD_BACK = ("nbs/A060201", "press/top100_2022_partial")  # loaded by the second run: Spark's incremental path
RUN_OWN_COLUMNS = {"loaded_at", "run_id", "detected_at", "last_seen_run_id"}
MARTS = 14


def _landing_zones(root):
    """The sample without the held-back releases, then the whole sample."""
    first = root / "raw-first"
    shutil.copytree(SAMPLE_RAW, first)
    for stem in HELD_BACK:
        for path in first.glob(f"{stem}.*"):
            path.unlink()
    return first, SAMPLE_RAW


@pytest.fixture(scope="module")
def homes(tmp_path_factory, prefect_harness):
    """Two homes with the same history, one per engine: the first landing zone, then the whole sample."""
    root = tmp_path_factory.mktemp("spark")
    first, whole = _landing_zones(root)
    duck_home, spark_home = root / "duckdb-home", root / "spark-home"
    for raw in (first, whole):
        assert run_flow(raw, duck_home).status == "published"
        done = run_cli("run", "--target", "spark", "--raw-dir", str(raw), "--home", str(spark_home), timeout=1200)
        assert done.returncode == 0, done.stderr[-3000:]
    return duck_home, spark_home


def _columns(con, mart: str) -> list[str]:
    return [name for (name,) in con.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ? "
        "and table_catalog = current_database() order by ordinal_position", [mart]).fetchall()]  # fmt: skip


def _marts(con) -> list[str]:
    return [name for (name,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' "
        "and table_catalog = current_database() order by 1").fetchall()]  # fmt: skip


def _row_hashes(con, mart: str, columns: list[str]) -> list[str]:
    kept = [name for name in columns if name not in RUN_OWN_COLUMNS]
    rows = con.execute(f"select {', '.join(chr(34) + name + chr(34) for name in kept)} from marts.{mart}").fetchall()
    return sorted(hashlib.md5(repr(tuple(normalised(value) for value in row)).encode()).hexdigest() for row in rows)


def test_every_mart_built_on_spark_equals_the_duckdb_build(homes):
    duck_home, spark_home = homes
    built = duckdb.connect(str(duck_home / "warehouse.duckdb"), read_only=True)
    on_spark = duckdb.connect()  # Spark's tables, read from the Parquet it wrote
    try:
        attached = spark.attach_built(on_spark, spark_home / "lake")
        marts = _marts(built)
        assert len(marts) == MARTS and {f"marts.{mart}" for mart in marts} <= set(attached)
        assert "intermediate.int_trade_observations_sourced" in attached  # partitioned on Spark
        for mart in marts:
            columns = _columns(built, mart)
            assert _columns(on_spark, mart) == columns, f"{mart}: columns differ"
            kept = [name for name in columns if name not in RUN_OWN_COLUMNS]
            select = f"select {', '.join(chr(34) + name + chr(34) for name in kept)} from marts.{mart}"
            duck_rows = normalised_rows(built.execute(select).fetchall())
            spark_rows = normalised_rows(on_spark.execute(select).fetchall())
            assert len(spark_rows) == len(duck_rows), f"{mart}: {len(spark_rows)} rows on Spark, {len(duck_rows)} on DuckDB"
            for duck_row, spark_row in zip(duck_rows, spark_rows):
                assert spark_row == duck_row, f"{mart}: first differing row\n duckdb: {duck_row}\n spark:  {spark_row}"
        assert built.execute("select count(*) from marts.city_trade_ranking").fetchone()[0] > 20
        # the second run loaded the held-back releases through the incremental models' Spark path
        sources = on_spark.execute("select count(distinct release_id) from intermediate.int_trade_observations_sourced").fetchone()[0]
        assert sources == built.execute("select count(distinct release_id) from intermediate.int_trade_observations_sourced").fetchone()[0]
    finally:
        built.close()
        on_spark.close()


def test_a_spark_run_publishes_the_marts_of_a_duckdb_run(homes):
    duck_home, spark_home = homes
    duck = duckdb.connect(str(duck_home / "published" / "citytrade.duckdb"), read_only=True)
    published = duckdb.connect(str(spark_home / "published" / "citytrade.duckdb"), read_only=True)
    try:
        marts = _marts(duck)
        assert _marts(published) == marts and len(marts) == MARTS
        for mart in marts:
            columns = _columns(duck, mart)
            assert _columns(published, mart) == columns, f"{mart}: columns differ"
            assert _row_hashes(published, mart, columns) == _row_hashes(duck, mart, columns), f"{mart}: rows differ"
        assert sorted(path.name for path in (spark_home / "published" / "parquet").glob("*.parquet")) == [f"{mart}.parquet" for mart in marts]
    finally:
        duck.close()
        published.close()


def test_the_lake_gets_only_what_each_run_loaded(homes):
    """Each run exports the releases it loaded, one file per raw table; the audit tables are replaced whole."""
    _, spark_home = homes
    lake = spark_home / "lake"
    con = duckdb.connect(str(spark_home / "warehouse.duckdb"), read_only=True)
    try:
        batches = sorted((lake / "raw" / "releases").glob("*.parquet"))
        assert len(batches) == 2
        per_batch = [con.execute("select count(*) from read_parquet(?)", [str(path)]).fetchone()[0] for path in batches]
        assert sorted(per_batch) == [len(HELD_BACK), con.execute("select count(*) from raw.releases").fetchone()[0] - len(HELD_BACK)]
        for table in spark.SOURCE_TABLES["raw"]:
            assert len(list((lake / "raw" / table).glob("*.parquet"))) == 2, table
            in_lake = con.execute(f"select count(*) from read_parquet('{lake}/raw/{table}/*.parquet')").fetchone()[0]
            assert in_lake == con.execute(f"select count(*) from raw.{table}").fetchone()[0], table
        for table in spark.SOURCE_TABLES["audit"]:
            assert [path.name for path in (lake / "audit" / table).iterdir()] == ["data.parquet"]
            in_lake = con.execute(f"select count(*) from read_parquet('{lake}/audit/{table}/data.parquet')").fetchone()[0]
            assert in_lake == con.execute(f"select count(*) from audit.{table}").fetchone()[0], table
    finally:
        con.close()
