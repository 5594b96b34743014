"""`citytrade run` as a user runs it: any raw folder and home, state only under the home, offline."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import CITYTRADE_BIN, REPO, SAMPLE_RAW, run_cli

IGNORED = {".venv", "__pycache__", ".pytest_cache", ".git"}


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in IGNORED and not d.endswith(".egg-info")]
        for name in filenames:
            path = Path(dirpath) / name
            stat = path.stat()
            files[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return files


def test_run_with_any_raw_dir_and_home_writes_only_under_home(tmp_path):
    raw = tmp_path / "landing zone"
    shutil.copytree(SAMPLE_RAW, raw)
    home = tmp_path / "state home"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    repo_before, raw_before = _tree(REPO), _tree(raw)
    env = {"HOME": str(user_home)}
    full_env = {k: v for k, v in os.environ.items() if k != "PREFECT_HOME"}
    result = subprocess.run(
        [CITYTRADE_BIN, "run", "--raw-dir", str(raw), "--home", str(home)],
        cwd=cwd, env={**full_env, **env}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert (home / "published" / "citytrade.duckdb").is_file()
    assert (home / "prefect").is_dir()
    assert _tree(REPO) == repo_before
    assert _tree(raw) == raw_before
    assert list(cwd.iterdir()) == []
    assert list(user_home.iterdir()) == []
    # Prefect's ephemeral API kept its database in the home's PREFECT_HOME, and is gone with the run
    assert _server_processes(home / "prefect") == []
    with sqlite3.connect(home / "prefect" / "prefect.db") as db:
        assert db.execute("select count(*) from flow_run where state_type = 'COMPLETED'").fetchone()[0] == 1


def _server_processes(prefect_home: Path) -> list[int]:
    """Live processes whose PREFECT_HOME is this one: the ephemeral server of a run, if it outlived the run."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            environment = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"PREFECT_HOME={prefect_home}".encode() in environment:
            found.append(int(entry.name))
    return found


def test_unknown_command_line_gives_usage_error(tmp_path):
    result = run_cli("run", "--no-such-flag", "--home", str(tmp_path))
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr


@pytest.mark.parametrize("target", ["duckdb", "spark"])
def test_run_attempts_no_connection_beyond_loopback(tmp_path, target):
    """Every connect() of the run and its children (Spark's JVM among them) goes to 127.0.0.1, ::1 or a local socket."""
    assert shutil.which("strace"), "strace is required (python3 scripts/dev.py test installs it: apt-get install strace)"
    trace = tmp_path / "connect.trace"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_HOME"}
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"  # tracing slows the temporary server's start
    result = subprocess.run(
        ["strace", "-f", "--seccomp-bpf", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace),
         CITYTRADE_BIN, "run", "--target", target, "--raw-dir", str(SAMPLE_RAW), "--home", str(tmp_path / "home")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    text = trace.read_text()
    inet = re.findall(r"sin_addr=inet_addr\(\"([\d.]+)\"\)", text)
    inet6 = re.findall(r"inet_pton\(AF_INET6, \"([0-9a-f:.]+)\"", text)
    assert inet, "the trace saw no connect at all: strace did not follow the run"
    outside = sorted({a for a in inet if not a.startswith("127.")} | {a for a in inet6 if a not in ("::1",)})
    assert outside == [], f"connections beyond loopback: {outside}"


def test_home_and_raw_dir_may_come_before_or_after_the_command(tmp_path):
    from citytrade.cli.main import build_parser

    parser = build_parser()
    before = parser.parse_args(["--home", "H", "--raw-dir", "R", "status"])
    after = parser.parse_args(["status", "--home", "H", "--raw-dir", "R"])
    neither = parser.parse_args(["status"])
    assert (before.home, before.raw_dir) == (after.home, after.raw_dir) == ("H", "R")
    assert (neither.home, neither.raw_dir) == (None, None)
