"""The build warehouse: a warehouse created before a raw column existed gains it when opened, keeping its rows; a
run lets go of the file when it ends."""

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
