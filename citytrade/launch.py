"""What a Prefect worker runs for a citytrade deployment's flow run (prefect.yaml: `job_variables.command`).

It offers the flow run to each `citytrade serve` listening on this machine. The serve whose home, checkout, code
and environment are the run's takes it, and runs that flow run in its warm process. This process then only waits:
its stdout and stderr are the run's, as the worker streams them, and its exit code is the serve's answer. When no
serve takes the run (none is up, none serves that home, one is busy), this process becomes Prefect's own engine
(`python -m prefect.engine`, what the worker runs by default) and runs the flow run itself.

Nothing heavy is imported before that choice: a run a serve takes saves Prefect's import, the flow's, and the dbt
worker's import and parse that a new process pays (2.5-3 s of a one-month run, issue #8).

Before it becomes the engine, for a flow run of the pipeline it starts the run's dbt and GX workers, as `citytrade
run` does before it imports Prefect, and hands them over across the exec: their imports then overlap the engine's
own start (Prefect's import, the flow run's loading) instead of coming after it (issue #8). The flow adopts them
(helper_process.HelperKind.adopt) when its home is theirs, and starts its own otherwise.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import urllib.request
from pathlib import Path

from citytrade import home_lock, serve

PIPELINE_FLOW = "citytrade-pipeline"  # flows/run_pipeline.py: the flow whose runs get their workers early

LISTENING = 0x10000  # __SO_ACCEPTCON in /proc/net/unix's Flags: a socket that accepts connections


def serve_addresses(table: str = "/proc/net/unix") -> list[bytes]:
    """The abstract socket of every `citytrade serve` listening on this machine (see `serve.address`)."""
    prefix = serve.address_prefix()
    found = set()
    try:
        with open(table, encoding="ascii", errors="replace") as handle:
            next(handle, None)  # the header
            for line in handle:
                fields = line.split()
                if len(fields) >= 8 and int(fields[3], 16) & LISTENING and fields[7].startswith("@" + prefix):
                    found.add(b"\0" + fields[7][1:].encode())
    except OSError:  # no /proc: no serve can be found, the engine runs the flow run here
        return []
    return sorted(found)


def offer(address: bytes, flow_run_id: str) -> tuple[int | None, str | None]:
    """(exit code, None) when that serve ran the flow run; (None, why) when it sent it back or is gone."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(address)
    except OSError:
        sock.close()
        return None, None  # it ended since /proc listed it
    with sock:
        request = {"op": "flow-run", "flow_run_id": flow_run_id, "code": serve.code_fingerprint(), "env": dict(os.environ)}
        sys.stdout.flush()
        sys.stderr.flush()
        socket.send_fds(sock, [json.dumps(request).encode() + b"\n"], [sys.stdout.fileno(), sys.stderr.fileno()])
        answer = serve.read_line(sock)
    if answer is None:
        raise serve.ServeError(f"the citytrade serve that took flow run {flow_run_id} ended during it; see what it printed")
    if "sent_back" in answer:  # busy with another run, or another API's or home's serve: nothing to say of it
        return None, None if answer.get("quiet") or answer["sent_back"] == "busy" else f"pid {answer.get('pid')}: {answer['sent_back']}"
    return int(answer["exit"]), None


def main(argv: list[str]) -> int:
    flow_run_id = argv[0] if argv else os.environ.get("PREFECT__FLOW_RUN_ID", "")
    if flow_run_id and os.environ.get(serve.OFF_ENV, "").lower() != "off":
        for address in serve_addresses():
            try:
                code, why = offer(address, flow_run_id)
            except serve.ServeError as exc:
                print(f"citytrade: {exc}", file=sys.stderr, flush=True)
                return 1
            if code is not None:
                return code
            if why:
                print(f"citytrade: a citytrade serve did not take flow run {flow_run_id} ({why}); running it in this process",
                      file=sys.stderr, flush=True)  # fmt: skip
    _handed = start_workers_early(flow_run_id) if flow_run_id else None  # kept until the exec: collected, they would close
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "prefect.engine", *argv])  # the worker's default command
    return 1  # not reached


def start_workers_early(flow_run_id: str) -> tuple | None:
    """For a flow run of the pipeline: start its dbt and GX workers now and hand them over to the engine this
    process becomes (see the module's doc). The flow run's home and landing zone are its parameters, read from the
    Prefect API; relative ones resolve against the checkout the deployment's pull step enters ($CITYTRADE_REPO).
    Returns what it handed over (the workers, the lock), which the caller must keep until it execs: a file object
    collected before would close its descriptor. Anything unexpected only means the flow starts its workers itself."""
    api = os.environ.get("PREFECT_API_URL", "").rstrip("/")
    if not api:
        return None
    try:
        run = _api_get(api, f"/flow_runs/{flow_run_id}")
        if _api_get(api, f"/flows/{run['flow_id']}").get("name") != PIPELINE_FLOW:
            return None
        parameters = run.get("parameters") or {}
        if not parameters.get("raw_dir") or not parameters.get("home"):
            return None
        from citytrade import dbt_worker
        from citytrade.config import Settings
        from citytrade.helper_process import HelperProcess, hand_over

        base = Path(os.environ.get("CITYTRADE_REPO") or os.getcwd())
        settings = Settings.from_args(base / parameters["raw_dir"], base / parameters["home"])  # an absolute one stays
        env = settings.environment(os.environ)  # the flow's (it applies the same); this process's stays Prefect's own
        workers = {
            module: HelperProcess.start(module, settings.log_dir / log, module, RuntimeError, env=env)
            for module, log in (("citytrade.dbt_worker", "dbt-worker.log"), ("citytrade.gx_worker", "gx-worker.log"))
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"citytrade: the run's dbt and GX workers start with its flow ({type(exc).__name__}: {exc})", file=sys.stderr, flush=True)
        return None
    try:  # the parse writes the home's partial-parse file: only under the run's lock, which the flow then adopts
        lock = home_lock.acquire(settings.lock_path)
    except (home_lock.RunLocked, OSError):
        lock = None  # another run has the home: the flow waits for it (or says so) and asks for the parse itself
    if lock is not None:
        workers["citytrade.dbt_worker"].send("parse", dbt_worker.settings_args(settings))
        home_lock.hand_over(lock, settings.lock_path)
    hand_over(workers)
    return workers, lock


def _api_get(api: str, path: str) -> dict:
    request = urllib.request.Request(api + path, headers={"Accept": "application/json"})
    key = os.environ.get("PREFECT_API_KEY")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
