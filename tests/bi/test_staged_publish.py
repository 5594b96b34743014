"""A run writes its publish while the mart gate runs and swaps it in only after: readers see nothing of a staged
publish, a dropped one leaves nothing behind, and dropping one that was swapped in cannot remove the live publish.
The report page of the staged marts goes live with them, or is dropped with them."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from citytrade import pipeline
from citytrade.publish import marts as publish
from citytrade.quality import gates as quality
from citytrade.config import Settings
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
        pipeline.stage_report(Settings.from_args(home / "raw", home), staged, con, "b" * 32)
    assert staged.report is not None
    assert listing(published) != before  # the staging file, its report page and the new Parquet version are there
    publish.discard(staged)
    assert listing(published) == before
    assert shenzhen_2025_rank(published / "citytrade.duckdb") == 1


def test_the_report_of_a_staged_publish_goes_live_with_its_marts(home: Path):
    published = home / "published"
    live_page = (published / "report.html").read_text(encoding="utf-8")
    with connect(home / "warehouse.duckdb") as con:
        con.execute("update marts.city_trade_ranking set name_en = 'Shenzhen (staged)' where name_en = 'Shenzhen'")
        staged = publish.stage_marts(con, published, "c" * 32)
        pipeline.stage_report(Settings.from_args(home / "raw", home), staged, con, "c" * 32)
    assert "Shenzhen (staged)" in staged.report.read_text(encoding="utf-8")
    assert (published / "report.html").read_text(encoding="utf-8") == live_page  # readers still see the old page

    publish.swap_in(staged)
    page = (published / "report.html").read_text(encoding="utf-8")
    assert "Shenzhen (staged)" in page
    assert "Latest publish (citytrade.duckdb, " in page  # the file readers open, not the staging file it was read from
    assert not any(name.endswith(".tmp") for name in listing(published))


def test_a_mart_gate_that_raised_alerts_has_the_report_rendered_again_after_the_swap(home: Path):
    """A page staged before the mart gate lists the alerts as they stood then; if the gate adds some (a warning:
    it passed), the published page must list them."""
    settings, run_id = Settings.from_args(home / "raw", home), "d" * 32
    finding = quality.Finding("mart_gate", "growth_leaders", "leaders_look_odd", "expect_something", "warning", unexpected_count=3,
                              explains="every leader grows by less than 1000 %")  # fmt: skip
    gate = quality.GateResult("mart_gate", "publish", expectations_run=1, findings=[finding])
    with connect(settings.warehouse_path) as con:
        staged = publish.stage_marts(con, settings.published_dir, run_id)
        pipeline.stage_report(settings, staged, con, run_id)
        (alert,) = quality.record_alerts(con, quality.alerts_from_gate(gate), run_id)  # what the mart gate records
    assert alert["message"] not in staged.report.read_text(encoding="utf-8")

    report = pipeline.RunReport(run_id=run_id)
    pipeline.conclude(settings, report, gate, staged)
    assert report.status == "published"
    assert alert["message"] in (settings.published_dir / "report.html").read_text(encoding="utf-8")
    assert not any(name.endswith(".tmp") for name in listing(settings.published_dir))
