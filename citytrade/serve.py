"""`citytrade serve`: one warm process per home that runs that home's `citytrade run`s, so no run pays the imports.

A run in a fresh process spends most of its CPU importing Prefect, dbt and GX and parsing the dbt project: about
11 CPU s of a one-month run's 25 on two cores (issue #8). `citytrade serve` does all that once: it imports dbt and
parses the project in its own process (no dbt worker), starts the GX worker, imports Prefect and the flow, and then
waits on a Unix socket named after the home. `citytrade run` on that home connects, hands over its stdout and
stderr (SCM_RIGHTS: the run prints to the user's terminal or log as if it ran there, progress bar included) and gets
the exit code back; the flow run is the same `run_pipeline` flow, created against the same Prefect API.

The serve only takes a run it would do exactly as the caller's own process would:
- the same code: a fingerprint of citytrade's and the flows' source files; a serve whose code changed refuses the
  run and ends (restart it), and the run goes on in the caller's process;
- the same environment: every CITYTRADE_, PREFECT_, DBT_, GX_ variable, other than the paths the settings derive
  from the home, as the serve had it when it started;
- the same user (the socket's peer credentials).
One run at a time: a run that arrives while another is under way is sent back, runs in its own process and meets
the run lock there, as it would without a serve (refused, or queued with --wait).

A deployment's flow run comes the same way, from `citytrade.launch` (the command a Prefect worker runs for it): the
serve takes it when it is this home's, on this serve's Prefect API and checkout, with the same code and the same
variables the flow reads, and runs that flow run with Prefect's engine here, as `python -m prefect.engine` would.
"""

from __future__ import annotations

import _thread
import contextlib
import hashlib
import importlib
import inspect
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path

from citytrade.config import PROJECT_ROOT, Settings

# What Settings.apply_environment derives from the home and the landing zone: the same for any caller of this home.
DERIVED_ENV = {"CITYTRADE_HOME", "CITYTRADE_RAW_DIR", "CITYTRADE_WAREHOUSE", "PREFECT_HOME", "DBT_TARGET_PATH", "DBT_LOG_PATH", "DBT_PROFILES_DIR"}
ENV_PREFIXES = ("CITYTRADE_", "PREFECT_", "DBT_", "GX_")
OFF_ENV = "CITYTRADE_SERVE"  # "off": `citytrade run` never hands its run to a serve
MAX_MESSAGE = 1 << 20
CALLER_GONE_SIGNAL = signal.SIGUSR1


class ServeError(RuntimeError):
    """The serve could not start, or ended in the middle of a run."""


class CallerGone(KeyboardInterrupt):
    """Raised in a deployment's flow run whose process went away (the worker ended it: a cancel), as Ctrl-C would be
    in that process; unlike SIGINT or SIGTERM, it ends the run, not the serve."""


def _caller_gone(*_) -> None:
    raise CallerGone("its flow run process was ended (cancelled, or the worker stopped)")


def address_prefix() -> str:
    """What every serve's socket name starts with: `citytrade.launch` finds them by it in /proc/net/unix."""
    return "citytrade-serve-"


def address(home: Path) -> bytes:
    """The serve's socket: in Linux's abstract namespace (no file to go stale, no 108-byte path limit)."""
    return b"\0" + address_prefix().encode() + hashlib.sha256(str(Path(home).resolve()).encode()).hexdigest()[:32].encode()


def code_fingerprint(root: Path = PROJECT_ROOT) -> str:
    """Name, size and mtime of every source file a run executes here; a few ms."""
    digest = hashlib.sha256()
    for folder in ("citytrade", "flows"):
        for path in sorted((root / folder).rglob("*.py")):
            stat = path.stat()
            digest.update(f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def relevant_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES) and k not in DERIVED_ENV and k != OFF_ENV}


# A deployment's flow run: what its process has that the flow does not read. Prefect's per-run variables (the flow
# run's id, the worker's control channel), the server's, the worker's and runners' own settings (they set up
# processes that start flow runs, not the run; no run here starts a server), and the checkout the pull step names
# (the serve checks that directory itself).
FLOW_RUN_ONLY_PREFIXES = ("PREFECT__", "PREFECT_SERVER_", "PREFECT_UI_", "PREFECT_WORKER_", "PREFECT_RUNNER_")
FLOW_RUN_ONLY_ENV = {"CITYTRADE_REPO", "PREFECT_API_URL"}  # the API: compared on its own, to say so


def flow_run_env(env: dict[str, str]) -> dict[str, str]:
    """The variables a deployment's flow run reads, once the flow has applied the offline defaults."""
    from citytrade.config import OFFLINE_ENV

    env = {**OFFLINE_ENV, **env}  # Settings.apply_environment sets these by default, in the serve as in the run
    return {
        k: v for k, v in env.items()
        if k.startswith(ENV_PREFIXES) and k not in DERIVED_ENV and k != OFF_ENV
        and k not in FLOW_RUN_ONLY_ENV and not k.startswith(FLOW_RUN_ONLY_PREFIXES)
    }  # fmt: skip


# ---- the caller's side: `citytrade run`


def hand_over(settings: Settings, wait: bool) -> int | None:
    """Run on this home's serve, if one is listening: the run's exit code; None when there is no serve, or it sent
    the run back (busy, other code or environment): the caller then runs it itself."""
    if os.environ.get(OFF_ENV, "").lower() == "off":
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(address(settings.home))
    except OSError:  # nobody serves this home (ECONNREFUSED), or not yet: the run is this process's
        sock.close()
        return None
    with sock:
        request = {"op": "run", "raw_dir": str(settings.raw_dir), "home": str(settings.home), "wait": wait,
                   "code": code_fingerprint(), "env": relevant_env()}  # fmt: skip
        sys.stdout.flush()
        sys.stderr.flush()
        socket.send_fds(sock, [json.dumps(request).encode() + b"\n"], [sys.stdout.fileno(), sys.stderr.fileno()])
        try:
            answer = read_line(sock)
        except KeyboardInterrupt:
            print("citytrade: interrupted; the run goes on in citytrade serve", file=sys.stderr)
            return 1
    if answer is None:
        raise ServeError(f"the citytrade serve of {settings.home} ended during the run; see what the serve printed")
    if "sent_back" in answer:
        if answer["sent_back"] != "busy":
            print(f"citytrade: citytrade serve (pid {answer.get('pid')}) did not take the run: {answer['sent_back']}; "
                  "running it in this process", file=sys.stderr)  # fmt: skip
        return None
    return int(answer["exit"])


def ping(home: Path, timeout: float = 1.0) -> dict | None:
    """The serve's pid and home if one is listening for `home`, else None."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(address(home))
        sock.sendall(b'{"op": "ping"}\n')
        return read_line(sock)
    except OSError:  # nobody serves this home, or it did not answer in time
        return None
    finally:
        sock.close()


def read_line(sock: socket.socket) -> dict | None:
    """One message of the serve's protocol (a JSON line), from either side; None when the peer closed first."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    return json.loads(data)


# ---- the serve's side


def serve(settings: Settings) -> int:
    """Warm up for `settings.home`, then run the runs sent to it until SIGINT or SIGTERM (exit 0)."""
    from contextlib import ExitStack

    from citytrade import cli, dbt_worker, gx_worker
    from citytrade.pipeline import run_lock
    from citytrade.prefect_api import TemporaryAPI

    started_env, code = relevant_env(), code_fingerprint()
    started_flow_run_env = flow_run_env(dict(os.environ))
    stopping = threading.Event()

    def stop(*_) -> None:  # SIGTERM: as Ctrl-C; a run under way ends failed, and the serve ends after answering it
        stopping.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(CALLER_GONE_SIGNAL, _caller_gone)  # what _output_to raises in the main thread (interrupt_main)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(address(settings.home))  # first: a second serve of this home ends here, before any import
    except OSError:
        listener.close()
        raise ServeError(f"another citytrade serve is already serving {settings.home}") from None
    with ExitStack() as warm:
        warm.callback(listener.close)
        api = TemporaryAPI.start_if_needed(settings.log_dir / "prefect-api.log")
        if api is not None:
            warm.callback(api.stop)
        # GX in its worker (it builds the Data Docs while the run publishes); dbt here: with nothing left to import,
        # a worker would only add a process hop and a close of the warehouse (a checkpoint) after every build
        warm.enter_context(gx_worker.running(settings.log_dir / "gx-worker.log"))
        warm.enter_context(dbt_worker.DBT_WORKER.here())
        import dbt.cli.main  # noqa: F401
        import flows.run_pipeline  # noqa: F401  (Prefect and the flow: the point of the serve)

        flows_by_entrypoint = deployment_flows()  # and the other deployments' flows, for the runs a worker offers

        from citytrade import transform

        if api is not None and not api.wanted():
            api.stop()
            api = None
        if api is not None:
            api.wait_ready()
            warm.enter_context(api.in_use())
            os.environ["PREFECT_API_URL"] = api.url  # each run's own check: a temporary API is up already
        with run_lock(settings, wait=True):  # the parse writes the home's partial-parse file
            transform.parsed_manifest(settings)
        listener.listen(8)
        print(f"citytrade: serving runs of {settings.home} (pid {os.getpid()}); stop with Ctrl-C or SIGTERM", file=sys.stderr, flush=True)
        try:
            while True:
                connection, _ = listener.accept()
                with connection:
                    received = _receive(connection)
                    if received is None:
                        stale = False
                    elif received[0].get("op") == "flow-run":
                        stale = _answer_flow_run(connection, *received, settings, started_flow_run_env, code, listener, flows_by_entrypoint)
                    else:
                        stale = _answer(connection, *received, settings, started_env, code, listener, cli)
                if stale:
                    print("citytrade: the source files changed since this serve started; ending (start it again)", file=sys.stderr)
                    return 0
                if stopping.is_set():
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            print("citytrade: serve stopped", file=sys.stderr)
    return 0


def _receive(connection) -> tuple[dict, list[int]] | None:
    """One request and the file descriptors sent with it; None for a caller that said nothing valid in time."""
    fds: list[int] = []
    try:
        connection.settimeout(10)  # a caller that connects and says nothing must not hold the serve
        message, fds, _, _ = socket.recv_fds(connection, MAX_MESSAGE, 2)
        while message and not message.endswith(b"\n"):
            chunk = connection.recv(MAX_MESSAGE)
            if not chunk:
                break
            message += chunk
        connection.settimeout(None)
        request = json.loads(message)
        if not isinstance(request, dict):
            raise ValueError("not a request")
        return request, fds
    except (OSError, ValueError):
        for fd in fds:
            os.close(fd)
        return None


def _reply(connection, answer: dict) -> None:
    connection.sendall(json.dumps({**answer, "pid": os.getpid()}).encode() + b"\n")


def _env_differs(theirs: dict[str, str], ours: dict[str, str]) -> str:
    """Why a run is sent back: the variables whose values differ, or that only one side has."""
    names = sorted({name for name, _ in set(theirs.items()) ^ set(ours.items())})
    return "the environment differs from the serve's in " + ", ".join(names)


def _same_user(connection) -> bool:
    return struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[2] == os.getuid()


def _answer(connection, request: dict, fds: list[int], settings: Settings, started_env: dict, code: str, listener, cli) -> bool:
    """Answer one `citytrade run` (or a ping); True when the serve's code is stale and it must end."""
    try:
        reply = lambda answer: _reply(connection, answer)  # noqa: E731
        if not _same_user(connection):
            return False
        if request.get("op") == "ping":
            reply({"home": str(settings.home)})
            return False
        if request.get("code") != code:
            reply({"sent_back": "its source files changed since it started; it ends now"})
            return True
        if Path(request["home"]) != settings.home:
            reply({"sent_back": f"it serves {settings.home}"})
            return False
        if request.get("env") != started_env:
            reply({"sent_back": _env_differs(request["env"], started_env)})
            return False
        if len(fds) != 2:
            reply({"sent_back": "no output streams came with the request"})
            return False
        argv = ["--raw-dir", request["raw_dir"], "--home", request["home"], "run", *(["--wait"] if request.get("wait") else [])]
        began = time.monotonic()
        with _turning_away(listener), _output_to(fds, connection):
            exit_code = cli.run_here(argv)
        print(f"citytrade serve: ran {request['raw_dir']}: exit {exit_code} in {time.monotonic() - began:.1f} s", file=sys.stderr, flush=True)
        reply({"exit": exit_code})
    except OSError:
        pass  # the caller went away: its run is done and recorded all the same
    finally:
        for fd in fds:
            os.close(fd)
    return False


# The deployments' entrypoints (prefect.yaml) and the flows they name: a serve imports them once, at its start.
ENTRYPOINTS = {
    "flows/run_pipeline.py:run_pipeline": ("flows.run_pipeline", "run_pipeline"),
    "flows/watch_landing_zone.py:watch_landing_zone": ("flows.watch_landing_zone", "watch_landing_zone"),
    "flows/backfill_years.py:backfill_years": ("flows.backfill_years", "backfill_years"),
}
NOT_ITS_HOME = "the flow run is another home's"
PULL_STEP = "prefect.deployments.steps.set_working_directory"
ENV_PLACEHOLDER = re.compile(r"^\{\{\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")


def deployment_flows() -> dict:
    return {entrypoint: getattr(importlib.import_module(module), name) for entrypoint, (module, name) in ENTRYPOINTS.items()}


def pulled_directory(pull_steps, env: dict[str, str]) -> Path | str:
    """The folder a deployment's pull step makes the working directory, resolved with the flow run's environment
    as Prefect resolves it when the run starts; or why the serve cannot run that deployment as its process would."""
    if not (isinstance(pull_steps, list) and len(pull_steps) == 1 and list(pull_steps[0]) == [PULL_STEP]):
        return f"its deployment's pull steps are not one {PULL_STEP}"
    directory = str((pull_steps[0][PULL_STEP] or {}).get("directory", ""))
    placeholder = ENV_PLACEHOLDER.match(directory)
    if placeholder:
        directory = env.get(placeholder.group(1), "")
    elif "{{" in directory:
        return f"its pull step's directory {directory} is a template other than one environment variable"
    if not directory:
        return "its pull step names no directory (is CITYTRADE_REPO set for the worker?)"
    return Path(directory)


def _answer_flow_run(connection, request: dict, fds: list[int], settings: Settings, started_env: dict, code: str, listener,
                     flows: dict) -> bool:  # fmt: skip
    """Run a deployment's flow run that `citytrade.launch` offers, if it is this serve's to run; True when the serve's
    code is stale and it must end."""
    try:
        if not _same_user(connection):
            return False
        if request.get("code") != code:
            _reply(connection, {"sent_back": "its source files changed since it started; it ends now"})
            return True
        env = request.get("env") or {}
        ours = os.environ.get("PREFECT_API_URL")
        if env.get("PREFECT_API_URL") != ours:  # another API's flow run is another serve's (quiet: it is not this one's)
            _reply(connection, {"sent_back": f"it works against {ours or 'its own temporary Prefect API'}", "quiet": True})
            return False
        try:
            plan = _flow_run_plan(str(request.get("flow_run_id")), env, settings, flows)
        except Exception as exc:  # the API did not answer, or knows no such flow run: the launcher's engine will say
            plan = f"it could not read flow run {request.get('flow_run_id')}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if isinstance(plan, str):
            _reply(connection, {"sent_back": plan, "quiet": plan == NOT_ITS_HOME})
            return False
        theirs = flow_run_env(env)
        if theirs != started_env:
            _reply(connection, {"sent_back": _env_differs(theirs, started_env)})
            return False
        if len(fds) != 2:
            _reply(connection, {"sent_back": "no output streams came with the request"})
            return False
        flow, flow_run, directory = plan
        began = time.monotonic()
        try:
            with contextlib.chdir(directory), _turning_away(listener), _output_to(fds, connection, interrupt=True):
                exit_code = _run_flow_run(flow, flow_run)
        except CallerGone:
            exit_code = 1  # the flow run's process went away (the worker cancelled or killed it): so did the run
        print(f"citytrade serve: ran flow run {flow_run.name} ({flow_run.id}): exit {exit_code} in {time.monotonic() - began:.1f} s",
              file=sys.stderr, flush=True)  # fmt: skip
        _reply(connection, {"exit": exit_code})
    except OSError:
        pass  # the caller went away after the run
    finally:
        for fd in fds:
            os.close(fd)
    return False


def _flow_run_plan(flow_run_id: str, env: dict[str, str], settings: Settings, flows: dict):
    """(flow, flow run, working directory) when the flow run is this serve's to run, else why not (NOT_ITS_HOME when
    it belongs to another home: the launcher then asks the next serve, and says nothing of this one)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
        if flow_run.deployment_id is None:
            return "it is not a deployment's flow run"
        deployment = client.read_deployment(flow_run.deployment_id)
    flow = flows.get(deployment.entrypoint)
    if flow is None:
        return f"its entrypoint {deployment.entrypoint} is none of citytrade's flows"
    directory = pulled_directory(deployment.pull_steps, env)
    if isinstance(directory, str):
        return directory
    if directory.resolve() != PROJECT_ROOT.resolve():
        return f"it runs the checkout {directory}, the serve {PROJECT_ROOT}"
    arguments = inspect.signature(flow.fn).bind_partial(**(flow_run.parameters or {}))
    arguments.apply_defaults()
    home = Path(arguments.arguments["home"])
    if (directory / home).resolve() != settings.home:  # a relative home resolves against the pulled checkout
        return NOT_ITS_HOME
    return flow, flow_run, directory


def _run_flow_run(flow, flow_run) -> int:
    """What `python -m prefect.engine` does with a flow run, and its exit code: 0 once the engine gave the run its
    final state (a failed flow run included), 1 when it could not."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import Abort, Pause
    from prefect.flow_engine import flow_run_logger, run_flow

    try:
        run_flow(flow, flow_run=flow_run, error_logger=flow_run_logger(flow_run=flow_run))
        return 0
    except (Abort, Pause):  # the orchestrator did not let it run (cancelled meanwhile) or paused it
        return 0
    except Exception:
        try:
            with get_client(sync_client=True) as client:
                return 0 if client.read_flow_run(flow_run.id).state.is_final() else 1
        except Exception:  # the API is gone: the worker then finds the flow run not final, as for a crashed process
            return 1


class _turning_away:
    """While a run is under way, send back (busy) any other run that arrives."""

    def __init__(self, listener: socket.socket):
        self.listener, self.done = listener, threading.Event()

    def __enter__(self):
        self.thread = threading.Thread(target=self._loop, name="serve-busy", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        self.listener.settimeout(0.2)
        try:
            while not self.done.is_set():
                try:
                    connection, _ = self.listener.accept()
                except TimeoutError:
                    continue
                with connection:
                    try:
                        connection.settimeout(2)
                        message, fds, _, _ = socket.recv_fds(connection, MAX_MESSAGE, 2)
                        for fd in fds:
                            os.close(fd)
                        busy = {"busy": True} if b'"ping"' in message else {"sent_back": "busy"}
                        connection.sendall(json.dumps({**busy, "pid": os.getpid()}).encode() + b"\n")
                    except OSError:
                        pass
        finally:
            self.listener.settimeout(None)

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


class _output_to:
    """The caller's stdout and stderr are this process's for the length of the run. If the caller goes away meanwhile,
    the run goes on writing to /dev/null: it is recorded, published and alerted on all the same."""

    def __init__(self, fds: list[int], connection: socket.socket, interrupt: bool = False):
        self.fds, self.connection, self.interrupt = fds, connection, interrupt  # interrupt: a deployment's flow run,
        self.lock, self.done = threading.Lock(), False  # whose process the worker ends to cancel it: so does the run

    def __enter__(self):
        self._flush()
        self.saved = [os.dup(1), os.dup(2)]
        os.dup2(self.fds[0], 1)
        os.dup2(self.fds[1], 2)
        threading.Thread(target=self._watch, name="serve-caller-watch", daemon=True).start()

    def _watch(self) -> None:
        try:
            gone = self.connection.recv(1) == b""
        except OSError:
            gone = True
        with self.lock:
            if gone and not self.done:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                os.dup2(null, 2)
                os.close(null)
                if self.interrupt:
                    _thread.interrupt_main(CALLER_GONE_SIGNAL)  # CallerGone in the run, as Ctrl-C in its own process

    def __exit__(self, *exc):
        with self.lock:
            self.done = True
            self._flush()
            os.dup2(self.saved[0], 1)
            os.dup2(self.saved[1], 2)
            for fd in self.saved:
                os.close(fd)

    @staticmethod
    def _flush() -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
