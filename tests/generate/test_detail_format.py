"""citytrade-detail-v1: bulk-loaded rows, bad rows quarantined with their line number, the file left untouched."""

from __future__ import annotations

from conftest import write_release
from citytrade.ingest.load import ingest_releases
from citytrade.warehouse import connect

DETAIL = """\
area,year,month_from,month_to,partner_region,hs_section,exports,imports
深圳市,2024,1,12,ASEAN,S16,1200,800
Shenzhen,2024,1,12,European Union,S16,900,
440300,2024,1,12,United States,S11,,450
Atlantis,2024,1,12,ASEAN,S16,10,10
Dongguan,2024,1,13,ASEAN,S16,10,10
Dongguan,2024,1,12,ASEAN,S16,-5,10
Dongguan,2024,1,12,ASEAN,S16,n/a,10
Dongguan,2024,1,12,ASEAN,S16,10,10,extra
Dongguan,2024,1,12,Japan,S02,30,20
"""


def test_detail_rows_load_in_bulk_and_bad_rows_are_quarantined_by_line(raw_dir, tmp_path):
    path = write_release(raw_dir, "detail/detail_2024.csv", DETAIL, format="citytrade-detail-v1", unit="10k_yuan", synthetic="true")
    before = path.read_bytes()
    warehouse = tmp_path / "warehouse.duckdb"

    summary = ingest_releases(raw_dir, warehouse, "run-1")

    assert summary.rows_loaded == 4
    problems = sorted(summary.problems)
    assert [line.split(": ")[0] for line in problems] == [f"detail/detail_2024.csv:{n}" for n in (5, 6, 7, 8, 9)]
    assert "unknown area 'Atlantis'" in problems[0]
    assert "months 1-13" in problems[1]
    assert "negative" in problems[2]
    assert "'n/a' is not a number" in problems[3]
    assert "not a CSV row" in problems[4]
    con = connect(warehouse)
    rows = con.execute(
        "select row_number, area_code, partner_region, exports_value, imports_value from raw.trade_detail order by row_number"
    ).fetchall()
    release = con.execute("select rows_loaded, rows_quarantined, status, is_synthetic from raw.releases").fetchone()
    quarantined = con.execute("select row_number from raw.quarantine order by row_number").fetchall()
    con.close()
    assert rows == [
        (2, "440300", "ASEAN", 1200.0, 800.0),
        (3, "440300", "European Union", 900.0, None),
        (4, "440300", "United States", None, 450.0),
        (10, "441900", "Japan", 30.0, 20.0),
    ]
    assert release == (4, 5, "partial", True)
    assert [n for (n,) in quarantined] == [5, 6, 7, 8, 9]
    assert path.read_bytes() == before

    again = ingest_releases(raw_dir, warehouse, "run-2")
    assert again.rows_loaded == 0 and again.unchanged == 1


def test_a_detail_file_in_dollars_is_refused_whole(raw_dir, tmp_path):
    write_release(raw_dir, "detail_usd.csv", DETAIL, format="citytrade-detail-v1", unit="100m_usd")
    summary = ingest_releases(raw_dir, tmp_path / "warehouse.duckdb", "run-1")
    assert summary.rejected == ["detail_usd.csv"]
    assert "yuan units only" in summary.problems[0]


CLEAN = "\n".join(line for i, line in enumerate(DETAIL.splitlines()) if i in (0, 1, 2, 3, 9)) + "\n" + "广州市,2024,1,2, ASEAN ,S16,1e3,+5\n"


def _loaded(raw_dir, warehouse) -> list[tuple]:
    summary = ingest_releases(raw_dir, warehouse, "run-1")
    assert summary.problems == []
    con = connect(warehouse)
    try:
        return con.execute("select * exclude (release_id) from raw.trade_detail order by row_number").fetchall()
    finally:
        con.close()


def test_a_clean_file_is_loaded_from_its_typed_read_with_the_rows_the_text_read_gives(raw_dir, tmp_path, monkeypatch):
    from citytrade.ingest.parsers.citytrade_detail_v1 import DetailRows

    write_release(raw_dir, "detail_2024.csv", CLEAN, format="citytrade-detail-v1", unit="10k_yuan", synthetic="true")
    checked = DetailRows._load_checked

    def no_text_read(self, con, release_id):
        raise AssertionError("a clean file was read as text")

    monkeypatch.setattr(DetailRows, "_load_checked", no_text_read)
    typed = _loaded(raw_dir, tmp_path / "typed.duckdb")

    monkeypatch.setattr(DetailRows, "_load_checked", checked)
    monkeypatch.setattr(DetailRows, "_load_typed", lambda self, con, release_id: False)
    as_text = _loaded(raw_dir, tmp_path / "text.duckdb")

    assert typed == as_text
    assert [row[0] for row in typed] == [2, 3, 4, 5, 6]  # line numbers: the header is line 1
    assert typed[-1][1:] == ("440100", 2024, 1, 2, "firm_location", "ASEAN", "S16", "10k_yuan", 1000.0, 5.0)  # 广州市, trimmed
