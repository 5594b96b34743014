"""Quality gate: run the committed GX checkpoints on warehouse relations and turn their results into verdicts and alerts."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import yaml

from citytrade.config import EXPECTATIONS_DIR, Settings

log = logging.getLogger(__name__)

# Extracts are Arrow IPC (Feather) files, uncompressed: written and read back without decoding, several times
# faster than Parquet for these short-lived files (issue #8).
EXTRACT_SUFFIX = "arrow"

SEVERITY = {"critical": "error", "warning": "warning", "info": "info"}  # info: noted (a revision), never blocks


class CheckCouldNotRun(RuntimeError):
    """A checkpoint or expectation raised instead of judging: the gate fails, never passes silently."""


@dataclass
class Finding:
    """One expectation that failed (or could not run) on one dataset."""

    checkpoint: str
    dataset: str
    check_name: str
    expectation: str
    severity: str  # "error" or "warning"
    unexpected_ids: list[str] = field(default_factory=list)
    unexpected_count: int = 0
    could_not_run: str | None = None
    details: list[dict] = field(default_factory=list)  # one per unexpected row: message, observed, expected, ...
    explains: str = ""  # the suite's plain-words statement of what should hold


@dataclass
class GateResult:
    """The outcome of one checkpoint run."""

    checkpoint: str
    blocks: str
    expectations_run: int
    findings: list[Finding]
    docs_resources: list = field(default_factory=list)  # GX identifiers of this run's results and suites, for build_data_docs

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.errors

    def error_row_ids(self) -> set[str]:
        return {row_id for finding in self.errors for row_id in finding.unexpected_ids}

    def summary(self) -> str:
        if self.passed:
            return f"{self.checkpoint}: passed {self.expectations_run} expectations ({len(self.warnings)} with warnings)"
        names = sorted({f"{f.dataset}.{f.check_name}" for f in self.errors})
        return f"{self.checkpoint}: {len(self.errors)} failing expectation(s): {', '.join(names)}"


def load_checkpoint_spec(name: str, expectations_dir: Path = EXPECTATIONS_DIR) -> dict:
    with open(expectations_dir / "checkpoints" / f"{name}.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_suite(name: str, expectations_dir: Path = EXPECTATIONS_DIR) -> dict:
    with open(expectations_dir / "suites" / f"{name}.json", encoding="utf-8") as handle:
        return json.load(handle)


def extract_datasets(con: duckdb.DuckDBPyConnection, spec: dict, extracts_dir: Path, expectations_dir: Path = EXPECTATIONS_DIR) -> None:
    """Copy each relation the checkpoint validates to an Arrow file GX reads.

    Each relation is computed once (the check models are views). Its id column must be unique and not null, or
    verdicts could not be tied to rows: the gate cannot run then (CheckCouldNotRun), it does not pass.
    """
    import pyarrow as pa

    extracts_dir.mkdir(parents=True, exist_ok=True)

    def extract(validation: dict) -> None:
        cursor = con.cursor()  # its own cursor: DuckDB computes two relations at once, one per core
        try:
            columns = needed_columns(validation, load_suite(validation["suite"], expectations_dir), cursor)
            table = cursor.sql(f"select {columns} from {validation['relation']}").to_arrow_table()
        finally:
            cursor.close()
        # an Arrow IPC file is Feather version 2, uncompressed; written by pyarrow.ipc, not pyarrow.feather, which
        # asks pyarrow's pandas shim whether the table is a pandas frame: that imports pandas, 0.3 CPU s of the run
        with pa.OSFile(str(extracts_dir / f"{validation['dataset']}.{EXTRACT_SUFFIX}"), "wb") as sink:
            with pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
        _check_row_ids(spec["name"], validation, table)

    # two at a time: the row gate's seven views took 0.8-0.95 s one after the other (issue #8)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="gx-extract") as pool:
        for future in [pool.submit(extract, validation) for validation in spec["validations"]]:
            future.result()  # the first relation that cannot be extracted, in the spec's order, fails the gate


def needed_columns(validation: dict, suite: dict, con: duckdb.DuckDBPyConnection) -> str:
    """The select list of an extract: the id and the columns the suite's expectations judge, in table order, each
    of a type GX's pandas engine compares in bulk.

    The check relations carry every intermediate measure and a message per row (up to 44 columns); GX hashes and
    reads every column of its batch, and DuckDB computes only the selected columns of a view, so an extract of
    what is judged is faster (issue #8). The alerts' words are read afterwards, for the failing rows only
    (_row_details). An expectation this cannot read the columns of (a row_condition, a table-level expectation)
    keeps them all.
    """
    wanted: set | None = {validation.get("id_column")}
    for expectation in suite.get("expectations", []):
        kwargs = expectation.get("kwargs", {})
        if kwargs.get("row_condition") or not expectation["type"].startswith(("expect_column", "expect_compound_columns", "expect_multicolumn")):
            wanted = None
            break
        for key, value in kwargs.items():
            if key.startswith("column"):
                wanted |= set(value) if isinstance(value, list) else {value}
    relation = con.sql(f"select * from {validation['relation']} limit 0")
    kept = [(name, str(kind)) for name, kind in zip(relation.columns, relation.types) if wanted is None or name in wanted]
    return ", ".join(_bulk_comparable(name, kind) for name, kind in kept) or "*"


# GX's pandas engine compares a column with a bound in bulk only when its dtype is int64, float64 or a datetime;
# any other (int32, or a DuckDB HUGEINT or DECIMAL, which pandas holds as Python objects) is compared row by row
# in Python: 0.36 s of the row gate on 7 years for two HUGEINT counts.
_AS_BIGINT = {"TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT", "UINTEGER"}
_AS_DOUBLE = {"HUGEINT", "UHUGEINT", "UBIGINT", "FLOAT"}


def _bulk_comparable(name: str, kind: str) -> str:
    quoted = '"' + name.replace('"', '""') + '"'
    if kind in _AS_BIGINT:
        return f"cast({quoted} as bigint) as {quoted}"
    if kind in _AS_DOUBLE or kind.startswith("DECIMAL"):
        return f"cast({quoted} as double) as {quoted}"
    return quoted


def _check_row_ids(checkpoint: str, validation: dict, table) -> None:
    id_column = validation.get("id_column")
    if not id_column:
        return
    import pyarrow.compute as pc  # not pandas: the run's own process does not import it (0.3 CPU s)

    ids = table.column(id_column)
    nulls = ids.null_count
    counts = pc.value_counts(ids.drop_null())  # in order of first appearance
    duplicated = [value for value, count in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()) if count > 1]
    if nulls or duplicated:
        example = f", e.g. {duplicated[0]}" if duplicated else ""
        raise CheckCouldNotRun(
            f"checkpoint {checkpoint} could not run: {validation['relation']}.{id_column} has {nulls} null(s) and "
            f"{len(duplicated)} duplicated value(s){example}"
        )


def run_checkpoint(
    settings: Settings, name: str, con: duckdb.DuckDBPyConnection, expectations_dir: Path = EXPECTATIONS_DIR,
    meanwhile: Callable[[], None] | None = None,
) -> GateResult:  # fmt: skip
    """Run checkpoint `name` of expectations/checkpoints against the warehouse; never lets an error pass as success.

    This process extracts the relations; GX runs in the run's GX worker process when one is running
    (citytrade.gx_worker), otherwise here: the same function either way. `meanwhile` is called in this process
    while the worker validates (without a worker: after GX), e.g. to stage the publish the gate will allow or not;
    an error of either is raised, GX's answer is read first either way.
    """
    pending = start_checkpoint(settings, name, con, expectations_dir)
    if pending.ticket is None:
        await_checkpoint(pending)
        if meanwhile is not None:
            meanwhile()
    else:
        try:
            if meanwhile is not None:
                meanwhile()
        finally:
            await_checkpoint(pending)  # read even after an error of `meanwhile`: the worker answers in order
    return finish_checkpoint(pending, con)


@dataclass
class PendingCheckpoint:
    """A checkpoint whose relations are extracted: the GX worker validates them (`ticket`) while the run goes on,
    or, without a worker, GX runs here when its outcome is awaited. Plain data, kept once received (a retried
    task reads it again)."""

    name: str
    spec: dict
    request: dict
    ticket: int | None = None
    outcome: dict | None = None


def start_checkpoint(settings: Settings, name: str, con: duckdb.DuckDBPyConnection, expectations_dir: Path = EXPECTATIONS_DIR) -> PendingCheckpoint:
    """Extract the relations of checkpoint `name` and hand them to the GX worker, if one runs; finish_checkpoint
    reads the verdicts. The warehouse (`con`) is not needed in between: another process may build meanwhile."""
    from citytrade import gx_worker

    spec = load_checkpoint_spec(name, expectations_dir)
    extracts_dir = settings.gx_dir / "extracts" / name
    extract_datasets(con, spec, extracts_dir, expectations_dir)
    request = {"gx_dir": str(settings.gx_dir), "spec": spec, "extracts_dir": str(extracts_dir), "expectations_dir": str(expectations_dir)}
    worker = gx_worker.current()
    return PendingCheckpoint(name, spec, request, ticket=worker.send("checkpoint", request) if worker is not None else None)


def await_checkpoint(pending: PendingCheckpoint) -> dict:
    """GX's outcome of a started checkpoint: the worker's answer, or GX run here (no worker)."""
    from citytrade import gx_worker

    if pending.outcome is None:
        if pending.ticket is None:
            pending.outcome = gx_checkpoint(**pending.request)
        else:
            worker = gx_worker.current()
            if worker is None:
                raise CheckCouldNotRun(f"checkpoint {pending.name} could not run: the GX worker validating it has stopped")
            pending.outcome = worker.receive(pending.ticket)
    return pending.outcome


def finish_checkpoint(pending: PendingCheckpoint, con: duckdb.DuckDBPyConnection) -> GateResult:
    """The verdicts of a started checkpoint, with the failing rows' details read from the warehouse (`con`)."""
    outcome = await_checkpoint(pending)
    gate = _read_result(pending.name, pending.spec, outcome, con)
    gate.docs_resources = outcome["docs_resources"]
    return gate


def settle_checkpoint(pending: PendingCheckpoint) -> None:
    """A run that fails with a checkpoint under way still takes the worker's answer (a served worker then owes the
    next run none); its failure is logged, not raised: the run reports its own error."""
    from citytrade import gx_worker

    worker = gx_worker.current()
    if pending.outcome is not None or worker is None or not worker.owes(pending.ticket):
        return
    try:
        await_checkpoint(pending)
    except Exception as exc:  # noqa: BLE001  (the run is failing already; this must not replace its error)
        log.warning("checkpoint %s of a failed run ended: %s", pending.name, exc)


_last_checkpoint_resources: list = []  # the Data Docs resources of the last checkpoint GX ran in this process


def gx_checkpoint(gx_dir: str, spec: dict, extracts_dir: str, expectations_dir: str) -> dict:
    """Run one checkpoint on its extracts with GX; returns its results as plain data (what _read_result reads)."""
    _last_checkpoint_resources.clear()
    checkpoint = _build_checkpoint(Path(gx_dir), spec, Path(extracts_dir), Path(expectations_dir))
    try:
        result = checkpoint.run()
    except Exception as exc:  # a checkpoint that cannot run is a failed gate
        raise CheckCouldNotRun(f"checkpoint {spec['name']} could not run: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
    validations = []
    for validation_result in result.run_results.values():
        expectations = []
        for expectation_result in validation_result.results:
            config = expectation_result.expectation_config
            details = expectation_result.result or {}
            expectations.append({
                "type": config.type,
                "meta": dict(config.meta or {}),
                "severity": str(getattr(config, "severity", "critical")).split(".")[-1].lower(),
                "success": bool(expectation_result.success),
                "exception_info": expectation_result.exception_info or {},
                "unexpected_count": int(details.get("unexpected_count") or 0),
                "unexpected_index_list": details.get("unexpected_index_list") or [],
            })  # fmt: skip
        validations.append({
            "suite_name": validation_result.suite_name,
            "asset": (validation_result.meta.get("active_batch_definition") or {}).get("data_asset_name"),
            "expectations": expectations,
        })  # fmt: skip
    resources = _docs_resources(result)
    _last_checkpoint_resources.extend(resources)
    return {"validations": validations, "docs_resources": resources}


def build_data_docs(settings: Settings, *gates: GateResult) -> int:
    """Build the Data Docs pages of these checkpoint runs and the index, once, and make them readable offline.

    Called once per run after the mart gate: GX's UpdateDataDocsAction rebuilt the index (which lists every stored
    result) once per validation of every checkpoint, most of a gate's time (issue #8). With no gates: the whole site.
    Returns the pages made local.
    """
    return finish_data_docs(start_data_docs(settings, *gates))


@dataclass
class DataDocsBuild:
    """Data Docs being built: by the run's GX worker while the run goes on (a ticket), or already built here."""

    settings: Settings
    ticket: int | None = None


def start_data_docs(settings: Settings, *gates: GateResult, build_index: bool = True, with_last_checkpoint: bool = False) -> DataDocsBuild:
    """Start building the Data Docs of these gates; the GX worker builds them while this process goes on (issue
    #8). finish_data_docs waits for them and makes them readable offline. build_index=False renders only the
    gates' own pages (the index lists every stored result). with_last_checkpoint: the pages of the checkpoint the
    worker runs last before this request too, sent right after that checkpoint, before its answer is read: the
    flow's mart gate asks for both gates' pages and the index so, and the worker renders them while this process
    stages the publish (the last 0.2-0.3 s of a run before).
    """
    from citytrade import gx_worker

    resources = [resource for gate in gates for resource in gate.docs_resources]
    request = {"gx_dir": str(settings.gx_dir), "resources": resources, "build_index": build_index}
    if with_last_checkpoint:
        request["with_last_checkpoint"] = True
    worker = gx_worker.current()
    if worker is not None:
        return DataDocsBuild(settings, ticket=worker.send("docs", request))
    gx_data_docs(**request)
    return DataDocsBuild(settings)


def finish_data_docs(*builds: DataDocsBuild) -> int:
    """Wait for the Data Docs (CheckCouldNotRun if GX failed), then point them at the bundled assets; the pages."""
    from citytrade import gx_worker
    from citytrade.data_docs import data_docs_site, localise_data_docs

    tickets = [build.ticket for build in builds if build.ticket is not None]
    worker = gx_worker.current()
    if tickets and worker is None:
        raise CheckCouldNotRun("the GX worker that was building the Data Docs has stopped")
    for ticket in tickets:
        worker.receive(ticket)
    return localise_data_docs(data_docs_site(builds[0].settings.gx_dir))


def finish_data_docs_after_failure(build: DataDocsBuild) -> None:
    """A run that failed with Data Docs under way still waits for them: its row gate's pages, readable offline (the
    next run's index lists them), and a served GX worker owes no answer to the next run. A failure of the docs is
    logged, not raised: the run reports its own error."""
    try:
        finish_data_docs(build)
    except Exception as exc:  # noqa: BLE001  (the run is failing already; this must not replace its error)
        log.warning("the Data Docs of a failed run could not be finished: %s", exc)


def gx_data_docs(gx_dir: str, resources: list, build_index: bool = True, with_last_checkpoint: bool = False) -> None:
    """GX builds the Data Docs of these results and suites (plain, from _docs_resources), or of everything (none
    given); with those of the last checkpoint run here too (see start_data_docs), and of nothing if there are none."""
    if with_last_checkpoint:
        resources = [*resources, *_last_checkpoint_resources]
        if not resources:
            return
    import great_expectations as gx

    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier, ValidationResultIdentifier

    identifiers = [
        ValidationResultIdentifier.from_tuple(tuple(key)) if kind == "validation" else ExpectationSuiteIdentifier(name=key)
        for kind, key in resources
    ]  # fmt: skip
    _context(Path(gx_dir)).build_data_docs(resource_identifiers=identifiers or None, build_index=build_index)


def _docs_resources(result) -> list:
    """What UpdateDataDocsAction would have rendered: each validation result and the suite it ran, as plain data."""
    resources = []
    for identifier, validation_result in result.run_results.items():
        resources += [["validation", list(identifier.to_tuple())], ["suite", validation_result.suite_name]]
    return resources


def _build_checkpoint(gx_dir: Path, spec: dict, extracts_dir: Path, expectations_dir: Path):
    import great_expectations as gx

    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = _context(gx_dir)
    fingerprint = _checkpoint_fingerprint(spec, extracts_dir, expectations_dir)
    stored = _stored_fingerprints(gx_dir)
    if stored.get(spec["name"]) == fingerprint:
        # the same spec and suites as the stored checkpoint: reuse it rather than rewrite every config (issue #8)
        kept = _checkpoints.get((str(gx_dir), spec["name"]))
        if kept is not None and kept[0] == (fingerprint, id(context)):
            return kept[1]  # a long-lived GX worker (citytrade serve) read it already
        try:
            checkpoint = context.checkpoints.get(spec["name"])
            _checkpoints[(str(gx_dir), spec["name"])] = ((fingerprint, id(context)), checkpoint)
            return checkpoint
        except Exception as exc:  # missing or unreadable: write it again below
            log.info("stored GX checkpoint %s not reused (%s); writing it again", spec["name"], type(exc).__name__)
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # no tqdm noise in logs
    datasource = context.data_sources.add_or_update_pandas_filesystem(f"{spec['name']}_extracts", base_directory=str(extracts_dir))
    validation_definitions = []
    for validation in spec["validations"]:
        dataset = validation["dataset"]
        asset = datasource.add_feather_asset(dataset)
        batch = asset.add_batch_definition_path("whole_table", path=f"{dataset}.{EXTRACT_SUFFIX}")
        suite_json = load_suite(validation["suite"], expectations_dir)
        suite = context.suites.add_or_update(gx.ExpectationSuite(**suite_json))
        definition = gx.ValidationDefinition(name=f"{spec['name']}__{dataset}", data=batch, suite=suite)
        validation_definitions.append(context.validation_definitions.add_or_update(definition))
    id_columns = sorted({v["id_column"] for v in spec["validations"] if v.get("id_column")})
    result_format = {"result_format": "COMPLETE"}
    if id_columns:
        result_format["unexpected_index_column_names"] = id_columns
    checkpoint = gx.Checkpoint(
        name=spec["name"],
        validation_definitions=validation_definitions,
        actions=[],  # Data Docs: built once per run by build_data_docs, not once per validation
        result_format=result_format,
    )
    checkpoint = context.checkpoints.add_or_update(checkpoint)
    stored[spec["name"]] = fingerprint
    _fingerprints_path(gx_dir).write_text(json.dumps(stored, indent=1) + "\n", encoding="utf-8")
    _contexts[str(gx_dir)] = (_config_stamp(gx_dir), context)  # the config as this context wrote it
    _checkpoints[(str(gx_dir), spec["name"])] = ((fingerprint, id(context)), checkpoint)
    return checkpoint


# A GX worker that outlives its run (citytrade serve) keeps the data context and the checkpoints it read, while the
# context's config file is the one it read: reading them again cost each gate 0.2-0.4 s (issue #8).
_contexts: dict[str, tuple[tuple | None, object]] = {}
_checkpoints: dict[tuple[str, str], tuple[tuple, object]] = {}


def _context(gx_dir: Path):
    import great_expectations as gx

    from great_expectations.data_context.data_context.context_factory import project_manager

    import citytrade.gx_expectations  # noqa: F401  (registers citytrade's expectation before any suite is read)
    from great_expectations.execution_engine import pandas_execution_engine

    # GX hashes each batch below this size (a "pandas_data_fingerprint" among its batch markers, which citytrade
    # never reads): 0.1 of the row gate's 0.45-0.5 CPU s here. None is taken (issue #8).
    pandas_execution_engine.HASH_THRESHOLD = 0

    stamp = _config_stamp(gx_dir)
    kept = _contexts.get(str(gx_dir))
    if kept is not None and stamp is not None and kept[0] == stamp:
        project_manager.set_project(kept[1])  # what get_context does: checkpoints and stores find it there
        return kept[1]
    context = gx.get_context(mode="file", project_root_dir=str(gx_dir))
    _contexts[str(gx_dir)] = (_config_stamp(gx_dir), context)
    return context


def _config_stamp(gx_dir: Path) -> tuple | None:
    """Which config file the context was read from, and when it was written (None: there is none yet)."""
    try:
        stat = (gx_dir / "gx" / "great_expectations.yml").stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def _checkpoint_fingerprint(spec: dict, extracts_dir: Path, expectations_dir: Path) -> str:
    import great_expectations as gx

    suites = {v["suite"]: load_suite(v["suite"], expectations_dir) for v in spec["validations"]}
    material = {"spec": spec, "suites": suites, "extracts": f"{extracts_dir}/*.{EXTRACT_SUFFIX}", "gx": gx.__version__}
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def _fingerprints_path(gx_dir: Path) -> Path:
    return gx_dir / "citytrade_checkpoints.json"


def _stored_fingerprints(gx_dir: Path) -> dict:
    try:
        return json.loads(_fingerprints_path(gx_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _read_result(name: str, spec: dict, outcome: dict, con: duckdb.DuckDBPyConnection) -> GateResult:
    """Findings from gx_checkpoint's plain results; the alerts' words are read from the warehouse."""
    by_definition = {f"{spec['name']}__{v['dataset']}": v for v in spec["validations"]}
    findings: list[Finding] = []
    expectations_run = 0
    for validation_result in outcome["validations"]:
        validation = _match_validation(validation_result, by_definition)
        id_column = validation.get("id_column")
        for expectation in validation_result["expectations"]:
            expectations_run += 1
            meta = expectation["meta"]
            raised = _raised(expectation["exception_info"])
            if expectation["success"] and not raised:
                continue
            finding = Finding(
                checkpoint=name,
                dataset=validation["dataset"],
                check_name=meta.get("check_name", expectation["type"]),
                expectation=expectation["type"],
                severity="error" if raised else SEVERITY.get(expectation["severity"], "error"),
                explains=meta.get("explains", ""),
            )
            if raised:
                finding.could_not_run = raised
            else:
                finding.unexpected_count = expectation["unexpected_count"]
                if id_column:
                    finding.unexpected_ids = [str(item[id_column]) for item in expectation["unexpected_index_list"]]
                    finding.details = _row_details(con, validation["relation"], id_column, finding.unexpected_ids, meta)
            findings.append(finding)
    return GateResult(checkpoint=name, blocks=spec.get("blocks", "publish"), expectations_run=expectations_run, findings=findings)


def _match_validation(validation_result: dict, by_definition: dict[str, dict]) -> dict:
    suite_name, asset = validation_result["suite_name"], validation_result["asset"]
    for validation in by_definition.values():
        if validation["dataset"] == asset or (asset is None and validation["suite"] == suite_name):
            return validation
    raise CheckCouldNotRun(f"result for suite {suite_name} matches no validation of the checkpoint")


def _raised(exception_info: dict) -> str | None:
    """GX nests exception info by metric when several metrics failed; any raised one counts."""
    if not exception_info:
        return None
    if "raised_exception" in exception_info:
        return (exception_info.get("exception_message") or "raised").splitlines()[0] if exception_info["raised_exception"] else None
    for value in exception_info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return (value.get("exception_message") or "raised").splitlines()[0]
    return None


def _row_details(con: duckdb.DuckDBPyConnection, relation: str, id_column: str, ids: list[str], meta: dict) -> list[dict]:
    """What an alert says about each failing row: read from the relation for those rows only."""
    if not ids:
        return []
    result = con.execute(
        f'select * from {relation} where cast("{id_column}" as varchar) in (select unnest(?::varchar[]))', [list(ids)]
    )
    names = [column[0] for column in result.description]
    details = []
    for record in (dict(zip(names, row)) for row in result.fetchall()):
        details.append(
            {
                "id": str(record[id_column]),
                "area_code": record.get("area_code"),
                "period_label": record.get("period_label"),
                "release_id": record.get("release_id"),
                "source_file": record.get("source_file"),
                "message": _text(record.get(meta.get("message_column", ""))),
                "observed": _text(record.get(meta.get("observed_column", ""))),
                "expected": _text(record.get(meta.get("expected_column", ""))),
            }
        )
    return details


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


# ---- verdicts and alerts


def kept_out_rows(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The rows the stored verdicts keep out of the marts (int_trade_observations_validated reads the same)."""
    return frozenset(row_id for (row_id,) in con.execute("select distinct observation_id from audit.row_verdicts where severity = 'error'").fetchall())


def record_row_verdicts(con: duckdb.DuckDBPyConnection, gate: GateResult, run_id: str) -> int:
    """Replace the row verdicts with this run's: the checks re-judge every figure each run."""
    rows = [(row_id, f.check_name, "error", run_id) for f in gate.errors for row_id in f.unexpected_ids]
    con.execute("begin transaction")
    con.execute("delete from audit.row_verdicts")
    if rows:
        con.executemany("insert into audit.row_verdicts values (?, ?, ?, ?)", rows)
    con.execute("commit")
    return len(rows)


def alerts_from_gate(gate: GateResult) -> list[dict]:
    """One alert per failing row (row datasets) or per failing expectation (mart datasets).

    Info findings (a revision) are noted in the validation results and Data Docs, not alerted.
    """
    alerts = []
    for finding in gate.findings:
        if finding.severity == "info":
            continue
        if finding.could_not_run:
            alerts.append(_alert(finding, message=f"check {finding.check_name} on {finding.dataset} could not run: {finding.could_not_run}"))
        elif finding.details:
            for detail in finding.details:
                message = detail["message"] or f"{finding.dataset} row {detail['id']} fails {finding.check_name}"
                alerts.append(_alert(finding, message=message, **{k: detail[k] for k in ("area_code", "period_label", "observed", "expected", "release_id", "source_file")}, subject=detail["id"]))
        else:
            expected = f": expected {finding.explains}" if finding.explains else f" ({finding.expectation})"
            alerts.append(_alert(finding, message=f"{finding.unexpected_count} row(s) of {finding.dataset} fail {finding.check_name}{expected}",
                                 observed=str(finding.unexpected_count), expected="0"))
    return alerts


def quarantine_alerts(problems: list[str]) -> list[dict]:
    """Each quarantined file or row is an error alert too."""
    alerts = []
    for line in problems:
        path, _, reason = line.partition(": ")
        file_part = path.split(":")[0]
        alerts.append({
            "severity": "error", "check_name": "ingest_quarantine", "message": f"{line}", "source_file": file_part,
            "area_code": None, "period_label": None, "observed": reason, "expected": None, "release_id": None, "subject": path,
        })  # fmt: skip
    return alerts


def _alert(finding: Finding, message: str, subject: str = "", **fields) -> dict:
    return {
        "severity": finding.severity,
        "check_name": finding.check_name,
        "message": message,
        "subject": f"{finding.dataset}:{subject}",
        "area_code": fields.get("area_code"),
        "period_label": fields.get("period_label"),
        "observed": fields.get("observed"),
        "expected": fields.get("expected"),
        "release_id": fields.get("release_id"),
        "source_file": fields.get("source_file"),
    }


def record_alerts(con: duckdb.DuckDBPyConnection, alerts: list[dict], run_id: str) -> list[dict]:
    """Store alerts; the same finding seen again keeps its first id and detection time. Returns the new ones."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    new = []
    for alert in alerts:
        key = "|".join(str(alert.get(k) or "") for k in ("check_name", "subject", "observed", "expected", "message"))
        alert_id = hashlib.sha256(key.encode()).hexdigest()[:16]
        alert["alert_id"] = alert_id
        exists = con.execute("select 1 from audit.alerts where alert_id = ?", [alert_id]).fetchone()
        if exists:
            con.execute("update audit.alerts set last_seen_run_id = ? where alert_id = ?", [run_id, alert_id])
            continue
        con.execute(
            "insert into audit.alerts values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [alert_id, run_id, now, run_id, alert["severity"], alert["check_name"], alert["area_code"], alert["period_label"],
             alert["observed"], alert["expected"], alert["message"], alert["release_id"], alert["source_file"]],
        )  # fmt: skip
        new.append(alert)
    return new
