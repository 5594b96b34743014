"""Transform: build the dbt project against the warehouse, in-process, and say in one line what failed."""

from __future__ import annotations

import os
import threading

from citytrade.config import DBT_PROJECT_DIR, Settings, dbt_project_files


class BuildError(RuntimeError):
    """A dbt model or test failed; the message names the nodes."""


PRE_GATE = ["seeds", "staging", "intermediate"]
POST_GATE = ["intermediate.int_trade_observations_validated+", "marts"]
# The pre-gate build leaves out what depends on the row verdicts: the post-gate build makes it from this run's.
PRE_GATE_EXCLUDE = ["intermediate.int_trade_observations_validated+"]

# A run builds models and runs the data tests; the dbt unit tests test the SQL, not the data, so they run in CI
# (`citytrade build`, tests/marts/test_dbt_unit_tests.py), not in every scheduled run (issue #8).
RUN_EXCLUDES = ["--exclude-resource-type", "unit_test"]

_parsed: tuple[tuple, object] | None = None  # (what the manifest depends on, the manifest): parsed once per process
_parse_lock = threading.Lock()


def build_models(
    settings: Settings, select: list[str], full_refresh: bool = False, unit_tests: bool = False, exclude: list[str] | None = None
) -> dict[str, str]:
    """`dbt build --select ...`; returns node name -> status; raises BuildError on any error or test failure.

    Without `unit_tests` the dbt unit tests are left out (they test the SQL, not the data: CI runs them).
    """
    from dbt.cli.main import dbtRunner

    settings.apply_environment()
    args = ["build", *_common_args(settings), "--select", *[_selector(s) for s in select], "--quiet"]
    if exclude:
        args += ["--exclude", *[_selector(s) for s in exclude]]
    if not unit_tests:
        args += RUN_EXCLUDES
    if full_refresh:
        args.append("--full-refresh")
    try:
        result = dbtRunner(manifest=parsed_manifest(settings), callbacks=_test_pause_callbacks(settings)).invoke(args)
    finally:
        release_warehouse()
    statuses: dict[str, str] = {}
    failures = []
    if result.result is not None:
        for node_result in result.result.results:
            name = node_result.node.name
            if str(node_result.node.resource_type).endswith("unit_test"):
                name = f"unit test {name}"
            status = str(node_result.status)
            statuses[name] = status
            if status in {"error", "fail", "runtime error"}:
                message = (node_result.message or "").splitlines()[0] if node_result.message else status
                failures.append(f"{name}: {message}")
    if failures:
        raise BuildError(f"dbt build failed on {len(failures)} node(s): " + "; ".join(failures))
    if not result.success:
        detail = str(result.exception).splitlines()[0] if result.exception else "see " + str(settings.dbt_log_dir)
        raise BuildError(f"dbt build failed: {detail}")
    return statuses


def parsed_manifest(settings: Settings):
    """The project's manifest, parsed once per process and reused by every later dbt invocation of the run.

    Each `dbtRunner().invoke` otherwise loads and re-checks the partial-parse file and writes the manifest again:
    about 1 s per invocation here (issue #8). The cache is keyed on the project's files (name, size, mtime) and the
    environment dbt reads, so an edited model or another home parses again.
    """
    global _parsed
    from dbt.cli.main import dbtRunner

    with _parse_lock:  # a parse started ahead of the run (citytrade.cli) is waited for, not repeated
        key = _manifest_key()
        if _parsed is not None and _parsed[0] == key:
            return _parsed[1]
        result = dbtRunner().invoke(["parse", *_common_args(settings), "--quiet"])
        if not result.success or result.result is None:
            detail = str(result.exception).splitlines()[0] if result.exception else "see " + str(settings.dbt_log_dir)
            raise BuildError(f"dbt could not parse the project: {detail}")
        _parsed = (key, result.result)
        return result.result


def _manifest_key() -> tuple:
    files = [(str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in dbt_project_files()]
    environment = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(("CITYTRADE_", "DBT_"))))
    return tuple(files), environment


def _common_args(settings: Settings) -> list[str]:
    """Where dbt finds the project and writes; no JSON artifacts: citytrade reads each build's results in-process,
    and writing manifest.json, run_results.json and graph.gpickle cost 1.1-1.4 s per run (issue #8). The docs
    (`citytrade.dbt_docs`) write their own manifest.json and catalog.json."""
    return [
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(settings.dbt_target_dir),
        "--log-path", str(settings.dbt_log_dir),
        "--no-write-json",
    ]  # fmt: skip


def release_warehouse() -> None:
    """dbt-duckdb keeps the warehouse open until the process exits; close it, so that once a run drops the run
    lock the next run (queued with --wait) can open the warehouse at once."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environment is not None:
        environment.close()


def _test_pause_callbacks(settings: Settings) -> list:
    """Test hook (citytrade.scheduling.pause_point): hold the build once the first mart table is written."""
    from citytrade.scheduling import PAUSE_ENV, pause_point

    if os.environ.get(PAUSE_ENV) != "dbt-build":
        return []

    def pause_after_first_mart(event) -> None:
        if event.info.name == "NodeFinished" and event.data.node_info.node_path.startswith("marts/"):
            pause_point("dbt-build", settings.home)

    return [pause_after_first_mart]


def _selector(name: str) -> str:
    if name == "seeds":
        return "resource_type:seed"
    if name in {"staging", "intermediate", "marts"}:
        return f"path:models/{name}"
    if name.startswith("intermediate."):
        return name.split(".", 1)[1]
    return name


os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
