"""Helper processes of a run: a module that imports a heavy library on the other core, then answers requests.

A run needs dbt (3 s to import here, plus the parse) and GX (2-6 s) long after it starts; in the run's own process
their imports would come one after the other, before the first build (issue #8). A helper process imports its
library as soon as it starts and then serves requests, one JSON line each way, in order, until its input ends.
The run's process keeps everything else. If a helper dies or fails, the request raises the caller's error class:
a build or a gate that could not run fails the run, it never passes.

The GX worker (citytrade.gx_worker) and the dbt worker (citytrade.dbt_worker) are the two helpers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


class HelperProcess:
    """The run's side of one helper: send requests, receive answers, stop it."""

    def __init__(self, process: subprocess.Popen, log_path: Path, label: str, error: type[Exception], raises: dict[str, type[Exception]]):
        self.process, self.log_path, self.label, self.error, self.raises = process, log_path, label, error, raises
        self._lock = threading.Lock()
        self._sent = 0
        self._ops: dict[int, str] = {}  # ticket -> operation, until its answer is received
        self._answers: dict[int, dict] = {}  # answers read ahead of their receive
        self.adopted = False  # started before this process exec'd (HelperKind.adopt)

    @classmethod
    def start(cls, module: str, log_path: Path, label: str, error: type[Exception], raises: dict[str, type[Exception]] | None = None,
              env: dict | None = None):  # fmt: skip
        """Start `python -m module` (in `env`, else this process's); `raises` maps the names of exceptions the helper
        sends back to the classes raised here."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ if env is None else env)
        package_root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", module],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env, text=True, encoding="utf-8", bufsize=1,
            )  # fmt: skip
        return cls(process, log_path, label, error, raises or {})

    def call(self, op: str, request: dict):
        """Send one request, wait for its answer."""
        return self.receive(self.send(op, request))

    def send(self, op: str, request: dict) -> int:
        """Queue a request without waiting (the helper answers in order); returns the ticket for `receive`."""
        with self._lock:
            ticket = self._sent = self._sent + 1
            self._ops[ticket] = op
            try:
                self.process.stdin.write(json.dumps({"op": op, "args": request}, default=str) + "\n")
                self.process.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                self._answers[ticket] = {"lost": type(exc).__name__}
        return ticket

    def receive(self, ticket: int):
        """The answer to a sent request: read in order, keeping earlier answers for their own receive."""
        with self._lock:
            while ticket not in self._answers:
                waiting = min(t for t in self._ops if t not in self._answers)
                line = self.process.stdout.readline()
                self._answers[waiting] = json.loads(line) if line else {"lost": "no answer"}
            answer, op = self._answers.pop(ticket), self._ops.pop(ticket)
        if "lost" in answer:
            try:
                code = self.process.wait(timeout=2)  # its pipe closed as it died: the exit code comes a moment later
            except subprocess.TimeoutExpired:
                code = None
            raise self.error(f"the {self.label} process ended ({answer['lost']}, exit code {code}) during {op}; see {self.log_path}")
        if "raised" in answer:
            raise self.raises.get(answer["raised"], self.error)(answer["message"])
        if "error" in answer:
            raise self.error(f"{op} failed in the {self.label}: {answer['error']}; see {self.log_path}")
        return answer["ok"]

    def owes(self, ticket: int | None) -> bool:
        """Whether the answer to `ticket` is still to be received."""
        return ticket in self._ops

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()  # end of requests: the helper returns
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


# ---- helpers started before this process execs another program, adopted there (citytrade.launch, issue #8)

HANDED_OVER_ENV = "CITYTRADE_HELPERS_HANDED_OVER"  # JSON: module -> {"pid", "stdin", "stdout", "log", "owed"}


def hand_over(helpers: dict[str, HelperProcess]) -> None:
    """Keep these helpers' pipes open across this process's coming exec, and say where they are (in the
    environment the exec passes on), for HelperKind.running in the new program to adopt."""
    handed = {}
    for module, helper in helpers.items():
        stdin, stdout = helper.process.stdin.fileno(), helper.process.stdout.fileno()
        os.set_inheritable(stdin, True)
        os.set_inheritable(stdout, True)
        handed[module] = {"pid": helper.process.pid, "stdin": stdin, "stdout": stdout, "log": str(helper.log_path),
                          "owed": {str(ticket): op for ticket, op in helper._ops.items()}}  # answers still to come  # fmt: skip
    os.environ[HANDED_OVER_ENV] = json.dumps(handed)


class AdoptedChild:
    """What HelperProcess uses of a Popen, for a helper this process started before it exec'd: still its child (an
    exec keeps the pid), on pipes it kept open."""

    def __init__(self, pid: int, stdin: int, stdout: int):
        os.set_inheritable(stdin, False)
        os.set_inheritable(stdout, False)
        self.pid, self.returncode, self.args = pid, None, f"pid {pid}"
        self.stdin = os.fdopen(stdin, "w", encoding="utf-8", buffering=1)
        self.stdout = os.fdopen(stdout, "r", encoding="utf-8")

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.01)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            os.kill(self.pid, 9)


class HelperKind:
    """One kind of helper (the GX worker, the dbt worker): at most one runs per process, for the run under way."""

    def __init__(self, module: str, label: str, error: type[Exception], raises: dict[str, type[Exception]] | None = None):
        self.module, self.label, self.error, self.raises = module, label, error, raises or {}
        self.current: HelperProcess | None = None
        self.in_process = False

    @contextmanager
    def running(self, log_path: Path, first_request: tuple[str, dict] | None = None) -> Iterator[HelperProcess | None]:
        """A helper for the length of the block: the one already running (an outer block started it), or a new one,
        sent `first_request` at once and stopped when the block ends; None inside `here()` (no helper: the work
        is done in this process)."""
        if self.current is not None or self.in_process:
            yield self.current
            return
        helper = self.adopt(log_path) or HelperProcess.start(self.module, log_path, self.label, self.error, self.raises)
        if first_request is not None:
            helper.send(*first_request)
        self.current = helper
        try:
            yield helper
        finally:
            self.current = None
            helper.stop()

    def adopt(self, log_path: Path) -> HelperProcess | None:
        """The helper of this kind handed over before this process exec'd (hand_over), if it was started for the same
        home (its log is this run's); one started for another home is stopped. Its `adopted` is True."""
        handed = json.loads(os.environ.get(HANDED_OVER_ENV) or "{}")
        entry = handed.pop(self.module, None)
        if entry is None:
            return None
        if handed:
            os.environ[HANDED_OVER_ENV] = json.dumps(handed)
        else:
            del os.environ[HANDED_OVER_ENV]
        try:
            child = AdoptedChild(entry["pid"], entry["stdin"], entry["stdout"])
        except (OSError, KeyError, TypeError):  # not this process's pipes after all: a helper of its own instead
            return None
        helper = HelperProcess(child, Path(entry["log"]), self.label, self.error, self.raises)  # type: ignore[arg-type]
        helper._ops = {int(ticket): op for ticket, op in entry.get("owed", {}).items()}  # read in order, before any new answer
        helper._sent = max(helper._ops, default=0)
        if Path(entry["log"]) != log_path:  # at once, even in the middle of its import: it has done nothing yet
            child.kill()
            helper.stop()
            return None
        helper.adopted = True
        return helper

    @contextmanager
    def here(self) -> Iterator[None]:
        """No helper of this kind inside the block: a warm process (citytrade.serve) that has the library imported
        already does the work itself."""
        self.in_process = True
        try:
            yield
        finally:
            self.in_process = False


def begin():
    """First thing in a helper, before its heavy import: end with the run, keep stdout for the answers only.

    Returns the answers stream for `serve`; anything the library prints goes to the log (stderr) instead.
    """
    _die_with_parent()
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return answers


def serve(answers, operations: dict[str, Callable], passed_on: tuple[type[Exception], ...] = ()) -> None:
    """Answer requests from stdin until stdin ends, then exit at once.

    Exceptions of the `passed_on` classes go back by name and message (raised again as such in the run); any other
    goes back as an error.
    """
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = {"ok": operations[request["op"]](**request["args"])}
        except passed_on as exc:
            answer = {"raised": type(exc).__name__, "message": str(exc)}
        except Exception as exc:  # sent back whole: the run turns it into a failed build or gate
            answer = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
        answers.write(json.dumps(answer, default=str) + "\n")
        answers.flush()
    answers.close()
    sys.stderr.flush()
    os._exit(0)  # nothing left to clean up: tearing down dbt's or GX's modules would cost the run about 1 s at its end


def _die_with_parent() -> None:
    """A helper whose run was killed (SIGKILL) must not go on holding the warehouse: once the run's process is gone
    (this one is re-parented), the helper ends too, even in the middle of a request. (prctl's PDEATHSIG would follow
    the thread that started the helper, not the process.)"""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
