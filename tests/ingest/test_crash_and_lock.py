"""A load killed with SIGKILL leaves whole releases only, and the next run completes it; two runs never share a home."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from citytrade import warehouse
from conftest import REPO, run_cli, write_release

RELEASES = 400  # eight batches of 50 (load.BATCH_RELEASES): the kill after the first leaves seven to interrupt, even on a busy host
ROWS_PER_RELEASE = 5
CITIES = ["Shenzhen", "Shanghai", "Suzhou", "Ningbo", "Xiamen"]


def _landing_zone(raw):
    for index in range(RELEASES):
        year = 2000 + index // 12
        month = index % 12 + 1
        rows = "".join(f"{city},{year},1,{month},{100 + index + position}.{position}\n" for position, city in enumerate(CITIES))
        write_release(raw, f"{year}/{month:02d}.csv", "area,year,month_from,month_to,total\n" + rows,
                      unit="100m_yuan", published_on=f"{year + 1}-01-15", synthetic="true")  # fmt: skip


def _start_ingest(raw, home) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    return subprocess.Popen(
        [sys.executable, "-m", "citytrade.cli.main", "ingest", "--raw-dir", str(raw), "--home", str(home)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for_loaded(process: subprocess.Popen, count: int) -> list[str]:
    """Read the progress lines until `count` releases are committed (each line is printed after its commit)."""
    lines = []
    while sum("] loaded:" in line for line in lines) < count:
        line = process.stderr.readline()
        assert line, f"ingest ended before {count} releases were loaded: {lines}"
        lines.append(line)
    return lines


def test_sigkill_mid_load_then_rerun_loads_every_release_exactly_once(raw_dir, home):
    _landing_zone(raw_dir)
    loader = _start_ingest(raw_dir, home)
    _wait_for_loaded(loader, 3)
    loader.send_signal(signal.SIGKILL)
    loader.wait(timeout=60)
    loader.stderr.close()
    assert loader.returncode == -signal.SIGKILL

    with warehouse.connect(home / "warehouse.duckdb") as con:
        committed = con.execute("select count(*) from raw.releases").fetchone()[0]
        partial = con.execute(
            """select count(*) from raw.releases as releases
               where rows_loaded <> (select count(*) from raw.trade_observations as rows where rows.release_id = releases.release_id)"""
        ).fetchone()[0]
        orphans = con.execute(
            "select count(*) from raw.trade_observations where release_id not in (select release_id from raw.releases)"
        ).fetchone()[0]
    assert 3 <= committed < RELEASES, "the kill must land in the middle of the load"
    assert partial == 0 and orphans == 0  # a release is in the warehouse whole or not at all

    rerun = run_cli("ingest", "--raw-dir", str(raw_dir), "--home", str(home))
    assert rerun.returncode == 0, rerun.stderr
    assert f"loaded {RELEASES - committed} release(s)" in rerun.stdout and f"{committed} unchanged" in rerun.stdout

    with warehouse.connect(home / "warehouse.duckdb") as con:
        releases = con.execute("select count(*), count(distinct path), count(distinct release_id) from raw.releases").fetchone()
        rows = con.execute("select count(*), count(distinct (release_id, row_number)) from raw.trade_observations").fetchone()
        statuses = con.execute("select distinct status from raw.releases").fetchall()
    assert releases == (RELEASES, RELEASES, RELEASES)
    assert rows == (RELEASES * ROWS_PER_RELEASE, RELEASES * ROWS_PER_RELEASE)
    assert statuses == [("loaded",)]


def test_second_ingest_on_the_same_home_refuses_while_the_first_holds_the_lock(raw_dir, home):
    _landing_zone(raw_dir)
    first = _start_ingest(raw_dir, home)
    try:
        _wait_for_loaded(first, 1)  # the first run holds the lock from before its first release
        first.send_signal(signal.SIGSTOP)  # and keeps holding it, however fast the machine
        second = run_cli("ingest", "--raw-dir", str(raw_dir), "--home", str(home))
    finally:
        first.send_signal(signal.SIGCONT)
        remaining, _ = first.communicate(timeout=300)
    assert second.returncode == 75
    assert second.stderr.strip().splitlines()[-1].startswith(f"citytrade: another citytrade run is using {home}")
    assert "wait for it to finish" in second.stderr
    assert first.returncode == 0, remaining
    with warehouse.connect(home / "warehouse.duckdb") as con:
        assert con.execute("select count(*) from raw.releases").fetchone()[0] == RELEASES


def test_ingest_with_wait_queues_behind_the_run_holding_the_lock(raw_dir, home):
    _landing_zone(raw_dir)
    first = _start_ingest(raw_dir, home)
    _wait_for_loaded(first, 1)
    first.send_signal(signal.SIGSTOP)  # holds the lock until continued
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    second = subprocess.Popen(
        [sys.executable, "-m", "citytrade.cli.main", "ingest", "--wait", "--raw-dir", str(raw_dir), "--home", str(home)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _wait_until_blocked_on_a_lock(second.pid)
    first.send_signal(signal.SIGCONT)
    first.communicate(timeout=300)
    out, err = second.communicate(timeout=300)
    assert first.returncode == 0 and second.returncode == 0, err
    assert f"loaded 0 release(s), 0 rows; {RELEASES} unchanged" in out


def _wait_until_blocked_on_a_lock(pid: int, timeout: float = 120) -> None:
    """Linux lists a process waiting for a flock in /proc/locks with a `->` mark."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in open("/proc/locks", encoding="ascii").read().splitlines():
            fields = line.split()
            if "->" in fields and fields[fields.index("->") + 1] == "FLOCK" and str(pid) in fields:
                return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} never waited for the run lock")


def test_the_run_lock_refuses_other_processes_while_held_and_lets_them_in_after(raw_dir, home):
    from citytrade import pipeline
    from citytrade.config import Settings

    settings = Settings.from_args(raw_dir, home)
    with pipeline.run_lock(settings):
        held = run_cli("ingest", "--raw-dir", str(raw_dir), "--home", str(home))
    released = run_cli("ingest", "--raw-dir", str(raw_dir), "--home", str(home))
    assert held.returncode == 75 and "another citytrade run is using" in held.stderr, held.stderr
    assert released.returncode == 0, released.stderr
