"""The `citytrade` command: run the pipeline or one stage, and read its state."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from citytrade.config import Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BLOCKED = 3
EXIT_LOCKED = 75


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = Settings.from_args(args.raw_dir, args.home)
    settings.apply_environment()  # before Prefect, dbt or GX are imported
    settings.ensure_dirs()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        return args.handler(settings, args)
    except KeyboardInterrupt:
        print("citytrade: interrupted", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # every failure ends as one line naming what went wrong
        from citytrade.pipeline import PublishBlocked, RunLocked, one_line

        if isinstance(exc, RunLocked):
            print(f"citytrade: {one_line(exc)}", file=sys.stderr)
            return EXIT_LOCKED
        if isinstance(exc, PublishBlocked):
            print(f"citytrade: {one_line(exc)}", file=sys.stderr)
            return EXIT_BLOCKED
        print(f"citytrade: {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    # The options are accepted before and after the command; a subcommand's absent option must not
    # overwrite the value given before it, hence SUPPRESS there and the defaults on the top parser.
    # (parents share their action objects, so the top parser gets its own copy of the options.)
    def state_options(default):
        options = argparse.ArgumentParser(add_help=False)
        options.add_argument("--raw-dir", default=default, help="landing zone of release files (default data/raw)")
        options.add_argument("--home", default=default, help="folder for all state (env CITYTRADE_HOME, default .citytrade/)")
        return options

    common = state_options(argparse.SUPPRESS)
    parser = argparse.ArgumentParser(prog="citytrade", description=__doc__, parents=[state_options(None)])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", parents=[common], help="the whole pipeline as a Prefect flow: ingest, build, validate, publish")
    run.add_argument("--wait", action="store_true", help="wait for another run on the same home instead of refusing")
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
    generate.add_argument("--detail-rows", type=int, default=0, help="also write at least this many citytrade-detail-v1 rows")
    generate.add_argument("--faults", type=int, default=0, help="inject this many faults, listed in <out>/FAULTS.json")
    generate.set_defaults(handler=cmd_generate)
    return parser


# ---- commands


def cmd_run(settings: Settings, args) -> int:
    """The pipeline flow, on the Prefect API configured (PREFECT_API_URL), else on Prefect's ephemeral one."""
    from citytrade.pipeline import PublishBlocked
    from citytrade.cli.progress import stage_progress

    print(f"citytrade: run on {settings.raw_dir} -> {settings.home}", file=sys.stderr)
    # a terminal gets a bar over the stages; logs and CI get Prefect's one line per finished task
    with stage_progress(enabled=sys.stderr.isatty()) as progress:
        from flows.run_pipeline import run_pipeline

        if progress is not None:
            progress.attach()
        try:
            report = run_pipeline(raw_dir=str(settings.raw_dir), home=str(settings.home), wait_for_lock=args.wait)
        except PublishBlocked:
            _print_problems(_last_report(settings))
            raise
    _print_problems(report.__dict__)
    print(f"citytrade: {report.message}")
    return EXIT_OK


def cmd_ingest(settings: Settings, args) -> int:
    from citytrade import pipeline

    run_id = pipeline.new_run_id()
    with pipeline.run_lock(settings, wait=args.wait):
        settings.ensure_dirs()
        summary = pipeline.ingest_stage(settings, run_id, progress=_print_ingest_progress)
    for line in summary.problems:
        print(f"quarantined {line}", file=sys.stderr)
    print(f"citytrade: loaded {len(summary.loaded)} release(s), {summary.rows_loaded} rows; {summary.unchanged} unchanged; "
          f"{summary.rows_quarantined} row(s) and {len(summary.rejected)} file(s) quarantined")  # fmt: skip
    return EXIT_OK


def cmd_build(settings: Settings, args) -> int:
    from citytrade import pipeline

    with pipeline.run_lock(settings, wait=args.wait):
        settings.ensure_dirs()
        statuses = pipeline.build_pre_gate_stage(settings, all_tests=True)
        statuses.update(pipeline.build_post_gate_stage(settings, all_tests=True))
    units = sum(1 for node in statuses if node.startswith("unit test "))
    print(f"citytrade: dbt built {len(statuses)} nodes, {units} of them unit tests")
    return EXIT_OK


def cmd_validate(settings: Settings, args) -> int:
    from citytrade import pipeline
    from citytrade.quality import gates

    run_id = pipeline.new_run_id()
    with pipeline.run_lock(settings, wait=args.wait):
        settings.ensure_dirs()
        row_gate, _ = pipeline.audit_rows_stage(settings, run_id)
        mart_gate, _ = pipeline.audit_marts_stage(settings, run_id)
        gates.build_data_docs(settings, row_gate, mart_gate)
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


def cmd_generate(settings: Settings, args) -> int:
    from citytrade.config import PROJECT_ROOT
    from citytrade.synthetic import generate

    out = Path(args.out).resolve()
    sample = (PROJECT_ROOT / "data" / "raw").resolve()
    if out == sample or sample in out.parents:
        raise ValueError(f"{out} is inside the sample landing zone {sample}: generate synthetic releases into a separate folder")
    summary = generate(out, years=args.years, seed=args.seed, start_year=args.start_year, last_year_months=args.months,
                       detail_rows=args.detail_rows, faults=args.faults)  # fmt: skip
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
    log = settings.log_dir / "runs.jsonl"
    if not log.exists():
        return {}
    lines = log.read_text(encoding="utf-8").strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def _print_problems(report: dict) -> None:
    for line in report.get("problems", []):
        print(f"quarantined {line}", file=sys.stderr)
    errors = [a for a in report.get("new_alerts", []) if a["severity"] == "error" and a["check_name"] != "ingest_quarantine"]
    for alert in errors:
        print(f"error {alert['check_name']}: {alert['message']}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
