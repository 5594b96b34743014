"""The temporary Prefect API of a `citytrade run` that has no PREFECT_API_URL, started before the heavy imports.

Prefect starts the same server itself (`SubprocessASGIServer`) when a flow first calls the API, i.e. after
Prefect, dbt and GX are imported: 4-7 s of start-up one after the other. Started here first, it boots on the other
core while this process imports them (issue #8). Same command, same settings, loopback only; stopped at the end.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an http_proxy
STARTUP_TIMEOUT_ENV = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"  # Prefect's own setting, honoured here too


class TemporaryAPIError(RuntimeError):
    """The temporary Prefect API did not come up; the message says why and where its log is."""


class TemporaryAPI:
    def __init__(self, process: subprocess.Popen, port: int, log_path: Path):
        self.process = process
        self.port = port
        self.log_path = log_path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @classmethod
    def start_if_needed(cls, log_path: Path) -> "TemporaryAPI | None":
        """Start the server and point PREFECT_API_URL at it, unless a server is configured or ephemeral mode is off."""
        if os.environ.get("PREFECT_API_URL"):
            return None
        if os.environ.get("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "true").lower() in {"0", "false", "no"}:
            return None
        spec = importlib.util.find_spec("prefect")
        if spec is None or not spec.submodule_search_locations:
            return None
        app_dir = Path(list(spec.submodule_search_locations)[0]).parent
        port = _free_port()
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--app-dir", str(app_dir), "--factory", "prefect.server.api.server:create_app",
                 "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
        print(f"Starting temporary Prefect API on http://127.0.0.1:{port}", file=sys.stderr)
        return cls(process, port, log_path)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + float(os.environ.get(STARTUP_TIMEOUT_ENV) or 120)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise TemporaryAPIError(f"the temporary Prefect API exited with code {self.process.returncode}; see {self.log_path}")
            try:
                with _LOOPBACK.open(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise TemporaryAPIError(f"the temporary Prefect API did not answer within the start-up timeout; see {self.log_path}")

    def stop(self) -> None:
        """Send what Prefect still holds (logs, events) to this server, then stop it."""
        if "prefect" in sys.modules:
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogWorker

            APILogWorker.drain_all(timeout=30)
            EventsWorker.drain_all(timeout=30)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if os.environ.get("PREFECT_API_URL") == self.url:
            del os.environ["PREFECT_API_URL"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
