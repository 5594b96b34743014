"""Ctrl-C at any stage of `citytrade run`, as a terminal sends it (readers during runs: tests/bi/test_readers_during_runs.py).
All runs talk to one real Prefect server for the module; runs are held at a stage by CITYTRADE_TEST_PAUSE_AT."""

from __future__ import annotations

import json
import os
import signal
import time

import duckdb
import pytest

from harness import (  # noqa: F401 (fixtures)
    citytrade_command, finish, prefect_server, published_content, published_once, wait_for_marker,
)


INTERRUPTED_LINE = "citytrade: interrupted; 6 release(s) committed to the warehouse, nothing published: the next run goes on from there"


@pytest.mark.parametrize("stage", ["ingest", "row-gate", "publish"])
def test_ctrl_c_ends_a_run_within_5_s_saying_what_it_committed_and_the_next_run_publishes_the_same_marts(
    prefect_server, published_once, tmp_path, stage
):  # fmt: skip
    """SIGINT to the process group of `citytrade run`, as a terminal's Ctrl-C sends it, at three stages."""
    home = tmp_path / "home"
    run = citytrade_command("run", server=prefect_server, home=home, pause_at=stage)
    wait_for_marker(home / f"paused-at-{stage}", run)
    os.killpg(run.pid, signal.SIGINT)
    sent = time.monotonic()
    code, _, err = finish(run, timeout=60)
    took = time.monotonic() - sent
    assert (code, err.strip().splitlines()[-1]) == (130, INTERRUPTED_LINE), err
    assert took <= 5, f"{took:.1f} s"
    logged = json.loads((home / "logs" / "runs.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        committed = sorted(path for (path,) in con.execute("select path from raw.releases where run_id = ?", [logged["run_id"]]).fetchall())
        status = con.execute("select status from audit.runs where run_id = ?", [logged["run_id"]]).fetchone()[0]
    assert (logged["status"], status, logged["releases_loaded"]) == ("interrupted", "interrupted", committed) and len(committed) == 6
    assert not (home / "published" / "citytrade.duckdb").exists()

    code, _, err = finish(citytrade_command("run", server=prefect_server, home=home))
    assert code == 0, err
    assert published_content(home) == published_content(published_once)
