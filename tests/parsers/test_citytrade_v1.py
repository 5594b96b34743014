"""citytrade-v1: figures keep their written precision; names resolve in any spelling; bad rows say why."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from citytrade import warehouse
from citytrade.ingest.areas import default_resolver
from citytrade.ingest.load import ingest_releases
from citytrade.ingest.parsers import citytrade_v1
from citytrade.ingest.releases import discover_releases
from conftest import write_release


def _parse(raw: Path):
    (release,) = discover_releases(raw)
    return citytrade_v1.parse(release, default_resolver())


def test_written_precision_and_units_are_kept(raw_dir):
    write_release(raw_dir, "r.csv", """\
        area,year,month_from,month_to,total,exports,imports,total_yoy_pct,unit
        深圳,2024,1,12,4.50,,,16.4,
        Ningbo,2020,6,6,898,,,27,100m_yuan
    """)  # fmt: skip
    parsed = _parse(raw_dir)
    shenzhen, ningbo = parsed.rows
    assert (shenzhen["area_code"], shenzhen["total_text"], shenzhen["total_resolution"]) == ("440300", "4.50", 0.01)
    assert shenzhen["total_yoy_pct"] == 16.4 and shenzhen["total_yoy_pct_resolution"] == pytest.approx(0.1)
    assert (ningbo["area_code"], ningbo["unit"], ningbo["total_resolution"]) == ("330200", "100m_yuan", 1.0)


def test_chinese_headers_with_bare_growth_columns(raw_dir):
    write_release(raw_dir, "r.csv", """\
        地区,年份,month_from,month_to,进出口,同比,出口,同比,进口,同比
        上海市,2023,1,11,3.86,1.2,1.59,1.7,2.27,0.8
    """)  # fmt: skip
    (row,) = _parse(raw_dir).rows
    assert row["area_code"] == "310000"
    assert (row["total_yoy_pct"], row["exports_yoy_pct"], row["imports_yoy_pct"]) == (1.2, 1.7, 0.8)


def test_bad_rows_are_rejected_with_reasons_and_good_rows_kept(raw_dir):
    write_release(raw_dir, "r.csv", """\
        area,year,month_from,month_to,total
        Shenzen,2024,1,12,4.5
        Shenzhen,2024,1,13,4.5
        Shenzhen,2024,5,3,4.5
        Shenzhen,2024,1,12,-4.5
        Shenzhen,2024,1,12,four
        Shanghai,2024,1,12,4.27
    """)  # fmt: skip
    parsed = _parse(raw_dir)
    assert [r["area_code"] for r in parsed.rows] == ["310000"]
    reasons = dict(parsed.rejects)
    assert "unknown area 'Shenzen'; did you mean Shenzhen (深圳市, 440300)" in reasons[2]
    assert "not in 1-12" in reasons[3]
    assert "month_to 3 is before month_from 5" in reasons[4]
    assert "negative" in reasons[5]
    assert "'four' is not a number" in reasons[6]


def test_a_row_of_a_compilation_gives_its_own_published_on_and_a_bad_date_quarantines_only_its_row(raw_dir):
    write_release(raw_dir, "compiled.csv", """\
        area,year,month_from,month_to,total,published_on
        Guangdong,2025,1,12,9.49,2026-01-20
        Dongguan,2025,1,12,1.58,
        Shenzhen,2025,1,12,4.55,2026-02-30
        Shanghai,2025,1,12,4.51,20 January 2026
    """, published_on="2026-01-28")  # fmt: skip
    parsed = _parse(raw_dir)
    dates = {row["area_code"]: row["published_on"] for row in parsed.rows}
    assert dates == {"440000": dt.date(2026, 1, 20), "441900": None}  # None: the sidecar's 2026-01-28 holds
    assert parsed.rejects == [
        (4, "published_on '2026-02-30' is not a date (YYYY-MM-DD)"),
        (5, "published_on '20 January 2026' is not a date (YYYY-MM-DD)"),
    ]


def test_a_bad_row_date_is_one_quarantine_line_naming_file_and_row_and_the_rest_loads(raw_dir, tmp_path):
    write_release(raw_dir, "press/compiled.csv", """\
        area,year,month_from,month_to,total,published_on
        Guangdong,2025,1,12,9.49,2026-01-20
        Shenzhen,2025,1,12,4.55,2026-13-01
    """)  # fmt: skip
    summary = ingest_releases(raw_dir, tmp_path / "warehouse.duckdb", "test-run")
    assert summary.problems == ["press/compiled.csv:3: published_on '2026-13-01' is not a date (YYYY-MM-DD)"]
    with warehouse.connect(tmp_path / "warehouse.duckdb") as con:
        loaded = con.execute("select area_code, published_on from raw.trade_observations").fetchall()
        quarantined = con.execute("select path, row_number, reason from raw.quarantine").fetchall()
    assert loaded == [("440000", dt.date(2026, 1, 20))]
    assert quarantined == [("press/compiled.csv", 3, "published_on '2026-13-01' is not a date (YYYY-MM-DD)")]
