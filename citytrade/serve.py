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
"""

from __future__ import annotations

import hashlib
import json
import os
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


class ServeError(RuntimeError):
    """The serve could not start, or ended in the middle of a run."""


def address(home: Path) -> bytes:
    """The serve's socket: in Linux's abstract namespace (no file to go stale, no 108-byte path limit)."""
    return b"\0citytrade-serve-" + hashlib.sha256(str(Path(home).resolve()).encode()).hexdigest()[:32].encode()


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
            answer = _read_line(sock)
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
        return _read_line(sock)
    except OSError:  # nobody serves this home, or it did not answer in time
        return None
    finally:
        sock.close()


def _read_line(sock: socket.socket) -> dict | None:
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
    stopping = threading.Event()

    def stop(*_) -> None:  # SIGTERM: as Ctrl-C; a run under way ends failed, and the serve ends after answering it
        stopping.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
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
                    stale = _answer(connection, settings, started_env, code, listener, cli)
                if stale:
                    print("citytrade: the source files changed since this serve started; ending (start it again)", file=sys.stderr)
                    return 0
                if stopping.is_set():
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            print("citytrade: serve stopped", file=sys.stderr)
    return 0


def _answer(connection, settings: Settings, started_env: dict, code: str, listener, cli) -> bool:
    """Answer one connection; True when the serve's code is stale and it must end."""
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
    except (OSError, ValueError):
        for fd in fds:
            os.close(fd)
        return False
    try:
        reply = lambda answer: connection.sendall(json.dumps({**answer, "pid": os.getpid()}).encode() + b"\n")  # noqa: E731
        uid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[2]
        if uid != os.getuid():
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
            differ = sorted(set(request["env"].items()) ^ set(started_env.items()))
            reply({"sent_back": "the environment differs from the serve's in " + ", ".join(sorted({k for k, _ in differ}))})
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

    def __init__(self, fds: list[int], connection: socket.socket):
        self.fds, self.connection = fds, connection
        self.lock, self.done = threading.Lock(), False

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
