"""SPEC 5 check 2 through the real row gate: city <= province <= nation, sums of children, provinces sum to the nation."""

from __future__ import annotations

import csv
import shutil

import duckdb

from checks_helpers import findings, flagged, observation_ids, row_gate, synthetic_release
from conftest import SAMPLE_RAW, run_flow

PROVINCES = """\
area,year,month_from,month_to,total
Guangdong,2023,1,12,8.30
Guangdong,2024,1,12,9.11
Jiangsu,2024,1,12,5.62
"""
CITIES = """\
area,year,month_from,month_to,total
Shenzhen,2024,1,12,4.50
Guangzhou,2024,1,12,1.12
"""
NATIONAL = """\
area,year,month_from,month_to,total
China,2023,1,12,41.76
China,2024,1,12,43.85
"""
NATIONAL_REVISED_BADLY = """\
area,year,month_from,month_to,total
China,2024,1,12,8.00
"""
NATIONAL_BELOW_GUANGDONG = (
    "China 中国 (000000) 2024 (national) 8.00 trillion yuan (national_revised.csv) is below "
    "Guangdong 广东省 (440000) 9.11 trillion yuan (firm_location, provinces.csv)"
)


def _consistent_releases(raw_dir):
    synthetic_release(raw_dir, "provinces.csv", PROVINCES, published_on="2026-01-20")
    synthetic_release(raw_dir, "cities.csv", CITIES, published_on="2026-01-21")
    synthetic_release(raw_dir, "national.csv", NATIONAL, published_on="2026-01-14", basis="national")


def test_consistent_cities_provinces_and_nation_pass(raw_dir, home):
    _consistent_releases(raw_dir)
    _, gate = row_gate(raw_dir, home)
    assert findings(gate, "hierarchy") == []
    assert gate.passed, gate.summary()


def test_national_total_below_a_province_is_an_error_on_the_newer_national_figure(raw_dir, home):
    _consistent_releases(raw_dir)
    synthetic_release(raw_dir, "national_revised.csv", NATIONAL_REVISED_BADLY, published_on="2026-02-01", basis="national")
    settings, gate = row_gate(raw_dir, home)
    rows = flagged(gate, "hierarchy")
    assert [row["id"] for row in rows] == observation_ids(settings, "source_file = 'national_revised.csv'")
    assert findings(gate, "hierarchy")[0].severity == "error"
    assert rows[0]["message"] == NATIONAL_BELOW_GUANGDONG
    assert (rows[0]["observed"], rows[0]["expected"]) == ("8.00 trillion yuan", "at least 9.11 trillion yuan")


def test_cities_of_a_province_summing_above_it_is_an_error(raw_dir, home):
    _consistent_releases(raw_dir)
    # each city below the province, but together above it; the province figure is the newer one
    synthetic_release(raw_dir, "guangdong_revised.csv", "area,year,month_from,month_to,total\nGuangdong,2024,1,12,5.20\n",
                      published_on="2026-02-01")  # fmt: skip
    settings, gate = row_gate(raw_dir, home)
    rows = flagged(gate, "hierarchy")
    assert [row["id"] for row in rows] == observation_ids(settings, "source_file = 'guangdong_revised.csv'")
    assert rows[0]["message"] == (
        "the 2 cities of Guangdong 广东省 (440000) listed for 2024 (firm_location) add up to 5.62 trillion yuan, "
        "more than the province's 5.20 trillion yuan"
    )


def _nbs_with_nation(raw_dir, scale: float) -> float:
    """The real NBS province tables plus a national figure of the same basis: their sum times `scale` (returns the sum)."""
    shutil.copytree(SAMPLE_RAW / "nbs", raw_dir / "nbs")
    with open(raw_dir / "nbs" / "A060101.csv", encoding="utf-8-sig") as handle:
        total = sum(float(row["value"]) for row in csv.DictReader(handle) if row["year"] == "2024")
    synthetic_release(raw_dir, "nation_firm_location.csv", f"area,year,month_from,month_to,total\nChina,2024,1,12,{total * scale:.3f}\n",
                      published_on="2025-10-01", unit="1k_usd")  # fmt: skip
    return total


def test_provinces_summing_to_the_nation_within_rounding_pass(raw_dir, home):
    _nbs_with_nation(raw_dir, 1.0)
    _, gate = row_gate(raw_dir, home)
    assert findings(gate, "hierarchy") == []


def test_provinces_not_summing_to_the_nation_is_an_error_on_the_newer_figure(raw_dir, home):
    total = _nbs_with_nation(raw_dir, 1.01)
    settings, gate = row_gate(raw_dir, home)
    rows = flagged(gate, "hierarchy")
    assert [row["id"] for row in rows] == observation_ids(settings, "source_file = 'nation_firm_location.csv'")
    # the sum of figures written in whole 1k USD, in that unit as the nation's figure is
    assert rows[0]["message"] == (
        f"the provinces of 2024 (firm_location) add up to {total:.0f} 1k USD, "
        f"not the national {total * 1.01:.3f} 1k USD (nation_firm_location.csv)"
    )


def test_bad_national_figure_stays_out_and_shares_use_the_last_good_one(prefect_harness, raw_dir, home):
    _consistent_releases(raw_dir)
    synthetic_release(raw_dir, "national_revised.csv", NATIONAL_REVISED_BADLY, published_on="2026-02-01", basis="national")
    report = run_flow(raw_dir, home)
    assert report.status == "published", report.message
    con = duckdb.connect(str(home / "published" / "citytrade.duckdb"), read_only=True)
    national = con.execute(
        "select total_cny, source_file from marts.fct_trade where area_code = '000000' and year = 2024"
    ).fetchall()
    assert national == [(43.85e12, "national.csv")]
    share, denominator = con.execute(
        "select share_of_national_pct, national_total_cny from marts.city_trade_ranking "
        "where area_code = '440300' and year = 2024 and month_to = 12"
    ).fetchone()
    assert denominator == 43.85e12
    assert abs(share - 100 * 4.50 / 43.85) < 1e-9
    alert = con.execute("select severity, message from marts.quality_alerts where check_name = 'hierarchy'").fetchall()
    assert alert == [("error", NATIONAL_BELOW_GUANGDONG)]
