"""The citytrade pipeline flow: ingest, build, audit rows, build marts, audit marts, publish."""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from citytrade import pipeline
from citytrade.config import Settings
from citytrade.report import rankings_markdown, validation_markdown


@task(name="ingest releases")
def ingest(settings: Settings, run_id: str):
    return pipeline.ingest_stage(settings, run_id)


@task(name="dbt build (pre-gate)")
def build_pre_gate(settings: Settings):
    return pipeline.build_pre_gate_stage(settings)


@task(name="audit rows (GX row_gate)")
def audit_rows(settings: Settings, run_id: str):
    return pipeline.audit_rows_stage(settings, run_id)


@task(name="dbt build (marts)")
def build_marts(settings: Settings):
    return pipeline.build_post_gate_stage(settings)


@task(name="audit marts (GX mart_gate)")
def audit_marts(settings: Settings, run_id: str):
    return pipeline.audit_marts_stage(settings, run_id)


@task(name="publish or hold")
def publish(settings: Settings, report: pipeline.RunReport, mart_gate):
    pipeline.conclude(settings, report, mart_gate)
    return report


@flow(name="citytrade-pipeline", log_prints=True)
def run_pipeline(raw_dir: str = "data/raw", home: str = ".citytrade", wait_for_lock: bool = False) -> pipeline.RunReport:
    settings = Settings.from_args(raw_dir, home)
    run_id = str(flow_run.get_id() or pipeline.new_run_id())
    report = pipeline.RunReport(run_id=run_id)
    with pipeline.run_lock(settings, wait=wait_for_lock):
        pipeline.begin_run(settings, run_id)
        try:
            pipeline.absorb_ingest(report, ingest(settings, run_id))
            build_pre_gate(settings)
            pipeline.absorb_gate(report, *audit_rows(settings, run_id))
            build_marts(settings)
            mart_gate, alerts = audit_marts(settings, run_id)
            pipeline.absorb_gate(report, mart_gate, alerts)
            publish(settings, report, mart_gate)
        except Exception as exc:
            report.status, report.message = "failed", pipeline.one_line(exc)
            raise
        finally:
            pipeline.finish_run(settings, report)
    create_markdown_artifact(key="validation-summary", markdown=validation_markdown(report), description="Quality gate of this run")
    if report.status == "published":
        create_markdown_artifact(key="rankings-summary", markdown=rankings_markdown(settings), description="Latest city rankings")
    if report.status == "blocked":
        raise pipeline.PublishBlocked(report.message)
    return report
