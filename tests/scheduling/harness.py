"""Helpers of the scheduling tests: one real `prefect server` on a free loopback port, commands run as a user does."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from conftest import REPO, SAMPLE_RAW

PREFECT_BIN = str(Path(sys.executable).with_name("prefect"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_group(process: subprocess.Popen, grace: float = 20) -> None:
    """End a child started with start_new_session and everything it spawned (servers, flow processes)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass
    try:  # children that outlived the leader
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class PrefectServer:
    url: str
    env: dict[str, str]
    home: Path

    def cli(self, *args: str, timeout: int = 300, cwd: Path = REPO, **extra_env: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [PREFECT_BIN, *args], cwd=cwd, env={**self.env, **extra_env}, capture_output=True, text=True, timeout=timeout
        )
        assert result.returncode == 0, f"prefect {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory) -> PrefectServer:
    """`prefect server start` as the README says, on 127.0.0.1 and a free port; killed with its process group."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_API_URL": url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    log = open(home / "server.log", "wb")
    server = subprocess.Popen(
        [PREFECT_BIN, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (home / "server.log").read_text()
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "prefect server did not answer within 120 s:\n" + (home / "server.log").read_text()
            time.sleep(0.5)
        yield PrefectServer(url=url, env=env, home=home)
    finally:
        stop_group(server)
        log.close()
    with socket.socket() as sock:  # nothing left listening
        assert sock.connect_ex(("127.0.0.1", port)) != 0
    assert processes_using(url) == [], "processes left behind by the server, a worker or a flow run"


def processes_using(api_url: str) -> list[int]:
    """Pids of live processes whose environment points at this API (server, workers, flow runs, citytrade runs)."""
    needle = f"PREFECT_API_URL={api_url}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                pass  # ended meanwhile, or not ours to read
    return found


# Start citytrade as an interactive shell starts a foreground command: SIGINT at its default and not blocked. A
# process inherits an ignored or blocked SIGINT through exec, and the pytest worker that spawns the command is no
# terminal: a Ctrl-C test once saw `citytrade run` ignore SIGINT for 60 s when it ran late in a full suite.
AS_FROM_A_SHELL = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); "
    "os.execv(sys.executable, [sys.executable, '-m', 'citytrade.cli.main', *sys.argv[1:]])"
)


def citytrade_command(
    *args: str, server: PrefectServer, home: Path, raw: Path = SAMPLE_RAW, pause_at: str | None = None, env: dict | None = None
) -> subprocess.Popen:
    """`citytrade <args> --raw-dir raw --home home` against the test server, in its own process group."""
    env = {**server.env, **(env or {})}
    if pause_at:
        env["CITYTRADE_TEST_PAUSE_AT"] = pause_at
    return subprocess.Popen(
        [sys.executable, "-c", AS_FROM_A_SHELL, *args, "--raw-dir", str(raw), "--home", str(home)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def finish(process: subprocess.Popen, timeout: int = 600) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        stop_group(process)
    return process.returncode, out, err


@pytest.fixture(scope="module")
def published_once(prefect_server, tmp_path_factory) -> Path:
    """A home where the sample releases were run once through `citytrade run`: the baseline of the recovery tests."""
    home = tmp_path_factory.mktemp("published-once") / "home"
    code, out, err = finish(citytrade_command("run", server=prefect_server, home=home))
    assert code == 0, err
    return home


def copy_home(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)  # published/parquet is a relative link
    return target


RUN_COLUMNS = {"loaded_at", "detected_at", "run_id", "first_seen_run_id", "last_seen_run_id", "published_at"}


def published_content(home: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(home / "published" / "citytrade.duckdb"), read_only=True)
    try:
        content = {}
        for (table,) in con.execute("select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall():
            columns = [c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ? order by ordinal_position",
                [table]).fetchall() if c not in RUN_COLUMNS]  # fmt: skip
            content[table] = sorted(con.execute(f"select {', '.join(columns)} from marts.{table}").fetchall(), key=repr)
        return content
    finally:
        con.close()


def wait_for_marker(marker: Path, process, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if process.poll() is not None:
            raise AssertionError(f"the run ended (exit {process.returncode}) before reaching {marker.name}:\n{process.stderr.read()}")
        assert time.monotonic() < deadline, f"the run never reached {marker.name}"
        time.sleep(0.2)
