"""The `citytrade` command: run the pipeline or one stage, and read its state."""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import traceback
from pathlib import Path
from citytrade.config import TARGETS, Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BLOCKED = 3
EXIT_INTERRUPTED = 130
EXIT_LOCKED = 75

WRITERS = {"run", "ingest", "build", "validate", "publish"}  # the commands that write the home


class UsageError(ValueError):
    """A command line that cannot be carried out as given (a path that is not there, say): exit 2."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # a bad command line: argparse's usage line, exit 2
    args.argv = list(sys.argv[1:] if argv is None else argv)
    settings = Settings.from_args(args.raw_dir, args.home, args.target or os.environ.get("CITYTRADE_DBT_TARGET") or "duckdb")
    settings.apply_environment()  # before Prefect, dbt or GX are imported
    console = logging.StreamHandler()
    console.setLevel(logging.INFO if getattr(args, "verbose", False) else logging.WARNING)  # what Prefect's loggers pass up too
    logging.basicConfig(level=logging.WARNING, format="%(message)s", handlers=[console])
    try:
        if args.command in WRITERS:
            check_paths(settings, reads_landing_zone=args.command in {"run", "ingest"})
        return args.handler(settings, args)
    except KeyboardInterrupt:
        print("citytrade: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `citytrade alerts | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # every failure ends as one line naming what went wrong; --debug adds the traceback
        from citytrade.pipeline import PublishBlocked, RunLocked, one_line

        if args.debug:
            traceback.print_exc()
        print(f"citytrade: {one_line(exc)}", file=sys.stderr)
        if isinstance(exc, RunLocked):
            return EXIT_LOCKED
        if isinstance(exc, PublishBlocked):
            return EXIT_BLOCKED
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILED


def check_paths(settings: Settings, reads_landing_zone: bool) -> None:
    """Before anything heavy starts: the landing zone is a folder, and the home can be written."""
    if reads_landing_zone and not settings.raw_dir.is_dir():
        what = "is not a folder" if settings.raw_dir.exists() else "does not exist"
        raise UsageError(f"the raw folder {settings.raw_dir} {what} (--raw-dir)")
    if settings.home.exists() and not settings.home.is_dir():
        raise UsageError(f"the home {settings.home} is not a folder (--home)")
    if settings.on_spark and importlib.util.find_spec("pyspark") is None:
        raise UsageError("--target spark needs dbt-spark and PySpark: pip install 'citytrade[spark]' (and a Java 17 runtime)")
    try:
        settings.ensure_dirs()
    except OSError as exc:
        raise UsageError(f"cannot write to the home {settings.home}: {(exc.strerror or str(exc)).lower()} (--home)") from None


class Parser(argparse.ArgumentParser):
    """argparse, with a bad command line said in one line: what is wrong, and where help is. Exit 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"citytrade: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    # The options are accepted before and after the command; a subcommand's absent option must not
    # overwrite the value given before it, hence SUPPRESS there and the defaults on the top parser.
    # (parents share their action objects, so the top parser gets its own copy of the options.)
    def state_options(default):
        options = argparse.ArgumentParser(add_help=False)
        options.add_argument("--raw-dir", default=default, help="landing zone of release files (default data/raw)")
        options.add_argument("--home", default=default, help="folder for all state (env CITYTRADE_HOME, default .citytrade/)")
        options.add_argument("--debug", action="store_true", default=default or False, help="print the traceback of an error")
        options.add_argument("--target", default=default, choices=TARGETS,
                             help="dbt target the models build on (env CITYTRADE_DBT_TARGET, default duckdb; docs/scaling.md)")
        return options

    common = state_options(argparse.SUPPRESS)
    parser = Parser(prog="citytrade", description=__doc__, parents=[state_options(None)])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", parents=[common], help="the whole pipeline as a Prefect flow: ingest, build, validate, publish")
    run.add_argument("--wait", action="store_true", help="wait for another run on the same home instead of refusing")
    run.add_argument("-v", "--verbose", action="store_true", help="also print Prefect's logs and one line per dbt node")
    run.set_defaults(handler=cmd_run)

    for name, helptext, handler in (
        ("ingest", "load new or changed releases; quarantine bad files and rows", cmd_ingest),
        ("build", "dbt build of every model with the current row verdicts, with the dbt unit tests", cmd_build),
        ("validate", "run the GX checkpoints (row_gate, mart_gate) and record verdicts and alerts", cmd_validate),
        ("publish", "run the mart gate and, if it passes, publish the marts", cmd_publish),
    ):
        stage = commands.add_parser(name, parents=[common], help=helptext)
        stage.add_argument("--wait", action="store_true", help="wait for another run on the same home instead of refusing")
        stage.set_defaults(handler=handler)

    status = commands.add_parser("status", parents=[common], help="last runs, what is published, open alerts, quarantine")
    status.set_defaults(handler=cmd_status)

    alerts = commands.add_parser("alerts", parents=[common], help="open quality alerts, errors first")
    alerts.add_argument("--all", action="store_true", help="every alert ever raised, not only the latest run's")
    alerts.set_defaults(handler=cmd_alerts)

    extract = commands.add_parser("extract", parents=[common], help="what a press-text-v1 release would load and what it refuses, with quotes; loads nothing")
    extract.add_argument("file", help="a .txt or .html press release, its <stem>.meta.yaml beside it")
    extract.add_argument("--json", action="store_true", help='print {"figures": [...], "refused": [...]} (docs/schemas/extract.schema.json)')
    extract.set_defaults(handler=cmd_extract)

    rankings = commands.add_parser("rankings", parents=[common], help="a ranking table from the published marts (or JSON)")
    rankings.add_argument("--year", type=int, help="year (default: the latest with figures through --month-to)")
    rankings.add_argument("--month-to", type=_month, default=12, help="last month of the year-to-date window (default 12: full year)")
    rankings.add_argument("--basis", default="firm_location", choices=["firm_location", "destination_source", "port"],
                          help="attribution basis (default firm_location)")  # fmt: skip
    rankings.add_argument("--by", default="total", choices=["total", "exports", "imports"], help="the figure to rank by (default total)")
    rankings.add_argument("--level", default="city", choices=["city", "province"])
    rankings.add_argument("--top", type=_positive, default=20, help="how many rows (default 20)")
    rankings.add_argument("--json", action="store_true", help="JSON for scripts instead of a table")
    rankings.set_defaults(handler=cmd_rankings)

    generate = commands.add_parser("generate", parents=[common], help="write synthetic releases (synthetic: true) for tests and benchmarks")
    generate.add_argument("--out", required=True, help="landing zone to write into (never the sample's data/raw)")
    generate.add_argument("--years", type=int, required=True, help="years of monthly year-to-date releases")
    generate.add_argument("--seed", type=int, default=0, help="same seed, same bytes (default 0)")
    generate.add_argument("--start-year", type=int, default=2018, help="first year (default 2018)")
    generate.add_argument("--months", type=int, default=None, help="the last year only through this month (2-12)")
    generate.add_argument("--detail-rows", type=int, default=0, help="also write exactly this many citytrade-detail-v1 rows (an error if the years cannot hold them)")
    generate.add_argument("--faults", type=int, default=0, help="inject this many faults, listed in <out>/FAULTS.json")
    generate.set_defaults(handler=cmd_generate)
    return parser


# ---- commands


RUN_CHILD_ENV = "CITYTRADE_RUN_CHILD"  # set in the process that runs the flow under a supervising `citytrade run`
STOP_SECONDS = 4  # how long an interrupted run has to record its end before it is killed


def cmd_run(settings: Settings, args) -> int:
    """The flow runs in a child process of its own session, and this process supervises it. A terminal's Ctrl-C
    goes to this process alone: Prefect's ephemeral API server, which Prefect starts in the flow's process group,
    would otherwise stop at once and leave the interrupted run retrying its last calls to it for minutes. The
    child gets the interrupt instead, records its end while its server still answers, and is killed after
    STOP_SECONDS if it has not ended."""
    if os.environ.get(RUN_CHILD_ENV):
        return run_flow(settings, args)
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    child = subprocess.Popen([sys.executable, "-m", "citytrade.cli.main", *args.argv], env={**os.environ, RUN_CHILD_ENV: "1"},
                             start_new_session=True, preexec_fn=interrupt_when_parent_dies)  # fmt: skip
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a stop from a supervisor is an interrupt too
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)
    try:
        return child.wait(timeout=STOP_SECONDS)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        os.killpg(child.pid, signal.SIGKILL)  # the run and everything it started; the OS drops the run lock
        child.wait()
    report = _last_report(settings)
    if report.get("status") == "interrupted" and report.get("started_at", "") >= started:  # it recorded its end
        print(interrupted_line(report), file=sys.stderr)
    else:
        print(f"citytrade: interrupted; the run did not end within {STOP_SECONDS} s and was killed: "
              "what it committed stays, the next run goes on from there", file=sys.stderr)  # fmt: skip
    return EXIT_INTERRUPTED


def interrupt_when_parent_dies() -> None:
    """In the run's process, before it starts: SIGINT when the supervising `citytrade run` dies, even by SIGKILL
    (Linux's PR_SET_PDEATHSIG), so that the run ends as on Ctrl-C instead of going on unwatched."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG


def interrupted_line(report: dict) -> str:
    loaded = len(report.get("releases_loaded") or [])
    return f"citytrade: interrupted; {loaded} release(s) committed to the warehouse, nothing published: the next run goes on from there"


def run_flow(settings: Settings, args) -> int:
    """The pipeline flow, on the Prefect API configured (PREFECT_API_URL), else on Prefect's ephemeral one. Prefect's
    console shows warnings and errors only, unless --verbose (every log still goes to the Prefect API)."""
    from citytrade.cli.progress import stage_progress
    from citytrade.pipeline import PublishBlocked

    from citytrade.scheduling import interrupt

    signal.signal(signal.SIGINT, interrupt)
    if not args.verbose:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    print(f"citytrade: run on {settings.raw_dir} -> {settings.home}", file=sys.stderr)
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    with stage_progress(enabled=sys.stderr.isatty()) as progress:  # a terminal gets a bar over the stages
        from flows.run_pipeline import run_pipeline

        if progress is not None:
            progress.attach()
        try:
            run_pipeline(raw_dir=str(settings.raw_dir), home=str(settings.home), wait_for_lock=args.wait, target=settings.target)
        except PublishBlocked:
            print_summary(_last_report(settings))
            raise
        except KeyboardInterrupt:
            interrupted = True
        else:
            interrupted = False
    if interrupted:
        report = _last_report(settings)
        this_run = report.get("status") == "interrupted" and report.get("started_at", "") >= started
        print(interrupted_line(report if this_run else {}), file=sys.stderr)
        return EXIT_INTERRUPTED
    print_summary(_last_report(settings))
    return EXIT_OK


def cmd_ingest(settings: Settings, args) -> int:
    from citytrade import pipeline, warehouse

    run_id = pipeline.new_run_id()
    with pipeline.run_lock(settings, wait=args.wait):
        summary = pipeline.ingest_stage(settings, run_id, progress=_print_ingest_progress)
        with warehouse.open_warehouse(settings.warehouse_path) as con:
            pipeline.record_for_readers(settings, con, run_id, summary.problems + summary.standing_problems)
    for line in summary.problems:
        print(f"quarantined {line}", file=sys.stderr)
    print(f"citytrade: loaded {len(summary.loaded)} release(s), {summary.rows_loaded} rows; {summary.unchanged} unchanged; "
          f"{summary.rows_quarantined} row(s) and {len(summary.rejected)} file(s) quarantined")  # fmt: skip
    return EXIT_OK


def cmd_build(settings: Settings, args) -> int:
    """`dbt build` of every model with every test, the dbt unit tests among them, on the stored row verdicts."""
    from citytrade import pipeline
    from citytrade.transform import build

    with pipeline.run_lock(settings, wait=args.wait):
        statuses = build.build_models(settings, all_tests=True)
    units = sum(1 for node in statuses if node.startswith("unit test "))
    print(f"citytrade: dbt built {len(statuses)} nodes, {units} of them unit tests")
    return EXIT_OK


def cmd_validate(settings: Settings, args) -> int:
    from citytrade import pipeline, warehouse
    from citytrade.quality import gates

    run_id = pipeline.new_run_id()
    with pipeline.run_lock(settings, wait=args.wait):
        row_gate, _ = pipeline.audit_rows_stage(settings, run_id)
        mart_gate, _ = pipeline.audit_marts_stage(settings, run_id)
        gates.build_data_docs(settings, row_gate, mart_gate)
        with warehouse.open_warehouse(settings.warehouse_path) as con:
            pipeline.record_for_readers(settings, con, run_id, None)
    for gate in (row_gate, mart_gate):
        print(gate.summary())
        for finding in gate.findings:
            print(f"  {finding.severity:7} {finding.dataset}.{finding.check_name}: {finding.unexpected_count} row(s)"
                  + (f" could not run: {finding.could_not_run}" if finding.could_not_run else ""))  # fmt: skip
    return EXIT_OK if mart_gate.passed else EXIT_BLOCKED


def cmd_publish(settings: Settings, args) -> int:
    from citytrade import pipeline

    run_id = pipeline.new_run_id()
    with pipeline.run_lock(settings, wait=args.wait):
        mart_gate, _ = pipeline.audit_marts_stage(settings, run_id)
        if not mart_gate.passed:
            raise pipeline.PublishBlocked(f"nothing published: {mart_gate.summary()}")
        result = pipeline.publish_stage(settings, run_id)
        pipeline.publish_readers_pages(settings, run_id)  # dbt docs and report.html of this publish
    print(f"citytrade: published {len(result.marts)} marts to {result.database}")
    return EXIT_OK


def cmd_status(settings: Settings, args) -> int:
    from citytrade.cli import readers

    print(readers.status_text(settings))
    return EXIT_OK


def cmd_alerts(settings: Settings, args) -> int:
    from citytrade.cli import readers

    alerts = readers.open_alerts(settings, include_all=args.all)
    if not alerts:
        print("no open alerts")
    for alert in alerts:
        print(f"{alert['severity']:7} {alert['check_name']:24} {alert['message']}")
    return EXIT_OK


def cmd_rankings(settings: Settings, args) -> int:
    from citytrade.cli import readers

    rows = readers.ranking_rows(settings, year=args.year, month_to=args.month_to, basis=args.basis, by=args.by, level=args.level, top=args.top)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return EXIT_OK
    from rich.console import Console

    # a terminal gets its own width and colours; a pipe or file gets plain text wide enough for one row per line
    console = Console() if sys.stdout.isatty() else Console(width=132, no_color=True, soft_wrap=False)
    console.print(readers.ranking_table(rows, by=args.by))
    return EXIT_OK


def cmd_extract(settings: Settings, args) -> int:
    """Preview a press release: the figures the extractor reads and the ones it refuses, each with its quote."""
    from citytrade.ingest.areas import default_resolver
    from citytrade.ingest.parsers.press_text_v1 import extract_release
    from citytrade.ingest.releases import ReleaseError, release_for_file

    try:
        release = release_for_file(Path(args.file))
        if release.format != "press-text-v1":
            raise UsageError(f"{args.file}: extract reads press-text-v1 releases; its sidecar says format '{release.format}'")
        extraction, encoding = extract_release(release, default_resolver())
    except ReleaseError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    figures = [figure.public() for figure in extraction.figures]
    refused = [refusal.public() for refusal in extraction.refused]
    if args.json:
        print(json.dumps({"figures": figures, "refused": refused}, ensure_ascii=False, indent=2))
        return EXIT_OK
    from rich.console import Console

    from citytrade.cli import readers

    console = Console() if sys.stdout.isatty() else Console(width=160, no_color=True, soft_wrap=False)
    console.print(f"{args.file} ({encoding}): {len(figures)} figure(s) would be loaded, {len(refused)} refused")
    console.print(readers.extracted_table(figures, refused))
    return EXIT_OK


def cmd_generate(settings: Settings, args) -> int:
    from citytrade.config import PROJECT_ROOT
    from citytrade.synthetic import generate

    out = Path(args.out).resolve()
    sample = (PROJECT_ROOT / "data" / "raw").resolve()
    if out == sample or sample in out.parents:
        raise UsageError(f"{out} is inside the sample landing zone {sample}: generate synthetic releases into a separate folder")
    try:
        summary = generate(out, years=args.years, seed=args.seed, start_year=args.start_year, last_year_months=args.months,
                           detail_rows=args.detail_rows, faults=args.faults)  # fmt: skip
    except ValueError as exc:  # arguments out of range
        raise UsageError(str(exc)) from None
    print(f"citytrade: wrote {summary.files} release(s), {summary.rows} rows"
          + (f"; {summary.detail_files} detail file(s), {summary.detail_rows} rows" if summary.detail_files else "")
          + (f"; {len(summary.faults)} fault(s) listed in {out / 'FAULTS.json'}" if summary.faults else "")
          + f" to {out} (synthetic, seed {args.seed})")  # fmt: skip
    return EXIT_OK


# ---- helpers


def _month(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 12:
        raise argparse.ArgumentTypeError(f"month must be 1-12, not {value}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _print_ingest_progress(done: int, total: int, path: str, outcome: str) -> None:
    """One line per release as it is committed, so long loads show progress."""
    print(f"ingest [{done}/{total}] {outcome}: {path}", file=sys.stderr, flush=True)


def _last_report(settings: Settings) -> dict:
    from citytrade.cli.readers import runs_from_log

    runs = runs_from_log(settings, 1)
    return runs[0] if runs else {}


def print_summary(report: dict) -> None:
    """What a run did, in a few lines: quarantined files and new errors on stderr, the counts on stdout."""
    if not report:
        return
    for line in report.get("problems") or []:
        print(f"quarantined {line}", file=sys.stderr)
    alerts = report.get("new_alerts") or []
    for alert in alerts:
        if alert["severity"] == "error" and alert["check_name"] != "ingest_quarantine":
            print(f"error {alert['check_name']}: {alert['message']}", file=sys.stderr)
    errors = sum(1 for alert in alerts if alert["severity"] == "error")
    print(f"citytrade: {report['status']}: {report['message']}")
    print(f"  releases: {len(report.get('releases_loaded') or [])} loaded, {report.get('releases_unchanged', 0)} unchanged, "
          f"{len(report.get('quarantine') or [])} quarantined")  # fmt: skip
    print(f"  rows: {report.get('rows_loaded', 0)} loaded, {report.get('rows_quarantined', 0)} quarantined, "
          f"{report.get('rows_kept_out', 0)} kept out of the marts by the row gate")  # fmt: skip
    print(f"  new alerts: {errors} error(s), {len(alerts) - errors} warning(s)")


if __name__ == "__main__":
    sys.exit(main())
