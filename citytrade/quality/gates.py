"""Quality gate: run the committed GX checkpoints on warehouse relations and turn their results into verdicts and alerts."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml
from citytrade.config import EXPECTATIONS_DIR, Settings

log = logging.getLogger(__name__)

# Extracts are Arrow IPC (Feather) files, uncompressed: short-lived files, read back without decoding.
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
    """Copy each relation the checkpoint validates to an Arrow (Feather) file GX reads with its pandas engine.

    Its id column must be unique and not null, or verdicts could not be tied to rows: the gate cannot run then
    (CheckCouldNotRun), it does not pass.
    """
    import pyarrow.feather as feather

    extracts_dir.mkdir(parents=True, exist_ok=True)
    with con.cursor() as cursor:  # its own: whatever the caller left unfetched on `con` stays as it was
        for validation in spec["validations"]:
            columns = needed_columns(validation, load_suite(validation["suite"], expectations_dir), cursor)
            table = cursor.sql(f"select {columns} from {validation['relation']}").to_arrow_table()
            feather.write_feather(table, str(extracts_dir / f"{validation['dataset']}.{EXTRACT_SUFFIX}"), compression="uncompressed")
            _check_row_ids(spec["name"], validation, table)


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
    import pyarrow.compute as pc

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


def run_checkpoint(settings: Settings, name: str, con: duckdb.DuckDBPyConnection, expectations_dir: Path = EXPECTATIONS_DIR) -> GateResult:
    """Run checkpoint `name` of expectations/checkpoints against the warehouse; never lets an error pass as success."""
    spec = load_checkpoint_spec(name, expectations_dir)
    extracts_dir = settings.gx_dir / "extracts" / name
    extract_datasets(con, spec, extracts_dir, expectations_dir)
    checkpoint = _build_checkpoint(settings.gx_dir, spec, extracts_dir, expectations_dir)
    try:
        result = checkpoint.run()
    except Exception as exc:  # a checkpoint that cannot run is a failed gate
        raise CheckCouldNotRun(f"checkpoint {spec['name']} could not run: {exc}".splitlines()[0]) from exc
    gate = _read_result(name, spec, result, con)
    gate.docs_resources = [
        identifier for key, validation in result.run_results.items() for identifier in (key, _suite_identifier(validation.suite_name))
    ]  # fmt: skip
    return gate


def build_data_docs(settings: Settings, *gates: GateResult) -> int:
    """Build the Data Docs pages of these checkpoint runs and the index, once per run, and make them readable
    offline (the CSS and JS shipped with citytrade); with no gates, the whole site. Returns the pages made local."""
    from citytrade.quality.data_docs import data_docs_site, localise_data_docs

    identifiers = [identifier for gate in gates for identifier in gate.docs_resources]
    _context(settings.gx_dir).build_data_docs(resource_identifiers=identifiers or None)
    return localise_data_docs(data_docs_site(settings.gx_dir))


def _suite_identifier(name: str):
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    return ExpectationSuiteIdentifier(name=name)


def _build_checkpoint(gx_dir: Path, spec: dict, extracts_dir: Path, expectations_dir: Path):
    """The checkpoint of `spec`, written into the home's GX project (its suites, data source and validation
    definitions too) from the committed files: what is committed is what runs."""
    import great_expectations as gx

    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = _context(gx_dir)
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # no tqdm noise in logs
    datasource = context.data_sources.add_or_update_pandas_filesystem(f"{spec['name']}_extracts", base_directory=str(extracts_dir))
    validation_definitions = []
    for validation in spec["validations"]:
        dataset = validation["dataset"]
        try:
            asset = datasource.get_asset(dataset)
        except LookupError:
            asset = datasource.add_feather_asset(dataset)
        try:
            batch = asset.get_batch_definition("whole_table")
        except KeyError:
            batch = asset.add_batch_definition_path("whole_table", path=f"{dataset}.{EXTRACT_SUFFIX}")
        suite = context.suites.add_or_update(gx.ExpectationSuite(**load_suite(validation["suite"], expectations_dir)))
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
    return context.checkpoints.add_or_update(checkpoint)


def _context(gx_dir: Path):
    import great_expectations as gx

    import citytrade.quality.expectations  # noqa: F401  (registers citytrade's expectation before any suite is read)

    return gx.get_context(mode="file", project_root_dir=str(gx_dir))


def _read_result(name: str, spec: dict, result, con: duckdb.DuckDBPyConnection) -> GateResult:
    """Findings from a GX checkpoint result; the alerts' words are read from the warehouse."""
    findings: list[Finding] = []
    expectations_run = 0
    for validation_result in result.run_results.values():
        asset = (validation_result.meta.get("active_batch_definition") or {}).get("data_asset_name")
        validation = _match_validation(validation_result.suite_name, asset, spec["validations"])
        id_column = validation.get("id_column")
        for expectation_result in validation_result.results:
            expectations_run += 1
            config = expectation_result.expectation_config
            meta = dict(config.meta or {})
            raised = _raised(expectation_result.exception_info or {})
            if expectation_result.success and not raised:
                continue
            severity = str(getattr(config, "severity", "critical")).split(".")[-1].lower()
            finding = Finding(
                checkpoint=name,
                dataset=validation["dataset"],
                check_name=meta.get("check_name", config.type),
                expectation=config.type,
                severity="error" if raised else SEVERITY.get(severity, "error"),
                explains=meta.get("explains", ""),
            )
            details = expectation_result.result or {}
            if raised:
                finding.could_not_run = raised
            else:
                finding.unexpected_count = int(details.get("unexpected_count") or 0)
                if id_column:
                    finding.unexpected_ids = [str(item[id_column]) for item in details.get("unexpected_index_list") or []]
                    finding.details = _row_details(con, validation["relation"], id_column, finding.unexpected_ids, meta)
                    _quote_sources(con, spec.get("quotes_from"), finding.details)
            findings.append(finding)
    return GateResult(checkpoint=name, blocks=spec.get("blocks", "publish"), expectations_run=expectations_run, findings=findings)


def _match_validation(suite_name: str, asset: str | None, validations: list[dict]) -> dict:
    for validation in validations:
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


def _quote_sources(con: duckdb.DuckDBPyConnection, relation: str | None, details: list[dict]) -> None:
    """A figure read from a press release's text (press-text-v1) is flagged with the clauses it came from: its
    alert's message ends with them and their span, so the reader sees what the release said."""
    if not relation or not details:
        return
    rows = con.execute(
        f"select observation_id, quote, span_start, span_end from {relation} "
        "where quote is not null and observation_id in (select unnest(?::varchar[]))",
        [[detail["id"] for detail in details]],
    ).fetchall()
    quotes = {observation_id: (quote, start, end) for observation_id, quote, start, end in rows}
    for detail in details:
        if detail["id"] in quotes and detail["message"]:
            quote, start, end = quotes[detail["id"]]
            detail["message"] = f"{detail['message']}; the release says (chars {start}-{end}): «{quote}»"


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


# ---- verdicts and alerts


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
