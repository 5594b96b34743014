"""SPEC 5 check 7 through the real row gate: same-day releases that disagree are a conflict; a later one a revision."""

from __future__ import annotations

from checks_helpers import findings, flagged, row_gate, synthetic_release

FIRST = "area,year,month_from,month_to,total\nShenzhen,2024,1,12,4.50\nShanghai,2024,1,12,4.27\n"
SECOND = "area,year,month_from,month_to,total\nShenzhen,2024,1,12,4.60\nShanghai,2024,1,12,4.27\n"
SECOND_IN_100M_YUAN = "area,year,month_from,month_to,total\nShenzhen,2024,1,12,46000\nShanghai,2024,1,12,42700\n"


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
    assert rows[0]["message"] == (
        "Shenzhen 深圳市 (440300) 2024 (firm_location): releases published the same day disagree: "
        "customs_a.csv (published 2026-01-20) gives 4.50 trillion yuan, customs_b.csv (published 2026-01-20) gives 4.60 trillion yuan"
    )
    assert gate.passed  # a warning only alerts


def test_a_later_release_with_another_figure_is_a_revision_not_a_conflict(raw_dir, home):
    synthetic_release(raw_dir, "customs_a.csv", FIRST, published_on="2026-01-20")
    # the revision is written in 100m yuan: the earlier figure is given in that unit too
    synthetic_release(raw_dir, "customs_b.csv", SECOND_IN_100M_YUAN, published_on="2026-03-01", unit="100m_yuan")
    _, gate = row_gate(raw_dir, home)
    assert findings(gate, "release_conflict") == []
    rows = flagged(gate, "release_revision")
    assert len(rows) == 1 and rows[0]["message"] == (
        "Shenzhen 深圳市 (440300) 2024 (firm_location): revised: customs_a.csv (published 2026-01-20) gives 45000 100m yuan, "
        "customs_b.csv (published 2026-03-01) gives 46000 100m yuan"
    )
    assert findings(gate, "release_revision")[0].severity == "info"
