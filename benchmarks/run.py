"""Benchmarks: citytrade against the plain-DuckDB floor (benchmarks/floor.py) on synthetic releases.

Scenarios (each builds on the one before, in its own temporary folder):
  a  cold full run: 7 years of monthly year-to-date releases for every area, both bases and the nation
  b  incremental run: the same landing zone plus one more month
  c  detail backfill: 10M+ rows of citytrade-detail-v1 (partner region x HS section) added to it

For each, citytrade runs as `citytrade run` four times over, on separate homes: in a fresh process on the ephemeral
Prefect API ("ephemeral") and against a `prefect server` this script starts (and stops) on loopback ("server"),
then handed to a `citytrade serve` of its home, one with its own temporary Prefect API ("serve-eph") and one
against the same server ("serve"). A serve is warm (Prefect, dbt and GX imported, the project parsed) before the
scenarios begin; it is started before (a) and kept for all three, as a deployment would keep it. With a server, the
`monthly-customs-release` deployment of prefect.yaml also runs each scenario, triggered with `prefect deployment
run` and run by one `prefect worker start` that stays up for all of them, as in production: handed to a serve of
its home ("deployed") and in the worker's own flow-run process ("deployed-cold"). Their wall time is the flow
run's, from Pending to its final state (what a scheduled run costs once the worker has picked it up); CPU is the
worker's and the serve's trees' over that time, RSS their sum sampled meanwhile. The floor runs on its own database.
For the serve the figures are those of the caller and the serve's whole process tree together: CPU as
the tree's delta over the run, peak RSS sampled across both trees, the largest process as its lifetime peak.
Printed per run: wall time, peak RSS of the whole process tree (sampled from /proc) and the largest single
process (getrusage), rows per second, the ratio to the floor, and a CPU gauge taken before each scenario (how
fast the machine is just then: a shared machine's speed varies).

(b) runs three times per cold runner (`--repeat-b`), each time from the same home, and the median run stands.

    python benchmarks/run.py [--scenario a|b|c ...] [--years 7] [--detail-rows 10000000] [--repeat-b 3] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OFFLINE = {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "PREFECT_UI_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false"}  # fmt: skip


@dataclass
class Measure:
    scenario: str
    runner: str
    seconds: float
    tree_peak_rss_mb: float
    process_peak_rss_mb: float
    rows: int
    exit_code: int
    cpu_seconds: float = 0.0  # user + system CPU of the whole tree: steadier than wall time on a busy machine
    load_average: float = 0.0  # 1-minute load average when the run ended: other work on the machine skews wall times
    gauge_seconds: float = 0.0  # the CPU gauge just before the scenario: this shared machine's speed varies by 30 %
    runs_seconds: list[float] = field(default_factory=list)  # every run's wall time, when the runner ran more than once

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# ---- measuring a child process

# Runs the command and reports getrusage(RUSAGE_CHILDREN): the peak RSS of the largest process of its tree.
WRAPPER = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print('MAXRSS_KB', usage.ru_maxrss, 'CPU_S', usage.ru_utime + usage.ru_stime, flush=True); sys.exit(code)"
)


def _tree_rss_kb(root: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/statm", encoding="utf-8") as handle:
                resident_pages = int(handle.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = resident_pages * (os.sysconf("SC_PAGE_SIZE") // 1024)
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def _tree_pids(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                    children.setdefault(int(handle.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _tree_cpu_seconds(root: int) -> float:
    """User + system CPU of the live processes of a tree (a serve's, a worker's: they outlive the runs), with that
    of the children they have waited for (a worker's flow-run processes)."""
    ticks = 0
    for pid in _tree_pids(root):
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            ticks += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def _tree_hwm_kb(root: int) -> int:
    """The largest lifetime peak RSS (VmHWM) of the processes of a tree."""
    largest = 0
    for pid in _tree_pids(root):
        try:
            with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
                largest = max([largest] + [int(line.split()[1]) for line in handle if line.startswith("VmHWM:")])
        except (OSError, IndexError, ValueError):
            continue
    return largest


def measure(cmd: list[str], env: dict, log: Path, also: int | None = None) -> tuple[float, float, float, int, float]:
    """Run cmd to completion: (wall seconds, tree peak RSS MB, largest process peak RSS MB, exit code, CPU seconds).

    `also`: the pid of a long-lived process tree that does the work (a citytrade serve), counted with the command's.
    """
    peak = 0
    also_cpu = _tree_cpu_seconds(also) if also else 0.0
    with open(log, "w", encoding="utf-8") as out:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", WRAPPER, *cmd], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss_kb(child.pid) + (_tree_rss_kb(also) if also else 0))
                done.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = child.wait()
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    usage = next((line.split() for line in reversed(log.read_text(encoding="utf-8").splitlines()) if line.startswith("MAXRSS_KB ")), None)
    largest, cpu = (int(usage[1]), float(usage[3])) if usage else (0, 0.0)
    if also:
        largest, cpu = max(largest, _tree_hwm_kb(also)), cpu + _tree_cpu_seconds(also) - also_cpu
    return seconds, peak / 1024, largest / 1024, code, cpu


GAUGE = "s = 0\nfor i in range(20_000_000):\n    s += i\n"


def cpu_gauge() -> float:
    """Seconds a fresh interpreter takes for 20M additions: how fast this machine is right now (1.8-2.6 s seen on
    the same 2-core machine within one day). Read a run's seconds against the floor's of the same scenario, and
    different days' figures against their gauges."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", GAUGE], check=True)
    return time.perf_counter() - started


# ---- a warm citytrade serve for the "serve" runs

SERVE_RUNNERS = ("serve-eph", "serve", "deployed")
DEPLOYED_RUNNERS = ("deployed", "deployed-cold")
DEPLOYMENT = "citytrade-pipeline/monthly-customs-release"


class Serve:
    """`citytrade serve` on one home, started before the scenarios (its warm-up is not a run's) and ended after."""

    def __init__(self, raw: Path, home: Path, env: dict, log_path: Path):
        self.log_path = log_path
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [str(BIN / "citytrade"), "serve", "--raw-dir", str(raw), "--home", str(home)],
            env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True,
        )  # fmt: skip
        while "serving runs of" not in log_path.read_text(encoding="utf-8"):
            if self.process.poll() is not None or time.perf_counter() - started > 300:
                raise RuntimeError(f"citytrade serve did not come up; see {log_path}")
            time.sleep(0.1)
        self.warm_up_seconds = time.perf_counter() - started

    def runs(self) -> int:
        return sum(1 for line in self.log_path.read_text(encoding="utf-8").splitlines() if line.startswith("citytrade serve: ran "))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ---- a Prefect server for the "running server" runs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrefectServer:
    """`prefect server start` on loopback with its own PREFECT_HOME; stopped (by pid) on exit."""

    def __init__(self, home: Path):
        self.home, self.port = home, free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "PrefectServer":
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **OFFLINE, "PREFECT_HOME": str(self.home)}
        env.pop("PREFECT_API_URL", None)
        self.log = open(self.home / "server.log", "w", encoding="utf-8")
        self.process = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prefect server exited early; see {self.home / 'server.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("prefect server did not answer /api/health within 120 s")

    def cli(self, *args: str) -> str:
        env = {**os.environ, **OFFLINE, "PREFECT_HOME": str(self.home), "PREFECT_API_URL": self.url}
        done = subprocess.run([str(BIN / "prefect"), *args], env=env, cwd=REPO, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def deploy(self) -> None:
        """prefect.yaml's deployments on this server, as README "Scheduling" says; schedules paused and their runs
        deleted, so the worker runs only what the benchmark triggers."""
        self.cli("work-pool", "create", "citytrade", "--type", "process", "--overwrite")
        self.cli("--no-prompt", "deploy", "--all")
        self.cli("deployment", "schedule", "pause", "--all")
        scheduled = self.api("POST", "/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}})
        for run in scheduled:
            self.api("DELETE", f"/flow_runs/{run['id']}", None)

    def flow_run_seconds(self, flow_run_id: str) -> tuple[float, str]:
        """(seconds from Pending to the final state, the final state's name) of a flow run."""
        states = sorted(self.api("GET", f"/flow_run_states/?flow_run_id={flow_run_id}", None), key=lambda s: s["timestamp"])
        pending = next(s for s in states if s["type"] == "PENDING")
        final = states[-1]
        stamp = lambda s: datetime.fromisoformat(s["timestamp"].replace("Z", "+00:00"))  # noqa: E731
        return (stamp(final) - stamp(pending)).total_seconds(), final["name"]

    def api(self, method: str, path: str, body) -> object:
        request = urllib.request.Request(f"{self.url}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            data = response.read()
        return json.loads(data) if data else None

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)  # its own session: the server and the workers it started
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self.log.close()


# ---- the scenarios


def generate(raw: Path, *args: str) -> None:
    cmd = [sys.executable, "-m", "citytrade.cli.main", "--home", str(raw.parent / "generate-home"), "generate", "--out", str(raw), "--seed", "8", *args]
    subprocess.run(cmd, check=True, cwd=REPO, env={**os.environ, **OFFLINE}, stdout=subprocess.DEVNULL)


def run_count(home: Path) -> int:
    """Runs in the run log so far (loaded_rows reads the one after them)."""
    log = home / "logs" / "runs.jsonl"
    return len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0


def loaded_rows(home: Path, since_runs: int) -> int:
    """Rows the last run loaded, from the run log the CLI writes."""
    lines = (home / "logs" / "runs.jsonl").read_text(encoding="utf-8").strip().splitlines()
    return json.loads(lines[-1])["rows_loaded"] if len(lines) > since_runs else 0


def run_citytrade(scenario: str, runner: str, raw: Path, home: Path, env: dict, logs: Path, gauge: float, serve: "Serve | None" = None) -> Measure:
    runs_before = run_count(home)
    cmd = [str(BIN / "citytrade"), "run", "--raw-dir", str(raw), "--home", str(home)]
    served = serve.runs() if serve else 0
    seconds, tree, single, code, cpu = measure(cmd, env, logs / f"{scenario}-{runner}.log", also=serve.process.pid if serve else None)
    if serve and serve.runs() != served + 1:
        raise RuntimeError(f"the {runner} run of ({scenario}) did not run in its serve; see {logs / f'{scenario}-{runner}.log'} and {serve.log_path}")
    return Measure(scenario, runner, seconds, tree, single, loaded_rows(home, runs_before) if code == 0 else 0, code, cpu, os.getloadavg()[0], gauge)


class Worker:
    """One `prefect worker start --pool citytrade` for every deployed run, started after the serves (its start-up is
    no run's), polling every second; stopped with the server."""

    def __init__(self, server: PrefectServer, work: Path, log_path: Path):
        env = {**os.environ, **OFFLINE, "PREFECT_API_URL": server.url, "PREFECT_HOME": str(work / "prefect-worker"),
               "CITYTRADE_REPO": str(REPO), "PREFECT_WORKER_QUERY_SECONDS": "1"}  # fmt: skip
        self.log_path = log_path
        self.process = subprocess.Popen(
            [str(BIN / "prefect"), "worker", "start", "--pool", "citytrade"],
            env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True,
        )  # fmt: skip
        started = time.perf_counter()
        while "started!" not in log_path.read_text(encoding="utf-8"):
            if self.process.poll() is not None or time.perf_counter() - started > 120:
                raise RuntimeError(f"prefect worker did not start; see {log_path}")
            time.sleep(0.1)

    def stop(self) -> None:
        os.killpg(self.process.pid, 15)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait()


def run_deployed(scenario: str, runner: str, raw: Path, home: Path, server: PrefectServer, worker: Worker, gauge: float,
                 serve: "Serve | None") -> Measure:  # fmt: skip
    """The deployment's flow run on this home: triggered, then run by the worker (in its serve, if one is given)."""
    runs_before = run_count(home)
    trees = [worker.process.pid] + ([serve.process.pid] if serve else [])
    served = serve.runs() if serve else 0
    cpu_before = sum(_tree_cpu_seconds(pid) for pid in trees)
    out = server.cli("deployment", "run", DEPLOYMENT, "--param", f"raw_dir={raw}", "--param", f"home={home}")
    flow_run_id = next(line.split()[-1] for line in out.splitlines() if "UUID:" in line)
    peak, started = 0, time.perf_counter()
    while True:
        peak = max(peak, sum(_tree_rss_kb(pid) for pid in trees))
        state = server.api("GET", f"/flow_runs/{flow_run_id}", None)["state"]
        if state["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            break
        if time.perf_counter() - started > 900:
            raise RuntimeError(f"the {runner} run of ({scenario}) did not end within 900 s; see {worker.log_path}")
        time.sleep(0.1)
    answered = time.perf_counter()
    while serve and serve.runs() == served and time.perf_counter() - answered < 30:
        time.sleep(0.05)  # the serve's answer to the launcher, after the final state (none: it did not take the run)
    cpu = sum(_tree_cpu_seconds(pid) for pid in trees) - cpu_before
    largest = max(_tree_hwm_kb(pid) for pid in trees)
    seconds, final = server.flow_run_seconds(flow_run_id)
    if serve and serve.runs() != served + 1:
        raise RuntimeError(f"the {runner} run of ({scenario}) did not run in its serve; see {worker.log_path} and {serve.log_path}")
    code = 0 if final == "Completed" else 1
    return Measure(scenario, runner, seconds, peak / 1024, largest / 1024, loaded_rows(home, runs_before) if code == 0 else 0, code, cpu,
                   os.getloadavg()[0], gauge)  # fmt: skip


def run_floor(scenario: str, raw: Path, work: Path, logs: Path, gauge: float) -> Measure:
    log = logs / f"{scenario}-floor.log"
    cmd = [sys.executable, str(REPO / "benchmarks" / "floor.py"), "--raw-dir", str(raw), "--db", str(work / "floor.duckdb"), "--out", str(work / "floor-published")]
    seconds, tree, single, code, cpu = measure(cmd, {**os.environ, **OFFLINE}, log)
    printed = [line for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    rows = json.loads(printed[-1])["rows_loaded"] if code == 0 and printed else 0
    return Measure(scenario, "floor", seconds, tree, single, rows, code, cpu, os.getloadavg()[0], gauge)


def machine() -> str:
    """nproc, memory, CPU model and the versions that matter, for RESULTS.md."""
    import platform
    from importlib.metadata import version

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo", encoding="utf-8") if line.startswith("model name")), "?")
    memory_kb = next((int(line.split()[1]) for line in open("/proc/meminfo", encoding="utf-8") if line.startswith("MemTotal")), 0)
    packages = ", ".join(f"{name} {version(name)}" for name in ("duckdb", "dbt-core", "dbt-duckdb", "prefect", "great-expectations"))
    return (f"{os.cpu_count()} CPUs ({cpu}), {memory_kb / 1024 / 1024:.1f} GiB RAM, {platform.platform()}, "
            f"Python {platform.python_version()}, {packages}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", choices=["a", "b", "c"], help="run only these (a is always run first: b and c build on it)")
    parser.add_argument("--years", type=int, default=7)
    parser.add_argument("--detail-rows", type=int, default=10_000_000)
    parser.add_argument("--no-server", action="store_true", help="skip the runs against a running prefect server")
    parser.add_argument("--no-serve", action="store_true", help="skip the runs handed to a citytrade serve")
    parser.add_argument("--workdir", type=Path, default=None, help="where to keep data and homes (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    parser.add_argument("--repeat-b", type=int, default=3, help="run (b) this many times per cold runner, from the same home; the median stands (default 3)")
    args = parser.parse_args(argv)
    wanted = set(args.scenario or ["a", "b", "c"])
    work = args.workdir or Path(tempfile.mkdtemp(prefix="citytrade-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    raw = work / "raw"
    results: list[Measure] = []
    env_base = {k: v for k, v in {**os.environ, **OFFLINE}.items() if k != "PREFECT_API_URL"}
    runners = {"ephemeral": env_base}
    print(f"benchmark work folder: {work}", flush=True)
    print(f"machine: {machine()}", flush=True)
    try:
        server = None if args.no_server else PrefectServer(work / "prefect-server").__enter__()
        serves: dict[str, Serve] = {}
        worker: Worker | None = None
        if server:
            runners["server"] = {**env_base, "PREFECT_API_URL": server.url}
        if not args.no_serve:
            runners["serve-eph"] = env_base  # the serve's own temporary Prefect API, up as long as the serve
            if server:
                runners["serve"] = runners["server"]
        if server:
            server.deploy()
            runners["deployed-cold"] = runners["server"]  # the worker's environment: run_deployed
            if not args.no_serve:
                runners["deployed"] = runners["server"]
        try:
            # (a) cold full run
            generate(raw, "--years", str(args.years))
            for runner in [r for r in runners if r in SERVE_RUNNERS]:
                serves[runner] = Serve(raw, work / f"home-{runner}", runners[runner], logs / f"{runner}.log")
                print(f"citytrade serve ({runner}) warm after {serves[runner].warm_up_seconds:.1f} s (not counted in any scenario)", flush=True)
            worker = Worker(server, work, logs / "worker.log") if server else None
            run_scenario("a", runners, raw, work, logs, results, serves, server, worker)
            if wanted & {"b", "c"}:
                # (b) one more month
                generate(raw, "--years", str(args.years + 1), "--months", "2")
                run_scenario("b", runners, raw, work, logs, results, serves, server, worker, repeat=max(1, args.repeat_b))
            if "c" in wanted:
                # (c) detail backfill
                generate(raw, "--years", str(args.years + 1), "--months", "2", "--detail-rows", str(args.detail_rows))
                run_scenario("c", runners, raw, work, logs, results, serves, server, worker)
        finally:
            if worker is not None:
                worker.stop()
            for serve in serves.values():
                serve.stop()
            if server:
                server.__exit__(None, None, None)
        print()
        print(table(results, wanted))
        if args.json:
            args.json.write_text(json.dumps([{**asdict(m), "rows_per_second": m.rows_per_second} for m in results], indent=2) + "\n")
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if all(m.exit_code == 0 for m in results) else 1


COLD_RUNNERS = ("ephemeral", "server", "deployed-cold")  # a new process per run: what `repeat` runs again


def run_scenario(scenario: str, runners: dict[str, dict], raw: Path, work: Path, logs: Path, results: list[Measure], serves: dict[str, Serve],
                 server: PrefectServer | None, worker: "Worker | None", repeat: int = 1) -> None:  # fmt: skip
    """citytrade once per runner, each on its own home, then the floor; the CPU gauge first.

    With `repeat` > 1 each cold runner runs the scenario that many times, each time from the same copy of its home
    (taken before the first, put back before each other), and the run of median wall time stands for it, with every
    run's time beside it: on this shared machine one run of the same code varies by 1-2 s (benchmarks/RESULTS.md,
    round 15). A serve holds its home's lock, so it runs once."""
    gauge = cpu_gauge()
    for runner, env in runners.items():
        home = work / f"home-{runner}"
        times = repeat if runner in COLD_RUNNERS else 1
        kept = work / f"home-{runner}.before-{scenario}"
        if times > 1:
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(home, kept, symlinks=True)
        measures = []
        for attempt in range(times):
            if attempt:
                shutil.rmtree(home)
                shutil.copytree(kept, home, symlinks=True)
            if runner in DEPLOYED_RUNNERS:
                measures.append(run_deployed(scenario, runner, raw, home, server, worker, gauge, serves.get(runner)))
            else:
                measures.append(run_citytrade(scenario, runner, raw, home, env, logs, gauge, serves.get(runner)))
            print(_line(measures[-1]) + (f"  (run {attempt + 1} of {times})" if times > 1 else ""), flush=True)
        if times > 1:
            shutil.rmtree(kept)
        failed = [m for m in measures if m.exit_code != 0]  # a failed run is reported, never outvoted by the others
        chosen = failed[0] if failed else sorted(measures, key=lambda m: m.seconds)[len(measures) // 2]
        chosen.runs_seconds = [m.seconds for m in measures] if times > 1 else []
        results.append(chosen)
    results.append(run_floor(scenario, raw, work, logs, gauge))
    print(_line(results[-1]), flush=True)


def _line(m: Measure) -> str:
    return (f"[{m.scenario}] {m.runner:13} {m.seconds:7.1f} s  cpu {m.cpu_seconds:6.1f} s  tree peak {m.tree_peak_rss_mb:7.0f} MB  "
            f"largest process {m.process_peak_rss_mb:6.0f} MB  {m.rows:>10} rows  {m.rows_per_second:>10.0f} rows/s  load {m.load_average:4.1f}  "
            f"gauge {m.gauge_seconds:4.2f} s  exit {m.exit_code}")  # fmt: skip


def table(results: list[Measure], wanted: set[str]) -> str:
    lines = ["| scenario | runner | wall s | CPU s | peak RSS tree MB | largest process MB | rows | rows/s | x floor (wall) | x floor (CPU) | load | gauge s | every run s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    floors = {m.scenario: m for m in results if m.runner == "floor"}
    for m in results:
        if m.scenario not in wanted:
            continue
        floor = floors.get(m.scenario)
        ratio = m.seconds / floor.seconds if floor and floor.seconds else float("nan")
        cpu_ratio = m.cpu_seconds / floor.cpu_seconds if floor and floor.cpu_seconds else float("nan")
        lines.append(f"| {m.scenario} | {m.runner} | {m.seconds:.1f} | {m.cpu_seconds:.1f} | {m.tree_peak_rss_mb:.0f} | {m.process_peak_rss_mb:.0f} | {m.rows} | "
                     f"{m.rows_per_second:.0f} | {ratio:.2f} | {cpu_ratio:.2f} | {m.load_average:.1f} | {m.gauge_seconds:.2f} | "
                     f"{' / '.join(f'{t:.1f}' for t in m.runs_seconds)} |" + ("" if m.exit_code == 0 else f" exit {m.exit_code}"))  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
