#!/usr/bin/env python3
"""Time the ingest's parse stage on a backfill of ~2,000 release files: one at a time, then on the parse pool (issue #31).

    .venv/bin/python scripts/measure_parallel_parse.py [--years 61] [--repeat 3] [--raw-dir DIR]

Generates the backfill with the project's synthetic generator (61 years of monthly releases: 2,013 files) unless
--raw-dir names one, then inside a Prefect flow run, as `citytrade run` parses, times parse_in_order over every
release (the releases' rows consumed in order, as the loader consumes them; no warehouse) one at a time and with
flows.parse_pool.parse_pool (this process and the pool's workers), alternately, and prints the medians, their
ratio and the load average. The pool's start and stop count: they are part of what a run pays.
CITYTRADE_PARSE_WORKERS (the parsers, this process among them) and CITYTRADE_PARSE_RUNNER choose the pool.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from citytrade.config import OFFLINE_ENV

os.environ.update({**OFFLINE_ENV, **os.environ})  # offline before Prefect is imported
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # flows/ is not installed: a checkout's folder

from prefect import flow  # noqa: E402
from citytrade import synthetic  # noqa: E402
from citytrade.ingest import load  # noqa: E402
from citytrade.ingest.releases import discover_releases  # noqa: E402
from flows.parse_pool import parse_pool  # noqa: E402


def time_parse(raw_dir: Path, parallel: bool, scratch: Path) -> float:
    releases = discover_releases(raw_dir)  # fresh: a parse reads dates into the sidecar fields
    pool = parse_pool(scratch) if parallel else None
    if parallel and pool is None:
        raise SystemExit("CITYTRADE_PARSE_WORKERS asks for one parser: nothing to compare")
    started = time.perf_counter()
    parsed = 0
    for _, (_, reason) in load.parse_in_order(releases, None, pool):
        parsed += 1
    took = time.perf_counter() - started
    assert parsed == len(releases)
    return took


@flow(name="measure-parallel-parse")
def measure(raw_dir: str, scratch: str, repeat: int) -> tuple[list[float], list[float]]:
    one_at_a_time, in_parallel = [], []
    for _ in range(repeat):
        one_at_a_time.append(time_parse(Path(raw_dir), False, Path(scratch)))
        in_parallel.append(time_parse(Path(raw_dir), True, Path(scratch)))
        print(f"  one at a time {one_at_a_time[-1]:.2f} s, parallel {in_parallel[-1]:.2f} s, load average {os.getloadavg()[0]:.2f}", flush=True)
    return one_at_a_time, in_parallel


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=61, help="years of synthetic monthly releases (33 files a year)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--raw-dir", type=Path, help="an existing landing zone instead of a generated one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="citytrade-parse-") as scratch:
        os.environ.setdefault("PREFECT_HOME", str(Path(scratch) / "prefect"))
        raw_dir = args.raw_dir
        if raw_dir is None:
            raw_dir = Path(scratch) / "raw"
            summary = synthetic.generate(raw_dir, years=args.years, seed=31)
            print(f"generated {summary.files} release files, {summary.rows} rows", flush=True)
        files = len(discover_releases(raw_dir))
        pool = parse_pool(Path(scratch) / "scratch")
        workers = pool.workers if pool else 0
        print(f"parse stage of {files} release files: this process and {workers} workers ({os.environ.get('CITYTRADE_PARSE_RUNNER', 'process')}), "
              f"{os.cpu_count()} CPUs, load average before {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
        one_at_a_time, in_parallel = measure(str(raw_dir), str(Path(scratch) / "scratch"), args.repeat)
    serial, parallel = statistics.median(one_at_a_time), statistics.median(in_parallel)
    load_1, load_5, _ = os.getloadavg()
    print(f"median of {args.repeat}: one at a time {serial:.2f} s, parallel {parallel:.2f} s, ratio {parallel / serial:.2f} "
          f"(target <= 0.70); load average {load_1:.2f} (1 min), {load_5:.2f} (5 min)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
