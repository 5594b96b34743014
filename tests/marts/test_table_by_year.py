"""The figure tables are written again only in the years whose rows changed (dbt_project/macros/
table_by_year_materialization.sql), computed only in the years their inputs may have changed (citytrade.build_years),
and always hold what a full build makes of the same warehouse."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from citytrade import build_years, pipeline, transform
from citytrade.config import Settings
from citytrade.warehouse import connect
from conftest import write_release

BY_YEAR = [
    "intermediate.int_trade_observations_versioned", "intermediate.int_trade_observations_placed",
    "intermediate.int_trade_observations_validated", "intermediate.int_trade_months_derived", "marts.fct_trade",
    "marts.fct_trade_history", "marts.fct_trade_monthly", "marts.city_trade_ranking",
]  # fmt: skip
REWROTE = re.compile(r'table_by_year "[^"]+"\."([^"]+)"\."([^"]+)": rewrote year (.+)')
COMPUTED = re.compile(r'table_by_year "[^"]+"\."([^"]+)"\."([^"]+)": computed (.+)')


@pytest.fixture
def settings(sample_home: Path, sample_copy: Path, tmp_path: Path, monkeypatch) -> Settings:
    home = tmp_path / "home"
    shutil.copytree(sample_home, home, ignore=shutil.ignore_patterns("run.lock"))
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")  # the materialization logs what it rewrote at debug level
    return Settings.from_args(sample_copy, home)


def build(settings: Settings, full_refresh: bool = False) -> dict[str, str]:
    """The run's two builds (the row gate's verdicts left as the sample run recorded them); returns, per table,
    the years the build rewrote, as dbt.log says."""
    return build_and_log(settings, full_refresh)[0]


def build_and_log(settings: Settings, full_refresh: bool = False) -> tuple[dict[str, str], dict[str, str]]:
    """build(), and per table the years it computed ("all" or a list), as dbt.log says."""
    log = settings.dbt_log_dir / "dbt.log"
    start = log.stat().st_size if log.exists() else 0
    transform.build_models(settings, transform.PRE_GATE, exclude=transform.PRE_GATE_EXCLUDE, full_refresh=full_refresh)
    transform.build_models(settings, transform.POST_GATE, full_refresh=full_refresh)
    with open(log, encoding="utf-8") as handle:
        handle.seek(start)
        text = handle.read()
    rewrote = {f"{schema}.{name}": years for schema, name, years in REWROTE.findall(text)}
    return rewrote, {f"{schema}.{name}": years for schema, name, years in COMPUTED.findall(text)}


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
    rewritten, computed = build_and_log(settings)
    assert computed == dict.fromkeys(BY_YEAR, "[2022, 2023, 2024]"), "a new release's year and the two after it"

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


def test_a_build_computes_all_years_after_any_change_but_new_figures(settings: Settings, tmp_path: Path):
    assert set(build_and_log(settings)[1].values()) == {"all"}  # this copy of the home has no basis of its own
    assert set(build_and_log(settings)[1].values()) == {"[]"}  # nothing arrived: no year to compute

    # a release published before the others shifts their release order (a column of the placed figures): all
    write_release(settings.raw_dir, "late/shenzhen_2019.csv", "area,year,month_from,month_to,total\nShenzhen,2019,1,12,3.10\n",
                  published_on="2020-01-20")  # fmt: skip
    pipeline.ingest_stage(settings, "run-late")
    assert set(build_and_log(settings)[1].values()) == {"all"}
    assert_as_a_full_build(settings, tmp_path / "late")

    # a new version of a file at the same path: the older one's figures stop competing, in any of its years
    write_release(settings.raw_dir, "late/shenzhen_2019.csv", "area,year,month_from,month_to,total\nShenzhen,2020,1,12,3.20\n",
                  published_on="2026-07-01")  # fmt: skip
    pipeline.ingest_stage(settings, "run-replaced")
    assert set(build_and_log(settings)[1].values()) == {"all"}
    assert_as_a_full_build(settings, tmp_path / "replaced")

    # an edited file of the project (here: the environment dbt reads): all
    settings.apply_environment()
    import os

    os.environ["CITYTRADE_EXAMPLE_SETTING"] = "changed"
    try:
        assert set(build_and_log(settings)[1].values()) == {"all"}
    finally:
        del os.environ["CITYTRADE_EXAMPLE_SETTING"]


def test_a_changed_row_verdict_recomputes_its_year_after_the_gate(settings: Settings, tmp_path: Path):
    build(settings)  # the basis of this copy of the home
    with connect(settings.warehouse_path) as con:
        (observation_id, year) = con.execute(
            "select observation_id, year from intermediate.int_trade_observations_versioned "
            "where is_latest_file_version order by year, observation_id limit 1"
        ).fetchone()
        con.execute("insert into audit.row_verdicts values (?, 'a test check', 'error', 'run-verdict')", [observation_id])
    rewritten, computed = build_and_log(settings)
    assert computed["intermediate.int_trade_observations_versioned"] == "[]"  # the pre-gate reads no verdict
    assert computed["intermediate.int_trade_observations_validated"] == f"[{year}, {year + 1}, {year + 2}]"
    assert rewritten["intermediate.int_trade_observations_validated"] == str(year)
    with connect(settings.warehouse_path) as con:
        kept = con.execute("select count(*) from intermediate.int_trade_observations_validated where observation_id = ?", [observation_id])
        assert kept.fetchone()[0] == 0
    assert_as_a_full_build(settings, tmp_path / "kept-out")

    with connect(settings.warehouse_path) as con:  # let in again
        con.execute("delete from audit.row_verdicts where run_id = 'run-verdict'")
    assert build_and_log(settings)[1]["marts.fct_trade"] == f"[{year}, {year + 1}, {year + 2}]"
    assert_as_a_full_build(settings, tmp_path / "let-in")


def test_the_years_to_compute_of_each_kind_of_change():
    release = {"release_hash": "1", "path": "a.csv", "figure_count": 2, "figure_hash": "9", "first_year": 2020,
               "last_year": 2021, "release_order": 1}  # fmt: skip
    before = {"project": "p", "releases": {"r1": release}, "kept_out": {"o1": 2019}}
    assert build_years.years_to_compute(before, before) == []
    new = {**release, "path": "b.csv", "first_year": 2024, "last_year": 2024, "release_order": 2}
    now = {**before, "releases": {"r1": release, "r2": new}}
    assert build_years.years_to_compute(before, now) == [2024, 2025, 2026]
    assert build_years.years_to_compute(before, {**now, "kept_out": {}}) == [2019, 2020, 2021, 2024, 2025, 2026]
    assert build_years.years_to_compute(None, now) is None
    assert build_years.years_to_compute(before, {**now, "project": "q"}) is None
    assert build_years.years_to_compute(before, {**now, "releases": {"r2": new}}) is None  # r1 removed
    assert build_years.years_to_compute(before, {**now, "releases": {"r1": {**release, "release_order": 2}}}) is None
    assert build_years.years_to_compute(before, {**now, "releases": {"r1": release, "r2": {**new, "path": "a.csv"}}}) is None
    assert build_years.years_to_compute(before, {**now, "releases": {"r1": {**release, "figure_hash": "8"}}}) is None
    no_figures = {**new, "first_year": None, "last_year": None}
    assert build_years.years_to_compute(before, {**now, "releases": {"r1": release, "r2": no_figures}}) == []
