"""The figures an analyst quotes from the shipped sample releases, read from the published marts with one query each."""

from __future__ import annotations

import duckdb
import pytest

FULL_YEAR_FIRM = "month_from = 1 and month_to = 12 and basis = 'firm_location'"


@pytest.fixture(scope="module")
def published(sample_home):
    con = duckdb.connect(str(sample_home / "published" / "citytrade.duckdb"), read_only=True)
    yield con
    con.close()


def test_2025_top_two_are_shenzhen_and_shanghai_with_a_gap_of_0_04_trillion(published):
    rows = published.execute(
        f"""select rank_total, name_en, total_cny, name_en_above, gap_to_above_cny, cities_ranked
            from marts.city_trade_ranking where year = 2025 and {FULL_YEAR_FIRM} and rank_total <= 2 order by rank_total"""
    ).fetchall()
    (first_rank, first, first_total, above_first, gap_first, ranked), (second_rank, second, second_total, above, gap, _) = rows
    assert (first_rank, first, second_rank, second) == (1, "Shenzhen", 2, "Shanghai")
    assert (first_total, second_total) == (pytest.approx(4.55e12), pytest.approx(4.51e12))
    assert above_first is None and gap_first is None
    assert above == "Shenzhen"
    assert gap == pytest.approx(4.55e12 - 4.51e12, rel=1e-9)  # 40 billion yuan
    assert ranked >= 2


def test_shenzhen_2025_share_of_national_is_10_0_percent(published):
    share, national = published.execute(
        f"""select share_of_national_pct, national_total_cny from marts.city_trade_ranking
            where year = 2025 and {FULL_YEAR_FIRM} and name_en = 'Shenzhen'"""
    ).fetchone()
    assert national == pytest.approx(45.47e12)
    assert round(share, 1) == 10.0
    assert share == pytest.approx(100 * 4.55 / 45.47)


def test_shenzhen_overtook_shanghai_in_2024_among_the_reporting_cities_but_no_rank_change_is_claimed(published):
    rows = published.execute(
        f"""select name_en, rank_total, rank_total_prev, rank_change, rank_is_certain, total_cny_prev
            from marts.city_trade_ranking
            where year = 2024 and {FULL_YEAR_FIRM} and name_en in ('Shenzhen', 'Shanghai') order by name_en"""
    ).fetchall()
    # 4.27 and 4.50 trillion against 2023's 3.87 (Shenzhen) and Beijing's 3.65: the order among the six
    # reporting cities swapped, but an unreported city could lie between them, so neither rank is certain
    assert [row[:5] for row in rows] == [("Shanghai", 2, 1, None, False), ("Shenzhen", 1, 2, None, False)]
    prev = published.execute(
        f"""select name_en, total_cny from marts.city_trade_ranking
            where year = 2023 and {FULL_YEAR_FIRM} and name_en in ('Shenzhen', 'Shanghai') order by name_en"""
    ).fetchall()
    assert [(name, total) for name, *_, total in rows] == prev  # total_cny_prev is last year's figure


def test_dongguan_2025_is_fourth_of_the_reporting_cities_and_could_be_fifth_or_lower(published):
    """The press calls Dongguan the fifth-largest (Beijing, without a 2025 figure here, is above it)."""
    row = published.execute(
        f"""select rank_total, rank_best, rank_worst, rank_is_certain, areas_reported, areas_in_universe, areas_missing
            from marts.city_trade_ranking where year = 2025 and {FULL_YEAR_FIRM} and name_en = 'Dongguan'"""
    ).fetchone()
    rank_total, best, worst, certain, reported, universe, missing = row
    assert rank_total == 4 and best <= 5 <= worst and certain is False
    # certainly below Shenzhen, Shanghai and Suzhou; docs/rank_bounds.md works the worst rank out: 21
    assert (best, worst) == (4, 21)
    assert (reported, universe, missing) == (6, 337, 331)


def test_chongqing_rank_changes_are_null_where_the_rankings_do_not_compare(published):
    province_2025 = published.execute(
        f"""select rank_total, rank_total_prev, rank_change, rank_is_certain, rank_best_prev, rank_worst_prev
            from marts.province_trade_ranking where year = 2025 and {FULL_YEAR_FIRM} and name_en = 'Chongqing'"""
    ).fetchone()
    # 5th of the 5 provinces with 2025 figures against 14th of 31 in 2024 (a certain rank then): not a move of +9
    assert province_2025 == (5, 14, None, False, 14, 14)
    city_2022 = published.execute(
        f"""select rank_total, rank_total_prev, rank_change, rank_is_certain
            from marts.city_trade_ranking where year = 2022 and {FULL_YEAR_FIRM} and name_en = 'Chongqing'"""
    ).fetchone()
    assert city_2022[2] is None and city_2022[3] is False and city_2022[0] > city_2022[1]  # 8th of 8 after 4th


def test_the_2025_top_shares_and_hhi_are_null_as_the_reporting_cities_cover_a_third_of_the_nation(published):
    top10, top2, top1, hhi, coverage, reported, universe = published.execute(
        f"""select top10_share_pct, top2_share_pct, top1_share_pct, hhi, coverage_of_national_pct, areas_reported,
                   areas_in_universe
            from marts.trade_concentration where year = 2025 and {FULL_YEAR_FIRM}"""
    ).fetchone()
    totals = [row[0] for row in published.execute(
        f"select total_cny from marts.city_trade_ranking where year = 2025 and {FULL_YEAR_FIRM}").fetchall()]  # fmt: skip
    assert coverage == pytest.approx(100 * sum(totals) / 45.47e12)  # 33.7 %
    assert reported == len(totals) == 6 and universe == 337
    # Shenzhen is 1..5 (Beijing, Guangzhou and others could be larger as far as the loaded totals tell)
    assert (top10, top2, top1, hhi) == (None, None, None, None)


def test_province_hhi_and_shares_are_given_where_every_province_reported(published):
    coverage, certain = published.execute(
        f"""select max(coverage_of_national_pct), bool_and(rank_is_certain) from marts.province_trade_ranking
            where year = 2024 and {FULL_YEAR_FIRM}"""
    ).fetchone()
    assert coverage == pytest.approx(100, abs=0.5) and certain is True  # all 31 NBS totals


def test_dongguan_grew_fastest_of_the_large_cities_in_2025(published):
    rows = published.execute(
        f"""select growth_rank, name_en, total_yoy_pct, direction, min_total_cny from marts.growth_leaders
            where year = 2025 and {FULL_YEAR_FIRM} order by growth_rank"""
    ).fetchall()
    assert rows[0][:4] == (1, "Dongguan", 13.8, "growing")
    assert all(row[4] == 100e9 for row in rows)
    # no city below the size threshold is among the leaders
    small = published.execute(
        f"""select count(*) from marts.growth_leaders where year = 2025 and {FULL_YEAR_FIRM} and total_cny < min_total_cny"""
    ).fetchone()[0]
    assert small == 0


def test_top100_vs_trade_puts_the_2022_list_beside_the_trade_ranking(published):
    rows = dict(
        (name, (competitiveness, trade))
        for name, competitiveness, trade in published.execute(
            "select name_en, competitiveness_rank, trade_rank from marts.top100_vs_trade where year = 2022"
        ).fetchall()
    )
    trade = dict(published.execute(
        f"select name_en, rank_total from marts.city_trade_ranking where year = 2022 and {FULL_YEAR_FIRM}").fetchall())  # fmt: skip
    assert rows["Shenzhen"] == (1, trade["Shenzhen"])
    assert rows["Shanghai"] == (2, trade["Shanghai"])
    overlap = published.execute("select distinct top10_overlap from marts.top100_vs_trade where year = 2022").fetchall()
    expected = sum(1 for name, (competitiveness, rank) in rows.items() if competitiveness <= 10 and rank is not None and rank <= 10)
    assert overlap == [(expected,)] and expected >= 2


def test_2022_top100_region_counts_are_the_publishers_60_26_10_4_and_the_12_entries_only_a_minimum(published):
    rows = published.execute(
        """select region, cities_in_list, cities_in_list_min, change_vs_prev_year, list_size, is_count_published,
                  is_complete_list
           from marts.region_distribution where year = 2022 order by region"""
    ).fetchall()
    assert rows == [
        ("central", 26, 1, 3, 100, True, False),
        ("east", 60, 9, 1, 100, True, False),
        ("northeast", 4, 1, -2, 100, True, False),
        ("west", 10, 1, -2, 100, True, False),
    ]  # against 23, 59, 6 and 12 in the 2021 list, as the same coverage reported


def test_2019_top10_entries_give_no_region_count_only_a_minimum(published):
    rows = published.execute(
        "select region, cities_in_list, cities_in_list_min, list_size from marts.region_distribution where year = 2019"
    ).fetchall()
    assert {region: rest for region, *rest in rows} == {
        "central": [None, 0, None], "east": [None, 6, None], "northeast": [None, 0, None], "west": [None, 0, None],
    }  # fmt: skip
