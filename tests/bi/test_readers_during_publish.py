"""BI tools read the publish through SQLAlchemy and duckdb-engine while a run publishes: no error, no blocked run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
from sqlalchemy import create_engine, inspect, text

from conftest import REPO, SAMPLE_RAW

# the marts SPEC section 4 promises to BI tools (others may come on top)
PROMISED_MARTS = {
    "dim_area", "fct_trade", "fct_trade_monthly", "city_trade_ranking", "province_trade_ranking", "top100_competitiveness",
    "region_distribution", "quality_alerts", "releases",
}  # fmt: skip


def _engine(database: Path):
    """The way Superset and Metabase's DuckDB drivers connect: a SQLAlchemy URL, read-only."""
    return create_engine(f"duckdb:///{database}", connect_args={"read_only": True})


def read_every_mart(database: Path) -> dict[str, int]:
    """Open the published file, list schema marts, count and fetch rows of every mart, close; mart -> rows."""
    engine = _engine(database)
    try:
        with engine.connect() as connection:
            marts = inspect(connection).get_table_names(schema="marts")
            counts = {}
            for mart in marts:
                counts[mart] = connection.execute(text(f"select count(*) from marts.{mart}")).scalar_one()
                rows = connection.execute(text(f"select * from marts.{mart} limit 50")).fetchall()
                assert len(rows) == min(50, counts[mart])
        return counts
    finally:
        engine.dispose()


class Readers:
    """Threads that read the publish in a loop, as a dashboard refreshing, until stopped; they keep every error."""

    def __init__(self, published: Path):
        self.database = published / "citytrade.duckdb"
        self.parquet = published / "parquet"
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.reads: list[tuple[int, int, dict]] = []  # (inode before, inode after, counts) of each whole read
        self.parquet_reads = 0
        self.threads = [threading.Thread(target=self._read_marts, daemon=True) for _ in range(2)]
        self.threads.append(threading.Thread(target=self._read_parquet, daemon=True))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _read_marts(self):
        while not self.stop.is_set():
            try:
                before = self.database.stat().st_ino
                counts = read_every_mart(self.database)
                self.reads.append((before, self.database.stat().st_ino, counts))
            except Exception as exc:  # a reader's error is the finding: keep it, go on reading
                self.errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.05)

    def _read_parquet(self):
        while not self.stop.is_set():
            try:
                con = duckdb.connect()
                try:
                    for path in sorted(self.parquet.glob("*.parquet")):
                        con.execute("select count(*) from read_parquet(?)", [str(path)]).fetchone()
                finally:
                    con.close()
                self.parquet_reads += 1
            except Exception as exc:
                self.errors.append(f"parquet {type(exc).__name__}: {exc}")
            time.sleep(0.05)


def _wait_for(predicate, process: subprocess.Popen | None, what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the run ended (exit {process.returncode}) before {what}: {process.stderr.read()[-2000:]}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_readers_during_a_publishing_run_see_whole_publishes_and_do_not_block_it(sample_home, tmp_path):
    # ---- a home that already has a publish
    home = tmp_path / "home"
    shutil.copytree(sample_home / "published", home / "published", symlinks=True)
    published = home / "published"
    old_inode = (published / "citytrade.duckdb").stat().st_ino
    old_counts = read_every_mart(published / "citytrade.duckdb")
    assert PROMISED_MARTS <= set(old_counts), f"marts missing from the publish: {PROMISED_MARTS - set(old_counts)}"

    # a dashboard that keeps one connection open over the whole run
    held = _engine(published / "citytrade.duckdb")
    held_connection = held.connect()
    held_connection.execute(text("select count(*) from marts.city_trade_ranking")).scalar_one()

    env = {k: v for k, v in os.environ.items() if k not in {"PREFECT_API_URL", "PREFECT_HOME"}}
    env["CITYTRADE_TEST_PAUSE_AT"] = "publish"  # hold the run between writing the new file and the swap
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"  # the readers share the CPU with its temporary server
    marker = home / "paused-at-publish"
    with Readers(published) as readers:
        process = subprocess.Popen(
            [sys.executable, "-m", "citytrade.cli.main", "run", "--raw-dir", str(SAMPLE_RAW), "--home", str(home)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            _wait_for(marker.exists, process, "the run reached its publish step")
            # ---- mid-publish: the new file is written beside the old; readers still see the whole old publish
            reads_at_pause = len(readers.reads)
            _wait_for(lambda: len(readers.reads) >= reads_at_pause + 3, process, "three reads during the publish")
            assert any(p.name.endswith(".duckdb.tmp") for p in published.iterdir()), "the run is not mid-publish"
            marker.unlink()
            stdout, stderr = process.communicate(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        after_run = len(readers.reads)
        _wait_for(lambda: len(readers.reads) >= after_run + 2, None, "reads of the new publish", timeout=60)

    # ---- the run was not blocked: it finished and swapped in a new publish
    assert process.returncode == 0, stderr[-2000:]
    report = json.loads((home / "logs" / "runs.jsonl").read_text(encoding="utf-8").strip().splitlines()[-1])
    assert report["status"] == "published"
    new_inode = (published / "citytrade.duckdb").stat().st_ino
    assert new_inode != old_inode
    assert Path(os.readlink(published / "parquet")).name == report["published_version"]

    # ---- no reader ever saw an error, and every read saw a whole publish, old or new
    assert readers.errors == []
    assert readers.parquet_reads > 0
    whole = [counts for before, after, counts in readers.reads if before == after]
    assert any(before == after == old_inode for before, after, _ in readers.reads), "no read of the old publish"
    assert any(before == after == new_inode for before, after, _ in readers.reads), "no read of the new publish"
    for counts in whole:
        assert set(counts) == set(report["published_marts"]) or set(counts) == set(old_counts)
        assert counts == old_counts or counts == report["published_marts"]

    # the connection held open over the run still answers, from the publish it opened
    assert held_connection.execute(text("select count(*) from marts.city_trade_ranking")).scalar_one() == old_counts["city_trade_ranking"]
    held_connection.close()
    held.dispose()
