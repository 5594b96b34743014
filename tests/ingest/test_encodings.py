"""Encodings: the NBS export loads to the same figures in GB18030 (detected or declared) as in UTF-8 with a BOM."""

from __future__ import annotations

import shutil

import pytest
from citytrade import warehouse
from citytrade.ingest.load import ingest_releases
from conftest import SAMPLE_RAW

NBS = SAMPLE_RAW / "nbs" / "A060101.csv"
NBS_META = SAMPLE_RAW / "nbs" / "A060101.meta.yaml"
FIGURES = """select area_raw, area_code, year, month_from, month_to, basis, unit, total_text, total_value, total_resolution
             from raw.trade_observations order by area_code, year"""


def _load(raw, home, data: bytes, sidecar_extra: str = ""):
    raw.mkdir(parents=True)
    (raw / "A060101.csv").write_bytes(data)
    (raw / "A060101.meta.yaml").write_text(NBS_META.read_text(encoding="utf-8") + sidecar_extra, encoding="utf-8")
    summary = ingest_releases(raw, home / "warehouse.duckdb", "run")
    with warehouse.connect(home / "warehouse.duckdb") as con:
        return summary, con.execute(FIGURES).fetchall()


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The file as shipped: UTF-8 with a byte-order mark."""
    folder = tmp_path_factory.mktemp("shipped")
    summary, rows = _load(folder / "raw", folder / "home", NBS.read_bytes())
    assert summary.problems == [] and len(rows) > 250
    return rows


@pytest.mark.parametrize(
    ("encoding", "sidecar_extra"),
    [("gb18030", ""), ("gbk", "encoding: GBK\n"), ("gb18030", "encoding: gb18030\n"), ("utf-8", ""), ("utf-16", "")],
    ids=["gb18030-detected", "gbk-declared", "gb18030-declared", "utf8-without-bom", "utf16-by-its-bom"],
)
def test_reencoded_copy_loads_to_the_same_values(tmp_path, shipped, encoding, sidecar_extra):
    data = NBS.read_text(encoding="utf-8-sig").encode(encoding)
    if encoding != "utf-8":
        with pytest.raises(UnicodeDecodeError):  # the copy really is not UTF-8: detection is exercised
            data.decode("utf-8")
    summary, rows = _load(tmp_path / "raw", tmp_path / "home", data, sidecar_extra)
    assert summary.problems == [] and summary.loaded == ["A060101.csv"]
    assert rows == shipped
    assert ("北京市", "110000") in {row[:2] for row in rows}  # Chinese names decoded, not mojibake


def test_gb18030_file_declared_utf8_is_quarantined_with_the_reason(tmp_path):
    data = NBS.read_text(encoding="utf-8-sig").encode("gb18030")
    summary, rows = _load(tmp_path / "raw", tmp_path / "home", data, "encoding: utf-8\n")
    assert rows == [] and summary.loaded == []
    assert summary.problems == ["A060101.csv: cannot decode the file as utf-8 text (binary or wrongly labelled encoding?)"]


def test_excel_unicode_text_export_utf16_tab_separated_loads_to_the_same_values(tmp_path, shipped):
    text = NBS.read_text(encoding="utf-8-sig").replace(",", "\t")  # the NBS names carry no commas
    summary, rows = _load(tmp_path / "raw", tmp_path / "home", text.encode("utf-16"))
    assert summary.problems == [] and rows == shipped
