"""The backfill: load the releases published in given years from an archive folder, then build and publish once."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from citytrade import scheduling
from citytrade.config import Settings
from flows.run_pipeline import run_pipeline


@task(name="stage the releases of those years")
def stage_releases(settings: Settings, archive_dir: str, years: list[int]) -> tuple[Path, list[str]]:
    return scheduling.stage_backfill(settings, Path(archive_dir).resolve(), years)


@flow(name="citytrade-backfill", log_prints=True)
def backfill_years(years: list[int], raw_dir: str = "data/raw", home: str = ".citytrade") -> str:
    """`raw_dir` is the archive to read; releases are chosen by the year of their sidecar's `published_on`."""
    settings = Settings.from_args(raw_dir, home)
    staged, taken = stage_releases(settings, str(settings.raw_dir), years)
    if not taken:
        raise ValueError(f"no release in {settings.raw_dir} was published in {sorted(years)}: nothing to backfill")
    print(f"backfilling {len(taken)} release(s) published in {sorted(years)}: {', '.join(taken)}")
    report = run_pipeline(raw_dir=str(staged), home=str(settings.home), wait_for_lock=True)
    return report.message
