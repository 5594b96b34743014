"""Nothing is dropped silently: a column the format does not read quarantines the release, naming it (issue #28)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import openpyxl
import pytest
from citytrade import pipeline, warehouse
from citytrade.config import Settings
from citytrade.ingest.areas import default_resolver
from citytrade.ingest.parsers import PARSERS
from citytrade.ingest.releases import ReleaseError, discover_releases
from conftest import write_release

TOP100 = {"format": "top100-v1", "complete": False}
GACC = {"format": "gacc-province-table", "unit": "100m_yuan", "year": 2024, "month": 3}
DETAIL = {"format": "citytrade-detail-v1", "unit": "yuan"}
DETAIL_HEADER = "area,year,month_from,month_to,partner_region,hs_section,exports,imports"

# id -> (file text, sidecar fields beyond write_release's citytrade-v1 defaults, the whole-file reason exactly)
REFUSED = {
    "misspelt": ("area,year,month_from,month_to,total,exprots,imports\nShanghai,2024,1,12,4.27,1.9,2.3\n", {},
                 "unknown column 'exprots' (did you mean 'exports'?)"),
    "no close match": ("area,year,month_from,month_to,total,foo\nShanghai,2024,1,12,4.27,x\n", {}, "unknown column 'foo'"),
    "several, in header order": (
        "area,remark,year,month_from,month_to,total,imprts\nShanghai,x,2024,1,12,4.27,2.3\n", {},
        "unknown column 'remark'; unknown column 'imprts' (did you mean 'imports'?)"),
    "misspelt Chinese alias": ("地区,年份,month_from,month_to,进出口总计,出口\n上海市,2024,1,12,4.27,1.9\n", {},
                               "unknown column '进出口总计' (did you mean '进出口总额'?)"),
    "missing": ("area,month_from,total\nShanghai,1,4.27\n", {},
                "missing required column(s) 'year', 'month_to'; found: 'area', 'month_from', 'total'"),
    "missing and misspelt": (
        "area,yaer,month_from,month_to,total\nShanghai,2024,1,12,4.27\n", {},
        "missing required column(s) 'year'; found: 'area', 'yaer', 'month_from', 'month_to', 'total'; "
        "unknown column 'yaer' (did you mean 'year'?)"),
    "no figure column": ("area,year,month_from,month_to\nShanghai,2024,1,12\n", {},
                         "missing required column(s) one of 'total', 'exports', 'imports'; "
                         "found: 'area', 'year', 'month_from', 'month_to'"),
    "no header at all": ("foo,bar\n1,2\n", {},
                         "no header row with the required columns 'area', 'year', 'month_from', 'month_to' found; "
                         "first row: 'foo', 'bar'"),
    "not every column ignored": ("area,year,month_from,month_to,total,notes,remark\nShanghai,2024,1,12,4.27,a,b\n",
                                 {"ignore_columns": "notes"}, "unknown column 'remark'"),
    "ignore_columns not a list": ("area,year,month_from,month_to,total\nShanghai,2024,1,12,4.27\n", {"ignore_columns": "{a: 1}"},
                                  "sidecar field ignore_columns must be a list of column names (or one comma-separated string)"),
    "top100 misspelt": ("year,rank,area,scroe\n2024,1,Shenzhen,88.5\n", TOP100, "unknown column 'scroe' (did you mean 'score'?)"),
    "top100 missing": ("year,area,score\n2024,Shenzhen,88.5\n", TOP100,
                       "missing required column(s) 'rank'; found: 'year', 'area', 'score'"),
    "nbs misspelt": ("indicator_code,region_code,region_name,year,value,vaule_note\nA060101,310000,上海市,2024,1\n",
                     {"format": "nbs-easyquery", "unit": "1k_usd"}, "unknown column 'vaule_note'"),
    "gacc unknown column": ("地区,当月进出口,累计进出口,比重\n上海市,3800,42100,3.1\n", GACC, "unknown column '比重'"),
    "gacc two-row header": ("地区,进出口,,\n,当月,累计,比重\n上海市,3800,42100,3.1\n", GACC,
                            "unknown column '进出口比重'"),
    "gacc missing": ("地区,当月进出口同比\n上海市,3.1\n", GACC, "missing required columns: no 当月 or 累计 value column for "
                                                              "进出口, 出口 or 进口; found: '地区', '当月进出口同比'"),
    "detail misspelt": (f"{DETAIL_HEADER},exprots\n", DETAIL, "unknown column 'exprots' (did you mean 'exports'?)"),
    "detail missing": ("area,year,month_from,month_to,partner_region,hs_section,exports\n", DETAIL,
                       "missing required column(s) 'imports'; found: 'area', 'year', 'month_from', 'month_to', "
                       "'partner_region', 'hs_section', 'exports'"),
}  # fmt: skip

# id -> (file text, sidecar fields, rows loaded): what the check must let through
LOADED = {
    "ignore_columns as a list": ("area,year,month_from,month_to,total,Notes,remark\nShanghai,2024,1,12,4.27,a,b\n",
                                 {"ignore_columns": ["notes", "remark"]}, 1),
    "ignore_columns as a string": ("area,year,month_from,month_to,total,notes,remark\nShanghai,2024,1,12,4.27,a,b\n",
                                   {"ignore_columns": "notes, remark"}, 1),
    "Chinese headers, title and note rows": (
        "2024年主要城市进出口\n地区,年份,month_from,month_to,进出口,同比,出口,进口\n上海市,2024,1,12,4.27,1.2,1.9,2.3\n注：初步数\n", {}, 1),
    "empty header cells": ("area,,year,month_from,month_to,total,\nShanghai,,2024,1,12,4.27,\n", {}, 1),
    "every known column": ("area,year,month_from,month_to,total,exports,imports,total_yoy_pct,exports_yoy_pct,imports_yoy_pct,"
                           "unit,source_url\nShanghai,2024,1,12,4.27,1.9,2.3,1,2,3,trillion_yuan,http://x\n", {}, 1),
    "top100 with sub-indices and region counts": ("year,rank,area,score,subindex_level,cities_in_list\n2024,1,Shenzhen,88.5,90,\n",
                                                  TOP100, 1),
    "gacc two-row header with a trailing empty column": ("地区,进出口,,\n,当月,累计,\n上海市,3800,42100,\n", GACC, 2),
}  # fmt: skip


def _parse(folder: Path):
    (release,) = discover_releases(folder)
    return PARSERS[release.format](release, default_resolver())


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_the_whole_file_is_refused_with_a_reason_naming_the_columns(case, raw_dir):
    text, meta, reason = REFUSED[case]
    write_release(raw_dir, "r.csv", text, **meta)
    with pytest.raises(ReleaseError) as refused:
        _parse(raw_dir)
    assert str(refused.value) == reason


@pytest.mark.parametrize("case", LOADED, ids=list(LOADED))
def test_known_ignored_and_empty_columns_load(case, raw_dir):
    text, meta, rows = LOADED[case]
    write_release(raw_dir, "r.csv", text, **meta)
    parsed = _parse(raw_dir)
    assert (len(parsed.rows), parsed.rejects) == (rows, [])


def _write_xlsx(folder: Path, extra_column: str, **meta) -> None:
    """A publisher's workbook: title and unit rows above the header, a note row below, Chinese headings."""
    write_release(folder, "cities.csv", "placeholder\n", **meta)
    (folder / "cities.csv").unlink()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2024年1-11月主要城市进出口情况"])
    sheet.append(["单位：万亿元"])
    sheet.append(["地区", "年份", "month_from", "month_to", "进出口", "同比", "出口", "进口", extra_column])
    sheet.append(["深圳市", 2024, 1, 11, 4.1, 16.4, 2.6, 1.5, "初步数"])
    sheet.append(["注：数据来源于海关统计"])
    sheet.merge_cells("A1:I1")
    book.save(folder / "cities.xlsx")


def test_xlsx_with_title_and_note_rows_refuses_an_unknown_column_unless_ignored(tmp_path):
    _write_xlsx(tmp_path / "refused", "备注")
    with pytest.raises(ReleaseError, match="^unknown column '备注'$"):
        _parse(tmp_path / "refused")
    _write_xlsx(tmp_path / "ignored", "备注", ignore_columns=["备注"])
    (row,) = _parse(tmp_path / "ignored").rows
    assert (row["area_code"], row["total_text"], row["total_yoy_pct"]) == ("440300", "4.1", 16.4)


def _fingerprints(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_ingest_quarantines_the_file_with_its_reason_and_leaves_it_untouched(raw_dir, tmp_path):
    write_release(raw_dir, "misspelt.csv", "area,year,month_from,month_to,total,exprots,imports\nShanghai,2024,1,12,4.27,1.9,2.3\n")
    write_release(raw_dir, "missing.csv", "area,month_from,total\nShanghai,1,4.27\n")
    write_release(raw_dir, "ignored.csv", "area,year,month_from,month_to,total,notes\nShenzhen,2024,1,12,4.50,as published\n",
                  ignore_columns=["notes"])  # fmt: skip
    write_release(raw_dir, "detail.csv", f"{DETAIL_HEADER},Notes\nShenzhen,2024,1,12,Asia,II,10,20,as published\n",
                  ignore_columns="notes", **DETAIL)  # fmt: skip
    before = _fingerprints(raw_dir)
    settings = Settings.from_args(raw_dir, tmp_path / "home")
    settings.apply_environment()
    settings.ensure_dirs()

    summary = pipeline.ingest_stage(settings, "columns-run")

    assert sorted(summary.loaded) == ["detail.csv", "ignored.csv"] and summary.rows_loaded == 2
    with warehouse.connect(settings.warehouse_path) as con:
        quarantine = con.execute("select path, row_number, reason from raw.quarantine order by path").fetchall()
        statuses = dict(con.execute("select path, status from raw.releases").fetchall())
    assert quarantine == [
        ("missing.csv", None, "missing required column(s) 'year', 'month_to'; found: 'area', 'month_from', 'total'"),
        ("misspelt.csv", None, "unknown column 'exprots' (did you mean 'exports'?)"),
    ]
    assert statuses == {"misspelt.csv": "rejected", "missing.csv": "rejected", "ignored.csv": "loaded", "detail.csv": "loaded"}
    assert _fingerprints(raw_dir) == before  # data files and sidecars, byte for byte
