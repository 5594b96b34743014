"""SPEC 5 checks 3, 8 and 9 through the real GX checkpoints: growth vs levels, Top 100 integrity, freshness."""

from __future__ import annotations

import csv

from checks_helpers import findings, flagged, row_gate, synthetic_release
from citytrade import pipeline
from citytrade.config import SEEDS_DIR

SHENZHEN = "area,year,month_from,month_to,total,total_yoy_pct\nShenzhen,2023,1,12,3.87,\nShenzhen,2024,1,12,4.50,{growth}\n"


def test_fresh_city_figures_pass_the_release_calendar(raw_dir, home, monkeypatch):
    monkeypatch.setenv("CITYTRADE_AS_OF", "2025-02-01")  # 2024 city figures were due by 2025-03-01
    synthetic_release(raw_dir, "trade.csv", SHENZHEN.format(growth=""))
    _, gate = row_gate(raw_dir, home)
    assert findings(gate, "freshness") == []


def test_figures_older_than_the_release_calendar_allows_warn(raw_dir, home, monkeypatch):
    monkeypatch.setenv("CITYTRADE_AS_OF", "2026-06-01")
    synthetic_release(raw_dir, "trade.csv", SHENZHEN.format(growth=""))
    _, gate = row_gate(raw_dir, home)
    rows = flagged(gate, "freshness")
    assert [row["id"] for row in rows] == ["freshness:city_firm_location_year"]
    assert findings(gate, "freshness")[0].severity == "warning" and gate.passed
    assert "newest loaded is 2024 but 2025 was due by 2026-03-02" in rows[0]["message"]


def test_published_growth_that_the_levels_confirm_passes(raw_dir, home):
    synthetic_release(raw_dir, "trade.csv", SHENZHEN.format(growth="16.3"))  # 4.50 / 3.87 = +16.3%
    _, gate = row_gate(raw_dir, home)
    assert findings(gate, "growth_vs_levels_total") == []


def test_published_growth_the_levels_contradict_warns_naming_both(raw_dir, home):
    synthetic_release(raw_dir, "trade.csv", SHENZHEN.format(growth="25.0"))
    _, gate = row_gate(raw_dir, home)
    rows = flagged(gate, "growth_vs_levels_total")
    assert len(rows) == 1 and findings(gate, "growth_vs_levels_total")[0].severity == "warning"
    assert rows[0]["message"] == (
        "Shenzhen 深圳市 (440300) 2024 (firm_location): published total growth 25.0% but the levels "
        "(4.50 vs 3.87 trillion yuan a year before) give 16.00% to 16.56% (often a revised base)"
    )


def _top100(count: int) -> str:
    with open(SEEDS_DIR / "areas.csv", encoding="utf-8") as handle:
        cities = [row["name_zh"] for row in csv.DictReader(handle) if row["level"] == "city"][:count]
    return "year,rank,area,score\n" + "".join(f"2024,{rank},{city},{90 - rank * 0.5:.2f}\n" for rank, city in enumerate(cities, start=1))


def _mart_gate(raw_dir, home):
    settings, _ = row_gate(raw_dir, home)
    pipeline.audit_rows_stage(settings, "test-run")
    pipeline.build_post_gate_stage(settings)
    gate, _ = pipeline.audit_marts_stage(settings, "test-run")
    return gate


def test_a_complete_top100_list_of_100_distinct_cities_passes_the_mart_gate(raw_dir, home):
    synthetic_release(raw_dir, "top100.csv", _top100(100), format="top100-v1", complete="true", unit=None, basis=None)
    gate = _mart_gate(raw_dir, home)
    assert findings(gate, "top100_list_size") == [] and findings(gate, "region_counts_add_up") == []
    assert gate.passed, gate.summary()


def test_a_complete_top100_list_of_99_cities_blocks_the_publish(raw_dir, home):
    synthetic_release(raw_dir, "top100.csv", _top100(99), format="top100-v1", complete="true", unit=None, basis=None)
    gate = _mart_gate(raw_dir, home)
    size = findings(gate, "top100_list_size")
    assert len(size) == 1 and size[0].severity == "error" and size[0].unexpected_count == 99
    assert not gate.passed and "top100_list_size" in gate.summary()
