"""SPEC 5 checks 5 and 6 through the real row gate: year-to-date totals never fall; implausible and outlying growth warns."""

from __future__ import annotations

from checks_helpers import findings, flagged, observation_ids, row_gate, synthetic_release


def test_year_to_date_totals_rising_through_the_year_pass(raw_dir, home):
    synthetic_release(raw_dir, "ytd.csv", "area,year,month_from,month_to,total\nShenzhen,2023,1,11,3.51\nShenzhen,2023,1,12,3.87\n")
    _, gate = row_gate(raw_dir, home)
    assert findings(gate, "ytd_monotonic") == []


def test_year_to_date_total_below_an_earlier_window_is_an_error(raw_dir, home):
    synthetic_release(raw_dir, "ytd.csv", "area,year,month_from,month_to,total\nShenzhen,2023,1,11,3.51\nShenzhen,2023,1,12,3.40\n")
    settings, gate = row_gate(raw_dir, home)
    rows = flagged(gate, "ytd_monotonic")
    assert [row["id"] for row in rows] == observation_ids(settings, "month_to = 12")
    assert findings(gate, "ytd_monotonic")[0].severity == "error"
    assert rows[0]["message"] == (
        "Shenzhen 深圳市 (440300) 2023 (firm_location): year-to-date total 3.40 trillion yuan (ytd.csv) is below the "
        "2023 M1-M11 figure 3.51 trillion yuan (ytd.csv): the months in between would be negative"
    )
    assert (rows[0]["observed"], rows[0]["expected"]) == ("3.40 trillion yuan", "at least 3.51 trillion yuan by 2023 M1-M11")


CITIES = ["Shenzhen", "Shanghai", "Suzhou", "Ningbo", "Guangzhou", "Dongguan"]


def _panel(outlier_growth: float | None) -> str:
    """Six cities, 2016-2023, each growing a steady few percent a year; Ningbo's 2021 growth optionally replaced."""
    lines = ["area,year,month_from,month_to,total"]
    for index, city in enumerate(CITIES):
        level = 1.0 + index * 0.3
        for year in range(2016, 2024):
            if year > 2016:
                growth = 0.03 + 0.01 * ((year + index) % 4)
                if city == "Ningbo" and year == 2021 and outlier_growth is not None:
                    growth = outlier_growth
                level *= 1 + growth
            lines.append(f"{city},{year},1,12,{level:.4f}")
    return "\n".join(lines) + "\n"


def test_steady_growth_raises_no_anomaly(raw_dir, home):
    synthetic_release(raw_dir, "panel.csv", _panel(None))
    _, gate = row_gate(raw_dir, home)
    assert findings(gate, "growth_outlier") == [] and findings(gate, "growth_plausible") == []


def test_growth_far_from_own_history_and_peers_is_an_outlier_warning(raw_dir, home):
    synthetic_release(raw_dir, "panel.csv", _panel(0.45))
    settings, gate = row_gate(raw_dir, home)
    rows = flagged(gate, "growth_outlier")
    assert [row["id"] for row in rows] == observation_ids(settings, "area_code = '330200' and year = 2021")
    assert findings(gate, "growth_outlier")[0].severity == "warning" and gate.passed
    assert rows[0]["message"] == (
        "Ningbo 宁波市 (330200) 2021 (firm_location, panel.csv): growth of 45.0% is an outlier against its own history "
        "(median 4.5%, z 27.3) and its peers (median 5.0%, z 27.0)"
    )
    assert findings(gate, "growth_plausible") == []  # 45% is unusual, not implausible


def test_growth_outside_the_plausible_band_is_a_warning(raw_dir, home):
    synthetic_release(raw_dir, "panel.csv", _panel(-0.65))
    settings, gate = row_gate(raw_dir, home)
    rows = flagged(gate, "growth_plausible")
    assert [row["id"] for row in rows] == observation_ids(settings, "area_code = '330200' and year = 2021")
    assert rows[0]["message"] == (
        "Ningbo 宁波市 (330200) 2021 (firm_location, panel.csv): growth of -65.0% is outside the plausible band -60% to +150%"
    )
    assert findings(gate, "growth_plausible")[0].severity == "warning"
    assert findings(gate, "unit_magnitude") == []  # a fall by two thirds is no unit mistake
