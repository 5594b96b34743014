"""The stages of a run (write, audit, publish), each one function the Prefect flow wraps as a task."""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import json
import os
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator
from citytrade import warehouse
from citytrade.config import Settings
from citytrade.ingest.load import IngestSummary, ParsePool, ingest_releases
from citytrade.scheduling import INTERRUPTED, pause_point
from citytrade.publish import marts, report_html
from citytrade.quality import gates
from citytrade.transform import build, docs, spark



class RunLocked(RuntimeError):
    """Another run holds this home."""


class PublishBlocked(RuntimeError):
    """Blocking checks failed: nothing new was published."""


@dataclass
class RunReport:
    """What a run did, for the CLI, the run log and the Prefect artifacts."""

    run_id: str
    status: str = "running"  # published | blocked | failed | interrupted
    message: str = ""
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    finished_at: str | None = None
    releases_loaded: list[str] = field(default_factory=list)
    releases_unchanged: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    problems: list[str] = field(default_factory=list)  # quarantined by this run
    quarantine: list[str] | None = None  # the landing zone's quarantine as this run's ingest found it (None: no ingest)
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


@contextmanager
def run_lock(settings: Settings, wait: bool = False) -> Iterator[None]:
    """One run per home at a time (`<home>/run.lock`): a plain flock, which the OS drops when its holder dies, even
    by SIGKILL. RunLocked when another run holds it, unless `wait`."""
    settings.lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(settings.lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise RunLocked(f"another citytrade run is using {settings.home} ({holder}); wait for it to finish or pass --wait") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {dt.datetime.now().isoformat(timespec='seconds')}")
        handle.flush()
        yield


# ---- stages


def interruptible(stage: Callable) -> Callable:
    """An interrupt (Ctrl-C) leaves the stage without its traceback: the stage's frames hold DuckDB connections,
    which Prefect's record of the interrupted run would otherwise keep alive until the process ends.

    Ctrl-C while DuckDB runs a statement reaches the stage as DuckDB's own error ("Query interrupted"), not as
    KeyboardInterrupt: once the run's SIGINT handler has noted an interrupt (scheduling.INTERRUPTED), any error is
    that interrupt, so the run ends as interrupted (exit 130), not as failed."""

    @functools.wraps(stage)
    def run(*args, **kwargs):
        try:
            return stage(*args, **kwargs)
        except KeyboardInterrupt as interrupt:
            raise interrupt.with_traceback(None) from None
        except Exception:
            if not INTERRUPTED.is_set():
                raise
        raise KeyboardInterrupt  # out of the handler: the error and its frames are not kept as its context

    return run


def begin_run(settings: Settings, run_id: str) -> None:
    settings.ensure_dirs()
    with warehouse.open_warehouse(settings.warehouse_path) as con:
        con.execute("insert into audit.runs values (?, ?, null, 'running', null, null, null)", [run_id, warehouse.utc_now()])


@interruptible
def ingest_stage(settings: Settings, run_id: str, progress=None, parse_pool: ParsePool | None = None) -> IngestSummary:
    """Load what is new in the landing zone. `progress(done, total, path, outcome)` hears of each release once it is
    committed (by default only the test hook: scheduling.pause_point "ingest", after the first). `parse_pool`
    parses a large landing zone in parallel (citytrade/ingest/load.py, parse_in_order)."""
    progress = progress or (lambda *_: pause_point("ingest", settings.home))
    summary = ingest_releases(settings.raw_dir, settings.warehouse_path, run_id, progress=progress, parse_pool=parse_pool)
    with warehouse.open_warehouse(settings.warehouse_path) as con:
        gates.record_alerts(con, gates.quarantine_alerts(summary.problems + summary.standing_problems), run_id)
        to_spark(settings, con)
    return summary


@interruptible
def build_pre_gate_stage(settings: Settings, all_tests: bool = False) -> dict[str, str]:
    return build.build_models(settings, build.PRE_GATE, all_tests=all_tests)


@interruptible
def audit_rows_stage(settings: Settings, run_id: str) -> tuple[gates.GateResult, list[dict]]:
    """The row gate: GX judges every figure; its verdicts replace the stored ones, which the marts build reads."""
    pause_point("row-gate", settings.home)  # test hook; a no-op unless CITYTRADE_TEST_PAUSE_AT=row-gate
    with warehouse.open_warehouse(settings.warehouse_path) as con:
        from_spark(settings, con)
        gate = gates.run_checkpoint(settings, "row_gate", con)
        gates.record_row_verdicts(con, gate, run_id)
        alerts = gates.record_alerts(con, gates.alerts_from_gate(gate), run_id)
        to_spark(settings, con)  # the marts build reads the verdicts
        return gate, alerts


@interruptible
def build_post_gate_stage(settings: Settings, all_tests: bool = False) -> dict[str, str]:
    return build.build_models(settings, build.POST_GATE, all_tests=all_tests)


@interruptible
def audit_marts_stage(settings: Settings, run_id: str) -> tuple[gates.GateResult, list[dict]]:
    with warehouse.open_warehouse(settings.warehouse_path) as con:
        from_spark(settings, con)
        gate = gates.run_checkpoint(settings, "mart_gate", con)
        alerts = gates.record_alerts(con, gates.alerts_from_gate(gate), run_id)
        to_spark(settings, con)
        return gate, alerts


@interruptible
def publish_stage(settings: Settings, run_id: str) -> marts.PublishResult:
    with warehouse.open_warehouse(settings.warehouse_path) as con:
        return marts.publish_marts(con, settings.published_dir, run_id)


def to_spark(settings: Settings, con) -> None:
    """On Spark, what Python wrote (raw rows, verdicts, alerts) goes to the lake that Spark reads."""
    if settings.on_spark:
        spark.export_sources(con, settings.lake_dir)


def from_spark(settings: Settings, con) -> None:
    """On Spark, the tables it built become views of the warehouse: the gates and the publish read those."""
    if settings.on_spark:
        spark.attach_built(con, settings.lake_dir)


def finish_run(settings: Settings, report: RunReport) -> None:
    """The run log's last word on a run, from what the warehouse holds: the releases it committed are counted there,
    so a run interrupted mid-ingest records those it loaded. Then what readers read (record_for_readers)."""
    report.finished_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    with warehouse.open_warehouse(settings.warehouse_path) as con:
        report.releases_loaded = [path for (path,) in con.execute(
            "select path from raw.releases where run_id = ? and status <> 'quarantined' order by path", [report.run_id]).fetchall()]  # fmt: skip
        con.execute(
            "update audit.runs set finished_at = ?, status = ?, message = ?, releases_loaded = ?, published = ? where run_id = ?",
            [warehouse.utc_now(), report.status, report.message, len(report.releases_loaded), report.status == "published", report.run_id],
        )
        record_for_readers(settings, con, report.run_id, report.quarantine)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.log_dir / "runs.jsonl", "a", encoding="utf-8") as handle:
        handle.write(report.to_json() + "\n")


def record_for_readers(settings: Settings, con, run_id: str, quarantine: list[str] | None) -> None:
    """`state/readers.json`: every alert (`open` when this run raised or saw it) and the current quarantine (kept
    from the last record when this run did not ingest), so that `status` and `alerts` never open the warehouse a
    run may be writing. Replaced whole, by one rename."""
    cursor = con.execute("select * from audit.alerts order by detected_at, alert_id")
    names = [column[0] for column in cursor.description]
    alerts = [{**dict(zip(names, row)), "open": row[names.index("last_seen_run_id")] == run_id} for row in cursor.fetchall()]
    path = settings.readers_state_path
    if quarantine is None and path.exists():
        quarantine = json.loads(path.read_text(encoding="utf-8")).get("quarantine", [])
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"run_id": run_id, "quarantine": quarantine or [], "alerts": alerts}, default=str, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


def absorb_ingest(report: RunReport, summary: IngestSummary) -> None:
    report.releases_loaded = summary.loaded
    report.releases_unchanged = summary.unchanged
    report.rows_loaded = summary.rows_loaded
    report.rows_quarantined = summary.rows_quarantined
    report.problems = summary.problems
    report.quarantine = summary.problems + summary.standing_problems


def absorb_gate(report: RunReport, gate: gates.GateResult, new_alerts: list[dict]) -> None:
    if gate.checkpoint == "row_gate":
        report.row_gate = gate.summary()
        report.rows_kept_out = len(gate.error_row_ids())
    else:
        report.mart_gate = gate.summary()
    report.warnings += len(gate.warnings)
    report.errors += len(gate.errors)
    report.new_alerts.extend(new_alerts)


@interruptible
def conclude(settings: Settings, report: RunReport, mart_gate: gates.GateResult) -> None:
    """Publish when the blocking checks passed, then the readers' pages (dbt docs, report.html); otherwise say why
    and leave the published files alone."""
    if not mart_gate.passed:
        report.status = "blocked"
        report.message = f"nothing published: {mart_gate.summary()}"
        return
    result = publish_stage(settings, report.run_id)
    report.status = "published"
    report.published_version = result.version
    report.published_marts = result.marts
    report.message = f"published {len(result.marts)} marts to {result.database}"
    publish_readers_pages(settings, report.run_id)


def publish_readers_pages(settings: Settings, run_id: str) -> None:
    """After a good publish: the dbt docs, then the HTML report (last, so it always shows the new publish)."""
    docs.publish_docs(settings)
    report_html.write_report(settings, run_id)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
