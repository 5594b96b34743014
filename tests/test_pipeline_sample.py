"""The shipped sample releases, end to end: the rankings a user checks first, idempotence, the publish."""

from __future__ import annotations

import hashlib

import duckdb
import pytest
from citytrade import warehouse
from conftest import SAMPLE_RAW, run_flow


@pytest.fixture(scope="module")
def published(sample_home):
    con = duckdb.connect(str(sample_home / "published" / "citytrade.duckdb"), read_only=True)
    yield con
    con.close()


def test_2025_city_ranking_puts_shenzhen_first_and_shanghai_second(published):
    rows = published.execute(
        """select rank_total, name_en, total_cny from marts.city_trade_ranking
           where year = 2025 and month_from = 1 and month_to = 12 and basis = 'firm_location' order by rank_total limit 2"""
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [(1, "Shenzhen"), (2, "Shanghai")]
    assert rows[0][2] == pytest.approx(4.55e12)
    assert rows[1][2] == pytest.approx(4.51e12)


def test_shenzhen_2025_share_of_national_is_about_ten_percent(published):
    share = published.execute(
        """select share_of_national_pct from marts.city_trade_ranking
           where year = 2025 and month_to = 12 and basis = 'firm_location' and name_en = 'Shenzhen'"""
    ).fetchone()[0]
    assert share == pytest.approx(100 * 4.55 / 45.47)


def test_2024_province_ranking_puts_guangdong_first(published):
    first = published.execute(
        """select name_en, cities_ranked from marts.province_trade_ranking
           where year = 2024 and month_to = 12 and basis = 'firm_location' and rank_total = 1"""
    ).fetchone()
    assert first == ("Guangdong", 31)


def test_every_mart_is_published_as_parquet_with_the_same_rows(published, sample_home):
    marts = [r[0] for r in published.execute("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()]
    assert {"dim_area", "fct_trade", "city_trade_ranking", "province_trade_ranking", "top100_competitiveness",
            "region_distribution", "releases", "quality_alerts"} <= set(marts)  # fmt: skip
    for mart in marts:
        parquet = sample_home / "published" / "parquet" / f"{mart}.parquet"
        assert parquet.is_file(), mart
        in_db = published.execute(f"select count(*) from marts.{mart}").fetchone()[0]
        in_file = duckdb.connect().execute(f"select count(*) from '{parquet}'").fetchone()[0]
        assert in_db == in_file, mart


def test_releases_mart_records_provenance_of_every_sample_file(published):
    rows = published.execute("select path, sha256, status, rows_loaded from marts.releases order by path").fetchall()
    files = sorted(p for p in SAMPLE_RAW.rglob("*.csv"))
    assert [r[0] for r in rows] == [p.relative_to(SAMPLE_RAW).as_posix() for p in files]
    for (path, sha, status, loaded), file in zip(rows, files):
        assert sha == hashlib.sha256(file.read_bytes()).hexdigest()
        assert status == "loaded" and loaded > 0


def test_nbs_figures_alone_rank_guangdong_first_in_2024(prefect_harness, tmp_path):
    raw = tmp_path / "raw"
    (raw / "nbs").mkdir(parents=True)
    for name in ("A060101.csv", "A060101.meta.yaml"):
        (raw / "nbs" / name).write_bytes((SAMPLE_RAW / "nbs" / name).read_bytes())
    run_flow(raw, tmp_path / "home")
    con = duckdb.connect(str(tmp_path / "home" / "published" / "citytrade.duckdb"), read_only=True)
    name, total = con.execute(
        """select name_en, total_cny from marts.province_trade_ranking
           where year = 2024 and month_to = 12 and basis = 'firm_location' and rank_total = 1"""
    ).fetchone()
    assert name == "Guangdong"
    # 1,279,580,930 thousand USD at the 2024 annual average of 7.1217 yuan per dollar
    nbs_value = float([line.split(",")[6] for line in (SAMPLE_RAW / "nbs" / "A060101.csv").read_text(encoding="utf-8-sig").splitlines()
                       if ",440000," in line and ",2024," in line][0])  # fmt: skip
    assert total == pytest.approx(nbs_value * 1000 * 7.1217)


def test_second_run_loads_nothing_again_and_changes_no_mart_row(prefect_harness, sample_copy, tmp_path):
    home = tmp_path / "home"
    first = run_flow(sample_copy, home)
    before = _mart_rows(home)
    second = run_flow(sample_copy, home)
    assert len(first.releases_loaded) == 6
    assert second.releases_loaded == [] and second.releases_unchanged == 6
    assert _mart_rows(home) == before
    con = warehouse.connect(home / "warehouse.duckdb")  # dbt in this process holds it open read-write
    assert con.execute("select count(*) from raw.releases").fetchone()[0] == 6
    # rows loaded: the trade figures, the 18 Top 100 entries and the 8 region counts of the 2022 list's release
    assert con.execute("select count(*) from raw.trade_observations").fetchone()[0] == first.rows_loaded - 18 - 8
    assert con.execute("select count(*) from raw.top100_region_counts").fetchone()[0] == 8


def _mart_rows(home) -> dict:
    con = duckdb.connect(str(home / "published" / "citytrade.duckdb"), read_only=True)
    try:
        marts = [r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()]
        return {mart: con.execute(f"select * from marts.{mart} order by all").fetchall() for mart in marts}
    finally:
        con.close()
