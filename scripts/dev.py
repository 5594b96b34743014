#!/usr/bin/env python3
"""Set up the pinned environment on first use, then run the pipeline or the tests: needs only Python 3.11."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("CITYTRADE_VENV", REPO / ".venv"))
BIN = VENV / "bin"
STAMP = VENV / ".citytrade-installed"
USAGE = """usage: python3 scripts/dev.py COMMAND [ARGS...]

  setup               create .venv and install requirements.lock (exact versions) and citytrade
  run [ARGS...]       citytrade run on the sample releases in data/raw (ARGS go to `citytrade run`)
  test [ARGS...]      the test suite (ARGS go to pytest)
  citytrade ARGS...   any citytrade command inside the environment
"""


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((REPO / name).read_bytes())
    return digest.hexdigest()


def setup() -> None:
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"citytrade needs Python 3.11 (requirements.lock is pinned for it); this is {sys.version.split()[0]}")
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV}", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    print("installing requirements.lock (exact versions)", file=sys.stderr)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REPO / "requirements.lock")], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(REPO)], check=True)
    # New homes then start from a migrated Prefect database instead of migrating their own (7 s; prefect_api.py)
    print("preparing the Prefect database template", file=sys.stderr)
    offline = {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    subprocess.run([str(BIN / "python"), "-m", "citytrade.prefect_api"], check=True, env={**os.environ, **offline})
    STAMP.write_text(_fingerprint())


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
        return subprocess.run([str(BIN / "python"), "-m", "pytest", *rest], cwd=REPO).returncode
    return subprocess.run([str(BIN / "citytrade"), *rest], cwd=REPO).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
