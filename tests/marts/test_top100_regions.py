"""Top 100 region counts: complete synthetic lists for 2021 and 2022 give the published 60/26/10/4 and its changes."""

from __future__ import annotations

import csv
import random

import duckdb
import pytest

from conftest import REPO, SAMPLE_RAW, run_flow, write_release

AREAS_CSV = REPO / "dbt_project" / "seeds" / "areas.csv"
REGIONS = ("east", "central", "west", "northeast")


def synthetic_top100(year: int, per_region: dict[str, int], seed: int) -> str:
    """A complete list of real cities with the given number per region, in a shuffled (seeded) order."""
    with AREAS_CSV.open(encoding="utf-8") as handle:
        cities = [row for row in csv.DictReader(handle) if row["level"] in ("city", "municipality")]
    chosen = []
    for region, count in per_region.items():
        in_region = sorted((row for row in cities if row["region"] == region), key=lambda row: row["area_code"])
        chosen += in_region[:count]
    assert len(chosen) == 100
    random.Random(seed).shuffle(chosen)
    lines = ["year,rank,area,score"] + [f"{year},{rank},{row['area_code']},{90 - rank * 0.5:.2f}" for rank, row in enumerate(chosen, 1)]
    return "\n".join(lines) + "\n"


def write_list(raw, year: int, per_region: dict[str, int], published_on: str) -> None:
    write_release(
        raw, f"top100/top100_{year}_synthetic.csv", synthetic_top100(year, per_region, seed=year),
        format="top100-v1", publisher="citytrade tests (generated)", published_on=published_on,
        title=f"Synthetic Top 100 foreign-trade cities {year}", complete="true", synthetic="true", unit=None, basis=None,
    )  # fmt: skip


@pytest.fixture(scope="module")
def synthetic_lists_home(prefect_harness, tmp_path_factory):
    raw = tmp_path_factory.mktemp("top100-raw")
    write_list(raw, 2021, {"east": 59, "central": 23, "west": 12, "northeast": 6}, "2022-11-28")
    write_list(raw, 2022, {"east": 60, "central": 26, "west": 10, "northeast": 4}, "2023-11-27")
    home = tmp_path_factory.mktemp("top100-home")
    report = run_flow(raw, home)
    assert report.status == "published", report.message
    return home


@pytest.fixture
def published(synthetic_lists_home):
    con = duckdb.connect(str(synthetic_lists_home / "published" / "citytrade.duckdb"), read_only=True)
    yield con
    con.close()


def test_2022_regions_are_60_26_10_4_with_changes_against_2021(published):
    rows = published.execute(
        """select region, cities_in_list, change_vs_prev_year, list_size, is_complete_list, is_synthetic
           from marts.region_distribution where year = 2022"""
    ).fetchall()
    by_region = {row[0]: row[1:] for row in rows}
    assert set(by_region) == set(REGIONS)
    assert {region: by_region[region][:2] for region in REGIONS} == {
        "east": (60, 1), "central": (26, 3), "west": (10, -2), "northeast": (4, -2),
    }  # fmt: skip
    assert all(values[2:] == (100, True, True) for values in by_region.values())


def test_2021_counts_add_up_to_the_list_and_have_no_earlier_list_to_compare(published):
    rows = dict(published.execute(
        "select region, cities_in_list from marts.region_distribution where year = 2021 and change_vs_prev_year is null").fetchall())  # fmt: skip
    assert rows == {"east": 59, "central": 23, "west": 12, "northeast": 6}
    assert sum(rows.values()) == 100


def test_competitiveness_mart_marks_the_complete_synthetic_list_and_rank_changes(published):
    size, complete, synthetic, distinct_cities = published.execute(
        """select count(*), bool_and(is_complete_list), bool_and(is_synthetic), count(distinct area_code)
           from marts.top100_competitiveness where year = 2022"""
    ).fetchone()
    assert (size, complete, synthetic, distinct_cities) == (100, True, True, 100)
    # Beijing is in both lists: its change is last year's rank minus this year's
    ranks = dict(published.execute(
        "select year, rank from marts.top100_competitiveness where area_code = '110000'").fetchall())  # fmt: skip
    change, prev = published.execute(
        "select rank_change, rank_prev from marts.top100_competitiveness where year = 2022 and area_code = '110000'"
    ).fetchone()
    assert prev == ranks[2021] and change == ranks[2021] - ranks[2022]
    new_entries = published.execute(
        "select count(*) from marts.top100_competitiveness where year = 2022 and is_new_entry").fetchone()[0]  # fmt: skip
    assert new_entries == published.execute(
        "select count(*) from marts.top100_competitiveness where year = 2022 and rank_prev is null").fetchone()[0]  # fmt: skip
    assert new_entries >= 3  # 26 central cities against 23 a year before: at least three are new


def test_a_synthetic_list_never_displaces_the_real_one_of_the_same_year(prefect_harness, tmp_path):
    raw = tmp_path / "raw"
    for name in ("top100_2022_partial.csv", "top100_2022_partial.meta.yaml"):
        target = raw / "press" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((SAMPLE_RAW / "press" / name).read_bytes())
    write_list(raw, 2022, {"east": 60, "central": 26, "west": 10, "northeast": 4}, "2024-01-01")  # published later
    report = run_flow(raw, tmp_path / "home")
    assert report.status == "published", report.message
    con = duckdb.connect(str(tmp_path / "home" / "published" / "citytrade.duckdb"), read_only=True)
    try:
        size, complete, synthetic = con.execute(
            """select count(*), bool_and(is_complete_list), bool_or(is_synthetic)
               from marts.top100_competitiveness where year = 2022"""
        ).fetchone()
        regions = dict(con.execute(
            "select region, cities_in_list from marts.region_distribution where year = 2022 and not is_synthetic").fetchall())  # fmt: skip
    finally:
        con.close()
    with (SAMPLE_RAW / "press" / "top100_2022_partial.csv").open(encoding="utf-8") as handle:
        real_entries = sum(1 for row in csv.DictReader(handle) if row["rank"])  # region rows have no rank
    assert (size, complete, synthetic) == (real_entries, False, False)
    # the region counts are the real release's own, not the synthetic list's (which has the same 60/26/10/4)
    assert regions == {"east": 60, "central": 26, "west": 10, "northeast": 4}
