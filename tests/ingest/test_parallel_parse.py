"""A backfill of 2,000 release files parsed in parallel loads exactly what one-at-a-time parsing loads (issue #31)."""

from __future__ import annotations

import multiprocessing
import os
import shutil
from concurrent.futures import Future

import duckdb
import pytest
from citytrade import config, synthetic
from citytrade.ingest import load
from citytrade.ingest.releases import discover_releases
from conftest import write_release
from flows.run_pipeline import parse_pool

# Columns a load stamps with its own run and clock; everything else must match row for row.
RUN_COLUMNS = {"loaded_at", "run_id", "detected_at"}


@pytest.fixture(scope="module")
def backfill(tmp_path_factory):
    """61 years of monthly releases (2,013 files) with rows at fault, a file refused whole for each of two reasons,
    and a copy of a release (a duplicate)."""
    raw = tmp_path_factory.mktemp("backfill") / "raw"
    summary = synthetic.generate(raw, years=61, seed=31, faults=8)
    assert summary.files >= 2000
    write_release(raw, "bad/unknown_unit.csv", "area,year,month_from,month_to,total\nShenzhen,2024,1,12,3.5\n", unit="furlongs")
    write_release(raw, "bad/no_publisher.csv", "area,year,month_from,month_to,total\nShenzhen,2024,1,12,3.5\n", publisher=None)
    copy = raw / "copies" / "national_2019_05.csv"
    copy.parent.mkdir()
    for name in ("national_2019_05.csv", "national_2019_05.meta.yaml"):
        shutil.copy(raw / "national" / "2019" / name, copy.parent / name)
    return raw


def raw_tables(path) -> dict[str, list[tuple]]:
    """Every raw table's rows in the order they were inserted, without the columns that name the run or its clock."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [name for (name,) in con.execute("select table_name from information_schema.tables where table_schema = 'raw' order by 1").fetchall()]
        found = {}
        for table in tables:
            columns = [name for (name,) in con.execute(
                "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ? order by ordinal_position",
                [table]).fetchall() if name not in RUN_COLUMNS]  # fmt: skip
            found[table] = con.execute(f"select {', '.join(columns)} from raw.{table} order by rowid").fetchall()
    return found


def test_a_backfill_parsed_in_parallel_loads_the_same_rows_and_quarantine_as_one_at_a_time(backfill, tmp_path, monkeypatch, prefect_harness):
    one_at_a_time = load.ingest_releases(backfill, tmp_path / "serial.duckdb", "serial-run")

    monkeypatch.setenv("CITYTRADE_PARSE_WORKERS", "2")
    monkeypatch.delenv("CITYTRADE_PARSE_RUNNER", raising=False)
    monkeypatch.setenv("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")  # parsed outside a flow run here
    pool = parse_pool()
    in_parallel = load.ingest_releases(backfill, tmp_path / "parallel.duckdb", "parallel-run", parse_pool=pool)

    assert pool is not None and pool.runner is not None  # the releases went through the Prefect task runner
    assert multiprocessing.active_children() == []  # and its worker processes are gone
    serial_rows, parallel_rows = raw_tables(tmp_path / "serial.duckdb"), raw_tables(tmp_path / "parallel.duckdb")
    assert len(serial_rows["trade_observations"]) > 400_000
    for table, rows in serial_rows.items():
        assert parallel_rows[table] == rows, table
    assert in_parallel.problems == one_at_a_time.problems
    assert (in_parallel.loaded, in_parallel.rejected, in_parallel.rows_loaded, in_parallel.rows_quarantined) == (
        one_at_a_time.loaded, one_at_a_time.rejected, one_at_a_time.rows_loaded, one_at_a_time.rows_quarantined)  # fmt: skip
    # what a person reads: the refused files and the rows at fault, each named, parsed in a worker
    assert any(line.startswith("bad/unknown_unit.csv: unknown sidecar unit 'furlongs'") for line in in_parallel.problems)
    assert "bad/no_publisher.csv: sidecar lacks required field(s): publisher" in in_parallel.problems
    assert "national/2019/national_2019_05.csv: duplicate: same bytes as copies/national_2019_05.csv, already loaded" in in_parallel.problems
    faults = [fault for fault in synthetic_faults(backfill) if fault["expected"].startswith("quarantine")]
    for fault in faults:
        assert any(line.startswith(f"{fault['file']}:{fault['row']}: ") for line in in_parallel.problems), fault


def synthetic_faults(raw) -> list[dict]:
    import json

    return json.loads((raw / synthetic.FAULTS_FILE).read_text(encoding="utf-8"))


class InlinePool:
    """A parse pool that parses as it is asked, recording how far the submissions run ahead of what was consumed."""

    workers = 2

    def __init__(self):
        self.submitted, self.entered, self.left = 0, False, False

    def __enter__(self):
        self.entered = True
        return self

    def __exit__(self, *exc_info):
        self.left = True

    def submit(self, releases, resolver):
        self.submitted += len(releases)
        future = Future()
        future.set_result(load.parse_releases(releases, resolver))
        return future


def test_parses_run_a_bounded_window_ahead_of_the_loader_and_the_pool_stops_with_it(raw_dir):
    chunks_ahead = InlinePool.workers + load.PARSE_CHUNKS_AHEAD_BEYOND_WORKERS
    for index in range(max(load.PARALLEL_PARSE_MIN_RELEASES, (chunks_ahead + 3) * load.PARSE_CHUNK_RELEASES)):
        write_release(raw_dir, f"r{index:04d}.csv", f"area,year,month_from,month_to,total\nShenzhen,2024,1,12,{index}.5\n")
    releases = discover_releases(raw_dir)
    pool = InlinePool()
    window = (chunks_ahead + 1) * load.PARSE_CHUNK_RELEASES  # and the chunk being consumed
    parsed = load.parse_in_order(releases, None, pool)
    for consumed, (release, (outcome, reason)) in enumerate(parsed, start=1):
        assert release is releases[consumed - 1] and reason is None and outcome.rows[0]["total_text"] == f"{consumed - 1}.5"
        assert pool.submitted - consumed < window  # never the whole landing zone in memory
        if consumed == load.PARSE_CHUNK_RELEASES + 1:
            break
    parsed.close()  # the loader stops (an error, Ctrl-C): the pool is left, its workers stopped
    assert pool.entered and pool.left and pool.submitted < len(releases)


def test_a_small_landing_zone_is_parsed_here_without_starting_a_pool(raw_dir):
    for index in range(load.PARALLEL_PARSE_MIN_RELEASES - 1):
        write_release(raw_dir, f"r{index:04d}.csv", f"area,year,month_from,month_to,total\nShenzhen,2024,1,12,{index}.5\n")
    pool = InlinePool()
    parsed = list(load.parse_in_order(discover_releases(raw_dir), None, pool))
    assert len(parsed) == load.PARALLEL_PARSE_MIN_RELEASES - 1 and not pool.entered


def test_an_interrupted_parse_returns_what_it_has_at_once(raw_dir):
    for index in range(3):
        write_release(raw_dir, f"r{index}.csv", f"area,year,month_from,month_to,total\nShenzhen,2024,1,12,{index}.5\n")
    answers = iter([False, True, True])
    parsed = load.parse_releases(discover_releases(raw_dir), None, stopped=lambda: next(answers))
    assert [meta["published_on"].isoformat() for meta, _ in parsed] == ["2026-01-20"]  # one parsed, dates read as dates


def test_the_parse_workers_setting():
    assert config.parse_workers({"CITYTRADE_PARSE_WORKERS": "0"}) == 0
    assert config.parse_workers({"CITYTRADE_PARSE_WORKERS": " 3 "}) == 3
    assert config.parse_workers({}) == (os.cpu_count() or 1)
    with pytest.raises(ValueError, match="CITYTRADE_PARSE_WORKERS must be a whole number"):
        config.parse_workers({"CITYTRADE_PARSE_WORKERS": "many"})
    with pytest.raises(ValueError, match="CITYTRADE_PARSE_RUNNER must be one of process, thread"):
        config.parse_runner({"CITYTRADE_PARSE_RUNNER": "dask"})
