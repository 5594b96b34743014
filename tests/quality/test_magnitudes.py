"""SPEC 5 check 4 on the real NBS province tables: unit mistakes are errors naming the likely mistake, real swings are not."""

from __future__ import annotations

import csv
import shutil

from checks_helpers import findings, flagged, observation_ids, row_gate
from conftest import SAMPLE_RAW
from citytrade.config import SEEDS_DIR


def _annual_rate(year: int) -> float:
    with open(SEEDS_DIR / "cny_usd_rates.csv", encoding="utf-8") as handle:
        rates = [float(row["cny_per_usd"]) for row in csv.DictReader(handle) if row["year"] == str(year) and not row["month"]]
    assert len(rates) == 1
    return rates[0]


def _tamper(path, region_code: str, year: int, factor: float) -> None:
    """Rewrite one figure of a copied NBS table (the shipped raw files are never touched)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    fields = list(rows[0])
    hits = [row for row in rows if row["region_code"] == region_code and row["year"] == str(year)]
    assert len(hits) == 1
    value = float(hits[0]["value"]) * factor
    hits[0]["value"] = f"{value:.3f}"
    hits[0]["display_value"] = f"{value:.0f}"
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def test_real_nbs_tables_2016_2024_have_no_unit_errors(raw_dir, home):
    shutil.copytree(SAMPLE_RAW / "nbs", raw_dir / "nbs")
    settings, gate = row_gate(raw_dir, home)
    assert len(observation_ids(settings, "year between 2016 and 2024")) == 2 * 31 * 9
    assert findings(gate, "unit_magnitude") == []


def test_a_province_year_divided_by_ten_and_one_multiplied_by_the_rate_are_the_only_unit_errors(raw_dir, home):
    shutil.copytree(SAMPLE_RAW / "nbs", raw_dir / "nbs")
    _tamper(raw_dir / "nbs" / "A060101.csv", "320000", 2019, 0.1)  # Jiangsu 2019: 万美元 figure written as 千美元
    _tamper(raw_dir / "nbs" / "A060201.csv", "330000", 2021, _annual_rate(2021))  # Zhejiang 2021: yuan written as dollars
    settings, gate = row_gate(raw_dir, home)
    unit_findings = findings(gate, "unit_magnitude")
    assert len(unit_findings) == 1 and unit_findings[0].severity == "error"
    rows = {row["id"]: row["message"] for row in flagged(gate, "unit_magnitude")}
    jiangsu = observation_ids(settings, "area_code = '320000' and year = 2019 and basis = 'firm_location'")
    zhejiang = observation_ids(settings, "area_code = '330000' and year = 2021 and basis = 'destination_source'")
    assert set(rows) == set(jiangsu + zhejiang)
    assert "Jiangsu 2019" in rows[jiangsu[0]] and "looks like 万美元 labelled as 千美元" in rows[jiangsu[0]]
    assert "Zhejiang 2021" in rows[zhejiang[0]] and "looks like 千元 labelled as 千美元" in rows[zhejiang[0]]
    # an error keeps exactly these rows out of the marts
    assert gate.error_row_ids() == set(jiangsu + zhejiang)
