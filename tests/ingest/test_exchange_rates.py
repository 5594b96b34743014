"""USD figures: a month or year-to-date window uses the monthly CNY/USD averages, a full year the annual one."""

from __future__ import annotations

import csv
from statistics import mean

import pytest
from citytrade import warehouse
from citytrade.config import SEEDS_DIR
from citytrade.ingest.load import ingest_releases
from conftest import write_release
from ingest_helpers import load_and_build, query


def _seed_rates() -> dict[tuple[int, int | None], float]:
    with open(SEEDS_DIR / "cny_usd_rates.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert all(row["source"].strip() for row in rows), "every rate names its source"
    return {(int(row["year"]), int(row["month"]) if row["month"] else None): float(row["cny_per_usd"]) for row in rows}


def test_usd_windows_use_monthly_averages_where_the_seed_has_them(raw_dir, home):
    rates = _seed_rates()
    write_release(raw_dir, "usd.csv", """\
        area,year,month_from,month_to,total
        Shenzhen,2024,6,6,100
        Shenzhen,2024,1,3,300
        Shenzhen,2024,1,12,1200
        Shenzhen,2025,1,7,700
    """, unit="100m_usd", synthetic="true")  # fmt: skip
    settings = load_and_build(raw_dir, home)
    with warehouse.connect(settings.warehouse_path) as con:
        rows = {(r["year"], r["month_from"], r["month_to"]): r for r in query(con, "select * from intermediate.int_trade_observations_versioned")}
        fct = {(r["year"], r["month_from"], r["month_to"]): r for r in query(con, "select * from marts.fct_trade")}

    june = rows[(2024, 6, 6)]
    assert june["cny_usd_rate_kind"] == "monthly_average" and june["cny_per_unit_currency"] == pytest.approx(rates[(2024, 6)])
    first_quarter = rows[(2024, 1, 3)]
    assert first_quarter["cny_per_unit_currency"] == pytest.approx(mean(rates[(2024, m)] for m in (1, 2, 3)))
    full_year = rows[(2024, 1, 12)]
    assert full_year["cny_usd_rate_kind"] == "annual_average" and full_year["cny_per_unit_currency"] == pytest.approx(rates[(2024, None)])
    no_annual_yet = rows[(2025, 1, 7)]
    assert no_annual_yet["cny_per_unit_currency"] == pytest.approx(mean(rates[(2025, m)] for m in range(1, 8)))
    # the marts are in yuan; the original currency is kept
    assert fct[(2024, 6, 6)]["total_cny"] == pytest.approx(100e8 * rates[(2024, 6)])
    assert fct[(2024, 6, 6)]["source_currency"] == "USD"


def test_a_usd_window_without_any_rate_is_quarantined(raw_dir, tmp_path):
    write_release(raw_dir, "usd.csv", """\
        area,year,month_from,month_to,total
        Shenzhen,2025,1,12,1400
        Shenzhen,2015,1,12,1400
        Shenzhen,2024,1,12,1300
    """, unit="100m_usd", synthetic="true")  # fmt: skip
    summary = ingest_releases(raw_dir, tmp_path / "w.duckdb", "run")
    assert summary.rows_loaded == 1
    assert summary.problems == [
        "usd.csv:2: no CNY/USD rate for 2025 months 1-12 in dbt_project/seeds/cny_usd_rates.csv",
        "usd.csv:3: no CNY/USD rate for 2015 months 1-12 in dbt_project/seeds/cny_usd_rates.csv",
    ]
