"""A backfill of 2,000 release files parsed in parallel loads exactly what one-at-a-time parsing loads (issue #31)."""

from __future__ import annotations

import multiprocessing
import os
import shutil

import duckdb
import pytest
from citytrade import config, synthetic
from citytrade.ingest import load
from citytrade.ingest.releases import discover_releases
from conftest import write_release
from flows.parse_pool import parse_pool

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
    pool = parse_pool(tmp_path / "home" / "scratch")
    in_parallel = load.ingest_releases(backfill, tmp_path / "parallel.duckdb", "parallel-run", parse_pool=pool)

    assert pool is not None and pool.workers == 1  # two parsers: this process and one worker
    assert 0 < pool.sent < len(in_parallel.landing_zone)  # the worker parsed a share, this process the rest
    assert pool.scratch.startswith(str(tmp_path / "home" / "scratch"))  # under the home, as all of a run's state
    assert not os.path.exists(pool.scratch)  # where the worker left its parses is gone with the pool
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


class LaggingRun:
    """A submission that a worker is still parsing until it has been asked done() `lag` times."""

    def __init__(self, pool, releases, resolver, lag):
        self.pool, self.releases, self.resolver, self.polls, self.lag = pool, releases, resolver, 0, lag

    def done(self):
        self.polls += 1
        return self.polls > self.lag

    def wait(self):
        self.polls = self.lag

    def result(self):
        self.pool.parsed_there += len(self.releases)
        return load.parse_releases(self.releases, self.resolver)


class InlinePool:
    """A parse pool whose worker takes a while (LaggingRun), recording what it was sent."""

    workers = 2

    def __init__(self, lag=40):
        self.submitted, self.sent, self.parsed_there, self.lag, self.entered, self.left = 0, [], 0, lag, False, False
        self.runs, self.finished = [], False

    def __enter__(self):
        self.entered = True
        return self

    def __exit__(self, *exc_info):
        self.left = True

    def submit(self, releases, resolver):
        assert not self.finished, "a chunk sent after finish()"
        self.submitted += len(releases)
        self.sent.extend(release.rel_path for release in releases)
        self.runs.append(LaggingRun(self, releases, resolver, self.lag))
        return self.runs[-1]

    def finish(self):
        assert not self.finished and all(run.polls > run.lag for run in self.runs), "finish() before every run was done"
        self.finished = True


@pytest.fixture
def small_pieces(monkeypatch):
    """Chunks and pieces of a few one-row releases (about 60 bytes each), so that a few hundred of them fill many."""
    monkeypatch.setattr(load, "PARSE_CHUNK_RELEASES", 20)
    monkeypatch.setattr(load, "PARSE_PIECE_BYTES", 1)  # a piece is one release
    monkeypatch.setattr(load, "PARSE_CHUNK_BYTES_AT_LEAST", 300)
    monkeypatch.setattr(load, "PARSE_CHUNK_BYTES", 3_000)
    monkeypatch.setattr(load, "PARSE_BYTES_KEPT_HERE", 1_200)


def one_row_releases(raw_dir, count):
    for index in range(count):
        write_release(raw_dir, f"r{index:04d}.csv", f"area,year,month_from,month_to,total\nShenzhen,2024,1,12,{index}.5\n")
    return discover_releases(raw_dir)


def test_the_pool_and_this_process_share_the_parse_in_order_within_a_bounded_window(raw_dir, small_pieces, monkeypatch):
    releases = one_row_releases(raw_dir, load.PARALLEL_PARSE_MIN_RELEASES)
    parsed_anywhere = 0
    parse_release = load.parse_release

    def counted(release, resolver=None):
        nonlocal parsed_anywhere
        parsed_anywhere += 1
        return parse_release(release, resolver)

    monkeypatch.setattr(load, "parse_release", counted)
    pool = InlinePool(lag=10**9)  # a worker that is done only once waited for: this process parses as far as it may
    most_held = (2 * pool.workers + 2) * load.PARSE_CHUNK_RELEASES + load.PARSE_CHUNK_RELEASES  # and the piece in hand
    for consumed, (release, (outcome, reason)) in enumerate(load.parse_in_order(releases, None, pool), start=1):
        assert release is releases[consumed - 1] and reason is None and outcome.rows[0]["total_text"] == f"{consumed - 1}.5"
        parsed_here = parsed_anywhere - pool.parsed_there
        assert pool.submitted + parsed_here - consumed <= most_held  # never the whole landing zone in memory
    assert consumed == len(releases) and pool.entered and pool.left
    assert pool.finished  # told, once its last chunk was done, that it could start stopping its workers
    assert parsed_anywhere == len(releases)  # each parsed once: here or in the pool
    assert 0 < pool.parsed_there < len(releases)  # and both did a share
    kept_here = [release.rel_path for release in releases[-load.PARSE_BYTES_KEPT_HERE // 100 :]]
    assert not set(kept_here) & set(pool.sent)  # the last releases are parsed here, not sent


def test_the_loader_stopping_leaves_the_pool(raw_dir, small_pieces):
    releases = one_row_releases(raw_dir, load.PARALLEL_PARSE_MIN_RELEASES)
    pool = InlinePool()
    parsed = load.parse_in_order(releases, None, pool)
    for consumed, _ in enumerate(parsed, start=1):
        if consumed == 3 * load.PARSE_CHUNK_RELEASES:
            break
    parsed.close()  # the loader stops (an error, Ctrl-C): the pool is left, its workers stopped
    assert pool.entered and pool.left and pool.submitted < len(releases) and not pool.finished


def test_a_backfill_is_cut_by_bytes_into_chunks_that_shrink_as_it_runs_out(backfill):
    releases = discover_releases(backfill)
    queue = load.ParseQueue(releases, parsers=2)
    size = {release.rel_path: release.data_path.stat().st_size for release in releases}
    taken, chunks = [], []
    while queue:
        chunk = queue.for_a_worker()
        if chunk is None:  # the rest is parsed here, a piece at a time
            assert queue.left < load.PARSE_BYTES_KEPT_HERE + load.PARSE_CHUNK_BYTES
            while queue:
                taken.extend(queue.for_here())
            break
        left_before = queue.left + sum(size[release.rel_path] for release in chunk)
        chunk_bytes = sum(size[release.rel_path] for release in chunk)
        assert len(chunk) <= load.PARSE_CHUNK_RELEASES
        share = (left_before - load.PARSE_BYTES_KEPT_HERE) // 2  # a parser's share of what is not kept here
        assert load.PARSE_CHUNK_BYTES_AT_LEAST <= chunk_bytes <= max(load.PARSE_CHUNK_BYTES_AT_LEAST, min(load.PARSE_CHUNK_BYTES, share)) + load.PARSE_PIECE_BYTES
        assert queue.left >= load.PARSE_BYTES_KEPT_HERE
        chunks.append(chunk_bytes)
        taken.extend(chunk)
        taken.extend(queue.for_here())  # this process takes a piece between two chunks
    assert taken == releases  # every release once, in order
    assert len(chunks) >= 5 and chunks[-1] < chunks[0] / 2  # large while much is left, short at the end


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
