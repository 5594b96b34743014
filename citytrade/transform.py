"""Transform: build the dbt project against the warehouse, in-process, and say in one line what failed."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from citytrade import build_years
from citytrade.config import DBT_PROJECT_DIR, SEEDS_DIR, Settings, dbt_project_files


class BuildError(RuntimeError):
    """A dbt model or test failed; the message names the nodes."""


PRE_GATE = ["seeds", "staging", "intermediate"]
POST_GATE = ["intermediate.int_trade_observations_validated+", "marts"]
# The pre-gate build leaves out what depends on the row verdicts: the post-gate build makes it from this run's.
PRE_GATE_EXCLUDE = ["intermediate.int_trade_observations_validated+"]

# A run builds the models and runs the data tests, except two kinds that run in CI (`citytrade build`,
# tests/marts/test_dbt_unit_tests.py) instead of in every scheduled run (issue #8):
# - the dbt unit tests: they test the SQL, not the data;
# - the data tests of the marts tagged `mart_gate`: the GX mart gate (expectations/checkpoints/mart_gate.yml) judges
#   those marts in every run, with every check their dbt tests make, and decides whether the run publishes; the same
#   check made twice per run would be a second gate beside GX's.
RUN_EXCLUDES = ["--exclude-resource-type", "unit_test"]
MART_GATE_TESTS = "resource_type:test,tag:mart_gate"

_parsed: tuple[tuple, object] | None = None  # (what the manifest depends on, the manifest): parsed once per process


def build_models(
    settings: Settings, select: list[str], full_refresh: bool = False, all_tests: bool = False, exclude: list[str] | None = None
) -> dict[str, str]:
    """`dbt build --select ...`; returns node name -> status; raises BuildError on any error or test failure.

    Without `all_tests` (a scheduled run) the dbt unit tests and the data tests of the marts the GX mart gate judges
    are left out (RUN_EXCLUDES): CI runs them. In a run with a dbt worker process (citytrade.dbt_worker), the worker
    builds: the same function, there.
    """
    from citytrade import dbt_worker

    worker = dbt_worker.current()
    if worker is not None:
        options = {"select": select, "full_refresh": full_refresh, "all_tests": all_tests, "exclude": exclude}
        return worker.call("build", {**dbt_worker.settings_args(settings), **options})
    from dbt.cli.main import dbtRunner

    settings.apply_environment()
    project = project_fingerprint()  # None off DuckDB: nothing below is tracked there
    seeds_fingerprint = seeds_fingerprint_of_project() if "seeds" in select else None
    # not with all_tests (CI): its unit tests come with their models through indirect selection, which keep_views ends
    views_fingerprint = project if VIEW_FOLDERS & set(select) and not all_tests else None
    stage = _years_stage(select, exclude)
    held: dict[str, str] = {}
    years_basis = None
    with _bookkeeping(settings, project) as con:
        if con is not None:
            held = {} if full_refresh else held_fingerprints(con, settings)
            years_basis = build_years.prepare(con, stage, project, full_refresh)
    if seeds_fingerprint and held.get(SEEDS_TABLE) == seeds_fingerprint:
        # The warehouse's lookups are these very files: loading them again cost ~0.5 s a run (issue #8). Left out of
        # the selection, not excluded: a test of a model against a seed (relationships) still runs with its model.
        select = [name for name in select if name != "seeds"]
        seeds_fingerprint = None
    keep_views = views_fingerprint is not None and held.get(VIEWS_TABLE) == views_fingerprint
    if keep_views:
        views_fingerprint = None  # nothing to record: these views are the ones recorded
    args = ["build", *_common_args(settings), "--select", *[_selector(s) for s in select]]
    excluded = [_selector(s) for s in exclude or []] + ([] if all_tests else [MART_GATE_TESTS])
    if keep_views:
        # their tests still run: selected by their folder, not through their view (tests/marts/test_view_reuse.py)
        excluded.append("config.materialized:view")
        args += ["--indirect-selection", "empty"]
    if excluded:
        args += ["--exclude", *excluded]
    if not all_tests:
        args += RUN_EXCLUDES
    if full_refresh:
        args.append("--full-refresh")
    try:
        result = dbtRunner(manifest=parsed_manifest(settings), callbacks=_test_pause_callbacks(settings)).invoke(args)
    except BaseException:
        release_warehouse()
        with _bookkeeping(settings, project) as con:
            if con is not None:
                build_years.finish(con)
        raise
    release_warehouse()
    statuses: dict[str, str] = {}
    failures = []
    if result.result is not None:
        for node_result in result.result.results:
            name = node_result.node.name
            if str(node_result.node.resource_type).endswith("unit_test"):
                name = f"unit test {name}"
            status = str(node_result.status)
            statuses[name] = status
            if status in {"error", "fail", "runtime error"}:
                failures.append(f"{name}: {_first_cause(node_result.message) or status}")
    with _bookkeeping(settings, project) as con:
        if con is not None:
            build_years.finish(con)
            if not failures and result.success:  # what this build was made from, for the next one
                for table, fingerprint in ((SEEDS_TABLE, seeds_fingerprint), (VIEWS_TABLE, views_fingerprint)):
                    if fingerprint:
                        record_fingerprint(con, table, fingerprint)
                if years_basis is not None:
                    build_years.record(con, stage, years_basis)
    if failures:
        raise BuildError(f"dbt build failed on {len(failures)} node(s): " + "; ".join(failures))
    if not result.success:
        detail = str(result.exception).splitlines()[0] if result.exception else "see " + str(settings.dbt_log_dir)
        raise BuildError(f"dbt build failed: {detail}")
    return statuses


def _years_stage(select: list[str], exclude: list[str] | None) -> str | None:
    """The run's build this selection is (citytrade.build_years), if it is one."""
    if list(select) == PRE_GATE and list(exclude or []) == PRE_GATE_EXCLUDE:
        return "pre-gate"
    if list(select) == POST_GATE and not exclude:
        return "post-gate"
    return None


@contextmanager
def _bookkeeping(settings: Settings, project: str | None) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """The warehouse, between dbt's builds, for what they were made from; None off DuckDB or before it exists."""
    from citytrade.warehouse import connect

    if project is None or not settings.warehouse_path.exists():
        yield None
        return
    con = connect(settings.warehouse_path)  # read-write, as every stage opens it: one configuration per file and process
    try:
        yield con
    finally:
        con.close()


def _first_cause(message: str | None) -> str:
    """dbt's first line says only where ("Runtime Error in model x (path)"); the next line says what went wrong."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    if len(lines) > 1 and " Error in " in lines[0]:
        return f"{lines[0]}: {lines[1]}"
    return lines[0] if lines else ""


# ---- seeds loaded, and views made, again only when the project changed (issue #8)

SEEDS_TABLE = "audit.dbt_seeds_loaded"
VIEWS_TABLE = "audit.dbt_views_built"
VIEW_FOLDERS = {"staging", "intermediate"}  # the selections (PRE_GATE) whose models include views

# A view is its SQL, compiled from the project's files in this environment: while none of them changed since the
# warehouse's views were built, they need not be built again. The view materialization already skipped their DDL
# when their compiled SQL was the same (macros/view_materialization.sql); left out of the build, the 14 views also
# cost no node (a context, a compile, a materialization each): 0.17 CPU s a warm pre-gate build, more in a cold one.


def seeds_fingerprint_of_project() -> str | None:
    """sha256 over the seed files and the project config that types them; None off DuckDB (not tracked there)."""
    if os.environ.get("CITYTRADE_DBT_TARGET", "duckdb") != "duckdb":
        return None
    digest = hashlib.sha256()
    for path in [*sorted(SEEDS_DIR.glob("*.csv")), DBT_PROJECT_DIR / "dbt_project.yml"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def project_fingerprint() -> str | None:
    """sha256 over what a model's compiled SQL can depend on: every file of the dbt project (the seeds among them),
    the environment dbt reads (CITYTRADE_*, DBT_*: the warehouse's path among them) and the versions of dbt and its
    adapters (their macros); None off DuckDB (not tracked there). Views (VIEWS_TABLE) and the years a build computes
    (citytrade.build_years) are built again when it changed."""
    if os.environ.get("CITYTRADE_DBT_TARGET", "duckdb") != "duckdb":
        return None
    digest = hashlib.sha256(_package_versions().encode() + b"\0")
    for path in dbt_project_files():
        digest.update(str(path.relative_to(DBT_PROJECT_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    for key, value in sorted(os.environ.items()):
        if key.startswith(("CITYTRADE_", "DBT_")):
            digest.update(f"{key}={value}".encode() + b"\0")
    return digest.hexdigest()


def held_fingerprints(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, str]:
    """What the warehouse was built from, by table (SEEDS_TABLE, VIEWS_TABLE): each only while what it stands for
    is all there (every seed's table; every view of the project)."""
    seeds = {("lookup", path.stem) for path in SEEDS_DIR.glob("*.csv")}
    tables = {(schema, name) for schema, name in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()}
    views = {(schema, name) for schema, name in con.execute("select schema_name, view_name from duckdb_views() where not internal").fetchall()}
    held = {}
    for table, complete in ((SEEDS_TABLE, seeds <= tables), (VIEWS_TABLE, _project_views(settings) <= views)):
        if complete and tuple(table.split(".")) in tables:
            row = con.execute(f"select fingerprint from {table}").fetchone()
            if row:
                held[table] = row[0]
    return held


def _project_views(settings: Settings) -> set[tuple[str, str]]:
    """(schema, name) of every view model of the project, from the parsed manifest."""
    manifest = parsed_manifest(settings)
    return {
        (node.schema, node.alias) for node in manifest.nodes.values()
        if node.resource_type == "model" and node.config.materialized == "view"
    }  # fmt: skip


def record_fingerprint(con: duckdb.DuckDBPyConnection, table: str, fingerprint: str) -> None:
    con.execute("create schema if not exists audit")
    con.execute(f"create or replace table {table} as select ? as fingerprint, now() as recorded_at", [fingerprint])


def parsed_manifest(settings: Settings):
    """The project's manifest, parsed once per process and reused by every later dbt invocation of the run.

    Each `dbtRunner().invoke` otherwise loads and re-checks the partial-parse file and writes the manifest again:
    about 1 s per invocation here (issue #8). The cache is keyed on the project's files (name, size, mtime) and the
    environment dbt reads, so an edited model or another home parses again.
    """
    global _parsed
    from dbt.cli.main import dbtRunner

    key = _manifest_key()
    if _parsed is not None and _parsed[0] == key:
        return _parsed[1]
    kept_schemas = _keep_json_schemas(settings)
    _skip_unlogged_events()
    _share_type_testers()
    result = dbtRunner().invoke(["parse", *_common_args(settings)])
    kept_schemas.save()
    if not result.success or result.result is None:
        detail = str(result.exception).splitlines()[0] if result.exception else "see " + str(settings.dbt_log_dir)
        raise BuildError(f"dbt could not parse the project: {detail}")
    _parsed = (key, result.result)
    return result.result


# ---- dbt's events that nothing would log, skipped (issue #8)

# dbt makes an event of everything it does (each SQL statement, each node's start and end, ...): a protobuf message
# built from a dict (json_format.ParseDict, in pure Python), wrapped in a second one and formatted as a log line,
# before the log's level drops it. A run logs warnings and errors only (_common_args) and passes no callback, so
# all but a few of the ~1,200 events of a post-gate build were made for nothing: 0.5-0.7 of its 2.3-2.6 CPU s here
# (median of eight builds; 1.85-2.16 s with no events at all). Skipped: an event below the warning level and below
# the level of every log dbt writes, unless a callback may take it (the test hook of _test_pause_callbacks takes
# all; dbt's own tracking callback only BehaviorChangeEvent, a warning). Its message is built only when something
# reads it; every other event is made and logged as dbt does.


def _skip_unlogged_events() -> None:
    """Install the two changes above in this process's dbt, once (before its first invocation: parsed_manifest)."""
    from dbt_common.events import base_types, event_manager
    from dbt_common.events.logger import _log_level_map

    from dbt.tracking import track_behavior_change_warn

    BaseEvent, EventManager = base_types.BaseEvent, event_manager.EventManager
    if getattr(EventManager.fire_event, "citytrade", False):
        return
    build, fire = BaseEvent.__init__, EventManager.fire_event
    warn = _log_level_map[base_types.EventLevel.WARN]

    def __init__(self, *args, **kwargs) -> None:
        object.__setattr__(self, "_citytrade_pending", (args, kwargs))  # dbt's __init__, when pb_msg is first read

    def get_message(self):
        fields = object.__getattribute__(self, "__dict__")
        if "_citytrade_message" not in fields:
            args, kwargs = fields["_citytrade_pending"]
            build(self, *args, **kwargs)  # sets self.pb_msg: set_message
        return fields["_citytrade_message"]

    def set_message(self, message) -> None:
        object.__getattribute__(self, "__dict__")["_citytrade_message"] = message

    def fire_event(self, e, level=None, node=None, force_warn_or_error_handling=False):
        callbacks_take_none = all(callback is track_behavior_change_warn for callback in self.callbacks)
        if callbacks_take_none and not force_warn_or_error_handling and type(e).__name__ != "PrintEvent":
            floor = min([warn, *(_log_level_map.get(logger.level, 0) for logger in self.loggers)])
            if _log_level_map.get(level or e.level_tag(), floor) < floor:
                return
        fire(self, e, level, node, force_warn_or_error_handling)

    fire_event.citytrade = True
    BaseEvent.__init__ = __init__
    BaseEvent.pb_msg = property(get_message, set_message)
    EventManager.fire_event = fire_event


# ---- dbt's agate type testers, built once per kind (issue #8)

# dbt turns every result it fetches (each test's count, each relation lookup of a materialization) into an agate
# table, and builds a new agate TypeTester for it first: seven data types, two of them a parsedatetime calendar
# each, and a Text type per text column (0.37 ms), or types an empty table with a new default one (0.23 ms): 57 and
# 60 times a post-gate build, 0.035 CPU s; about 0.08 s a cold run. A TypeTester keeps nothing between the tables
# it types (agate.TypeTester.run reads only its settings), and dbt itself shares one for all tables without text
# columns (DEFAULT_TYPE_TESTER): here each kind (its text columns, its null values) is built once per process and
# shared the same way. An empty table is made with no columns to type instead of typing none with a new default
# TypeTester.
_TYPE_TESTERS_KEPT = 256  # distinct kinds kept at most: a project's queries have a few dozen


def _share_type_testers() -> None:
    """Install the change above in this process's dbt, once (parsed_manifest)."""
    import agate
    from dbt_common.clients import agate_helper

    if getattr(agate_helper.build_type_tester, "citytrade", False):
        return
    build = agate_helper.build_type_tester
    kept: dict[tuple, agate.TypeTester] = {}

    def build_type_tester(text_columns, string_null_values=("null", "")):
        columns = frozenset(text_columns)
        key = (columns, None if string_null_values is None else tuple(string_null_values))
        tester = kept.get(key)
        if tester is None:
            if len(kept) >= _TYPE_TESTERS_KEPT:
                kept.clear()
            tester = kept[key] = build(columns, string_null_values)
        return tester

    def empty_table():
        return agate.Table(rows=[], column_types=())

    build_type_tester.citytrade = True
    build_type_tester.__wrapped__ = build
    agate_helper.build_type_tester = build_type_tester
    agate_helper.empty_table = empty_table


# ---- dbt's JSON schemas of its config classes, kept between processes (issue #8)

# dbt validates dbt_project.yml, profiles.yml and its flags against a JSON schema of each config class, which
# mashumaro builds from the class the first time in every process: 0.27 of the 0.8-1.0 CPU s of a cold run's parse,
# in the dbt worker, on the way to the run's first build. A schema depends only on the code of these packages: kept
# in the home, in a file named by their versions, a cold run reads them instead.
SCHEMA_PACKAGES = ("dbt-core", "dbt-common", "dbt-adapters", "dbt-duckdb", "dbt-postgres", "mashumaro")


class _KeptSchemas:
    """dbtClassMixin.json_schema, answered from the home's file where it holds the class (`install`)."""

    def __init__(self) -> None:
        self.schemas: dict[str, dict] = {}
        self.added = False
        self.path: Path | None = None

    def install(self, path: Path) -> _KeptSchemas:
        from dbt_common.dataclass_schema import dbtClassMixin

        if self.path is None:  # once per process: the original's own cache (lru_cache) stays behind this one
            build = dbtClassMixin.json_schema.__func__

            def json_schema(cls):
                key = f"{cls.__module__}.{cls.__qualname__}"
                schema = self.schemas.get(key)
                if schema is None:
                    schema = self.schemas[key] = build(cls)
                    self.added = True
                return schema

            dbtClassMixin.json_schema = classmethod(json_schema)
        if path != self.path:
            try:
                self.schemas = {**json.loads(path.read_text(encoding="utf-8")), **self.schemas}
            except (OSError, ValueError):  # none yet, or unreadable: built as dbt does, and written again
                self.added = True
            self.path = path
        return self

    def save(self) -> None:
        if self.added and self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            temporary.write_text(json.dumps(self.schemas, sort_keys=True), encoding="utf-8")
            os.replace(temporary, self.path)
            self.added = False


_kept_schemas = _KeptSchemas()


def _keep_json_schemas(settings: Settings) -> _KeptSchemas:
    versions = _package_versions()
    return _kept_schemas.install(settings.dbt_target_dir / f"json-schemas-{hashlib.sha256(versions.encode()).hexdigest()[:16]}.json")


def _package_versions() -> str:
    """The installed versions of dbt and what it builds its config classes and macros from (SCHEMA_PACKAGES)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "-"

    return " ".join(f"{package}=={installed(package)}" for package in SCHEMA_PACKAGES)


def _manifest_key() -> tuple:
    files = [(str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in dbt_project_files()]
    environment = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(("CITYTRADE_", "DBT_"))))
    return tuple(files), environment


def _common_args(settings: Settings) -> list[str]:
    """Where dbt finds the project and writes; no JSON artifacts: citytrade reads each build's results in-process,
    and writing manifest.json, run_results.json and graph.gpickle cost 1.1-1.4 s per run (issue #8). The docs
    (`citytrade.dbt_docs`) write their own manifest.json and catalog.json.

    No console log (`--log-level none`, not `--quiet`): citytrade reports each node and every failure itself, and
    with `--quiet` dbt still formats every event for the console before dropping it, ~0.8 CPU s per post-gate
    build here. The file log (`<home>/dbt/logs/dbt.log`) keeps dbt's warnings and errors, with their detail; set
    DBT_LOG_LEVEL_FILE=debug for every SQL statement dbt ran too. Its level is passed explicitly, because dbt makes
    the file's level follow `--log-level` (none: no file at all) unless it is set. Not debug by default: a debug
    file log cost 0.75 CPU s and 0.85 s wall per post-gate build here (median of 5, against none; info: 0.26 CPU s)."""
    return [*project_and_log_args(settings), "--no-write-json"]


def project_and_log_args(settings: Settings) -> list[str]:
    """Where dbt finds the project and writes, and how it logs (see _common_args); `citytrade.dbt_docs` too."""
    return [
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(settings.dbt_target_dir),
        "--log-path", str(settings.dbt_log_dir),
        "--log-level", "none",
        "--log-level-file", os.environ.get("DBT_LOG_LEVEL_FILE") or "warn",
    ]  # fmt: skip


def release_warehouse() -> None:
    """dbt-duckdb keeps the warehouse open until the process exits; close it, so that once a run drops the run
    lock the next run (queued with --wait) can open the warehouse at once. A no-op where dbt never connected (a run
    whose dbt worker built): importing dbt to find that out would cost 3 s."""
    if "dbt.adapters.duckdb.connections" not in sys.modules:
        return
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

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
