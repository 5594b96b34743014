"""`citytrade run` as a user runs it: any raw folder and home, state only under the home, offline."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from citytrade.prefect_api import template_dir
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
    repo_before, raw_before, template_before = _tree(REPO), _tree(raw), _tree(template_dir())
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
    # the run's own temporary Prefect API (started before the imports, issue #8) is gone with the run
    port = re.search(r"Starting temporary Prefect API on http://127\.0\.0\.1:(\d+)", result.stderr).group(1)
    assert _server_processes(port) == [], "the temporary Prefect API outlived the run"
    assert (home / "logs" / "prefect-api.log").is_file()
    # the new home's Prefect database is a copy of the environment's migrated template (issue #8), and Prefect ran on it
    assert _block_types(home / "prefect" / "prefect.db") == _block_types(template_dir() / "prefect.db")
    assert _tree(template_dir()) == template_before  # read, never written, by a run
    with sqlite3.connect(home / "prefect" / "prefect.db") as db:
        assert db.execute("select count(*) from flow_run where state_type = 'COMPLETED'").fetchone()[0] == 1


def _block_types(database: Path) -> list[tuple]:
    """Block types with their creation times: equal only if one database is a copy of the other."""
    with sqlite3.connect(f"file:{database}?immutable=1", uri=True) as db:  # reads without a -shm file beside it
        return db.execute("select slug, created from block_type order by slug").fetchall()


def test_the_template_is_a_migrated_empty_prefect_database_that_new_homes_copy(tmp_path, monkeypatch):
    """What `scripts/dev.py` set-up runs (`python -m citytrade.prefect_api`), here into a folder of the test's."""
    from citytrade import prefect_api

    monkeypatch.setattr(prefect_api, "template_dir", lambda: tmp_path / "template")
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "unused"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert prefect_api.make_template() == 0
    with sqlite3.connect(f"file:{tmp_path / 'template' / 'prefect.db'}?immutable=1", uri=True) as db:
        assert db.execute("select count(*) from alembic_version").fetchone()[0] == 1  # migrated to head
        assert db.execute("select count(*) from block_type").fetchone()[0] > 0  # blocks registered
        assert db.execute("select count(*) from flow_run").fetchone()[0] == 0  # nothing run on it
    assert prefect_api.seed_prefect_home(tmp_path / "home")
    assert _block_types(tmp_path / "home" / "prefect.db") == _block_types(tmp_path / "template" / "prefect.db")


def test_a_configured_prefect_database_is_not_seeded(tmp_path):
    """With a database URL of its own, the temporary API creates that database; the home gets no template copy."""
    script = (
        "from pathlib import Path\n"
        "from citytrade.prefect_api import TemporaryAPI\n"
        "api = TemporaryAPI.start_if_needed(Path('api.log'))\n"
        "api.startup_timeout = 100  # a new database migrates from nothing: 7 s here, over 20 s on a slow spell\n"
        "api.wait_ready()\n"
        "api.stop()\n"
    )
    own = tmp_path / "own.db"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_HOME=str(tmp_path / "home"), PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{own}")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert own.is_file() and not (tmp_path / "home" / "prefect.db").exists()


def _server_processes(port: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"prefect.server.api.server:create_app" in command and port.encode() in command:
            found.append(int(entry.name))
    return found


def test_unknown_command_line_gives_usage_error(tmp_path):
    result = run_cli("run", "--no-such-flag", "--home", str(tmp_path))
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr


def test_missing_raw_dir_is_one_clear_line_and_nonzero(tmp_path):
    result = run_cli("ingest", "--raw-dir", str(tmp_path / "nowhere"), "--home", str(tmp_path / "home"))
    assert result.returncode == 1
    lines = [line for line in result.stderr.strip().splitlines() if line]
    assert len(lines) == 1 and "raw folder does not exist" in lines[0]


def test_run_attempts_no_connection_beyond_loopback(tmp_path):
    """Every connect() of the run and its children goes to 127.0.0.1, ::1 or a local socket."""
    assert shutil.which("strace"), "strace is required (python3 scripts/dev.py test installs it: apt-get install strace)"
    trace = tmp_path / "connect.trace"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_HOME"}
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"  # tracing slows the temporary server's start
    result = subprocess.run(
        ["strace", "-f", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace),
         CITYTRADE_BIN, "run", "--raw-dir", str(SAMPLE_RAW), "--home", str(tmp_path / "home")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
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


def test_temporary_api_gives_way_to_a_server_named_in_prefect_toml(tmp_path):
    """`citytrade run` starts its temporary API before Prefect is imported; Prefect's settings from a file still win."""
    (tmp_path / "prefect.toml").write_text('[api]\nurl = "http://127.0.0.1:9/api"\n', encoding="utf-8")
    script = (
        "from pathlib import Path\n"
        "from citytrade.prefect_api import TemporaryAPI\n"
        "api = TemporaryAPI.start_if_needed(Path('api.log'))\n"
        "print('started', api.port)\n"
        "print('wanted', api.wanted())\n"
        "api.stop()\n"
        "print('running', api.process.poll() is None)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "wanted False" in result.stdout and "running False" in result.stdout
    port = re.search(r"started (\d+)", result.stdout).group(1)
    assert _server_processes(port) == []
