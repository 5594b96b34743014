"""Transform: build the dbt project against the warehouse, in-process, and say in one line what failed."""

from __future__ import annotations

import os

from citytrade.config import DBT_PROJECT_DIR, Settings


class BuildError(RuntimeError):
    """A dbt model or test failed; the message names the nodes."""


PRE_GATE = ["seeds", "staging", "intermediate"]
POST_GATE = ["intermediate.int_trade_observations_validated+", "marts"]


def build_models(settings: Settings, select: list[str], full_refresh: bool = False) -> dict[str, str]:
    """`dbt build --select ...`; returns node name -> status; raises BuildError on any error or test failure."""
    from dbt.cli.main import dbtRunner

    settings.apply_environment()
    args = [
        "build",
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(settings.dbt_target_dir),
        "--log-path", str(settings.dbt_log_dir),
        "--select", *[_selector(s) for s in select],
        "--quiet",
    ]  # fmt: skip
    if full_refresh:
        args.append("--full-refresh")
    try:
        result = dbtRunner(callbacks=_test_pause_callbacks(settings)).invoke(args)
    finally:
        release_warehouse()
    statuses: dict[str, str] = {}
    failures = []
    if result.result is not None:
        for node_result in result.result.results:
            name = node_result.node.name
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
