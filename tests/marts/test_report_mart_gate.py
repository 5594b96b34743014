"""The mart gate guards the report marts: the published sample passes it, a duplicated rank or an impossible HHI fails it."""

from __future__ import annotations

import duckdb
from citytrade.quality import gates as quality
from citytrade.config import Settings


def _warehouse_from_publish(sample_home, path) -> duckdb.DuckDBPyConnection:
    """A warehouse holding the published marts (read from their Parquet files), to corrupt at will."""
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    for parquet in sorted((sample_home / "published" / "parquet").glob("*.parquet")):
        con.execute(f"create table marts.{parquet.stem} as select * from read_parquet('{parquet}')")
    return con


def test_published_sample_passes_and_corrupted_report_marts_fail_the_mart_gate(sample_home, tmp_path):
    con = _warehouse_from_publish(sample_home, tmp_path / "warehouse.duckdb")
    settings = Settings.from_args(tmp_path / "raw", tmp_path / "home")
    settings.ensure_dirs()

    clean = quality.run_checkpoint(settings, "mart_gate", con)
    assert clean.passed, clean.summary()
    datasets = {"trade_concentration", "growth_leaders", "top100_vs_trade"}
    assert con.execute("select count(*) from marts.growth_leaders").fetchone()[0] > 0

    # ---- two growth leaders share rank 1, a concentration index exceeds its 10,000 ceiling, a listed city twice
    con.execute("""insert into marts.growth_leaders select * replace ('999999' as area_code)
                   from marts.growth_leaders where growth_rank = 1 limit 1""")
    con.execute("update marts.trade_concentration set hhi = 12000 where year = 2025 and month_to = 12 and basis = 'firm_location'")
    con.execute("insert into marts.top100_vs_trade select * from marts.top100_vs_trade where year = 2022 and competitiveness_rank = 1")
    dirty = quality.run_checkpoint(settings, "mart_gate", con)
    con.close()
    failed = {(finding.dataset, finding.check_name) for finding in dirty.errors}
    assert ("growth_leaders", "ranks_unique") in failed
    assert ("trade_concentration", "hhi_in_range") in failed
    assert ("top100_vs_trade", "areas_unique") in failed
    assert not dirty.passed
    assert {dataset for dataset, _ in failed} <= datasets


def test_a_ranking_row_missing_any_column_blocks_the_publish_once_per_row(sample_home, tmp_path):
    """The ranking marts' completeness is one expectation over nine columns (citytrade/gx_expectations.py): a row
    missing its name, another missing its value, are two failing rows of ranking_complete, and the gate blocks."""
    con = _warehouse_from_publish(sample_home, tmp_path / "warehouse.duckdb")
    settings = Settings.from_args(tmp_path / "raw", tmp_path / "home")
    settings.ensure_dirs()
    codes = [row[0] for row in con.execute("select area_code from marts.city_trade_ranking where year = 2024 order by area_code limit 2").fetchall()]
    assert len(codes) == 2
    con.execute("update marts.city_trade_ranking set name_en = null where year = 2024 and area_code = ?", [codes[0]])
    con.execute("update marts.city_trade_ranking set total_cny = null where year = 2024 and area_code = ?", [codes[1]])
    nulled = con.execute("select count(*) from marts.city_trade_ranking where name_en is null or total_cny is null").fetchone()[0]
    gate = quality.run_checkpoint(settings, "mart_gate", con)
    con.close()
    failed = {(finding.dataset, finding.check_name): finding for finding in gate.errors}
    assert set(failed) == {("city_trade_ranking", "ranking_complete")}, gate.summary()
    assert failed["city_trade_ranking", "ranking_complete"].unexpected_count == nulled >= 2
    assert not gate.passed
