"""SPEC 5 check 4 on the real NBS province tables: unit mistakes are errors naming the likely mistake, real swings are not."""

from __future__ import annotations

import csv
import re
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
    assert rows[jiangsu[0]] == (
        "Jiangsu 江苏省 (320000) 2019 (firm_location, nbs/A060101.csv): 62951593.447 1k USD is 1/10.1 of what the same "
        "area's figures of 2017-2021 and its destination_source figure suggest (about 637000000 1k USD): "
        "looks like 万美元 labelled as 千美元"
    )
    assert rows[zhejiang[0]] == (
        "Zhejiang 浙江省 (330000) 2021 (destination_source, nbs/A060201.csv): 3986860970.648 1k USD is 6.4 times what the "
        "same area's figures of 2019-2023 and its firm_location figure suggest (about 623000000 1k USD): "
        "looks like 千元 labelled as 千美元"
    )
    # an error keeps exactly these rows out of the marts
    assert gate.error_row_ids() == set(jiangsu + zhejiang)


def test_a_magnitude_alert_names_the_area_and_gives_the_figure_and_its_expectation_in_one_unit(raw_dir, home):
    shutil.copytree(SAMPLE_RAW / "nbs", raw_dir / "nbs")
    _tamper(raw_dir / "nbs" / "A060101.csv", "440000", 2022, 0.1)  # Guangdong 2022, published in 1k USD, a tenth of itself
    settings, gate = row_gate(raw_dir, home)
    rows = flagged(gate, "unit_magnitude")
    assert [row["id"] for row in rows] == observation_ids(settings, "area_code = '440000' and year = 2022 and basis = 'firm_location'")
    message = rows[0]["message"]
    assert message == (
        "Guangdong 广东省 (440000) 2022 (firm_location, nbs/A060101.csv): 124239000.000 1k USD is 1/10.3 of what the "
        "same area's figures of 2020-2024 and its destination_source figure suggest (about 1280000000 1k USD): "
        "looks like 万美元 labelled as 千美元"
    )
    # one unit: the figure as written and what its references expect, both in 1k USD, about ten times apart
    written, expected = re.findall(r"([0-9.]+) 1k USD", message)
    assert 9 < float(expected) / float(written) < 11
    assert (rows[0]["observed"], rows[0]["expected"]) == (f"{written} 1k USD", f"about {expected} 1k USD")
