"""The figure tables are written again only in the years whose rows changed (dbt_project/macros/
table_by_year_materialization.sql), and always hold what a full build makes of the same warehouse."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from citytrade import pipeline, transform
from citytrade.config import Settings
from citytrade.warehouse import connect
from conftest import write_release

BY_YEAR = [
    "intermediate.int_trade_observations_versioned", "intermediate.int_trade_observations_placed",
    "intermediate.int_trade_observations_validated", "intermediate.int_trade_months_derived", "marts.fct_trade",
    "marts.fct_trade_history", "marts.fct_trade_monthly", "marts.city_trade_ranking",
]  # fmt: skip
REWROTE = re.compile(r'table_by_year "[^"]+"\."([^"]+)"\."([^"]+)": rewrote year (.+)')


@pytest.fixture
def settings(sample_home: Path, sample_copy: Path, tmp_path: Path, monkeypatch) -> Settings:
    home = tmp_path / "home"
    shutil.copytree(sample_home, home, ignore=shutil.ignore_patterns("run.lock"))
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")  # the materialization logs what it rewrote at debug level
    return Settings.from_args(sample_copy, home)


def build(settings: Settings, full_refresh: bool = False) -> dict[str, str]:
    """The run's two builds (the row gate's verdicts left as the sample run recorded them); returns, per table,
    the years the build rewrote, as dbt.log says."""
    log = settings.dbt_log_dir / "dbt.log"
    start = log.stat().st_size if log.exists() else 0
    transform.build_models(settings, transform.PRE_GATE, exclude=transform.PRE_GATE_EXCLUDE, full_refresh=full_refresh)
    transform.build_models(settings, transform.POST_GATE, full_refresh=full_refresh)
    with open(log, encoding="utf-8") as handle:
        handle.seek(start)
        return {f"{schema}.{name}": years for schema, name, years in REWROTE.findall(handle.read())}


def rows_of(warehouse: Path, relation: str) -> list[tuple]:
    with connect(warehouse) as con:
        return sorted(con.execute(f"select * from {relation}").fetchall(), key=repr)


def assert_as_a_full_build(settings: Settings, tmp_path: Path) -> None:
    """Every by-year table holds, row for row, what a full refresh of a copy of this home builds."""
    fresh = Settings.from_args(settings.raw_dir, tmp_path / "full-refresh")
    shutil.copytree(settings.home, fresh.home)
    build(fresh, full_refresh=True)
    for relation in BY_YEAR:
        assert rows_of(settings.warehouse_path, relation) == rows_of(fresh.warehouse_path, relation), relation


def test_a_revised_year_is_rewritten_alone_and_the_tables_equal_a_full_build(settings: Settings, tmp_path: Path):
    assert build(settings) == dict.fromkeys(BY_YEAR, "none"), "nothing arrived: no year is written again"

    # a later release revises Shenzhen's 2022 figure: 2022 changes, and 2023's growth on 2022 with it
    write_release(settings.raw_dir, "revisions/shenzhen_2022.csv", "area,year,month_from,month_to,total\nShenzhen,2022,1,12,3.70\n",
                  published_on="2026-06-30")  # fmt: skip (a real figure: a synthetic one never displaces one)
    pipeline.ingest_stage(settings, "run-revision")
    rewritten = build(settings)

    assert set(rewritten) == set(BY_YEAR)
    assert rewritten["intermediate.int_trade_observations_versioned"] == "2022"
    assert rewritten["marts.fct_trade"] == "2022, 2023"  # the growth of 2023 on the revised 2022
    assert rewritten["marts.city_trade_ranking"] == "2022, 2023"
    assert all(years in ("none", "2022", "2022, 2023") for years in rewritten.values()), rewritten  # never the other 4 years
    with connect(settings.warehouse_path) as con:
        total = con.execute(
            "select total_cny from marts.fct_trade where area_code = '440300' and year = 2022 and month_from = 1 "
            "and month_to = 12 and basis = 'firm_location'"
        ).fetchone()[0]
    assert total == pytest.approx(3.70e12)
    assert_as_a_full_build(settings, tmp_path)


def test_a_table_whose_columns_differ_from_the_model_is_built_again_whole(settings: Settings, tmp_path: Path):
    with connect(settings.warehouse_path) as con:
        con.execute("alter table marts.fct_trade add column left_over integer")
        con.execute("delete from intermediate.int_trade_observations_versioned where year = 2021")
    rewritten = build(settings)

    assert "marts.fct_trade" not in rewritten  # built as a table, not compared year by year
    assert rewritten["intermediate.int_trade_observations_versioned"] == "2021"  # the rows a user deleted come back
    with connect(settings.warehouse_path) as con:
        columns = [name for (name,) in con.execute("select column_name from duckdb_columns() where table_name = 'fct_trade'").fetchall()]
    assert "left_over" not in columns and "total_cny" in columns
    assert_as_a_full_build(settings, tmp_path)
