"""The dbt unit tests: left out of scheduled runs (issue #8), so CI runs them here through `citytrade build`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml
from citytrade.config import DBT_PROJECT_DIR
from conftest import SAMPLE_RAW, run_cli


def defined_unit_tests() -> set[str]:
    names = set()
    for path in DBT_PROJECT_DIR.joinpath("models").rglob("*.yml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names |= {test["name"] for test in document.get("unit_tests") or []}
    return names


def test_citytrade_build_runs_every_dbt_unit_test_and_they_pass(sample_home: Path, tmp_path: Path):
    home = tmp_path / "home"
    shutil.copytree(sample_home, home, ignore=shutil.ignore_patterns("run.lock"))
    result = run_cli("--home", str(home), "build", "--raw-dir", str(SAMPLE_RAW))
    assert result.returncode == 0, result.stderr[-2000:]
    units = int(re.search(r"(\d+) of them unit tests", result.stdout).group(1))
    assert units == len(defined_unit_tests()) >= 8

