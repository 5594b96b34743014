#!/usr/bin/env python3
"""Set up the pinned environment on first use, then run the pipeline or the tests: needs only Python 3.11, 3.12 or 3.13."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("CITYTRADE_VENV", REPO / ".venv"))
BIN = VENV / "bin"
STAMP = VENV / ".citytrade-installed"
# requirements.lock is uv's universal lock: one exact version per package, with markers where a Python needs another set
SUPPORTED_PYTHONS = ((3, 11), (3, 12), (3, 13))
USAGE = """usage: python3 scripts/dev.py COMMAND [ARGS...]

  setup               create .venv and install requirements.lock (exact versions) and citytrade
  run [ARGS...]       citytrade run on the sample releases in data/raw (ARGS go to `citytrade run`)
  test [ARGS...]      the test suite (ARGS go to pytest); installs the Debian packages it uses
                      (chromium, strace, postgresql, a Java 17 runtime) with apt-get when missing and run as root
  citytrade ARGS...   any citytrade command inside the environment
"""


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((REPO / name).read_bytes())
    return digest.hexdigest()


def setup() -> None:
    if sys.version_info[:2] not in SUPPORTED_PYTHONS:
        supported = ", ".join(f"{major}.{minor}" for major, minor in SUPPORTED_PYTHONS)
        sys.exit(f"citytrade supports Python {supported} (requirements.lock is locked for these); this is {sys.version.split()[0]}")
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV}", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    print("installing requirements.lock (exact versions)", file=sys.stderr)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REPO / "requirements.lock")], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(REPO)], check=True)
    STAMP.write_text(_fingerprint())


# Debian packages some tests drive for real, by the test that needs each (a test fails, it does not skip, without it)
SYSTEM_TOOLS = {
    "strace": "tests/test_cli.py traces every connect() of a run",
    "chromium": "tests/report and tests/quality render pages in headless chromium",
    "postgresql": "tests/marts build the marts on PostgreSQL too",
    "openjdk-17-jre-headless": "tests/spark build the models and run the pipeline on Spark (PySpark needs Java 17)",
}


def _missing_system_tools() -> list[str]:
    present = {
        "strace": shutil.which("strace") is not None,
        "chromium": shutil.which("chromium") is not None,
        "postgresql": bool(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl") or shutil.which("pg_ctl")),
        "openjdk-17-jre-headless": shutil.which("java") is not None,
    }
    return [name for name in SYSTEM_TOOLS if not present[name]]


def install_system_tools() -> None:
    """Install the Debian packages the tests use when they are missing: apt-get as root (CI, a container);
    otherwise say which are missing and how to install them, and go on (the tests that need them fail)."""
    missing = _missing_system_tools()
    if not missing:
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        print(f"installing Debian packages the tests use: {' '.join(missing)}", file=sys.stderr)
        quiet = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
            done = subprocess.run(step, env=quiet, stdout=subprocess.DEVNULL)
            if done.returncode != 0:
                print(f"`{' '.join(step)}` failed (exit {done.returncode}); the tests that need {', '.join(missing)} will fail", file=sys.stderr)
                return
        return
    for name in missing:
        print(f"missing {name}: {SYSTEM_TOOLS[name]}; those tests will fail (sudo apt-get install {name})", file=sys.stderr)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return 0
    command, rest = argv[0], argv[1:]
    if command not in {"setup", "run", "test", "citytrade"}:
        print(USAGE, file=sys.stderr)
        return 2
    setup()
    os.environ.update({"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    if command == "setup":
        return 0
    if command == "run":
        return subprocess.run([str(BIN / "citytrade"), "run", *rest], cwd=REPO).returncode
    if command == "test":
        install_system_tools()
        # two pytest workers, a test file each at a time: most tests wait on child processes half the time
        parallel = [] if any(arg.startswith(("-n", "--numprocesses")) for arg in rest) else ["-n", "2", "--dist", "loadfile"]
        return subprocess.run([str(BIN / "python"), "-m", "pytest", *parallel, *rest], cwd=REPO).returncode
    return subprocess.run([str(BIN / "citytrade"), *rest], cwd=REPO).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
