"""SPEC 5 check 7 through the real row gate: same-day releases that disagree are a conflict; a later one a revision."""

from __future__ import annotations

from checks_helpers import findings, flagged, row_gate, synthetic_release

FIRST = "area,year,month_from,month_to,total\nShenzhen,2024,1,12,4.50\nShanghai,2024,1,12,4.27\n"
SECOND = "area,year,month_from,month_to,total\nShenzhen,2024,1,12,4.60\nShanghai,2024,1,12,4.27\n"


def test_same_day_releases_with_the_same_figures_pass(raw_dir, home):
    synthetic_release(raw_dir, "customs_a.csv", FIRST, published_on="2026-01-20")
    synthetic_release(raw_dir, "customs_b.csv", FIRST, published_on="2026-01-20")
    _, gate = row_gate(raw_dir, home)
    assert findings(gate, "release_conflict") == [] and findings(gate, "release_revision") == []


def test_same_day_releases_that_disagree_raise_one_conflict_warning_naming_both(raw_dir, home):
    synthetic_release(raw_dir, "customs_a.csv", FIRST, published_on="2026-01-20")
    synthetic_release(raw_dir, "customs_b.csv", SECOND, published_on="2026-01-20")
    _, gate = row_gate(raw_dir, home)
    conflict = findings(gate, "release_conflict")
    assert len(conflict) == 1 and conflict[0].severity == "warning"
    rows = flagged(gate, "release_conflict")
    assert len(rows) == 1 and rows[0]["area_code"] == "440300"
    message = rows[0]["message"]
    assert "customs_a.csv" in message and "customs_b.csv" in message and "4.50" in message and "4.60" in message
    assert "Shenzhen 2024" in message
    assert gate.passed  # a warning only alerts


def test_a_later_release_with_another_figure_is_a_revision_not_a_conflict(raw_dir, home):
    synthetic_release(raw_dir, "customs_a.csv", FIRST, published_on="2026-01-20")
    synthetic_release(raw_dir, "customs_b.csv", SECOND, published_on="2026-03-01")
    _, gate = row_gate(raw_dir, home)
    assert findings(gate, "release_conflict") == []
    rows = flagged(gate, "release_revision")
    assert len(rows) == 1 and "revised" in rows[0]["message"] and "customs_a.csv" in rows[0]["message"]
    assert findings(gate, "release_revision")[0].severity == "info"
