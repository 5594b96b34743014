"""gacc-province-table: the month and the year to date side by side; XLSX loads to the same values as its CSV twin."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from citytrade.ingest.areas import default_resolver
from citytrade.ingest.parsers import PARSERS, gacc_province_table
from citytrade.ingest.releases import discover_releases

SIDECAR = """\
format: gacc-province-table
publisher: test fixture (synthetic)
published_on: 2024-12-20
unit: 100m_yuan
basis: firm_location
synthetic: true
"""
# Two header rows (measures spanning windows), a title above, a note below: the layout customs publish.
# Synthetic figures; every value column keeps a fixed number of decimals, growth columns are as written.
TABLE = [
    ["2024年11月进出口商品收发货人所在地总值表（人民币）", "", "", "", "", "", "", "", "", "", "", "", ""],
    ["单位：亿元", "", "", "", "", "", "", "", "", "", "", "", ""],
    ["收发货人所在地", "进出口", "", "", "", "出口", "", "", "", "进口", "", "", ""],
    ["", "当月", "同比±%", "1至当月累计", "同比±%", "当月", "同比±%", "1至当月累计", "同比±%", "当月", "同比±%", "1至当月累计", "同比±%"],
    ["总值", "37000.50", "1.4", "397900.00", "4.9", "21500.30", "6.7", "230400.10", "6.7", "15500.20", "-3.9", "167499.90", "2.4"],
    ["广东省", "8000.50", "2.1", "82000.30", "7.5", "5000.00", "3", "52000.20", "8", "3000.50", "1", "30000.10", "6.1"],
    ["北京市", "3000.00", "", "33000.00", "", "500.00", "", "5500.00", "", "2500.00", "", "27500.00", ""],
    ["Shenzen", "1.00", "", "1.00", "", "", "", "", "", "", "", "", ""],
    ["注：本表数据为初步数", "", "", "", "", "", "", "", "", "", "", "", ""],
]


def _write_csv(folder, name="table.csv"):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(TABLE)
    (folder / name).write_text(buffer.getvalue(), encoding="utf-8")
    (folder / name.replace(".csv", ".meta.yaml")).write_text(SIDECAR, encoding="utf-8")


def _write_xlsx(folder, name="table.xlsx"):
    """The same table as Excel stores it: numbers as floats, precision in the number format, merged headings."""
    book = openpyxl.Workbook()
    sheet = book.active
    for row_index, row in enumerate(TABLE, start=1):
        for column_index, text in enumerate(row, start=1):
            cell = sheet.cell(row=row_index, column=column_index)
            if row_index >= 5 and column_index > 1 and text:
                cell.value = float(text)  # 37000.50 is stored as 37000.5: the format carries the two decimals
                is_growth = column_index % 2 == 1
                cell.number_format = "General" if is_growth else "#,##0.00"
            else:
                cell.value = text or None
    sheet.merge_cells("A1:M1")
    for first, last in (("B3", "E3"), ("F3", "I3"), ("J3", "M3")):
        sheet.merge_cells(f"{first}:{last}")
    book.save(folder / name)
    (folder / name.replace(".xlsx", ".meta.yaml")).write_text(SIDECAR, encoding="utf-8")


def _parse(folder):
    (release,) = discover_releases(folder)
    return PARSERS["gacc-province-table"](release, default_resolver())


def test_each_row_yields_the_month_and_the_year_to_date(tmp_path):
    _write_csv(tmp_path)
    parsed = _parse(tmp_path)
    by_key = {(r["area_code"], r["month_from"], r["month_to"]): r for r in parsed.rows}
    guangdong_ytd, guangdong_month = by_key[("440000", 1, 11)], by_key[("440000", 11, 11)]
    assert (guangdong_ytd["total_text"], guangdong_ytd["exports_text"], guangdong_ytd["imports_text"]) == ("82000.30", "52000.20", "30000.10")
    assert (guangdong_ytd["total_yoy_pct"], guangdong_ytd["exports_yoy_pct"], guangdong_ytd["imports_yoy_pct"]) == (7.5, 8.0, 6.1)
    assert (guangdong_month["total_text"], guangdong_month["total_yoy_pct"]) == ("8000.50", 2.1)
    assert guangdong_ytd["total_resolution"] == pytest.approx(0.01)
    nation = by_key[("000000", 1, 11)]
    assert nation["basis"] == "national" and nation["imports_yoy_pct"] == 2.4
    assert by_key[("000000", 11, 11)]["imports_yoy_pct"] == -3.9
    assert by_key[("110000", 1, 11)]["total_yoy_pct"] is None
    assert len(parsed.rows) == 6
    assert parsed.rejects == [(8, "unknown area 'Shenzen'; did you mean Shenzhen (深圳市, 440300)? "
                                  "(add it to dbt_project/seeds/area_aliases.csv if it is right)")]


def test_xlsx_with_chinese_headers_and_title_rows_loads_like_its_csv_twin(tmp_path):
    csv_dir, xlsx_dir = tmp_path / "csv", tmp_path / "xlsx"
    csv_dir.mkdir(), xlsx_dir.mkdir()
    _write_csv(csv_dir)
    _write_xlsx(xlsx_dir)
    from_csv, from_xlsx = _parse(csv_dir), _parse(xlsx_dir)
    assert len(from_csv.rows) == 6
    assert from_xlsx.rows == from_csv.rows  # written digits too: "37000.50", not "37000.5"
    assert from_xlsx.rejects == from_csv.rejects


def test_single_header_row_january_and_january_february(tmp_path):
    (tmp_path / "jan.csv").write_text("地区,当月进出口,累计进出口,累计进出口同比%\n上海市,3500.1,3500.1,2.5\n", encoding="utf-8")
    (tmp_path / "jan.meta.yaml").write_text(SIDECAR + "year: 2024\nmonth: 1\n", encoding="utf-8")
    (rows,) = [_parse(tmp_path).rows]
    assert [(r["month_from"], r["month_to"], r["total_text"], r["total_yoy_pct"]) for r in rows] == [(1, 1, "3500.1", 2.5)]
    (tmp_path / "jan.csv").unlink(), (tmp_path / "jan.meta.yaml").unlink()
    (tmp_path / "feb.csv").write_text("2024年1-2月\n地区,当月进出口,累计进出口\n上海市,,6600.4\n", encoding="utf-8")
    (tmp_path / "feb.meta.yaml").write_text(SIDECAR, encoding="utf-8")
    rows = _parse(tmp_path).rows
    assert [(r["year"], r["month_from"], r["month_to"], r["total_text"]) for r in rows] == [(2024, 1, 2, "6600.4")]


def test_column_classification():
    columns = gacc_province_table.classify_columns(["地区", "当月进出口", "同比", "累计出口", "累计出口同比%", "进口1至当月累计"])
    assert columns == {1: ("month", "total", False), 2: ("month", "total", True), 3: ("ytd", "exports", False),
                       4: ("ytd", "exports", True), 5: ("ytd", "imports", False)}  # fmt: skip
