"""Publish: copy the marts into a fresh DuckDB file and Parquet files, then swap them in atomically."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from citytrade.report_html import REPORT_NAME
from citytrade.scheduling import pause_point


@dataclass
class PublishResult:
    database: Path
    parquet_dir: Path
    marts: dict[str, int]  # mart -> rows
    version: str


def list_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' and table_type = 'BASE TABLE' "
        "and table_catalog = current_database() order by table_name"
    ).fetchall()
    return [name for (name,) in rows]


@dataclass
class StagedPublish:
    """A publish written where no reader looks, not yet swapped in (stage_marts): swap_in or discard it."""

    published_dir: Path
    version: str
    database: Path  # the staging DuckDB file
    parquet_dir: Path  # versions/<version>
    marts: dict[str, int]
    report: Path | None = None  # its report.html, when rendered before the swap (citytrade.report_html.stage_report)

    def ready(self) -> bool:
        return self.database.exists() and self.parquet_dir.is_dir()


def publish_marts(con: duckdb.DuckDBPyConnection, published_dir: Path, run_id: str) -> PublishResult:
    """Write the new publish beside the old one, then rename over it; readers see the old or the new, never half."""
    return swap_in(stage_marts(con, published_dir, run_id))


def stage_marts(con: duckdb.DuckDBPyConnection, published_dir: Path, run_id: str) -> StagedPublish:
    """Write the marts to a new DuckDB file and Parquet folder beside the publish; readers still see the old one.

    A run stages while the GX worker judges the marts (issue #8), then swaps in only if the mart gate passed.
    """
    published_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(published_dir)
    version = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + f"-{run_id[:8]}"
    staging_db = published_dir / f".citytrade-{version}.duckdb.tmp"
    staging_parquet = published_dir / "versions" / version
    staging_parquet.mkdir(parents=True, exist_ok=True)
    staged = StagedPublish(published_dir, version, staging_db, staging_parquet, {})
    marts = list_marts(con)
    try:
        con.execute(f"attach '{staging_db}' as publish_target")
        try:
            # The Parquet files are written from a second cursor meanwhile: DuckDB runs both on the two cores. Leaving
            # the pool waits for them either way: no thread goes on writing after a failed publish.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish-parquet") as pool:
                parquet = pool.submit(_write_parquet, con.cursor(), marts, staging_parquet)
                # one transaction: the new file is written once, at the commit (14 commits of their own cost 0.2 s more)
                con.execute("begin")
                try:
                    con.execute("create schema publish_target.marts")
                    for mart in marts:
                        con.execute(f"create table publish_target.marts.{mart} as select * from marts.{mart}")
                        (staged.marts[mart],) = con.execute(f"select count(*) from publish_target.marts.{mart}").fetchone()
                except BaseException:
                    con.execute("rollback")
                    raise
                con.execute("commit")
            parquet.result()
        finally:
            con.execute("detach publish_target")
        _fsync(staging_db)
    except BaseException:
        discard(staged)
        raise
    return staged


def swap_in(staged: StagedPublish) -> PublishResult:
    """Make a staged publish the one readers see: one rename for the database, one symlink swap for the Parquet."""
    published_dir, version = staged.published_dir, staged.version
    pause_point("publish", published_dir.parent)  # test hook; a no-op unless CITYTRADE_TEST_PAUSE_AT=publish
    database = published_dir / "citytrade.duckdb"
    os.replace(staged.database, database)
    parquet_link = published_dir / "parquet"
    temporary_link = published_dir / f".parquet-{version}.tmp"
    temporary_link.symlink_to(Path("versions") / version)
    if parquet_link.exists() and not parquet_link.is_symlink():
        shutil.rmtree(parquet_link)  # a real folder left by hand; the swap needs a link
    os.replace(temporary_link, parquet_link)
    if staged.report is not None:  # the page of these marts, after them
        os.replace(staged.report, published_dir / REPORT_NAME)
    _prune_versions(staged.parquet_dir.parent, keep={version})
    return PublishResult(database=database, parquet_dir=parquet_link, marts=staged.marts, version=version)


def discard(staged: StagedPublish) -> None:
    """Drop a staged publish that will not be swapped in (the mart gate blocked it, or the run failed).

    A no-op once it was swapped in: its Parquet folder is then the one `parquet` links to (checked on disk, so that a
    copy of the staged object, as a retried task may hold, cannot remove a live publish)."""
    link = staged.published_dir / "parquet"
    if link.is_symlink() and link.resolve() == staged.parquet_dir.resolve():
        return
    for path in (staged.database, staged.database.with_name(staged.database.name + ".wal"), staged.report):
        if path is not None:
            path.unlink(missing_ok=True)
    shutil.rmtree(staged.parquet_dir, ignore_errors=True)


def _write_parquet(cursor: duckdb.DuckDBPyConnection, marts: list[str], folder: Path) -> None:
    try:
        for mart in marts:
            cursor.execute(f"copy (select * from marts.{mart}) to '{folder / (mart + '.parquet')}' (format parquet)")
    finally:
        cursor.close()


def _remove_stale_temporaries(published_dir: Path) -> None:
    """A run killed mid-publish leaves its staging file or link behind; the run lock says nobody else is writing."""
    for pattern in (".citytrade-*.duckdb.tmp", ".citytrade-*.duckdb.tmp.wal", ".parquet-*.tmp", f".{REPORT_NAME}-*.tmp"):
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
