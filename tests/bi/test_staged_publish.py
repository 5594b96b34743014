"""A run writes its publish while the mart gate runs and swaps it in only after: readers see nothing of a staged
publish, a dropped one leaves nothing behind, and dropping one that was swapped in cannot remove the live publish."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from citytrade import publish
from citytrade.warehouse import connect


@pytest.fixture
def home(sample_home: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(sample_home, copy, ignore=shutil.ignore_patterns("run.lock"), symlinks=True)
    return copy


def listing(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def shenzhen_2025_rank(database: Path) -> int:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(
            "select rank_total from marts.city_trade_ranking where year = 2025 and month_to = 12 "
            "and basis = 'firm_location' and name_en = 'Shenzhen'"
        ).fetchone()[0]


def test_a_staged_publish_is_invisible_until_swapped_in_and_then_cannot_be_discarded(home: Path):
    published = home / "published"
    before = listing(published)
    live_parquet = (published / "parquet").resolve()
    with connect(home / "warehouse.duckdb") as con:
        con.execute("update marts.city_trade_ranking set rank_total = 99 where name_en = 'Shenzhen'")
        staged = publish.stage_marts(con, published, "a" * 32)
    assert staged.ready() and staged.marts["city_trade_ranking"] > 0
    assert shenzhen_2025_rank(published / "citytrade.duckdb") == 1  # readers still see the old publish
    assert (published / "parquet").resolve() == live_parquet

    result = publish.swap_in(staged)
    assert shenzhen_2025_rank(result.database) == 99 and (published / "parquet").resolve() == staged.parquet_dir.resolve()
    assert not staged.ready()

    publish.discard(staged)  # e.g. a retried task's copy, after the swap: must leave the live publish alone
    assert shenzhen_2025_rank(published / "citytrade.duckdb") == 99
    assert (published / "parquet" / "city_trade_ranking.parquet").exists()
    assert not any(name.endswith(".tmp") for name in listing(published))


def test_a_discarded_staged_publish_leaves_no_file_behind(home: Path):
    published = home / "published"
    before = listing(published)
    with connect(home / "warehouse.duckdb") as con:
        staged = publish.stage_marts(con, published, "b" * 32)
    assert listing(published) != before  # the staging file and the new Parquet version are there
    publish.discard(staged)
    assert listing(published) == before
    assert shenzhen_2025_rank(published / "citytrade.duckdb") == 1
