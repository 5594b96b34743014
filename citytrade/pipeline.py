"""The stages of a run (write, audit, publish), each one function the Prefect flow wraps as a task."""

from __future__ import annotations

import json
import logging
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Iterator

from citytrade import home_lock, publish, quality, transform, warehouse
from citytrade.config import Settings
from citytrade.home_lock import RunLocked  # noqa: F401  (raised by run_lock; the CLI catches it from here)
from citytrade.ingest import IngestSummary, ingest_releases

log = logging.getLogger(__name__)


class PublishBlocked(RuntimeError):
    """Blocking checks failed: nothing new was published."""


@dataclass
class RunReport:
    """What a run did, for the CLI, the run log and the Prefect artifacts."""

    run_id: str
    status: str = "running"  # published | blocked | failed
    message: str = ""
    releases_loaded: list[str] = field(default_factory=list)
    releases_unchanged: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    problems: list[str] = field(default_factory=list)
    row_gate: str = ""
    mart_gate: str = ""
    rows_kept_out: int = 0
    warnings: int = 0
    errors: int = 0
    new_alerts: list[dict] = field(default_factory=list)
    published_version: str | None = None
    published_marts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, ensure_ascii=False)


def new_run_id() -> str:
    return uuid.uuid4().hex


_held: dict[str, int] = {}  # homes this process holds the run lock of, and how deep


@contextmanager
def run_lock(settings: Settings, wait: bool = False) -> Iterator[None]:
    """One run per home at a time: the OS drops the lock when the holder dies, even by SIGKILL.

    Re-entrant within a process: `citytrade run` takes it before its flow starts (to prepare dbt while the
    temporary Prefect API boots), and the flow, which takes it itself when a worker runs it, enters it again.
    """
    key = str(settings.lock_path.resolve())
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    handle = home_lock.adopt(settings.lock_path) or home_lock.acquire(settings.lock_path, wait)  # adopt: citytrade.launch took it
    try:
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
    finally:
        transform.release_warehouse()  # dbt (build, docs) keeps the file open: let go before the next run may start
        handle.close()


# ---- stages


def begin_run(settings: Settings, run_id: str) -> None:
    settings.ensure_dirs()
    with warehouse.open_warehouse(settings.warehouse_path) as con:
        con.execute("insert into audit.runs values (?, ?, null, 'running', null, null, null)", [run_id, warehouse.utc_now()])


def ingest_stage(settings: Settings, run_id: str, progress=None) -> IngestSummary:
    summary = ingest_releases(settings.raw_dir, settings.warehouse_path, run_id, progress=progress)
    with warehouse.open_warehouse(settings.warehouse_path) as con:
        quality.record_alerts(con, quality.quarantine_alerts(summary.problems + summary.standing_problems), run_id)
    return summary


def build_pre_gate_stage(settings: Settings, all_tests: bool = False) -> dict[str, str]:
    return transform.build_models(settings, transform.PRE_GATE, exclude=transform.PRE_GATE_EXCLUDE, all_tests=all_tests)


def audit_rows_stage(settings: Settings, run_id: str) -> tuple[quality.GateResult, list[dict]]:
    gate, new_alerts, _ = finish_row_audit(settings, run_id, start_row_audit(settings))
    return gate, new_alerts


@dataclass
class RowAudit:
    """The row gate under way: its relations are extracted and GX judges them (in the GX worker: while the marts
    build, issue #8). `kept_out`: the rows the stored verdicts keep out of the marts, those of the last run until
    finish_row_audit records this run's: what a marts build meanwhile leaves out."""

    checkpoint: quality.PendingCheckpoint
    kept_out: frozenset[str]


def start_row_audit(settings: Settings) -> RowAudit:
    """Audit rows, first half: extract the row gate's relations, hand them to GX and let the warehouse go."""
    with warehouse.open_warehouse(settings.warehouse_path) as con:
        return RowAudit(quality.start_checkpoint(settings, "row_gate", con), quality.kept_out_rows(con))


ALERTS_MART = "quality_alerts"  # the one mart built from the alerts (the others from the figures that passed)


def finish_row_audit(settings: Settings, run_id: str, audit: RowAudit) -> tuple[quality.GateResult, list[dict], list[str]]:
    """Audit rows, second half: GX's verdicts, recorded with their alerts. Also what of the marts built since
    start_row_audit must be built again, now that this run's verdicts and alerts are stored: nothing when this
    run keeps out the very rows they left out and the gate added no alert; only the alerts' mart when it added
    alerts (a new warning, say); all of the post-gate build when it keeps out other rows."""
    with warehouse.open_warehouse(settings.warehouse_path) as con:
        gate = quality.finish_checkpoint(audit.checkpoint, con)
        quality.record_row_verdicts(con, gate, run_id)
        new_alerts = quality.record_alerts(con, quality.alerts_from_gate(gate), run_id)
    if gate.error_row_ids() != audit.kept_out:
        return gate, new_alerts, list(transform.POST_GATE)
    return gate, new_alerts, [ALERTS_MART] if new_alerts else []


def build_post_gate_stage(settings: Settings, all_tests: bool = False, select: list[str] | None = None) -> dict[str, str]:
    """The post-gate build, or the part of it `select` names (finish_row_audit's answer)."""
    return transform.build_models(settings, select or transform.POST_GATE, all_tests=all_tests)


def audit_marts_stage(
    settings: Settings, run_id: str, row_gate: quality.GateResult | None = None, data_docs: bool = True
) -> tuple[quality.GateResult, list[dict]]:
    """The mart gate, then (data_docs) the GX Data Docs of this run's gates (the row gate's too), built once."""
    gate, new_alerts, _, _ = _audit_marts(settings, run_id, row_gate, data_docs, stage_publish=False)
    return gate, new_alerts


def audit_marts_and_stage_publish(
    settings: Settings, run_id: str, row_gate: quality.GateResult | None = None
) -> tuple[quality.GateResult, list[dict], publish.StagedPublish | None, quality.DataDocsBuild | None]:
    """The mart gate, with the publish written (not swapped in) while the GX worker judges the marts: the second
    core stages what the gate then lets through (conclude) or not (a served run's median 20.7 -> 18.6 s in the A/B
    of benchmarks/RESULTS.md, round 6; issue #8). The Data Docs of both gates, with the index, are asked for right
    after the mart checkpoint: the worker renders them while this process stages (finish_data_docs waits)."""
    return _audit_marts(settings, run_id, row_gate, data_docs=False, stage_publish=True)


def _audit_marts(settings: Settings, run_id: str, row_gate, data_docs: bool, stage_publish: bool):
    staged: list[publish.StagedPublish] = []
    docs: list[quality.DataDocsBuild] = []
    with warehouse.open_warehouse(settings.warehouse_path) as con:

        def stage() -> None:  # the marts are what the gate judges: the mart gate writes only audit tables
            docs.append(quality.start_data_docs(settings, *[g for g in (row_gate,) if g is not None], with_last_checkpoint=True))
            staged.append(publish.stage_marts(con, settings.published_dir, run_id))
            stage_report(settings, staged[-1], con, run_id)

        try:
            gate = quality.run_checkpoint(settings, "mart_gate", con, meanwhile=stage if stage_publish else None)
            new_alerts = quality.record_alerts(con, quality.alerts_from_gate(gate), run_id)
        except BaseException:
            for done in staged:
                publish.discard(done)
            for build in docs:
                quality.finish_data_docs_after_failure(build)
            raise
    if data_docs:
        quality.build_data_docs(settings, *[g for g in (row_gate, gate) if g is not None])
    return gate, new_alerts, (staged[0] if staged else None), (docs[0] if docs else None)


def publish_stage(settings: Settings, run_id: str) -> publish.PublishResult:
    with warehouse.open_warehouse(settings.warehouse_path) as con:
        return publish.publish_marts(con, settings.published_dir, run_id)


def finish_run(settings: Settings, report: RunReport) -> None:
    with warehouse.open_warehouse(settings.warehouse_path) as con:
        con.execute(
            "update audit.runs set finished_at = ?, status = ?, message = ?, releases_loaded = ?, published = ? where run_id = ?",
            [warehouse.utc_now(), report.status, report.message, len(report.releases_loaded), report.status == "published", report.run_id],
        )
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.log_dir / "runs.jsonl", "a", encoding="utf-8") as handle:
        handle.write(report.to_json() + "\n")


def absorb_ingest(report: RunReport, summary: IngestSummary) -> None:
    report.releases_loaded = summary.loaded
    report.releases_unchanged = summary.unchanged
    report.rows_loaded = summary.rows_loaded
    report.rows_quarantined = summary.rows_quarantined
    report.problems = summary.problems


def absorb_gate(report: RunReport, gate: quality.GateResult, new_alerts: list[dict]) -> None:
    if gate.checkpoint == "row_gate":
        report.row_gate = gate.summary()
        report.rows_kept_out = len(gate.error_row_ids())
    else:
        report.mart_gate = gate.summary()
    report.warnings += len(gate.warnings)
    report.errors += len(gate.errors)
    report.new_alerts.extend(new_alerts)


def conclude(settings: Settings, report: RunReport, mart_gate: quality.GateResult, staged: publish.StagedPublish | None = None) -> None:
    """Publish when the blocking checks passed; otherwise say why and leave the published files alone.

    `staged`: the publish written during the mart gate (audit_marts_and_stage_publish), swapped in or dropped here;
    without it (or when it is gone: a retry after the swap) the marts are written now."""
    if not mart_gate.passed:
        if staged is not None:
            publish.discard(staged)
        report.status = "blocked"
        report.message = f"nothing published: {mart_gate.summary()}"
        return
    swap_staged = staged is not None and staged.ready()
    if swap_staged and staged.report is not None and quality.alerts_from_gate(mart_gate):
        staged.report.unlink(missing_ok=True)  # it lists the alerts as they stood before the mart gate's
        staged.report = None
    result = publish.swap_in(staged) if swap_staged else publish_stage(settings, report.run_id)
    report.status = "published"
    report.published_version = result.version
    report.published_marts = result.marts
    report.message = f"published {len(result.marts)} marts to {result.database}"
    publish_readers_pages(settings, report.run_id, report_swapped_in=swap_staged and staged.report is not None)


def stage_report(settings: Settings, staged: publish.StagedPublish, con, run_id: str) -> None:
    """The report page of a staged publish, rendered while the mart gate runs (report_html.stage_report), with
    the run's alerts so far from the open warehouse `con`. A page that cannot be rendered now is rendered after the
    swap, as without staging, where its error fails the run as it always did: it never holds back the marts."""
    from citytrade import report_html

    try:
        staged.report = report_html.stage_report(settings, staged.database, staged.version, report_html.open_alerts(con, run_id))
    except Exception as exc:
        log.warning("report.html not rendered before the publish (%s); rendering it after", one_line(exc))


def publish_readers_pages(settings: Settings, run_id: str, report_swapped_in: bool = False) -> None:
    """After a good publish: the dbt docs, then the HTML report (last, so it always shows the new publish), unless
    the publish swapped in its own (stage_report)."""
    from citytrade import dbt_docs, report_html

    dbt_docs.publish_docs(settings)
    if not report_swapped_in:
        report_html.write_report(settings, run_id)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
