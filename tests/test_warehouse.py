"""The build warehouse: a warehouse created before a raw column existed gains it when opened, keeping its rows; a
run lets go of the file when it ends; DuckDB's memory and spill folder are citytrade's settings."""

from __future__ import annotations

import subprocess
import sys

import duckdb

from citytrade import warehouse


def test_a_warehouse_from_before_per_row_dates_gains_the_column_and_keeps_its_rows(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with warehouse.connect(path) as con:  # raw.trade_observations as created before issue #29, with one row
        con.execute(warehouse.RAW_DDL.replace("    published_on date,  -- the row's own date", "    -- the row's own date"))
        con.execute("insert into raw.trade_observations (release_id, row_number, area_raw, area_code, year, month_from, "
                    "month_to, basis, unit, currency) values ('r1', 2, 'Dongguan', '441900', 2025, 1, 12, 'firm_location', "
                    "'trillion_yuan', 'CNY')")  # fmt: skip
        assert "published_on" not in [row[0] for row in con.execute("describe raw.trade_observations").fetchall()]
    with warehouse.open_warehouse(path) as con:
        rows = con.execute("select release_id, area_code, published_on from raw.trade_observations").fetchall()
    assert rows == [("r1", "441900", None)]


def test_a_finished_run_holds_the_warehouse_no_more(sample_home):
    """dbt-duckdb keeps the file open for a whole dbt command (keep_open: true); after the run, this process (which ran
    it) opens it read-only, which DuckDB refuses while another configuration holds it, and another process opens it
    for writing, which the file lock refuses while anything holds it."""
    path = sample_home / "warehouse.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select count(*) from raw.releases").fetchone()[0] > 0
    writer = subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({str(path)!r}).close()"], capture_output=True, text=True, timeout=60
    )
    assert writer.returncode == 0, writer.stderr[-500:]


def test_the_warehouse_is_opened_with_a_bounded_memory_and_its_own_spill_folder(tmp_path, monkeypatch):
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.delenv("CITYTRADE_DUCKDB_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("CITYTRADE_DUCKDB_TEMP_DIR", raising=False)
    with warehouse.connect(path) as con:  # the defaults: 4GB (DuckDB's own would be 80 % of RAM), beside the file
        assert con.execute("select current_setting('memory_limit'), current_setting('temp_directory')").fetchone() == (
            "3.7 GiB", f"{path}.tmp")
    monkeypatch.setenv("CITYTRADE_DUCKDB_MEMORY_LIMIT", "512MB")
    monkeypatch.setenv("CITYTRADE_DUCKDB_TEMP_DIR", str(tmp_path / "spill"))
    with warehouse.connect(path) as con:
        assert con.execute("select current_setting('memory_limit'), current_setting('temp_directory')").fetchone() == (
            "488.2 MiB", str(tmp_path / "spill"))
