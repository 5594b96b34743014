"""`citytrade serve`: a warm process runs its home's `citytrade run`s as the caller's own process would, and sends
back what it must not take (other code, another environment, a second run while one is under way)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from citytrade import serve
from conftest import REPO, SAMPLE_RAW, run_cli

STARTUP_TIMEOUT = 180


class Serve:
    """A `citytrade serve` child process on one home, its stderr in a file."""

    def __init__(self, home: Path, log: Path, env: dict | None = None):
        self.home, self.log = home, log
        full_env = {**os.environ, **(env or {})}
        full_env.pop("PREFECT_API_URL", None)  # its own temporary Prefect API, as a run on this machine would start
        with open(log, "wb") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "citytrade.cli", "--raw-dir", str(SAMPLE_RAW), "--home", str(home), "serve"],
                cwd=REPO, env=full_env, stdout=handle, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while "serving runs of" not in self.text():
            assert self.process.poll() is None, f"citytrade serve ended at start-up:\n{self.text()[-3000:]}"
            assert time.monotonic() < deadline, f"citytrade serve not ready after {STARTUP_TIMEOUT} s:\n{self.text()[-3000:]}"
            time.sleep(0.2)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def runs(self) -> list[str]:
        return [line for line in self.text().splitlines() if line.startswith("citytrade serve: ran ")]

    def helpers(self) -> list[int]:
        return [pid for pid in _children(self.process.pid) if "citytrade.gx_worker" in _cmdline(pid)]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


@pytest.fixture
def home(sample_home: Path, tmp_path: Path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(sample_home, target, ignore=shutil.ignore_patterns("run.lock", "paused-at-*"))
    return target


@pytest.fixture
def served(home: Path, tmp_path: Path):
    started = Serve(home, tmp_path / "serve.log")
    yield started
    started.stop()


def test_runs_handed_to_the_serve_publish_as_a_run_of_their_own_does(served: Serve, home: Path):
    helpers = served.helpers()
    assert len(helpers) == 1, "the serve keeps one GX worker warm"
    dbt_worker_log = home / "logs" / "dbt-worker.log"
    dbt_worker_before = dbt_worker_log.stat().st_size if dbt_worker_log.exists() else 0
    for attempt in (1, 2):  # the second run reuses what the first left imported and parsed
        result = run_cli("--raw-dir", str(SAMPLE_RAW), "--home", str(home), "run")
        assert result.returncode == 0, result.stderr[-3000:]
        assert "citytrade: published 14 marts" in result.stdout  # printed to the caller's own stdout
        assert "Beginning flow run" in result.stderr  # and Prefect's log lines to its stderr
        assert len(served.runs()) == attempt and served.runs()[-1].endswith(" s") and "exit 0" in served.runs()[-1]
    last = json.loads((home / "logs" / "runs.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert last["status"] == "published" and last["published_version"]
    assert (dbt_worker_log.stat().st_size if dbt_worker_log.exists() else 0) == dbt_worker_before  # dbt ran in the serve
    assert served.helpers() == helpers, "the same GX worker answered both runs"
    # between runs the serve holds nothing: another process writes the warehouse (here: an ingest with nothing new)
    ingest = run_cli("--raw-dir", str(SAMPLE_RAW), "--home", str(home), "ingest")
    assert ingest.returncode == 0 and "loaded 0 release(s)" in ingest.stdout, ingest.stderr[-2000:]
    status = run_cli("--raw-dir", str(SAMPLE_RAW), "--home", str(home), "status")
    assert f"served by citytrade serve, pid {served.process.pid} (idle)" in status.stdout, status.stdout[-2000:]
    assert served.stop() == 0
    for pid in helpers:
        _wait_gone(pid, "the serve's GX worker outlived it")


def test_a_run_with_another_environment_runs_in_its_own_process(served: Serve, home: Path):
    result = run_cli("--raw-dir", str(SAMPLE_RAW), "--home", str(home), "run", env={"GX_CITYTRADE_TEST_ONLY": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "did not take the run: the environment differs from the serve's in GX_CITYTRADE_TEST_ONLY; running it in this process" in result.stderr
    assert "citytrade: published 14 marts" in result.stdout
    assert served.runs() == []
    assert served.process.poll() is None  # still serving


def test_a_serve_whose_code_changed_sends_the_run_back_and_ends(served: Serve, home: Path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(serve.address(home))
    request = {"op": "run", "raw_dir": str(SAMPLE_RAW), "home": str(home), "wait": False, "code": "not this code", "env": serve.relevant_env()}
    with open(os.devnull, "w") as null:
        socket.send_fds(sock, [json.dumps(request).encode() + b"\n"], [null.fileno(), null.fileno()])
    answer = json.loads(sock.makefile().readline())
    sock.close()
    assert answer["sent_back"].startswith("its source files changed since it started")
    assert served.process.wait(timeout=60) == 0
    assert "the source files changed since this serve started; ending" in served.text()
    assert serve.ping(home) is None
    # `citytrade run` then runs in its own process, as with no serve
    result = run_cli("--raw-dir", str(SAMPLE_RAW), "--home", str(home), "run")
    assert result.returncode == 0 and "citytrade: published 14 marts" in result.stdout, result.stderr[-3000:]


def test_the_code_fingerprint_follows_the_source_files(tmp_path: Path):
    root = tmp_path / "checkout"
    shutil.copytree(REPO / "citytrade", root / "citytrade", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "flows", root / "flows", ignore=shutil.ignore_patterns("__pycache__"))
    before = serve.code_fingerprint(root)
    assert serve.code_fingerprint(root) == before
    (root / "flows" / "run_pipeline.py").write_text("# edited\n", encoding="utf-8")
    assert serve.code_fingerprint(root) != before


def test_a_second_run_meets_the_run_lock_and_a_caller_that_goes_away_leaves_its_run_to_finish(home: Path, tmp_path: Path):
    pause = {"CITYTRADE_TEST_PAUSE_AT": "publish"}  # the serve's run holds before its publish swap
    served = Serve(home, tmp_path / "serve.log", env=pause)
    try:
        full_env = {**os.environ, **pause}
        full_env.pop("PREFECT_API_URL", None)
        first = subprocess.Popen(
            [sys.executable, "-m", "citytrade.cli", "--raw-dir", str(SAMPLE_RAW), "--home", str(home), "run"],
            cwd=REPO, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        marker = home / "paused-at-publish"
        deadline = time.monotonic() + 180
        while not marker.exists():
            assert first.poll() is None and time.monotonic() < deadline, "the served run never reached its publish"
            time.sleep(0.1)
        assert f"pid {served.process.pid} " in marker.read_text(encoding="utf-8")  # the serve, not the caller, runs it
        second = run_cli("--raw-dir", str(SAMPLE_RAW), "--home", str(home), "run", env=pause)
        assert second.returncode == 75, second.stderr[-2000:]
        assert "another citytrade run is using" in second.stderr
        first.kill()  # the caller goes away; the run is the serve's and goes on
        first.wait()
        marker.unlink()
        deadline = time.monotonic() + 120
        while not served.runs():
            assert time.monotonic() < deadline, "the served run did not finish after its caller went away"
            time.sleep(0.2)
        assert "exit 0" in served.runs()[0]
        last = json.loads((home / "logs" / "runs.jsonl").read_text(encoding="utf-8").splitlines()[-1])
        assert last["status"] == "published"
        assert served.process.poll() is None
    finally:
        assert served.stop() == 0


def test_one_serve_per_home(served: Serve, home: Path):
    result = run_cli("--raw-dir", str(SAMPLE_RAW), "--home", str(home), "serve", timeout=60)
    assert result.returncode == 1
    assert f"another citytrade serve is already serving {home}" in result.stderr
    assert serve.ping(home)["home"] == str(home)
    for junk in (b"[1, 2]\n", b"not json\n"):  # a request that is not one is dropped, and the serve goes on
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(serve.address(home))
            sock.sendall(junk)
            assert sock.recv(100) == b""
    assert serve.ping(home)["home"] == str(home)


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                    if int(handle.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError):
                pass
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _wait_gone(pid: int, message: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except FileNotFoundError:
            return
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


def test_the_launcher_finds_the_listening_serves_only(tmp_path: Path):
    from citytrade import launch

    ours = serve.address(tmp_path / "a")[1:].decode()
    table = tmp_path / "unix"
    table.write_text(
        "Num       RefCount Protocol Flags    Type St Inode Path\n"
        f"0000000000000000: 00000002 00000000 00010000 0001 01 101 @{ours}\n"  # listening
        f"0000000000000000: 00000003 00000000 00000000 0001 03 102 @{ours}\n"  # one of its connections
        "0000000000000000: 00000002 00000000 00010000 0001 01 103 @another-program\n"
        "0000000000000000: 00000002 00000000 00010000 0001 01 104 /run/a-file.sock\n"
        "0000000000000000: 00000002 00000000 00000000 0002 01 105\n",
        encoding="ascii",
    )
    assert launch.serve_addresses(str(table)) == [serve.address(tmp_path / "a")]
    assert launch.serve_addresses(str(tmp_path / "missing")) == []


def test_a_serve_takes_a_deployment_only_from_the_checkout_its_pull_step_names(tmp_path: Path):
    step = "prefect.deployments.steps.set_working_directory"
    templated = [{step: {"directory": "{{ $CITYTRADE_REPO }}"}}]
    assert serve.pulled_directory(templated, {"CITYTRADE_REPO": str(tmp_path)}) == tmp_path
    assert "CITYTRADE_REPO" in serve.pulled_directory(templated, {})
    assert serve.pulled_directory([{step: {"directory": "/srv/citytrade"}}], {}) == Path("/srv/citytrade")
    assert "not one" in serve.pulled_directory([{"prefect.deployments.steps.git_clone": {"repository": "x"}}], {})
    assert "not one" in serve.pulled_directory(templated * 2, {"CITYTRADE_REPO": str(tmp_path)})
    assert "template" in serve.pulled_directory([{step: {"directory": "{{ prefect.variables.repo }}"}}], {})


def test_a_flow_runs_environment_leaves_out_what_only_its_process_has():
    worker_env = {
        "PREFECT_API_URL": "http://127.0.0.1:4200/api", "PREFECT__FLOW_RUN_ID": "x", "PREFECT__CONTROL_PORT": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_HOME": "/elsewhere", "CITYTRADE_REPO": "/repo",
        "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        "CITYTRADE_ALERT_WEBHOOK_URL": "http://hook", "PATH": "/bin", "DBT_PROFILES_DIR": "/x",
    }  # fmt: skip
    env = serve.flow_run_env(worker_env)
    assert env["CITYTRADE_ALERT_WEBHOOK_URL"] == "http://hook"  # what the flow reads is compared
    assert env["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "false"  # the defaults the flow applies, as the serve applied them
    for gone in ("PREFECT_API_URL", "PREFECT__FLOW_RUN_ID", "PREFECT__CONTROL_PORT", "PREFECT_SERVER_ANALYTICS_ENABLED",
                 "PREFECT_HOME", "CITYTRADE_REPO", "PATH", "DBT_PROFILES_DIR", "PREFECT_WORKER_QUERY_SECONDS",
                 "PREFECT_RUNNER_POLL_FREQUENCY"):  # fmt: skip
        assert gone not in env
