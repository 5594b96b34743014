"""SPEC 5 check 7 through the real row gate: same-day releases that disagree are a conflict; a later one a revision."""

from __future__ import annotations

import pytest
from checks_helpers import findings, flagged, prepare, row_gate, run_row_gate, synthetic_release
from citytrade import warehouse

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


CUSTOMS_158 = "area,year,month_from,month_to,total\nDongguan,2025,1,12,1.58\n"
COMMERCE_157 = "area,year,month_from,month_to,total\nDongguan,2025,1,12,1.57\n"


@pytest.mark.parametrize("first", ["customs", "commerce"])
def test_a_same_day_conflict_of_1_57_and_1_58_trillion_warns_naming_both_and_precedence_not_load_order_decides(raw_dir, home, first):
    """1.57 and 1.58 at two decimals are [1.565, 1.575) and [1.575, 1.585): disjoint, so they conflict."""
    releases = {
        "customs": ("dongguan_customs.csv", CUSTOMS_158, "Huangpu Customs"),
        "commerce": ("dongguan_commerce.csv", COMMERCE_157, "Dongguan Municipal Bureau of Commerce"),
    }
    second = "commerce" if first == "customs" else "customs"
    for turn, which in enumerate((first, second)):
        name, text, publisher = releases[which]
        synthetic_release(raw_dir, name, text, published_on="2026-01-20", publisher=f'"{publisher}"')
        if turn == 0:  # the first is loaded by a run of its own, so the two are loaded in this order
            settings = prepare(raw_dir, home)
    settings = prepare(raw_dir, home)
    gate = run_row_gate(settings)
    rows = flagged(gate, "release_conflict")
    assert len(rows) == 1 and findings(gate, "release_conflict")[0].severity == "warning"
    assert rows[0]["message"] == (
        "Dongguan 东莞市 (441900) 2025 (firm_location): releases published the same day disagree: "
        "dongguan_commerce.csv (published 2026-01-20) gives 1.57 trillion yuan, "
        "dongguan_customs.csv (published 2026-01-20) gives 1.58 trillion yuan"
    )
    with warehouse.connect(settings.warehouse_path) as con:
        loaded = [row[0] for row in con.execute("select path from raw.releases order by loaded_at").fetchall()]
        current = con.execute(
            """select total_text, source_file, publisher_kind from intermediate.int_trade_observations_versioned
               where area_code = '441900' and version_rank = 1"""
        ).fetchall()
    assert loaded == [releases[first][0], releases[second][0]]
    assert current == [("1.58", "dongguan_customs.csv", "customs")]  # customs before a commerce department
