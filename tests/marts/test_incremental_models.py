"""Incremental models: a build after a later release (a revision and a new month) holds exactly the rows a full
refresh of the same warehouse builds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
from citytrade.config import DBT_PROJECT_DIR
from conftest import SAMPLE_RAW, write_release

DBT_BIN = str(Path(sys.executable).with_name("dbt"))

DETAIL_HEADER = "area,year,month_from,month_to,partner_region,hs_section,exports,imports\n"


def ingest(raw_dir: Path, home: Path) -> None:
    """`citytrade ingest` in its own process, as a run does it."""
    result = subprocess.run(
        [sys.executable, "-m", "citytrade.cli.main", "ingest", "--raw-dir", str(raw_dir), "--home", str(home)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]


def dbt_build(warehouse: Path, work: Path, *extra: str) -> None:
    """`dbt build` of the project (no unit tests: they test the SQL, not this data), in its own process."""
    env = {**os.environ, "CITYTRADE_WAREHOUSE": str(warehouse), "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}
    result = subprocess.run(
        [DBT_BIN, "build", "--project-dir", str(DBT_PROJECT_DIR), "--target-path", str(work / "target"),
         "--log-path", str(work / "logs"), "--exclude-resource-type", "unit_test", *extra],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]


def incremental_models(target: Path) -> dict[str, str]:
    """name -> schema.name of every incremental model, from the manifest the build wrote."""
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    return {
        node["name"]: f"{node['schema']}.{node['alias']}" for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
    }  # fmt: skip


def rows_only_in(con: duckdb.DuckDBPyConnection, relation: str, first: str, second: str) -> int:
    return con.execute(f"select count(*) from (select * from {first}.{relation} except all select * from {second}.{relation})").fetchone()[0]


def test_an_incremental_build_after_a_revision_and_a_new_month_equals_a_full_refresh(tmp_path):
    raw, home = tmp_path / "raw", tmp_path / "home"
    shutil.copytree(SAMPLE_RAW, raw)
    write_release(
        raw, "detail/shenzhen_2025_h1.csv",
        DETAIL_HEADER + "Shenzhen,2025,1,6,Asia,HS16,1200,800\nShenzhen,2025,1,6,Asia,HS17,300,100\nShenzhen,2025,1,6,Europe,HS16,500,200\n",
        format="citytrade-detail-v1", unit="100m_yuan", published_on="2025-07-20",
    )  # fmt: skip
    ingest(raw, home)
    warehouse = home / "warehouse.duckdb"
    dbt_build(warehouse, tmp_path)

    # ---- a later release: a revision of a published figure and a month not seen before, in both kinds of data
    write_release(
        raw, "press/guangdong_revision.csv",
        """
        area,year,month_from,month_to,total
        Guangdong,2025,1,12,9.52
        Guangdong,2026,1,2,1.41
        """,
        unit="trillion_yuan", published_on="2026-03-10",
    )  # fmt: skip
    write_release(
        raw, "detail/shenzhen_2025_h1_revised.csv",
        DETAIL_HEADER + "Shenzhen,2025,1,6,Asia,HS16,1250,800\nShenzhen,2025,1,7,Asia,HS16,1400,900\n",
        format="citytrade-detail-v1", unit="100m_yuan", published_on="2025-08-20",
    )  # fmt: skip
    ingest(raw, home)
    dbt_build(warehouse, tmp_path)  # incremental
    refreshed = tmp_path / "refreshed.duckdb"
    shutil.copy(warehouse, refreshed)
    dbt_build(refreshed, tmp_path / "refresh", "--full-refresh")

    models = incremental_models(tmp_path / "target")
    assert {"int_trade_observations_sourced", "int_trade_detail_aggregated"} <= set(models)
    con = duckdb.connect()
    con.execute(f"attach '{warehouse}' as incremental (read_only)")
    con.execute(f"attach '{refreshed}' as refreshed (read_only)")
    for name, relation in sorted(models.items()):
        assert rows_only_in(con, relation, "incremental", "refreshed") == 0, f"{name}: rows the full refresh lacks"
        assert rows_only_in(con, relation, "refreshed", "incremental") == 0, f"{name}: rows the incremental build lacks"

    # what a reader sees: the revision replaces the figure, the new month is there, every version stays in history
    figure = "select total_cny from incremental.marts.fct_trade where area_code = '440000' and basis = 'firm_location' and year = {} and month_from = 1 and month_to = {}"
    assert con.execute(figure.format(2025, 12)).fetchone()[0] == 9.52e12
    assert con.execute(figure.format(2026, 2)).fetchone()[0] == 1.41e12
    versions = con.execute(
        "select count(*) from incremental.marts.fct_trade_history where area_code = '440000' and year = 2025 and month_to = 12 and basis = 'firm_location'"
    ).fetchone()[0]  # fmt: skip
    assert versions >= 2
    asia = con.execute(
        "select exports_cny, imports_cny from incremental.marts.trade_by_partner_region "
        "where area_code = '440300' and year = 2025 and month_to = 6 and partner_region = 'Asia'"
    ).fetchone()  # fmt: skip
    assert asia == (1250e8, 800e8)  # the revised release's, not the sum of both releases
