"""The build warehouse: a warehouse created before a raw column existed gains it when opened, keeping its rows."""

from __future__ import annotations

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
