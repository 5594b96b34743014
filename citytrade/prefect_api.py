"""The temporary Prefect API of a `citytrade run` that has no PREFECT_API_URL, started before the heavy imports.

Prefect starts the same server itself (`SubprocessASGIServer`) when a flow first calls the API, i.e. after
Prefect, dbt and GX are imported: 4-7 s of start-up one after the other. Started here first, it boots on the other
core while this process imports them (issue #8). Same command, same settings, loopback only; stopped at the end.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an http_proxy


class TemporaryAPIError(RuntimeError):
    """The temporary Prefect API did not come up; the message says why and where its log is."""


class TemporaryAPI:
    def __init__(self, process: subprocess.Popen, port: int, log_path: Path):
        self.process = process
        self.port = port
        self.log_path = log_path
        self.startup_timeout = 20.0  # Prefect's default; start_if_needed sets the configured one

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @classmethod
    def start_if_needed(cls, log_path: Path) -> "TemporaryAPI | None":
        """Start the server at once, unless the environment names an API or turns ephemeral mode off.

        Prefect is not imported yet (reading its settings would cost 0.8 s first); `wanted()` checks its other
        sources (profile, prefect.toml, .env) once it is, and a server they make unneeded is stopped.
        """
        if os.environ.get("PREFECT_API_URL"):
            return None
        for name in ("PREFECT_SERVER_EPHEMERAL_ENABLED", "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE"):
            if os.environ.get(name, "").strip().lower() in {"0", "false", "no", "off"}:
                return None
        prefect_home = Path(os.environ["PREFECT_HOME"]) if os.environ.get("PREFECT_HOME") else None
        if prefect_home is not None and _default_database() and not (prefect_home / "prefect.db").exists():
            seed_prefect_home(prefect_home)
        spec = importlib.util.find_spec("prefect")
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
        print(f"Starting temporary Prefect API on http://127.0.0.1:{port}", file=sys.stderr)
        return cls(process, port, log_path)

    def wanted(self) -> bool:
        """False when Prefect's settings, from any source, name an API or turn ephemeral mode off."""
        from prefect.settings import get_current_settings

        settings = get_current_settings()
        self.startup_timeout = float(settings.server.ephemeral.startup_timeout_seconds)
        return not settings.api.url and settings.server.ephemeral.enabled

    @contextmanager
    def in_use(self) -> Iterator[None]:
        """Prefect's API URL points at this server inside the block (Prefect's settings were read at its import).

        Flow-run heartbeats are off meanwhile: they let a long-lived server notice a run that died, and this one
        stops with the run. Their thread sleeps in whole seconds, so joining it cost each run 0.5 s on average.
        """
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: self.url, "flows.heartbeat_frequency": None}):
            yield

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
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


# ---- a new home's Prefect database
#
# On a new home Prefect's server creates its SQLite database: about 90 migrations and the block registry, 7 s of a
# cold run's 30 (issue #8). Every new home of one environment would get the same result, so `scripts/dev.py`
# set-up makes one (`python -m citytrade.prefect_api`) and keeps it as a template beside the installed packages,
# under Prefect's version; new homes start from a copy. A run never writes it: its state stays under its home.
# Without a template a new home migrates as before. Prefect still checks the copy at start-up (its migrations to
# head are then a no-op). A configured database URL is left alone.

TEMPLATE_FILES = ("prefect.db", "memo_store.toml")  # the database, and the memo that its blocks are registered


@contextmanager
def heartbeats_only_if_asked() -> Iterator[None]:
    """A `citytrade run`'s flow run sends Prefect heartbeats only if Prefect's settings ask for them explicitly.

    Prefect 3 sends them every 180 s by default; they serve an automation that marks a flow run whose process died
    as crashed, one a self-hosted server has only when it was made by hand (Prefect's "detect zombie flows", which
    sets PREFECT_FLOWS_HEARTBEAT_FREQUENCY). At the end of every flow run, Prefect joins their thread, which sleeps
    in whole seconds: 0.66 s at the end of one served run here (py-spy, issue #8), 0.5 s on average. A frequency set in
    the environment or the Prefect profile is kept; the deployments' runs, started by a Prefect worker, keep
    Prefect's default.
    """
    from prefect.settings import get_current_settings, temporary_settings

    if "heartbeat_frequency" in get_current_settings().flows.model_fields_set:
        yield
        return
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield


def template_dir() -> Path:
    from importlib.metadata import version

    return Path(sys.prefix) / "share" / "citytrade" / f"prefect-{version('prefect')}-database"


def seed_prefect_home(prefect_home: Path) -> bool:
    """Copy the template into a Prefect home that has no database yet; False when there is no template."""
    template = template_dir()
    if not all((template / name).is_file() for name in TEMPLATE_FILES):
        return False
    prefect_home.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATE_FILES[::-1]:  # the database last: its presence says the home is seeded
        temporary = prefect_home / f".{name}.{os.getpid()}.tmp"
        shutil.copyfile(template / name, temporary)
        os.replace(temporary, prefect_home / name)
    return True


def _save_template(prefect_home: Path) -> None:
    """Keep a consistent copy (SQLite's backup) of a just-created Prefect database, and its memo, as the template."""
    import sqlite3

    template = template_dir()
    staging = template.with_name(f".{template.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    source = sqlite3.connect(f"file:{prefect_home / 'prefect.db'}?mode=ro", uri=True)
    target = sqlite3.connect(staging / "prefect.db")
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    shutil.copyfile(prefect_home / "memo_store.toml", staging / "memo_store.toml")
    shutil.rmtree(template, ignore_errors=True)
    os.replace(staging, template)


def _default_database() -> bool:
    return not any(os.environ.get(name) for name in ("PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_SERVER_DATABASE_CONNECTION_URL"))


TEMPLATE_STARTUP_TIMEOUT = 180.0


def make_template() -> int:
    """`python -m citytrade.prefect_api`: create the template once (scripts/dev.py setup calls it after installing):
    start Prefect's server on an empty home, let it migrate and register its blocks, stop it, keep the database."""
    import tempfile

    if all((template_dir() / name).is_file() for name in TEMPLATE_FILES):
        return 0
    with tempfile.TemporaryDirectory(prefix="citytrade-prefect-") as scratch:
        os.environ["PREFECT_HOME"] = scratch
        os.environ.pop("PREFECT_API_URL", None)
        api = TemporaryAPI.start_if_needed(Path(scratch) / "api.log")
        if api is None:
            print("citytrade: ephemeral Prefect is switched off here; no database template made", file=sys.stderr)
            return 0  # only a start-up saving: new homes migrate their own database
        # The first start on a new virtualenv also compiles Prefect's modules and runs every migration: 20 s
        # (Prefect's default) was not always enough on a loaded 2-core machine.
        api.startup_timeout = max(api.startup_timeout, TEMPLATE_STARTUP_TIMEOUT)
        try:
            api.wait_ready()
        except TemporaryAPIError:
            log_tail = (Path(scratch) / "api.log").read_text(encoding="utf-8", errors="replace").strip().splitlines()[-20:]
            print("\n".join(["citytrade: the temporary Prefect API's log (removed with its folder):", *log_tail]), file=sys.stderr)
            raise
        finally:
            api.stop()
        _save_template(Path(scratch))
    return 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    sys.exit(make_template())

