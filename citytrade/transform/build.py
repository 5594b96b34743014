"""Transform: `dbt build` of the project against the warehouse, in this process, through dbt's public runner."""

from __future__ import annotations

import os
from citytrade.config import DBT_PROJECT_DIR, Settings, dbt_project_files


class BuildError(RuntimeError):
    """A dbt model or test failed, or the project did not parse; the message names the nodes."""


# The run's two builds, named selectors of dbt_project/selectors.yml: what the GX row gate reads, then what depends
# on its verdicts (the marts).
PRE_GATE = "pre_gate"
POST_GATE = "post_gate"

_parsed: tuple[tuple, object] | None = None  # (what the manifest depends on, the manifest): parsed once per process


def build_models(
    settings: Settings, selector: str | None = None, full_refresh: bool = False, all_tests: bool = False, select: list[str] | None = None
) -> dict[str, str]:
    """`dbt build --selector X` (or `--select ...`; everything with neither); returns node -> status.

    Raises BuildError naming every node that failed. A scheduled run leaves out the dbt unit tests, which test
    the SQL rather than the data (`all_tests`: CI and `citytrade build` run them).
    """
    settings.apply_environment()
    args = ["build", *dbt_args(settings)]
    if selector:
        args += ["--selector", selector]
    if select:
        args += ["--select", *select]
    if not all_tests:
        args += ["--exclude-resource-type", "unit_test"]
    if full_refresh:
        args.append("--full-refresh")
    result = invoke_dbt(args, manifest=parsed_manifest(settings), callbacks=_test_pause_callbacks(settings))
    if isinstance(result.exception, KeyboardInterrupt):  # dbt returns an interrupt as a result: it is still one
        raise result.exception
    statuses: dict[str, str] = {}
    failures = []
    for node_result in result.result.results if result.result is not None else []:
        name = node_result.node.name
        if str(node_result.node.resource_type).endswith("unit_test"):
            name = f"unit test {name}"
        statuses[name] = str(node_result.status)
        if statuses[name] in {"error", "fail", "runtime error"}:
            failures.append(f"{name}: {_first_cause(node_result.message) or statuses[name]}")
    if failures:
        raise BuildError(f"dbt build failed on {len(failures)} node(s): " + "; ".join(failures))
    if not result.success:
        raise BuildError(f"dbt build failed: {_exception_line(result, settings)}")
    return statuses


def invoke_dbt(args: list[str], **runner: object):
    """One dbt command through dbtRunner; the warehouse file is let go of when it ends, however it ends.

    dbt-duckdb opens the file once for the whole command (the profile's `keep_open: true`) rather than once per node
    (half of a small build's node time went to opening and checkpointing the file), and keeps it open for the life
    of the process: its public `close_all_connections` drops that database, so that the run's next stage, a reader
    in this process or the next run can open the file."""
    from dbt.cli.main import dbtRunner

    try:
        return dbtRunner(**runner).invoke(args)
    finally:
        if os.environ.get("CITYTRADE_DBT_TARGET", "duckdb") == "duckdb":
            from dbt.adapters.duckdb.connections import DuckDBConnectionManager

            DuckDBConnectionManager.close_all_connections()


def parsed_manifest(settings: Settings):
    """The project's manifest, parsed once per process and reused by each later invocation of the run: dbtRunner's
    documented `manifest` argument. Parsed again when a project file or the environment dbt reads changed."""
    global _parsed
    files = tuple((str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in dbt_project_files())
    environment = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(("CITYTRADE_", "DBT_"))))
    if _parsed is not None and _parsed[0] == (files, environment):
        return _parsed[1]
    result = invoke_dbt(["parse", *dbt_args(settings)])
    if not result.success or result.result is None:
        raise BuildError(f"dbt could not parse the project: {_exception_line(result, settings)}")
    _parsed = ((files, environment), result.result)
    return result.result


def dbt_args(settings: Settings) -> list[str]:
    """Where dbt finds the project and writes. dbt's console log is off: citytrade reports each node itself; the
    file log `<home>/dbt/logs/dbt.log` keeps dbt's warnings and errors (DBT_LOG_LEVEL_FILE=debug for every SQL)."""
    return [
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(settings.dbt_target_dir),
        "--log-path", str(settings.dbt_log_dir),
        "--log-level", "none",
        "--log-level-file", os.environ.get("DBT_LOG_LEVEL_FILE") or "warn",
    ]  # fmt: skip


def _exception_line(result, settings: Settings) -> str:
    return str(result.exception).strip().splitlines()[0] if result.exception else f"see {settings.dbt_log_dir}"


def _first_cause(message: str | None) -> str:
    """dbt's first line says only where ("Runtime Error in model x (path)"); the next line says what went wrong."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    if len(lines) > 1 and " Error in " in lines[0]:
        return f"{lines[0]}: {lines[1]}"
    return lines[0] if lines else ""


def _test_pause_callbacks(settings: Settings) -> list:
    """Test hook (citytrade.scheduling.pause_point): hold the build once the first mart table is written."""
    from citytrade.scheduling import PAUSE_ENV, pause_point

    if os.environ.get(PAUSE_ENV) != "dbt-build":
        return []

    def pause_after_first_mart(event) -> None:
        if event.info.name == "NodeFinished" and event.data.node_info.node_path.startswith("marts/"):
            pause_point("dbt-build", settings.home)

    return [pause_after_first_mart]
