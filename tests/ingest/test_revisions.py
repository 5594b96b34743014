"""Revisions: a later-published release replaces the figure in the marts; the history keeps every version; same-day disagreements are conflicts."""

from __future__ import annotations

import datetime as dt
from citytrade import warehouse
from conftest import write_release
from ingest_helpers import load_and_build, query

PRELIMINARY = """\
    area,year,month_from,month_to,total,exports,imports
    Shenzhen,2024,1,12,4.50,2.83,1.67
    Suzhou,2024,1,12,2.46,1.62,0.84
"""
REVISED = """\
    area,year,month_from,month_to,total,exports,imports
    Shenzhen,2024,1,12,4.51,2.84,1.67
"""


def _fct_trade(con, area_code):
    return query(con, "select * from marts.fct_trade where area_code = ? and year = 2024 and month_to = 12", [area_code])


def test_revised_release_changes_the_mart_and_the_history_keeps_both(raw_dir, home):
    write_release(raw_dir, "2025-01/prelim.csv", PRELIMINARY, published_on="2025-01-14", synthetic="true")
    settings = load_and_build(raw_dir, home, "first")
    with warehouse.connect(settings.warehouse_path) as con:
        (before,) = _fct_trade(con, "440300")
    assert before["total_cny"] == 4.50e12 and before["published_on"] == dt.date(2025, 1, 14)

    # a month later the publisher revises Shenzhen in a new release
    write_release(raw_dir, "2025-02/revised.csv", REVISED, published_on="2025-02-20", synthetic="true")
    load_and_build(raw_dir, home, "second")
    with warehouse.connect(settings.warehouse_path) as con:
        (after,) = _fct_trade(con, "440300")
        (suzhou,) = _fct_trade(con, "320500")
        history = query(con, """select * from marts.fct_trade_history
                                where area_code = '440300' and year = 2024 and month_to = 12 order by version_number""")

    assert after["total_cny"] == 4.51e12 and after["exports_cny"] == 2.84e12
    assert after["published_on"] == dt.date(2025, 2, 20) and after["source_file"] == "2025-02/revised.csv"
    assert suzhou["total_cny"] == 2.46e12  # not revised: the preliminary figure stays in force
    assert [(h["version_number"], h["total_as_published"], h["published_on"], h["is_current"], h["is_conflict"]) for h in history] == [
        (1, "4.50", dt.date(2025, 1, 14), False, False),
        (2, "4.51", dt.date(2025, 2, 20), True, False),
    ]
    assert history[0]["release_id"] != history[1]["release_id"]


def test_same_day_releases_with_different_figures_are_conflicts(raw_dir, home):
    write_release(raw_dir, "a/customs.csv", PRELIMINARY, published_on="2025-01-14", synthetic="true")
    write_release(raw_dir, "b/commerce.csv", """\
        area,year,month_from,month_to,total
        Shenzhen,2024,1,12,4.60
        Suzhou,2024,1,12,24600
    """, published_on="2025-01-14", synthetic="true", unit="100m_yuan")  # fmt: skip
    settings = load_and_build(raw_dir, home)
    with warehouse.connect(settings.warehouse_path) as con:
        history = query(con, "select area_code, source_file, is_conflict, is_current from marts.fct_trade_history order by area_code, source_file")
    assert [(h["area_code"], h["source_file"], h["is_conflict"]) for h in history] == [
        ("320500", "a/customs.csv", False),  # 2.46 trillion and 24600 亿元 are the same figure
        ("320500", "b/commerce.csv", False),
        ("440300", "a/customs.csv", True),  # 4.50 against 4.60 trillion on the same day
        ("440300", "b/commerce.csv", True),
    ]
    assert sum(h["is_current"] for h in history if h["area_code"] == "440300") == 1


def test_revision_reaches_the_published_marts_through_a_whole_run(prefect_harness, raw_dir, home):
    import duckdb

    from conftest import run_flow

    write_release(raw_dir, "2025-01/prelim.csv", PRELIMINARY, published_on="2025-01-14", synthetic="true")
    assert run_flow(raw_dir, home).status == "published"
    write_release(raw_dir, "2025-02/revised.csv", REVISED, published_on="2025-02-20", synthetic="true")
    report = run_flow(raw_dir, home)
    assert report.status == "published", report.message
    assert report.releases_loaded == ["2025-02/revised.csv"]

    with duckdb.connect(str(home / "published" / "citytrade.duckdb"), read_only=True) as con:
        current = con.execute("select total_cny, published_on from marts.fct_trade where area_code = '440300'").fetchall()
        history = con.execute(
            "select total_as_published, published_on, is_current from marts.fct_trade_history where area_code = '440300' order by version_number"
        ).fetchall()
    assert current == [(4.51e12, dt.date(2025, 2, 20))]
    assert history == [("4.50", dt.date(2025, 1, 14), False), ("4.51", dt.date(2025, 2, 20), True)]
