"""Crash safety and concurrency: a run SIGKILLed mid-build or mid-publish leaves the publish intact; two runs on one home never overlap.
A run prints a short summary; status reads the run log.

Runs are held at a named stage by the test hook CITYTRADE_TEST_PAUSE_AT (citytrade.scheduling.pause_point), so each
kill lands exactly where it is meant to. All runs talk to one real Prefect server for the module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import signal
import time
from pathlib import Path

import duckdb
from harness import (  # noqa: F401 (fixtures)
    citytrade_command, copy_home, finish, prefect_server, published_content, published_once, wait_for_marker,
)

# Columns that say when or in which run something happened; everything else must be equal between two publishes.
def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def publish_fingerprint(home: Path) -> dict[str, str]:
    """sha256 of the published DuckDB file and of every Parquet file the `parquet` link points at."""
    published = home / "published"
    prints = {"citytrade.duckdb": sha(published / "citytrade.duckdb"), "parquet ->": os.readlink(published / "parquet")}
    prints.update({p.name: sha(p) for p in sorted((published / "parquet").glob("*.parquet"))})
    return prints


def kill_group(process) -> None:
    """SIGKILL to `citytrade run` and to the run it supervises (a session of its own): a crash, nothing recorded."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    for child in children:
        os.killpg(int(child), signal.SIGKILL)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    process.stderr.close()


def test_a_run_killed_during_the_dbt_build_and_during_the_publish_leaves_the_publish_unchanged(prefect_server, published_once, tmp_path):
    home = copy_home(published_once, tmp_path / "home")
    before = publish_fingerprint(home)
    content = published_content(home)
    runs_logged = len((home / "logs" / "runs.jsonl").read_text().splitlines())

    for stage in ("dbt-build", "publish"):
        marker = home / f"paused-at-{stage}"
        run = citytrade_command("run", server=prefect_server, home=home, pause_at=stage)
        wait_for_marker(marker, run)
        kill_group(run)
        marker.unlink()
        assert publish_fingerprint(home) == before, f"killed during {stage}"
        assert published_content(home) == content, f"killed during {stage}"
    assert len((home / "logs" / "runs.jsonl").read_text().splitlines()) == runs_logged  # neither killed run finished
    assert list((home / "published").glob(".citytrade-*.duckdb.tmp")), "the kill during the publish left its staging file"

    code, out, err = finish(citytrade_command("run", server=prefect_server, home=home))
    assert code == 0, err
    assert "published" in out
    after = publish_fingerprint(home)
    assert after["citytrade.duckdb"] != before["citytrade.duckdb"] and after["parquet ->"] != before["parquet ->"]
    assert published_content(home) == content  # same releases in, same marts out
    assert list((home / "published").glob(".*.tmp")) == []  # the stale staging file was cleaned


def blocked_on_lock(pid: int) -> bool:
    """True when `pid`, or the run it supervises, waits for a flock (a `->` line of /proc/locks)."""
    try:
        pids = {str(pid), *Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return False
    return any(line.split()[1] == "->" and line.split()[5].split(":")[0] in pids for line in Path("/proc/locks").read_text().splitlines()
               if len(line.split()) > 5)  # fmt: skip


def test_two_runs_on_one_home_one_refuses_one_waits_and_the_result_equals_a_single_run(prefect_server, published_once, tmp_path):
    home = tmp_path / "home"
    marker = home / "paused-at-dbt-build"
    first = citytrade_command("run", server=prefect_server, home=home, pause_at="dbt-build")
    wait_for_marker(marker, first)

    code, _, err = finish(citytrade_command("run", server=prefect_server, home=home))
    assert code == 75, err
    assert f"another citytrade run is using {home}" in err

    waiting = citytrade_command("run", "--wait", server=prefect_server, home=home)
    deadline = time.monotonic() + 300
    while not blocked_on_lock(waiting.pid):
        assert waiting.poll() is None, waiting.stderr.read()
        assert time.monotonic() < deadline, "the --wait run never queued on the lock"
        time.sleep(0.2)
    assert first.poll() is None and waiting.poll() is None

    marker.unlink()
    for run in (first, waiting):
        code, out, err = finish(run)
        assert code == 0, err
        assert "published" in out
    assert published_content(home) == published_content(published_once)
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    once = duckdb.connect(str(published_once / "warehouse.duckdb"), read_only=True)
    try:
        query = "select count(*), count(distinct release_id) from raw.releases"
        assert con.execute(query).fetchone() == once.execute(query).fetchone()  # nothing loaded twice
        query = "select count(*) from raw.trade_observations"
        assert con.execute(query).fetchone() == once.execute(query).fetchone()
    finally:
        con.close()
        once.close()


def test_status_without_a_server_reads_the_run_log_and_names_the_published_releases(published_once):
    import subprocess
    import sys

    from conftest import REPO

    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    result = subprocess.run([sys.executable, "-m", "citytrade.cli.main", "status", "--home", str(published_once)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    runs_section = result.stdout.split("published:")[0]
    assert f"last runs (run log {published_once / 'logs' / 'runs.jsonl'}):" in runs_section
    local_zone = dt.datetime.now().astimezone().strftime("%Z")
    assert re.search(rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d {local_zone}\s+\d+ s\s+published\s+loaded 6, unchanged 0, quarantined 0", runs_section), runs_section
    assert "press/city_province_trade_press_2020_2025.csv  published 2026-01-28" in result.stdout
    assert "quarantined (as the latest run found the landing zone):\n  nothing" in result.stdout


def test_a_run_prints_a_short_summary_whose_counts_are_the_warehouses(prefect_server, tmp_path):
    home = tmp_path / "home"
    code, out, err = finish(citytrade_command("run", server=prefect_server, home=home))
    assert code == 0, err
    assert len(err.splitlines()) <= 25, err
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        run_id, = con.execute("select run_id from audit.runs order by started_at desc limit 1").fetchone()
        loaded, rows = con.execute("select count(*), sum(rows_loaded) from raw.releases where run_id = ? and status <> 'rejected'", [run_id]).fetchone()
        quarantined_rows, = con.execute("select count(*) from raw.quarantine where run_id = ?", [run_id]).fetchone()
        kept_out, = con.execute("select count(distinct observation_id) from audit.row_verdicts where severity = 'error'").fetchone()
        errors, warnings = con.execute(
            "select count(*) filter (where severity = 'error'), count(*) filter (where severity = 'warning') from audit.alerts "
            "where run_id = ?", [run_id]).fetchone()  # fmt: skip
    assert f"  releases: {loaded} loaded, 0 unchanged, 0 quarantined" in out, out
    assert f"  rows: {rows} loaded, {quarantined_rows} quarantined, {kept_out} kept out of the marts by the row gate" in out, out
    assert f"  new alerts: {errors} error(s), {warnings} warning(s)" in out, out
    assert out.splitlines()[0] == f"citytrade: published: published 14 marts to {home / 'published' / 'citytrade.duckdb'}"
