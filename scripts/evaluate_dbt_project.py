#!/usr/bin/env python3
"""Run dbt-project-evaluator on a copy of dbt_project/, outside the repository, and list what it reports.

Usage (from the repo root, in the project's environment)::

    python scripts/evaluate_dbt_project.py DBT_UTILS_DIR DBT_PROJECT_EVALUATOR_DIR [--work DIR]

The two arguments are checkouts of dbt-labs/dbt-utils and dbt-labs/dbt-project-evaluator (neither is a
dependency of the project, and neither is ever copied into the repository). The script copies dbt_project/ to
WORK/project (default: a new temporary folder), adds a packages.yml naming the two checkouts as local packages
(the evaluator's own packages.yml, which asks the dbt hub for dbt_utils, is pointed at the local checkout in a
copy of it: `dbt deps` then needs no network), replaces the evaluator's exceptions seed with the project's
dbt_project/evaluator/dbt_project_evaluator_exceptions.csv (each exception with its reason), runs `dbt deps` and
`dbt build --select package:dbt_project_evaluator` against an empty DuckDB file (the evaluator reads dbt's graph,
not the warehouse), prints dbt's summary line and the rows behind every rule that warns. Exit status: 0 when every
rule passes, 1 when some rule warns, 2 when dbt fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import yaml

REPO = Path(__file__).resolve().parent.parent
PROJECT = REPO / "dbt_project"
EXCEPTIONS = PROJECT / "evaluator" / "dbt_project_evaluator_exceptions.csv"
DBT = shutil.which("dbt", path=str(Path(sys.executable).parent)) or "dbt"


def prepare(utils: Path, evaluator: Path, work: Path) -> Path:
    """The evaluation copy: the project, the two local packages and the project's exceptions seed."""
    project = work / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("target", "dbt_packages", "logs", "evaluator"))
    # a copy of the evaluator whose dependency is the local dbt-utils, not the hub's
    evaluator_copy = work / "packages" / "dbt-project-evaluator"
    shutil.copytree(evaluator, evaluator_copy, ignore=shutil.ignore_patterns(".git", "integration_tests", "docs"))
    (evaluator_copy / "packages.yml").write_text(yaml.safe_dump({"packages": [{"local": str(utils)}]}), encoding="utf-8")
    packages = {"packages": [{"local": str(utils)}, {"local": str(evaluator_copy)}]}
    (project / "packages.yml").write_text(yaml.safe_dump(packages), encoding="utf-8")
    # the project's exceptions replace the evaluator's empty seed (as the evaluator's documentation says)
    shutil.copy(EXCEPTIONS, project / "seeds" / EXCEPTIONS.name)
    config_path = project / "dbt_project.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config.setdefault("seeds", {}).setdefault("dbt_project_evaluator", {})["dbt_project_evaluator_exceptions"] = {"+enabled": False}
    config["seeds"].setdefault("citytrade", {})["dbt_project_evaluator_exceptions"] = {"+schema": "dbt_project_evaluator"}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return project


def run_dbt(project: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(project),
        "CITYTRADE_DBT_TARGET": "duckdb",
        "CITYTRADE_WAREHOUSE": str(work / "evaluation.duckdb"),
    }
    env["DBT_TARGET_PATH"], env["DBT_LOG_PATH"] = str(work / "target"), str(work / "logs")
    command = [DBT, *args, "--project-dir", str(project)]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)


def report(work: Path) -> int:
    """Print every rule that warns with the rows behind it; returns how many warn."""
    results = json.loads((work / "target" / "run_results.json").read_text(encoding="utf-8"))["results"]
    manifest = json.loads((work / "target" / "manifest.json").read_text(encoding="utf-8"))
    warned = [result for result in results if result["status"] == "warn"]
    con = duckdb.connect(str(work / "evaluation.duckdb"), read_only=True)
    for result in warned:
        node = manifest["nodes"][result["unique_id"]]
        print(f"\nWARN {node['name']} ({result['failures']})")
        for parent in node["depends_on"]["nodes"]:
            model = manifest["nodes"].get(parent)
            if model is None or model["resource_type"] != "model":
                continue
            rows = con.execute(f'select * from "{model["schema"]}"."{model["alias"]}"').fetchall()
            for row in rows[:40]:
                print("   ", " | ".join("" if value is None else str(value) for value in row))
    return len(warned)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dbt_utils", type=Path, help="checkout of dbt-labs/dbt-utils")
    parser.add_argument("dbt_project_evaluator", type=Path, help="checkout of dbt-labs/dbt-project-evaluator")
    parser.add_argument("--work", type=Path, help="empty folder outside the repository (default: a new temporary one)")
    args = parser.parse_args()
    utils, evaluator = args.dbt_utils.resolve(), args.dbt_project_evaluator.resolve()
    work = (args.work or Path(tempfile.mkdtemp(prefix="citytrade-evaluation-"))).resolve()
    if work == REPO or REPO in work.parents:
        parser.error("--work must lie outside the repository: the evaluator's code never goes into it")
    work.mkdir(parents=True, exist_ok=True)
    if any(work.iterdir()):
        parser.error(f"{work} is not empty")

    project = prepare(utils, evaluator, work)
    for step in (["deps"], ["build", "--select", "package:dbt_project_evaluator", "dbt_project_evaluator_exceptions"]):
        result = run_dbt(project, work, *step)
        if result.returncode != 0 and "Done." not in result.stdout:
            print(result.stdout[-4000:], result.stderr[-2000:], sep="\n")
            return 2
    summary = [line for line in result.stdout.splitlines() if "Done. PASS=" in line]
    print(f"evaluation copy: {project}")
    print(summary[-1].split("  ", 1)[-1].strip() if summary else "no summary line (see the log)")
    return 1 if report(work) else 0


if __name__ == "__main__":
    sys.exit(main())
