"""The citytrade pipeline flow: ingest, build, audit rows, build marts, audit marts, publish."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from citytrade import alerts, dbt_worker, gx_worker, pipeline, quality, scheduling
from citytrade import publish as publish_module
from citytrade.config import Settings
from citytrade.report import rankings_markdown, validation_markdown


def retry_if_transient(task, task_run, state) -> bool:
    """Retry only what may pass on its own (a lock held by another process, the network), never bad data."""
    return scheduling.is_transient(state.result(raise_on_failure=False))


# Every stage is idempotent (ingest skips loaded releases, dbt rebuilds, publish swaps), so a retry is safe.
TRANSIENT_RETRIES = dict(retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=retry_if_transient)


def report_dbt_nodes(stage: str, statuses: dict[str, str]) -> None:
    """One log line and one table row per dbt node, so the Prefect UI shows what dbt built (see README, Scheduling)."""
    logger = get_run_logger()
    for node, status in statuses.items():
        logger.info("dbt %s: %s %s", stage, node, status)
    rows = [{"node": node, "status": status} for node, status in statuses.items()]
    create_table_artifact(key=f"dbt-nodes-{stage}", table=rows, description=f"dbt nodes of the {stage} build and their status")


@task(name="ingest releases", **TRANSIENT_RETRIES)
def ingest(settings: Settings, run_id: str):
    return pipeline.ingest_stage(settings, run_id)


@task(name="dbt build (pre-gate)", **TRANSIENT_RETRIES)
def build_pre_gate(settings: Settings):
    return pipeline.build_pre_gate_stage(settings)


@task(name="audit rows (GX row_gate)", **TRANSIENT_RETRIES)
def audit_rows(settings: Settings):
    """The row gate's relations, extracted and handed to the GX worker, which judges them while the marts build."""
    return pipeline.start_row_audit(settings)


@task(name="dbt build (marts)", **TRANSIENT_RETRIES)
def build_marts(settings: Settings):
    return pipeline.build_post_gate_stage(settings)


@task(name="row verdicts (GX row_gate)", **TRANSIENT_RETRIES)
def row_verdicts(settings: Settings, run_id: str, row_audit):
    return pipeline.finish_row_audit(settings, run_id, row_audit)


@task(name="dbt build (marts, this run's verdicts)", **TRANSIENT_RETRIES)
def rebuild_marts(settings: Settings, select: list[str]):
    """The marts again, when this run's row verdicts keep out other rows than those the first build read."""
    return pipeline.build_post_gate_stage(settings, select=select)


rebuild_alerts_mart = rebuild_marts.with_options(name="dbt build (quality_alerts, this run's alerts)")


@task(name="audit marts (GX mart_gate)", **TRANSIENT_RETRIES)
def audit_marts(settings: Settings, run_id: str, row_gate=None):
    """The mart gate; the publish is written meanwhile, and swapped in by `publish` only if the gate passed."""
    return pipeline.audit_marts_and_stage_publish(settings, run_id, row_gate)  # and the Data Docs, with the index


@task(name="GX Data Docs")
def data_docs(docs) -> int:
    """Wait for the Data Docs of both gates, which the GX worker built while the run staged and published."""
    return quality.finish_data_docs(docs)


@task(name="publish or hold", **TRANSIENT_RETRIES)
def publish(settings: Settings, report: pipeline.RunReport, mart_gate, staged=None):
    pipeline.conclude(settings, report, mart_gate, staged)
    return report


@task(name="notify people")
def notify(report: pipeline.RunReport) -> str:
    """One grouped alert per run; the channels' URLs come from the environment or a Prefect Secret block."""
    import os

    secret_value = None
    block = os.environ.get(alerts.ALERT_SECRET_BLOCK_ENV)
    if block:
        from prefect.blocks.system import Secret

        try:
            secret_value = Secret.load(block).get()
        except Exception as exc:  # a missing block must not hide the run's own outcome
            get_run_logger().warning("alert secret block %s could not be read: %s", block, type(exc).__name__)
    return alerts.notify_report(report, secret_value).outcome


@flow(name="citytrade-pipeline", log_prints=True)
def run_pipeline(raw_dir: str = "data/raw", home: str = ".citytrade", wait_for_lock: bool = False) -> pipeline.RunReport:
    settings = Settings.from_args(raw_dir, home)
    settings.apply_environment()  # before the GX worker starts: it inherits GX's telemetry switch and the paths
    run_id = str(flow_run.get_id() or pipeline.new_run_id())
    report = pipeline.RunReport(run_id=run_id)
    with (
        pipeline.run_lock(settings, wait=wait_for_lock),
        dbt_worker.running(settings.log_dir / "dbt-worker.log", parse_for=settings) as dbt,  # or the one `citytrade run` started
        gx_worker.running(settings.log_dir / "gx-worker.log") as gx,
    ):
        early = [worker.label for worker in (dbt, gx) if worker is not None and worker.adopted]
        if early:  # citytrade.launch started them before it became Prefect's engine
            get_run_logger().info("%s: started before Prefect's engine, by citytrade.launch", " and ".join(early))
        pipeline.begin_run(settings, run_id)
        staged = row_audit = row_gate = docs = None
        try:
            summary = ingest(settings, run_id)
            pipeline.absorb_ingest(report, summary)
            report_dbt_nodes("pre-gate", build_pre_gate(settings))
            row_audit = audit_rows(settings)
            # The marts build while GX judges the rows, on the verdicts stored so far (the last run's); in the usual
            # run this run's keep out the same rows, and the build stands (its failure too), bar the alerts' mart
            # when the gate added alerts. Otherwise the marts are built again, and the first build's outcome is moot.
            first_build = build_marts(settings, return_state=True)
            row_gate, new_alerts, stale = row_verdicts(settings, run_id, row_audit)
            pipeline.absorb_gate(report, row_gate, new_alerts)
            if stale == [pipeline.ALERTS_MART]:
                statuses = {**first_build.result(), **rebuild_alerts_mart(settings, stale)}
            else:
                statuses = rebuild_marts(settings, stale) if stale else first_build.result()
            report_dbt_nodes("marts", statuses)
            mart_gate, new_alerts, staged, docs = audit_marts(settings, run_id, row_gate)
            pipeline.absorb_gate(report, mart_gate, new_alerts)
            try:
                publish(settings, report, mart_gate, staged)
            finally:
                data_docs(docs)  # after a failed publish too: they show what the gates found
            scheduling.remember_landing_zone(settings, summary.landing_zone)  # the landing-zone watch skips what this run saw
        except BaseException as exc:  # an interrupt too (Ctrl-C, a cancel): the run log must not end at "running"
            report.status = "failed"
            report.message = pipeline.one_line(exc) if isinstance(exc, Exception) else f"interrupted{': ' + str(exc) if str(exc) else ''}"
            raise
        finally:
            if row_audit is not None:
                quality.settle_checkpoint(row_audit.checkpoint)  # a run that failed while GX judged its rows
            if staged is not None:
                publish_module.discard(staged)  # a run that failed before its swap; a no-op once swapped in
            if row_gate is not None and docs is None:  # the run failed after the row gate: its pages, for the next run's index
                quality.finish_data_docs_after_failure(quality.start_data_docs(settings, row_gate, build_index=False))
            pipeline.finish_run(settings, report)
            notify(report)
    create_markdown_artifact(key="validation-summary", markdown=validation_markdown(report), description="Quality gate of this run")
    if report.status == "published":
        create_markdown_artifact(key="rankings-summary", markdown=rankings_markdown(settings), description="Latest city rankings")
    if report.status == "blocked":
        raise pipeline.PublishBlocked(report.message)
    return report


def _plain_parameters(serialize):
    """Flow.serialize_parameters for the pipeline's parameters (two paths and a flag, already JSON): Prefect's imports
    FastAPI for its jsonable_encoder, 0.3 CPU s of a cold `citytrade run` before its flow run is created (issue #8).
    Any other value goes to Prefect's, as before."""

    def serialize_parameters(parameters: dict) -> dict:
        if all(value is None or isinstance(value, (str, bool, int, float)) for value in parameters.values()):
            return dict(parameters)
        return serialize(parameters)

    return serialize_parameters


run_pipeline.serialize_parameters = _plain_parameters(run_pipeline.serialize_parameters)
