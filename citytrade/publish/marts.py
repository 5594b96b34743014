"""Publish: copy the marts into a fresh DuckDB file and Parquet files, then swap them in atomically."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
from citytrade.publish.report_html import REPORT_NAME
from citytrade.scheduling import pause_point


@dataclass
class PublishResult:
    database: Path
    parquet_dir: Path
    marts: dict[str, int]  # mart -> rows
    version: str


def list_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The marts of the warehouse: tables, or views over the Parquet of the tables Spark built (transform.spark)."""
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' "
        "and table_catalog = current_database() order by table_name"
    ).fetchall()
    return [name for (name,) in rows]


def publish_marts(con: duckdb.DuckDBPyConnection, published_dir: Path, run_id: str) -> PublishResult:
    """Write the marts to a new DuckDB file and Parquet folder beside the publish, then swap them in: one rename for
    the database, one symlink swap for the Parquet. Readers see the old publish or the new one, never half."""
    published_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(published_dir)
    version = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + f"-{run_id[:8]}"
    staging_db = published_dir / f".citytrade-{version}.duckdb.tmp"
    staging_parquet = published_dir / "versions" / version
    staging_parquet.mkdir(parents=True, exist_ok=True)
    marts: dict[str, int] = {}
    try:
        con.execute(f"attach '{staging_db}' as publish_target")
        try:
            con.execute("begin")  # one transaction: the new file is written once, at the commit
            con.execute("create schema publish_target.marts")
            for mart in list_marts(con):
                con.execute(f"create table publish_target.marts.{mart} as select * from marts.{mart}")
                (marts[mart],) = con.execute(f"select count(*) from publish_target.marts.{mart}").fetchone()
                con.execute(f"copy (select * from marts.{mart}) to '{staging_parquet / (mart + '.parquet')}' (format parquet)")
            con.execute("commit")
        finally:
            con.execute("detach publish_target")
        _fsync(staging_db)
    except BaseException:
        staging_db.unlink(missing_ok=True)
        shutil.rmtree(staging_parquet, ignore_errors=True)
        raise
    pause_point("publish", published_dir.parent)  # test hook; a no-op unless CITYTRADE_TEST_PAUSE_AT=publish
    database = published_dir / "citytrade.duckdb"
    os.replace(staging_db, database)
    parquet_link = published_dir / "parquet"
    temporary_link = published_dir / f".parquet-{version}.tmp"
    temporary_link.symlink_to(Path("versions") / version)
    if parquet_link.exists() and not parquet_link.is_symlink():
        shutil.rmtree(parquet_link)  # a real folder left by hand; the swap needs a link
    os.replace(temporary_link, parquet_link)
    _prune_versions(staging_parquet.parent, keep={version})
    return PublishResult(database=database, parquet_dir=parquet_link, marts=marts, version=version)


def _remove_stale_temporaries(published_dir: Path) -> None:
    """A run killed mid-publish leaves its staging file or link behind; the run lock says nobody else is writing."""
    for pattern in (".citytrade-*.duckdb.tmp", ".citytrade-*.duckdb.tmp.wal", ".parquet-*.tmp", f".{REPORT_NAME}.*.tmp"):
        for stale in published_dir.glob(pattern):
            stale.unlink(missing_ok=True)
    # a half-written versions/<version> folder is never linked; _prune_versions drops it later


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _prune_versions(versions_dir: Path, keep: set[str], retain: int = 3) -> None:
    """Keep the newest few Parquet versions, so a reader that listed the old folder can finish."""
    versions = sorted(p for p in versions_dir.iterdir() if p.is_dir())
    for old in versions[:-retain]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
