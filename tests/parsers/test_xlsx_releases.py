"""XLSX releases read like their CSV twins: Chinese headers, title and note rows, precision from the number format."""

from __future__ import annotations

import openpyxl
from citytrade.ingest.areas import default_resolver
from citytrade.ingest.parsers import citytrade_v1
from citytrade.ingest.releases import discover_releases
from conftest import write_release

CSV_TWIN = """\
2024年1-11月主要城市进出口情况（synthetic）
单位：万亿元
地区,年份,month_from,month_to,进出口,同比,出口,同比,进口,同比
深圳市,2024,1,11,4.10,16.4,2.60,15.0,1.50,18.90
上海市,2024,1,11,3.90,1.2,1.60,1.7,2.30,0.8
注：数据来源于海关统计，2024年为初步数
"""
# Cells as a publisher's workbook holds them: values with a fixed format, growth as percentages ("0.0%", "0.00%").
XLSX_ROWS = [
    (["2024年1-11月主要城市进出口情况（synthetic）"], None),
    (["单位：万亿元"], None),
    (["地区", "年份", "month_from", "month_to", "进出口", "同比", "出口", "同比", "进口", "同比"], None),
    (["深圳市", 2024, 1, 11, 4.1, 0.164, 2.6, 0.15, 1.5, 0.189], ["@", "0", "0", "0", "0.00", "0.0%", "0.00", "0.0%", "0.00", "0.00%"]),
    (["上海市", 2024, 1, 11, 3.9, 1.2, 1.6, 1.7, 2.3, 0.8], ["@", "General", "0", "0", "0.00", "General", "0.00", "General", "0.00", "General"]),
    (["注：数据来源于海关统计，2024年为初步数"], None),
]


def _parse(folder):
    (release,) = discover_releases(folder)
    return citytrade_v1.parse(release, default_resolver())


def test_xlsx_with_chinese_headers_title_and_notes_loads_like_its_csv(tmp_path):
    csv_dir, xlsx_dir = tmp_path / "csv", tmp_path / "xlsx"
    write_release(csv_dir, "cities.csv", CSV_TWIN, synthetic="true")
    write_release(xlsx_dir, "cities.csv", "placeholder\n", synthetic="true")
    (xlsx_dir / "cities.csv").rename(xlsx_dir / "cities.xlsx")
    book = openpyxl.Workbook()
    sheet = book.active
    for row_index, (values, formats) in enumerate(XLSX_ROWS, start=1):
        for column_index, value in enumerate(values, start=1):
            cell = sheet.cell(row=row_index, column=column_index, value=value)
            if formats:
                cell.number_format = formats[column_index - 1]
    sheet.merge_cells("A1:J1")
    book.save(xlsx_dir / "cities.xlsx")

    from_csv, from_xlsx = _parse(csv_dir), _parse(xlsx_dir)
    assert [(r["area_code"], r["total_text"], r["total_resolution"], r["imports_yoy_pct"]) for r in from_csv.rows] == [
        ("440300", "4.10", 0.01, 18.9), ("310000", "3.90", 0.01, 0.8)
    ]
    assert from_xlsx.rows == from_csv.rows
    assert from_xlsx.rejects == from_csv.rejects == []


def test_text_cells_keep_their_digits_and_general_numbers_their_shortest_form(tmp_path):
    write_release(tmp_path, "r.csv", "placeholder\n", synthetic="true")
    (tmp_path / "r.csv").rename(tmp_path / "r.xlsx")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["area", "year", "month_from", "month_to", "total", "exports"])
    sheet.append(["Ningbo", 2020, 6, 6, "898.0", 512.25])  # a number stored as text keeps its written digits
    book.save(tmp_path / "r.xlsx")
    (row,) = _parse(tmp_path).rows
    assert (row["total_text"], row["total_resolution"]) == ("898.0", 0.1)
    assert (row["exports_text"], row["exports_resolution"]) == ("512.25", 0.01)
