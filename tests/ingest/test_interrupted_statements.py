"""Ctrl-C or a refused commit while DuckDB runs a statement: the run learns what happened, not a later error."""

from __future__ import annotations

import threading

import duckdb
import pytest
from citytrade import pipeline, scheduling
from citytrade.ingest import load
from citytrade.ingest.parsers.base import ParsedRelease
from citytrade.warehouse import open_warehouse


@pytest.fixture
def interrupt_noted():
    """What the run's SIGINT handler notes (scheduling.interrupt), forgotten after the test."""
    yield scheduling.INTERRUPTED
    scheduling.INTERRUPTED.clear()


def test_ctrl_c_inside_a_duckdb_statement_ends_the_stage_as_an_interrupt(tmp_path, interrupt_noted):
    # Ctrl-C in `citytrade run`: the handler notes it, and DuckDB stops the statement with an error of its own
    # ("Query interrupted"); here both are done from another thread, as a real SIGINT lands in DuckDB only when it
    # happens to check for one.
    con = duckdb.connect(str(tmp_path / "w.duckdb"))

    def ctrl_c():
        interrupt_noted.set()
        con.interrupt()

    def stage():
        con.execute("select count(*) from range(1000000000000)").fetchall()  # minutes, unless interrupted

    threading.Timer(0.3, ctrl_c).start()
    with pytest.raises(KeyboardInterrupt) as raised:
        pipeline.interruptible(stage)()
    assert raised.value.__context__ is None and raised.value.__cause__ is None  # DuckDB's error and its frames let go
    con.close()


def test_an_error_without_ctrl_c_is_still_the_error(tmp_path, interrupt_noted):
    def refused(path):
        with duckdb.connect(str(path)) as con:
            con.execute("select * from no_such_table")

    with pytest.raises(duckdb.CatalogException, match="no_such_table"):
        pipeline.interruptible(refused)(tmp_path / "w.duckdb")


class CommittedMeanwhile:
    """A detail release's rows (load_into), during whose load another connection, which began inserting the same
    release first, commits it."""

    rejects = []

    def __init__(self, other):
        self.other = other

    def __len__(self):
        return 1

    def load_into(self, con, release_id):
        self.other.execute("commit")


def test_a_refused_commit_raises_why_it_was_refused(tmp_path, raw_dir):
    from conftest import write_release
    from citytrade.ingest.releases import discover_releases

    write_release(raw_dir, "r.csv", "area,year,month_from,month_to,total\nShenzhen,2024,1,12,3.5\n")
    (release,) = discover_releases(raw_dir)
    with open_warehouse(tmp_path / "w.duckdb") as con:
        other = con.cursor()
        other.execute("begin transaction")
        other.execute("insert into raw.releases (release_id, path, sha256, loaded_at, run_id, rows_loaded, rows_quarantined, status) "
                      "values (?, 'elsewhere.csv', ?, now(), 'run-0', 1, 0, 'loaded')", [release.release_id, release.sha256])  # fmt: skip
        batch = load._Batch(con, "run-1", None, 1)
        with pytest.raises(duckdb.TransactionException, match="duplicate key"):  # not "cannot rollback": the commit ended it
            load._store_release(batch, release, ParsedRelease(kind="trade", rows=CommittedMeanwhile(other)), None)
        other.close()
        assert con.execute("select path from raw.releases").fetchall() == [("elsewhere.csv",)]  # none of the batch
