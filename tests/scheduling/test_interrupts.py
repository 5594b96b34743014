"""A run under ordinary use: Ctrl-C at any stage, and readers calling `status`, `alerts` and `rankings` throughout.
All runs talk to one real Prefect server for the module; runs are held at a stage by CITYTRADE_TEST_PAUSE_AT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import duckdb
import pytest

from conftest import CITYTRADE_BIN
from harness import (  # noqa: F401 (fixtures)
    citytrade_command, finish, prefect_server, published_content, published_once, stop_group, wait_for_marker,
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


def test_readers_in_a_tight_loop_never_break_ten_runs(prefect_server, tmp_path):
    """`status`, `alerts` and `rankings` called over and over while ten runs build and publish on the same home."""
    home = tmp_path / "home"
    home.mkdir()
    said = tmp_path / "readers.log"
    loop = subprocess.Popen(
        ["bash", "-c", f"while true; do for command in status alerts rankings; do "
                       f"'{CITYTRADE_BIN}' $command --home '{home}' > /dev/null 2> \"$0.err\"; "
                       f"echo \"$command $? $(cat \"$0.err\")\" >> \"$0\"; done; done", str(said)],
        env=prefect_server.env, start_new_session=True,
    )  # fmt: skip
    try:
        outcomes = [finish(citytrade_command("run", server=prefect_server, home=home)) for _ in range(10)]
    finally:
        stop_group(loop)
    assert [code for code, _, _ in outcomes] == [0] * 10, [err for _, _, err in outcomes]
    logged = [json.loads(line) for line in (home / "logs" / "runs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [run["status"] for run in logged] == ["published"] * 10
    reads = said.read_text(encoding="utf-8").splitlines()
    assert len(reads) >= 10, reads
    nothing_yet = f"citytrade: nothing published yet under {home}: run `citytrade run` first"
    for read in reads:
        command, code, line = (read.split(" ", 2) + [""])[:3]
        assert code == "0" or (code == "1" and line == nothing_yet), read
    assert any(read.split(" ")[1] == "0" and read.startswith("rankings") for read in reads), "no ranking was ever read"
