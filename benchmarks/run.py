"""Benchmark: `citytrade run` against the plain-DuckDB floor (benchmarks/floor.py) on synthetic releases.

Runners, each on its own home: "ephemeral" (`citytrade run` with no PREFECT_API_URL: Prefect's ephemeral API),
"server" (PREFECT_API_URL of a `prefect server` this script starts on loopback and stops) and "floor".
Scenarios (issue #27 sets the targets):
  a  cold full run on --years years of monthly year-to-date releases
  b  one more month (the same files plus Jan-Feb of the next year) on the home of (a)   server: <= 15 s
  c  --detail-rows rows of citytrade-detail-v1 added, on the home of (b)     <= 2x the floor's wall, peak RSS <= 4 GB
  d  the increment of (b) on a warehouse holding 3 x --years years ("d-cold" builds it)     wall <= 1.3x (b)
  e  cold run on --years years plus --e-rows (100M) detail rows (issue #31)   <= 1.5x the floor's wall, peak RSS <= 8 GB
  s  the same as (e) at each of --spark-rows (1M, 10M, 30M) on `citytrade run --target spark` ("spark"), beside
     the DuckDB run ("ephemeral") and the floor; --spark-target '' leaves --target out (a DuckDB run under that name)
(a)-(c) share one folder and (d) has its own: a home is used where it was made (dbt's partial parse and GX keep
its absolute paths), as a user's is. The increments (b) and (d) run --repeat times per runner, each from the
same copy of the post-cold home, alternating with each other and between runners so that their ratio is taken on
the same shared machine; the run of median wall time stands (one run varies by 1-2 s on this host), and (d)/(b)
is also given for the median CPU, steadier under load. Per run: wall time, CPU
of the process tree (not the server's), its peak RSS (sampled from /proc every 0.1 s, Prefect's ephemeral server
included), rows loaded; a CPU gauge before each group of runs (the machine's speed varies). The table and a
JSON of every measure are written to the work folder, which keeps them (and logs/) when its data is removed.
Spill: the most DuckDB held in its temporary folder at once (sampled with RSS: the warehouse's `<file>.tmp`, which
`citytrade run` and the floor both use). (e) and (s) also time `citytrade generate` ("generate").

    python benchmarks/run.py [--scenario a b c d e s] [--years 7] [--detail-rows 10000000] [--e-rows 100000000]
                             [--spark-rows 1000000 10000000 30000000] [--spark-target spark] [--repeat 3] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OFFLINE = {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "PREFECT_UI_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false"}  # fmt: skip
SEED = "1"
REPEATED = ("b", "d")  # the increments
ORDER = ("a", "b", "c", "d-cold", "d", "e", "s")  # of the table; they run a, d-cold, b and d together, c, e, s
DEFAULT_SCENARIOS = ("a", "b", "c", "d")  # (e) and (s) take an hour or more: asked for by name


@dataclass
class Measure:
    scenario: str
    runner: str
    seconds: float
    cpu_seconds: float  # user + system of the whole tree: steadier than wall time on a shared machine
    peak_rss_mb: float  # the whole process tree's, sampled
    rows: int
    exit_code: int
    gauge_seconds: float
    load_average: float  # 1-minute, when the run ended: the other work on the machine
    runs_seconds: list[float] = field(default_factory=list)  # every run's wall time, when repeated
    runs_cpu_seconds: list[float] = field(default_factory=list)  # and CPU
    peak_spill_mb: float = 0.0  # the most DuckDB's temporary folder held at once, sampled with the RSS

    @property
    def median_cpu_seconds(self) -> float:
        return statistics.median(self.runs_cpu_seconds or [self.cpu_seconds])


# ---- measuring a process tree

# Runs the command, then prints the CPU of all it waited for on a line of its own (the command's may not end).
WRAPPER = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
           "usage = resource.getrusage(resource.RUSAGE_CHILDREN); print('\\nCPU_S', usage.ru_utime + usage.ru_stime); sys.exit(code)")  # fmt: skip


def tree_rss_kb(root: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/statm", encoding="utf-8") as handle:
                rss[int(entry)] = int(handle.read().split()[1]) * page_kb
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def folder_bytes(folder: Path | None) -> int:
    """Disk space the files under a folder take (allocated blocks: DuckDB's temporary files may be sparse)."""
    total = 0
    if folder is None:
        return 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_blocks * 512
            except OSError:  # deleted between listing and stat
                continue
    return total


def measure(cmd: list[str], env: dict, log: Path, spill_dir: Path | None = None) -> tuple[float, float, float, int, float]:
    """Run cmd to completion: (wall seconds, CPU seconds, tree peak RSS MB, exit code, peak spill MB); its output
    goes to log. Spill is the size of spill_dir, sampled with the RSS."""
    peak = spill = 0
    with open(log, "w", encoding="utf-8") as out:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", WRAPPER, *cmd], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, spill
            while not done.is_set():
                peak = max(peak, tree_rss_kb(child.pid))
                spill = max(spill, folder_bytes(spill_dir))
                done.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = child.wait()
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    cpu = next((float(line.split()[1]) for line in reversed(log.read_text(encoding="utf-8").splitlines()) if line.startswith("CPU_S ")), 0.0)
    return seconds, cpu, peak / 1024, code, spill / 1024**2


def cpu_gauge() -> float:
    """Seconds a fresh interpreter takes for 20M additions: how fast this machine is just then."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "s = 0\nfor i in range(20_000_000):\n    s += i\n"], check=True)
    return time.perf_counter() - started


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo", encoding="utf-8") if line.startswith("model name")), "?")
    memory_kb = next(int(line.split()[1]) for line in open("/proc/meminfo", encoding="utf-8") if line.startswith("MemTotal"))
    packages = ", ".join(f"{name} {version(name)}" for name in ("duckdb", "dbt-core", "dbt-duckdb", "prefect", "great-expectations"))
    return f"{os.cpu_count()} CPUs ({cpu}), {memory_kb / 1024**2:.1f} GiB RAM, Python {platform.python_version()}, {packages}"


# ---- a Prefect server for the "server" runner


class PrefectServer:
    """`prefect server start` on a free loopback port with its own PREFECT_HOME; its session killed on exit."""

    def __init__(self, home: Path):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.home, self.port = home, sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/api"

    def __enter__(self) -> "PrefectServer":
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **OFFLINE, "PREFECT_HOME": str(self.home)}
        env.pop("PREFECT_API_URL", None)
        self.log = open(self.home / "server.log", "w", encoding="utf-8")
        self.process = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
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

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self.log.close()


# ---- the scenarios


def generate(raw: Path, *args: str) -> None:
    """`citytrade generate` into raw (same seed: the files already there are rewritten with the same bytes)."""
    cmd = [str(BIN / "citytrade"), "--home", str(raw.parent / "generate-home"), "generate", "--out", str(raw), "--seed", SEED, *args]
    subprocess.run(cmd, check=True, cwd=REPO, env={**os.environ, **OFFLINE}, stdout=subprocess.DEVNULL)


def generate_measured(scenario: str, raw: Path, logs: Path, *args: str) -> Measure:
    """generate(), timed as a run is: (e) and (s) report what writing their landing zone costs."""
    cmd = [str(BIN / "citytrade"), "--home", str(raw.parent / "generate-home"), "generate", "--out", str(raw), "--seed", SEED, *args]
    log = logs / f"{scenario.replace(' ', '-')}-generate.log"
    seconds, cpu, peak_mb, code, _ = measure(cmd, {**os.environ, **OFFLINE}, log)
    printed = log.read_text(encoding="utf-8")
    rows = int(printed.split(" detail file(s), ")[1].split(" rows")[0]) if " detail file(s), " in printed else 0
    result = Measure(scenario, "generate", seconds, cpu, peak_mb, rows, code, 0.0, os.getloadavg()[0])
    print(line(result), flush=True)
    if code != 0:
        raise RuntimeError(f"citytrade generate failed; see {log}")
    return result


# Extra arguments of `citytrade run` per runner: the Spark runner's --target (main sets it from --spark-target).
RUN_ARGS: dict[str, list[str]] = {}


def run_once(scenario: str, runner: str, env: dict, folder: Path, log: Path, gauge: float) -> Measure:
    raw, home = folder / "raw", folder / f"home-{runner}"
    home.mkdir(exist_ok=True)
    if runner == "floor":
        cmd = [sys.executable, str(REPO / "benchmarks" / "floor.py"), "--raw-dir", str(raw), "--db", str(home / "floor.duckdb"), "--out", str(home / "published")]
        spill_dir = home / "floor.duckdb.tmp"  # DuckDB's default for a database file
    else:
        cmd = [str(BIN / "citytrade"), "run", *RUN_ARGS.get(runner, []), "--raw-dir", str(raw), "--home", str(home)]
        spill_dir = Path(env["CITYTRADE_DUCKDB_TEMP_DIR"]) if env.get("CITYTRADE_DUCKDB_TEMP_DIR") else home / "warehouse.duckdb.tmp"
    seconds, cpu, peak_mb, code, spill_mb = measure(cmd, env, log, spill_dir)
    if runner == "floor":
        printed = [line for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
        rows = json.loads(printed[-1])["rows_loaded"] if printed else 0
    else:
        run_log = home / "logs" / "runs.jsonl"
        rows = json.loads(run_log.read_text(encoding="utf-8").splitlines()[-1])["rows_loaded"] if run_log.exists() else 0
    return Measure(scenario, runner, seconds, cpu, peak_mb, rows if code == 0 else 0, code, gauge, os.getloadavg()[0], peak_spill_mb=spill_mb)


def run_scenarios(scenarios: list[tuple[str, Path]], runners: dict[str, dict], logs: Path, repeat: int) -> list[Measure]:
    """Each scenario (name, folder) with each runner once, or `repeat` times from the same copy of its home. Runs
    alternate (scenarios, then runners, in each round) so all of them see the same shared machine; medians stand."""
    gauge = cpu_gauge()
    names = " ".join(name for name, _ in scenarios)
    print(f"[{names}] CPU gauge {gauge:.2f} s", flush=True)
    repeat = repeat if all(name in REPEATED for name, _ in scenarios) else 1
    runs: dict[tuple[str, str], list[Measure]] = {}
    for attempt in range(repeat):
        for (scenario, folder), (runner, env) in itertools.product(scenarios, runners.items()):
            home, kept = folder / f"home-{runner}", folder / f"home-{runner}.before-{scenario}"
            if repeat > 1 and attempt == 0:
                shutil.copytree(home, kept, symlinks=True)
            elif repeat > 1:
                shutil.rmtree(home)
                shutil.copytree(kept, home, symlinks=True)
            log = logs / f"{scenario.replace(' ', '-')}-{runner}{f'-{attempt + 1}' if repeat > 1 else ''}.log"
            result = run_once(scenario, runner, env, folder, log, gauge)
            runs.setdefault((scenario, runner), []).append(result)
            print(line(result) + (f"  (run {attempt + 1} of {repeat})" if repeat > 1 else ""), flush=True)
    chosen = []
    for (scenario, runner), measures in runs.items():
        folder = dict(scenarios)[scenario]
        shutil.rmtree(folder / f"home-{runner}.before-{scenario}", ignore_errors=True)
        failed = [m for m in measures if m.exit_code != 0]  # a failed run is reported, never outvoted by the others
        pick = failed[0] if failed else sorted(measures, key=lambda m: m.seconds)[len(measures) // 2]
        if repeat > 1:
            pick.runs_seconds, pick.runs_cpu_seconds = [m.seconds for m in measures], [m.cpu_seconds for m in measures]
        chosen.append(pick)
    return chosen


def line(m: Measure) -> str:
    return (f"[{m.scenario}] {m.runner:9} {m.seconds:7.1f} s  cpu {m.cpu_seconds:6.1f} s  peak {m.peak_rss_mb:6.0f} MB  "
            f"spill {m.peak_spill_mb:6.0f} MB  {m.rows:>9} rows  load {m.load_average:4.1f}  exit {m.exit_code}")  # fmt: skip


# ---- the targets of issue #27 and the table


def verdict(m: Measure, by_key: dict[tuple[str, str], Measure]) -> tuple[str, str]:
    """(the target, whether it is met) for one measure; ("", "") where none is set."""
    if m.exit_code != 0:
        return "runs", f"no: exit {m.exit_code}"
    floor = by_key.get((m.scenario, "floor"))
    if m.scenario == "e" and m.runner not in ("floor", "generate") and floor:
        met = m.seconds <= 1.5 * floor.seconds and m.peak_rss_mb <= 8192
        return "<= 1.5x floor, <= 8 GB", "yes" if met else "no"
    if m.scenario == "b" and m.runner == "server":
        return "<= 15 s", "yes" if m.seconds <= 15 else "no"
    if m.scenario == "c" and m.runner != "floor" and floor:
        met = m.seconds <= 2 * floor.seconds and m.peak_rss_mb <= 4096
        return "<= 2x floor, <= 4 GB", "yes" if met else "no"
    if m.scenario == "d" and ("b", m.runner) in by_key:
        b = by_key[("b", m.runner)]
        ratios = f"{m.seconds / b.seconds:.2f}x (b), CPU {m.median_cpu_seconds / b.median_cpu_seconds:.2f}x"
        if m.runner == "floor":
            return "", ratios
        return "<= 1.3x (b)", f"{'yes' if m.seconds <= 1.3 * b.seconds else 'no'}: {ratios}"
    return "", ""


def table(results: list[Measure]) -> str:
    by_key = {(m.scenario, m.runner): m for m in results}
    rows = ["| scenario | runner | wall s | CPU s | peak RSS MB | spill MB | x floor | target | met? | rows | gauge s | every run s |",
            "|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|---|"]  # fmt: skip
    for m in results:
        floor = by_key.get((m.scenario, "floor"))
        ratio = f"{m.seconds / floor.seconds:.2f}" if floor and m.runner not in ("floor", "generate") else ""
        target, met = verdict(m, by_key)
        runs = " / ".join(f"{s:.1f}" for s in m.runs_seconds)
        rows.append(f"| {m.scenario} | {m.runner} | {m.seconds:.1f} | {m.cpu_seconds:.1f} | {m.peak_rss_mb:.0f} | {m.peak_spill_mb:.0f} | {ratio} | {target} | {met} | "
                    f"{m.rows} | {m.gauge_seconds:.2f} | {runs} |")  # fmt: skip
    return "\n".join(rows)


def rows_label(rows: int) -> str:
    return f"{rows // 1_000_000}M" if rows % 1_000_000 == 0 else str(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", nargs="+", choices=list("abcdes"), default=list(DEFAULT_SCENARIOS),
                        help="(a) is run for (b), (b) for (c); default a b c d")  # fmt: skip
    parser.add_argument("--years", type=int, default=7, help="history of (a)-(c), (e) and (s); (d) holds three times as many years")
    parser.add_argument("--detail-rows", type=int, default=10_000_000, help="detail rows of (c)")
    parser.add_argument("--e-rows", type=int, default=100_000_000, help="detail rows of (e)")
    parser.add_argument("--spark-rows", type=int, nargs="+", default=[1_000_000, 10_000_000, 30_000_000], help="detail rows of each (s)")
    parser.add_argument("--spark-target", default="spark", help="dbt target of the (s) runs; '' runs them without --target")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each increment (b, d) per runner; the median stands")
    parser.add_argument("--workdir", type=Path, help="where to work (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the landing zones and homes, not only the results and logs")
    args = parser.parse_args(argv)
    wanted = set(args.scenario)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="citytrade-bench-"))
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    host = machine()
    print(f"benchmark work folder: {work}\nmachine: {host}", flush=True)
    no_api = {k: v for k, v in {**os.environ, **OFFLINE}.items() if k != "PREFECT_API_URL"}
    recent, history = work / f"{args.years}-years", work / f"{3 * args.years}-years"
    detail_folders = [work / f"e-{rows_label(args.e_rows)}"] if "e" in wanted else []
    detail_folders += [work / f"s-{rows_label(rows)}" for rows in args.spark_rows] if "s" in wanted else []
    RUN_ARGS["spark"] = ["--target", args.spark_target] if args.spark_target else []
    results: list[Measure] = []
    try:
        with PrefectServer(work / "prefect-server") if wanted & set("abcd") else contextlib.nullcontext() as server:
            runners = {"ephemeral": no_api, "server": {**no_api, "PREFECT_API_URL": server.url}, "floor": no_api} if server else {}
            if wanted & set("abc"):
                generate(recent / "raw", "--years", str(args.years))
                results += run_scenarios([("a", recent)], runners, logs, args.repeat)
            if "d" in wanted:
                generate(history / "raw", "--years", str(3 * args.years))
                results += run_scenarios([("d-cold", history)], runners, logs, args.repeat)
            increments = []  # run together, so their ratio is taken on the same machine
            if wanted & set("bc"):
                generate(recent / "raw", "--years", str(args.years + 1), "--months", "2")
                increments.append(("b", recent))
            if "d" in wanted:
                generate(history / "raw", "--years", str(3 * args.years + 1), "--months", "2")
                increments.append(("d", history))
            results += run_scenarios(increments, runners, logs, args.repeat) if increments else []
            if "c" in wanted:
                generate(recent / "raw", "--years", str(args.years + 1), "--months", "2", "--detail-rows", str(args.detail_rows))
                results += run_scenarios([("c", recent)], runners, logs, args.repeat)
        # (e) and (s): a cold run on a landing zone of their own, each folder removed once measured (they are big)
        detail_runs = [("e", args.e_rows, {"ephemeral": no_api, "floor": no_api})] if "e" in wanted else []
        detail_runs += [(f"s {rows_label(rows)}", rows, {"spark": no_api, "ephemeral": no_api, "floor": no_api})
                        for rows in args.spark_rows] if "s" in wanted else []  # fmt: skip
        for (scenario, rows, detail_runners), folder in zip(detail_runs, detail_folders):
            results.append(generate_measured(scenario, folder / "raw", logs, "--years", str(args.years), "--detail-rows", str(rows)))
            results += run_scenarios([(scenario, folder)], detail_runners, logs, args.repeat)
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        if not args.keep:
            for folder in (recent, history, work / "prefect-server", *detail_folders):
                shutil.rmtree(folder, ignore_errors=True)
    report = table(sorted(results, key=lambda m: ORDER.index(m.scenario.split(" ")[0])))
    print("\n" + report)
    (work / "results.md").write_text(f"machine: {host}\n\n{report}\n", encoding="utf-8")
    (work / "results.json").write_text(json.dumps({"machine": host, "measures": [asdict(m) for m in results]}, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten: {work / 'results.md'}, {work / 'results.json'}")
    return 0 if all(m.exit_code == 0 for m in results) else 1


if __name__ == "__main__":
    sys.exit(main())
