"""Helpers for the ingest tests: load a landing zone and build the models this area owns, without the GX gates."""

from __future__ import annotations

from pathlib import Path
from citytrade import pipeline
from citytrade.transform import build as transform
from citytrade.config import Settings

# Raw tables to fct_trade, fct_trade_monthly and fct_trade_history, with the seeds and dim_area their tests join.
INGEST_MODELS = ["resource_type:seed", "+fct_trade_monthly", "+fct_trade_history", "fct_trade", "dim_area"]


def load_and_build(raw: Path, home: Path, run_id: str = "test-run") -> Settings:
    settings = Settings.from_args(raw, home)
    settings.apply_environment()
    settings.ensure_dirs()
    summary = pipeline.ingest_stage(settings, run_id)
    assert summary.problems == [], summary.problems
    transform.build_models(settings, select=INGEST_MODELS)
    return settings


def query(con, sql: str, params=None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
