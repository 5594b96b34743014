"""GX in a helper process of the run, started when the flow starts, so that GX's import overlaps the ingest and dbt.

Importing great_expectations takes 2.3 s (scipy, altair, sqlalchemy), and a run needs it only at the row gate,
5-8 s in. A run starts this worker first; it imports GX on the other core while this process ingests and builds
(issue #8). The run's process keeps the warehouse and extracts each relation to a file (citytrade.quality); the
worker runs the same GX functions on those files that would otherwise run in-process and answers with plain data.
One request at a time, one JSON line each way. If the worker dies or fails, the gate cannot run: the run fails,
it never passes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from citytrade.quality import CheckCouldNotRun

_current: "GXWorker | None" = None


class GXWorker:
    def __init__(self, process: subprocess.Popen, log_path: Path):
        self.process = process
        self.log_path = log_path
        self._lock = threading.Lock()
        self._sent = 0
        self._ops: dict[int, str] = {}  # ticket -> operation, until its answer is received
        self._answers: dict[int, dict] = {}  # answers read ahead of their receive

    @classmethod
    def start(cls, log_path: Path) -> "GXWorker":
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "citytrade.gx_worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env, text=True, encoding="utf-8", bufsize=1,
            )  # fmt: skip
        return cls(process, log_path)

    def call(self, op: str, request: dict) -> dict:
        """Send one request, wait for its answer; CheckCouldNotRun if GX raised or the worker is gone."""
        return self.receive(self.send(op, request))

    def send(self, op: str, request: dict) -> int:
        """Queue a request without waiting (the worker answers in order); returns the ticket for `receive`."""
        with self._lock:
            ticket = self._sent = self._sent + 1
            self._ops[ticket] = op
            try:
                self.process.stdin.write(json.dumps({"op": op, "args": request}, default=str) + "\n")
                self.process.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                self._answers[ticket] = {"lost": type(exc).__name__}
        return ticket

    def receive(self, ticket: int) -> dict:
        """The answer to a sent request: read in order, keeping earlier answers for their own receive."""
        with self._lock:
            while ticket not in self._answers:
                waiting = min(t for t in self._ops if t not in self._answers)
                line = self.process.stdout.readline()
                self._answers[waiting] = json.loads(line) if line else {"lost": "no answer"}
            answer, op = self._answers.pop(ticket), self._ops.pop(ticket)
        if "lost" in answer:
            code = self.process.poll()
            raise CheckCouldNotRun(f"the GX worker process ended ({answer['lost']}, exit code {code}) during {op}; see {self.log_path}")
        if "could_not_run" in answer:
            raise CheckCouldNotRun(answer["could_not_run"])
        if "error" in answer:
            raise CheckCouldNotRun(f"GX {op} failed in the GX worker: {answer['error']}; see {self.log_path}")
        return answer["ok"]

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()  # end of requests: the worker returns
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


def current() -> GXWorker | None:
    """The run's GX worker, if one is running in this process."""
    return _current


@contextmanager
def running(log_path: Path) -> Iterator[GXWorker]:
    """A GX worker for the length of the block; quality.run_checkpoint and build_data_docs use it meanwhile."""
    global _current
    worker = GXWorker.start(log_path)
    previous, _current = _current, worker
    try:
        yield worker
    finally:
        _current = previous
        worker.stop()


def serve(requests, answers) -> None:
    """The worker's loop: one JSON request per line in, one JSON answer per line out, until the input ends."""
    from citytrade import quality

    operations = {"checkpoint": quality.gx_checkpoint, "docs": quality.gx_data_docs}
    for line in requests:
        request = json.loads(line)
        try:
            answer = {"ok": operations[request["op"]](**request["args"])}
        except CheckCouldNotRun as exc:
            answer = {"could_not_run": str(exc)}
        except Exception as exc:  # sent back whole: the run turns it into a gate that could not run
            answer = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
        answers.write(json.dumps(answer, default=str) + "\n")
        answers.flush()


def main() -> None:
    # Answers go out on a copy of stdout; anything GX prints lands in the log (stderr) instead of the answers.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    import great_expectations  # noqa: F401  (the point of the worker: this import, before the first request)

    serve(sys.stdin, answers)
    answers.close()
    sys.stderr.flush()
    os._exit(0)  # nothing left to clean up: tearing down GX's modules would cost the run about 1 s at its end


if __name__ == "__main__":
    main()
