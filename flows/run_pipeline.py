"""The citytrade pipeline flow: ingest, build, audit rows, build marts, audit marts, publish."""

from __future__ import annotations

import multiprocessing
import os
import threading
from typing import Callable

from prefect import flow, get_client, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from citytrade import config, pipeline, scheduling
from citytrade.config import Settings
from citytrade.ingest import load
from citytrade.ingest.areas import AreaResolver
from citytrade.ingest.releases import Release
from citytrade.publish.summaries import rankings_markdown, validation_markdown
from citytrade.quality import gates, notify


def retry_if_transient(task, task_run, state) -> bool:
    """Retry only what may pass on its own (a lock held by another process, the network), never bad data."""
    return scheduling.is_transient(state.result(raise_on_failure=False))


# Every stage is idempotent (ingest skips loaded releases, dbt rebuilds, publish swaps), so a retry is safe.
TRANSIENT_RETRIES = dict(retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=retry_if_transient)


def report_dbt_nodes(stage: str, statuses: dict[str, str]) -> None:
    """One log line and one table row per dbt node, so the Prefect UI shows what dbt built."""
    logger = get_run_logger()
    for node, status in statuses.items():
        logger.info("dbt %s: %s %s", stage, node, status)
    rows = [{"node": node, "status": status} for node, status in statuses.items()]
    create_table_artifact(key=f"dbt-nodes-{stage}", table=rows, description=f"dbt nodes of the {stage} build and their status")


# Set while a parse pool is stopping early (an error, Ctrl-C): in a worker process by its initializer, in the run's
# process for a thread pool. A running `parse releases` then returns at once instead of finishing its chunk, so that an
# interrupted run still ends, and records that it was interrupted, within the STOP_SECONDS its supervisor gives it.
parse_stop: threading.Event | None = None


@task(name="parse releases", cache_policy=NO_CACHE, persist_result=False)
def parse_releases(releases: list[Release], resolver: AreaResolver | None) -> list:
    return load.parse_releases(releases, resolver, stopped=parse_stop.is_set if parse_stop is not None else None)


class TaskRunnerParsePool:
    """The ingest's parse pool (citytrade.ingest.load.ParsePool) on a Prefect task runner: each submission is one
    run of the task `parse releases`, for up to load.PARSE_CHUNK_RELEASES releases.

    By default a ProcessPoolTaskRunner: parsing is Python, which threads run one at a time (the GIL). On a cluster,
    prefect-dask's DaskTaskRunner (`DaskTaskRunner(address=...)`) fits the same place, as make_runner: any
    TaskRunner whose futures' result() gives the task's return value does. The runner is made when the pool is
    entered, that is only for a landing zone large enough to be parsed in parallel; make_runner gets the event that
    tells its tasks to stop early (parse_stop), set when the pool is left on an error or Ctrl-C."""

    def __init__(self, make_runner: Callable[[threading.Event], TaskRunner], workers: int, stop: threading.Event):
        self.make_runner, self.workers, self.stop = make_runner, workers, stop
        self.runner: TaskRunner | None = None

    def __enter__(self) -> "TaskRunnerParsePool":
        self.runner = self.make_runner(self.stop)
        self.runner.__enter__()
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        if exc_type is not None:
            self.stop.set()  # the running parses return at once: what they would give is not wanted
        self.runner.__exit__(exc_type, *exc_info)  # shuts the pool down: its workers end, also on Ctrl-C

    def submit(self, releases: list[Release], resolver: AreaResolver | None):
        return self.runner.submit(parse_releases, {"releases": releases, "resolver": resolver})


def start_parse_worker(api_url: str, stop: threading.Event) -> None:
    """A parse worker process, before its first task: report to the API of the run that started it (without it a
    worker of a run on Prefect's ephemeral API, no PREFECT_API_URL, starts an ephemeral API server of its own, 5 s of
    its first task), and heed the run's stop event."""
    global parse_stop
    os.environ.setdefault("PREFECT_API_URL", api_url)
    parse_stop = stop


def process_pool_runner(workers: int, stop: threading.Event) -> ProcessPoolTaskRunner:
    with get_client(sync_client=True) as client:
        api_url = str(client.api_url)
    return ProcessPoolTaskRunner(max_workers=workers, initializer=start_parse_worker, initargs=(api_url, stop))


def thread_pool_runner(workers: int, stop: threading.Event) -> ThreadPoolTaskRunner:
    global parse_stop
    parse_stop = stop
    return ThreadPoolTaskRunner(max_workers=workers)


def parse_pool() -> TaskRunnerParsePool | None:
    """The parse pool the settings ask for (CITYTRADE_PARSE_WORKERS, CITYTRADE_PARSE_RUNNER), or None: one at a time.
    Nothing starts until a landing zone is large enough to be worth it (load.PARALLEL_PARSE_MIN_RELEASES)."""
    workers = config.parse_workers()
    if workers <= 1:
        return None
    if config.parse_runner() == "thread":
        return TaskRunnerParsePool(lambda stop: thread_pool_runner(workers, stop), workers, threading.Event())
    # the stop event reaches the workers as they start (a process-shared event cannot go with each task)
    return TaskRunnerParsePool(lambda stop: process_pool_runner(workers, stop), workers, multiprocessing.get_context("spawn").Event())


@task(name="ingest releases", **TRANSIENT_RETRIES)
def ingest(settings: Settings, run_id: str):
    return pipeline.ingest_stage(settings, run_id, parse_pool=parse_pool())


@task(name="dbt build (pre-gate)", **TRANSIENT_RETRIES)
def build_pre_gate(settings: Settings) -> dict[str, str]:
    return pipeline.build_pre_gate_stage(settings)


@task(name="audit rows (GX row_gate)", **TRANSIENT_RETRIES)
def audit_rows(settings: Settings, run_id: str):
    return pipeline.audit_rows_stage(settings, run_id)


@task(name="dbt build (marts)", **TRANSIENT_RETRIES)
def build_marts(settings: Settings) -> dict[str, str]:
    return pipeline.build_post_gate_stage(settings)


@task(name="audit marts (GX mart_gate)", **TRANSIENT_RETRIES)
def audit_marts(settings: Settings, run_id: str):
    return pipeline.audit_marts_stage(settings, run_id)


@task(name="publish or hold", **TRANSIENT_RETRIES)
def publish(settings: Settings, report: pipeline.RunReport, mart_gate) -> pipeline.RunReport:
    pipeline.conclude(settings, report, mart_gate)
    return report


@task(name="GX Data Docs")
def data_docs(settings: Settings, *results) -> int:
    """The Data Docs of this run's gates, readable offline; after a blocked publish too: they show what was found."""
    return gates.build_data_docs(settings, *results)


@task(name="notify people")
def notify_people(report: pipeline.RunReport) -> str:
    """One grouped alert per run; the channels' URLs come from the environment or a Prefect Secret block."""
    secret_value = None
    block = os.environ.get(notify.ALERT_SECRET_BLOCK_ENV)
    if block:
        from prefect.blocks.system import Secret

        try:
            secret_value = Secret.load(block).get()
        except Exception as exc:  # a missing block must not hide the run's own outcome
            get_run_logger().warning("alert secret block %s could not be read: %s", block, exc)
    return notify.notify_report(report, secret_value).outcome


@flow(name="citytrade-pipeline", log_prints=True)
def run_pipeline(raw_dir: str = "data/raw", home: str = ".citytrade", wait_for_lock: bool = False, target: str = "duckdb") -> pipeline.RunReport:
    settings = Settings.from_args(raw_dir, home, target)
    settings.apply_environment()
    run_id = str(flow_run.get_id() or pipeline.new_run_id())
    report = pipeline.RunReport(run_id=run_id)
    with pipeline.run_lock(settings, wait=wait_for_lock):
        pipeline.begin_run(settings, run_id)
        try:
            summary = ingest(settings, run_id)
            pipeline.absorb_ingest(report, summary)
            report_dbt_nodes("pre-gate", build_pre_gate(settings))
            row_gate, new_alerts = audit_rows(settings, run_id)
            pipeline.absorb_gate(report, row_gate, new_alerts)
            report_dbt_nodes("marts", build_marts(settings))
            mart_gate, new_alerts = audit_marts(settings, run_id)
            pipeline.absorb_gate(report, mart_gate, new_alerts)
            published = publish(settings, report, mart_gate, return_state=True)
            data_docs(settings, row_gate, mart_gate)  # after a failed publish too: they show what the gates found
            published.result()
            scheduling.remember_landing_zone(settings, summary.landing_zone)  # the landing-zone watch skips what this run saw
        except Exception as exc:
            report.status = "failed"
            report.message = pipeline.one_line(exc)
            raise
        except BaseException:  # Ctrl-C, a cancel: the run log must not end at "running", and nobody needs telling
            report.status = "interrupted"
            report.message = "interrupted"
            raise
        finally:
            pipeline.finish_run(settings, report)
            if report.status != "interrupted":
                notify_people(report)
    create_markdown_artifact(key="validation-summary", markdown=validation_markdown(report), description="Quality gate of this run")
    if report.status == "published":
        create_markdown_artifact(key="rankings-summary", markdown=rankings_markdown(settings), description="Latest city rankings")
    if report.status == "blocked":
        raise pipeline.PublishBlocked(report.message)
    return report
