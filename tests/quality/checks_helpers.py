"""Helpers for the quality tests: load releases, build the pre-gate models and run the real GX row gate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from citytrade import pipeline, warehouse
from citytrade.quality import gates as quality
from citytrade.config import EXPECTATIONS_DIR, Settings
from conftest import write_release


def synthetic_release(raw_dir: Path, name: str, csv_text: str, **meta) -> Path:
    """A made-up release for a test: always marked synthetic."""
    return write_release(raw_dir, name, csv_text, synthetic="true", **meta)


def row_gate(raw_dir: Path, home: Path) -> tuple[Settings, quality.GateResult]:
    """Ingest, build the staging and intermediate models, run the row_gate checkpoint as a run does."""
    settings = prepare(raw_dir, home)
    return settings, run_row_gate(settings)


def prepare(raw_dir: Path, home: Path) -> Settings:
    """Ingest and build the staging and intermediate models: what the row gate reads."""
    settings = Settings.from_args(raw_dir, home)
    settings.apply_environment()
    settings.ensure_dirs()
    pipeline.ingest_stage(settings, "test-run")
    pipeline.build_pre_gate_stage(settings)
    return settings


def run_row_gate(settings: Settings, expectations_dir: Path = EXPECTATIONS_DIR) -> quality.GateResult:
    with warehouse.open_warehouse(settings.warehouse_path) as con:
        return quality.run_checkpoint(settings, "row_gate", con, expectations_dir)


def expectations_with_a_broken_check(folder: Path) -> Path:
    """A copy of expectations/ whose trade_rows suite also tests a column that does not exist: it cannot run."""
    shutil.copytree(EXPECTATIONS_DIR, folder)
    suite_path = folder / "suites" / "trade_rows.json"
    suite = json.loads(suite_path.read_text())
    suite["expectations"].append(
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "no_such_measure", "max_value": 0},
         "severity": "warning", "meta": {"check_name": "broken_check"}}  # fmt: skip
    )
    suite_path.write_text(json.dumps(suite))
    return folder


def findings(gate: quality.GateResult, check_name: str) -> list[quality.Finding]:
    return [finding for finding in gate.findings if finding.check_name == check_name]


def flagged(gate: quality.GateResult, check_name: str) -> list[dict]:
    """Every flagged row of a check: id, area, period, release, message."""
    return [detail for finding in findings(gate, check_name) for detail in finding.details]


def observation_ids(settings: Settings, where: str) -> list[str]:
    with warehouse.connect(settings.warehouse_path) as con:  # dbt in this process holds the file open read-write
        return [row[0] for row in con.execute(
            f"select observation_id from intermediate.int_trade_observations_placed where {where} order by observation_id"
        ).fetchall()]  # fmt: skip
