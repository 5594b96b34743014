"""The citytrade pipeline flow: ingest, build, audit rows, build marts, audit marts, publish."""

from __future__ import annotations

import os

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run
from citytrade import pipeline, scheduling
from citytrade.config import Settings
from citytrade.publish.summaries import rankings_markdown, validation_markdown
from citytrade.quality import gates, notify
from flows.parse_pool import parse_pool


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


@task(name="ingest releases", **TRANSIENT_RETRIES)
def ingest(settings: Settings, run_id: str):
    return pipeline.ingest_stage(settings, run_id, parse_pool=parse_pool(settings.scratch_dir))


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
