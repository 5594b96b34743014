"""The landing-zone watch: pull remote sources, then run the pipeline only when a release file is new or changed."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from citytrade import scheduling
from citytrade.ingest import sources
from citytrade.config import Settings
from flows.run_pipeline import TRANSIENT_RETRIES, run_pipeline


@task(name="pull remote sources", **TRANSIENT_RETRIES)
def pull_sources(settings: Settings, sources_file: str) -> list[sources.Fetched]:
    return sources.pull_sources(settings, Path(sources_file))


@task(name="find new or changed releases")
def find_changes(settings: Settings) -> list[str]:
    return scheduling.landing_zone_changes(settings)


@flow(name="citytrade-landing-zone-watch", log_prints=True)
def watch_landing_zone(raw_dir: str = "data/raw", home: str = ".citytrade", sources_file: str | None = None) -> str:
    settings = Settings.from_args(raw_dir, home)
    if sources_file:
        fetched = pull_sources(settings, sources_file)
        print(f"pulled {len(fetched)} file(s) from {sources_file}: " + ", ".join(f"{f.path} {f.status}" for f in fetched))
    changes = find_changes(settings)
    if not changes:
        message = f"no new or changed release files in {settings.raw_dir}: nothing to do"
        print(message)
        create_markdown_artifact(key="landing-zone-watch", markdown=f"**Landing-zone watch**: {message}.")
        return message
    print(f"{len(changes)} new or changed release file(s): {', '.join(changes)}")
    create_markdown_artifact(
        key="landing-zone-watch",
        markdown="**Landing-zone watch**: running the pipeline for\n\n" + "\n".join(f"- `{path}`" for path in changes),
    )
    # wait for a run that holds this home: the watch must not lose a new release because a run was busy
    report = run_pipeline(raw_dir=str(settings.raw_dir), home=str(settings.home), wait_for_lock=True)
    return report.message
