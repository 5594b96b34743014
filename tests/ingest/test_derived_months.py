"""fct_trade_monthly: single months from year-to-date releases, January-February as one window, never negative."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from citytrade import warehouse
from conftest import write_release
from ingest_helpers import load_and_build, query

# A synthetic monthly series for Shenzhen 2024 in 100m yuan (亿元); January and February are only published together.
MONTHS = {2: Decimal("6123.456"), 3: Decimal("3211.987"), 4: Decimal("3350.5"), 5: Decimal("3402.25"),
          6: Decimal("3555.555"), 7: Decimal("3601.111"), 8: Decimal("3700.9"), 9: Decimal("3650.05"),
          10: Decimal("3499.999"), 11: Decimal("3720.4"), 12: Decimal("3999.77")}  # fmt: skip


def _year_to_date(month: int) -> Decimal:
    return sum((value for m, value in MONTHS.items() if m <= month), Decimal(0))


def _write_ytd_releases(raw):
    """One release per month 2..12 as customs publish it: the year to date, rounded; units change mid-year."""
    for month in range(2, 13):
        ytd = _year_to_date(month)
        if month <= 6:
            text, unit = f"{ytd.quantize(Decimal('0.01'))}", "100m_yuan"  # 亿元, two decimals
        else:
            text, unit = f"{(ytd / 10000).quantize(Decimal('0.0001'))}", "trillion_yuan"  # 万亿元, four decimals
        write_release(
            raw, f"ytd/2024-{month:02d}.csv", f"area,year,month_from,month_to,total\n深圳市,2024,1,{month},{text}\n",
            unit=unit, published_on=dt.date(2024 if month < 12 else 2025, month % 12 + 1, 18).isoformat(), synthetic="true",
        )  # fmt: skip


def test_ytd_releases_for_months_2_to_12_give_single_months_adding_up_to_december(raw_dir, home):
    _write_ytd_releases(raw_dir)
    settings = load_and_build(raw_dir, home)
    with warehouse.connect(settings.warehouse_path) as con:
        months = query(con, "select * from marts.fct_trade_monthly where area_code = '440300' order by month_from")
        december = query(con, "select total_cny, total_tolerance_cny from marts.fct_trade where area_code = '440300' and month_to = 12")[0]

    assert [(m["month_from"], m["month_to"]) for m in months] == [(1, 2)] + [(m, m) for m in range(3, 13)]
    assert months[0]["derivation"] == "published_january_february" and months[0]["period_label"] == "2024 M1-M2"
    assert {m["derivation"] for m in months[1:]} == {"difference_of_year_to_date"}
    assert all(m["total_cny"] >= 0 for m in months)
    total = sum(m["total_cny"] for m in months)
    assert abs(total - december["total_cny"]) <= december["total_tolerance_cny"]
    # each derived month is the true month within the rounding of the two published figures it comes from
    for row in months[1:]:
        true_value = float(MONTHS[row["month_to"]]) * 1e8
        assert abs(row["total_cny"] - true_value) <= row["total_tolerance_cny"] + 1e-3, row


def test_a_published_month_is_kept_and_a_falling_year_to_date_never_gives_a_negative_month(raw_dir, home):
    write_release(raw_dir, "ytd.csv", """\
        area,year,month_from,month_to,total
        宁波,2024,1,1,1000.00
        宁波,2024,1,2,1900.00
        宁波,2024,1,3,1899.995
        宁波,2024,1,4,1700.00
        宁波,2024,1,5,2600.00
    """, unit="100m_yuan", synthetic="true")  # fmt: skip
    write_release(raw_dir, "may.csv", """\
        area,year,month_from,month_to,total
        Ningbo,2024,5,5,901.3
    """, unit="100m_yuan", synthetic="true")  # fmt: skip
    settings = load_and_build(raw_dir, home)
    with warehouse.connect(settings.warehouse_path) as con:
        months = {(r["month_from"], r["month_to"]): r for r in query(con, "select * from marts.fct_trade_monthly where area_code = '330200'")}
        derived = {r["month_to"]: r for r in query(con, "select * from intermediate.int_trade_months_derived where area_code = '330200'")}

    assert months[(1, 1)]["derivation"] == "published_january" and months[(1, 1)]["total_cny"] == pytest.approx(1000e8)
    assert months[(2, 2)]["total_cny"] == pytest.approx(900e8)
    assert months[(3, 3)]["total_cny"] == 0  # 1899.995 after 1900.00: below zero only by rounding
    assert (4, 4) not in months  # the year to date fell by 199.995: no month, and never a negative one
    assert derived[4]["is_total_negative"] and derived[4]["total_cny"] == pytest.approx(-199.995e8)
    assert months[(5, 5)]["derivation"] == "published_single_month" and months[(5, 5)]["total_cny"] == pytest.approx(901.3e8)
    assert (1, 2) not in months  # January was published: no two-month window


def test_gacc_table_gives_both_windows_to_the_marts(raw_dir, home):
    (raw_dir / "gacc").mkdir()
    (raw_dir / "gacc" / "2024-11.csv").write_text(
        "2024年11月进出口商品收发货人所在地总值表\n地区,当月进出口,当月同比,累计进出口,累计同比\n广东省,8000.5,2.1,82000.3,7.5\n",
        encoding="utf-8",
    )
    (raw_dir / "gacc" / "2024-11.meta.yaml").write_text(
        "format: gacc-province-table\npublisher: test (synthetic)\npublished_on: 2024-12-20\nunit: 100m_yuan\n"
        "basis: firm_location\nsynthetic: true\n", encoding="utf-8",
    )  # fmt: skip
    settings = load_and_build(raw_dir, home)
    with warehouse.connect(settings.warehouse_path) as con:
        fct = query(con, "select month_from, month_to, total_cny, total_yoy_pct_published, observation_id from marts.fct_trade order by month_from")
        monthly = query(con, "select month_from, derivation, total_cny from marts.fct_trade_monthly")
    assert [(r["month_from"], r["month_to"], r["total_yoy_pct_published"]) for r in fct] == [(1, 11, 7.5), (11, 11, 2.1)]
    assert fct[0]["total_cny"] == pytest.approx(82000.3e8) and fct[1]["total_cny"] == pytest.approx(8000.5e8)
    assert fct[0]["observation_id"] != fct[1]["observation_id"]  # one file row, two figures
    assert monthly == [{"month_from": 11, "derivation": "published_single_month", "total_cny": pytest.approx(8000.5e8)}]
