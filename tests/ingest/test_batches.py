"""Releases are committed in batches: each release still has its own load time, and is reported once committed."""

from __future__ import annotations

import datetime as dt

import duckdb
from citytrade import warehouse
from citytrade.ingest import load as ingest
from conftest import write_release

RELEASES = 120  # more than one batch (ingest.BATCH_RELEASES)


def _landing_zone(raw_dir) -> list[str]:
    paths = []
    for index in range(RELEASES):
        # the same figure and publication date in each: only the order they were loaded in tells them apart
        write_release(raw_dir, f"r{index:03d}.csv", f"area,year,month_from,month_to,total\nShenzhen,2024,1,12,{index + 1}.5\n",
                      unit="100m_yuan", published_on="2025-01-20", synthetic="true")  # fmt: skip
        paths.append(f"r{index:03d}.csv")
    return paths


def test_each_release_is_reported_after_its_commit_and_keeps_its_own_load_time(raw_dir, tmp_path):
    paths = _landing_zone(raw_dir)
    warehouse_path = tmp_path / "warehouse.duckdb"
    seen = []

    def progress(done, total, path, outcome):
        # the same database instance as the ingest's: what it has committed, and nothing it has not
        with warehouse.connect(warehouse_path) as reader:
            committed = reader.execute("select count(*) from raw.releases where path = ?", [path]).fetchone()[0]
        seen.append((done, total, path, outcome, committed))

    summary = ingest.ingest_releases(raw_dir, warehouse_path, "run-1", progress=progress)

    assert len(summary.loaded) == RELEASES
    assert [(done, path, outcome, committed) for done, _, path, outcome, committed in seen] == [
        (number, path, "loaded", 1) for number, path in enumerate(paths, start=1)
    ]
    with duckdb.connect(str(warehouse_path)) as con:
        by_time = [path for (path,) in con.execute("select path from raw.releases order by loaded_at").fetchall()]
        distinct_times = con.execute("select count(distinct loaded_at) from raw.releases").fetchone()[0]
    assert distinct_times == RELEASES and by_time == paths  # as when each release had a transaction of its own


def test_a_batch_that_fails_to_commit_leaves_none_of_its_releases(raw_dir, tmp_path, monkeypatch):
    _landing_zone(raw_dir)
    warehouse_path = tmp_path / "warehouse.duckdb"
    real_insert = ingest._insert_rows
    calls = []

    def insert_then_fail_in_the_second_batch(con, table, parts):
        real_insert(con, table, parts)
        calls.append(table)
        if table == "raw.trade_observations" and calls.count(table) == 2:
            raise RuntimeError("disk full")

    monkeypatch.setattr(ingest, "_insert_rows", insert_then_fail_in_the_second_batch)
    try:
        ingest.ingest_releases(raw_dir, warehouse_path, "run-1")
    except RuntimeError as exc:
        assert str(exc) == "disk full"
    else:
        raise AssertionError("the failed commit must fail the ingest")

    with duckdb.connect(str(warehouse_path)) as con:
        releases = con.execute("select count(*) from raw.releases").fetchone()[0]
        rows = con.execute("select count(*) from raw.trade_observations").fetchone()[0]
    assert releases == rows == ingest.BATCH_RELEASES  # the first batch whole, nothing of the second


def test_a_column_mixing_kinds_of_value_goes_in_whole(tmp_path):
    """A column of text and numbers together (Arrow would refuse it): DuckDB types it as text from all its values,
    then casts each value to the table's type: nothing is dropped."""
    detected = dt.datetime(2026, 12, 1, 23, 0)
    rows = [
        {"path": "a.csv", "row_number": 3, "reason": "total is not a number", "run_id": "run-1", "detected_at": detected},
        {"path": "a.csv", "row_number": 4, "reason": 17, "run_id": "run-1", "detected_at": detected},
    ]
    with warehouse.open_warehouse(tmp_path / "warehouse.duckdb") as con:
        ingest._insert_rows(con, "raw.quarantine", [("release-1", rows)])
        stored = con.execute("select release_id, path, row_number, reason, run_id, detected_at from raw.quarantine order by row_number").fetchall()
    assert stored == [
        ("release-1", "a.csv", 3, "total is not a number", "run-1", detected),
        ("release-1", "a.csv", 4, "17", "run-1", detected),
    ]
