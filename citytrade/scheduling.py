"""What the scheduled flows decide: is the landing zone new, which releases a backfill takes, is a failure transient."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import sqlite3
import threading
import time
import urllib.error
from pathlib import Path

import duckdb
from citytrade.config import PROJECT_ROOT, Settings
from citytrade.ingest.releases import ReleaseError, as_date, discover_releases, sidecar_for

# ---- deployments: where a flow run works


def work_in_checkout() -> dict[str, str]:
    """prefect.yaml's pull step: a flow run works from the checkout this citytrade is installed from (the
    `.venv` a worker started with `prefect worker start --pool citytrade` runs), or from $CITYTRADE_REPO when set.
    Relative `raw_dir` and `home` parameters resolve against it."""
    directory = Path(os.environ.get("CITYTRADE_REPO") or PROJECT_ROOT).resolve()
    if not (directory / "flows" / "run_pipeline.py").is_file():
        raise FileNotFoundError(f"{directory} is not a citytrade checkout (no flows/run_pipeline.py): set CITYTRADE_REPO to one")
    os.chdir(directory)
    return {"directory": str(directory)}


# ---- transient failures: worth a retry; everything else (bad data, a failed dbt model, a failed gate) is not

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    duckdb.IOException,  # "could not set lock on file": a reader or another tool holds the warehouse briefly
    ConnectionError,
    TimeoutError,
    socket.timeout,
    urllib.error.URLError,
    sqlite3.OperationalError,  # "database is locked" in the Prefect home
)


def is_transient(exc: BaseException | None, _depth: int = 0) -> bool:
    """True for failures that may pass on their own (locks held by others, the network); never for bad input."""
    if exc is None:
        return False
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code in (408, 429)
    if isinstance(exc, TRANSIENT_ERRORS):
        return True
    cause = exc.__cause__ or exc.__context__
    return _depth < 5 and cause is not None and is_transient(cause, _depth + 1)


# ---- landing-zone watch: work only when a release file is new or changed (keyed on sha256)


def landing_zone_fingerprint(raw_dir: Path) -> dict[str, str]:
    """Relative path -> release_id (sha256 of the data file and its sidecar) of every release in the landing zone.

    A run records the same mapping from its ingest (IngestSummary.landing_zone), which hashed every file already.
    """
    return {release.rel_path: release.release_id for release in discover_releases(raw_dir)}


def _watch_state_path(settings: Settings) -> Path:
    return settings.home / "state" / "landing-zone.json"


def landing_zone_changes(settings: Settings) -> list[str]:
    """The release files that are new or changed since the last completed run on this home (removed ones count too)."""
    current = landing_zone_fingerprint(settings.raw_dir)
    seen = _read_watch_state(settings).get(str(settings.raw_dir), {})
    changed = [path for path, release_id in current.items() if seen.get(path) != release_id]
    removed = [path for path in seen if path not in current]
    return sorted(changed + [f"{path} (removed)" for path in removed])


def remember_landing_zone(settings: Settings, fingerprint: dict[str, str]) -> None:
    """Record the landing zone a completed run started from, so the next watch tick can skip it."""
    state = _read_watch_state(settings)
    state[str(settings.raw_dir)] = fingerprint
    path = _watch_state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)


def _read_watch_state(settings: Settings) -> dict[str, dict[str, str]]:
    path = _watch_state_path(settings)
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {}  # a damaged cache only costs one extra run


# ---- backfill: replay the releases published in given years from an archive folder


def stage_backfill(settings: Settings, archive_dir: Path, years: list[int]) -> tuple[Path, list[str]]:
    """Copy the releases whose sidecar `published_on` falls in `years` into a landing zone under home.

    Returns the staged folder and the relative paths taken. The archive is only read. Releases with a
    sidecar that cannot be read are taken too, so the run quarantines them with a reason instead of
    dropping them silently.
    """
    wanted = {int(year) for year in years}
    if not wanted:
        raise ValueError("backfill needs at least one year")
    staged = settings.home / "backfill" / "-".join(str(year) for year in sorted(wanted))
    if staged.exists():
        shutil.rmtree(staged)
    staged.mkdir(parents=True)
    taken = []
    for release in discover_releases(archive_dir):
        if not release.meta_error:
            try:
                year = as_date(release.meta.get("published_on"), "published_on").year
            except ReleaseError:
                year = None
            if year not in wanted:
                continue
        target = staged / release.rel_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(release.data_path, target)
        if release.sidecar_path is not None:
            shutil.copy2(release.sidecar_path, sidecar_for(target))
        taken.append(release.rel_path)
    return staged, taken


# ---- test hook: hold a run at a named stage so a test can kill it there deterministically

PAUSE_ENV = "CITYTRADE_TEST_PAUSE_AT"
_PAUSED: set[str] = set()
INTERRUPTED = threading.Event()  # set by interrupt(): a paused thread that is not the main one lets go too


def interrupt(signum, frame) -> None:
    """SIGINT handler of a run's process: note the interrupt for every thread, then interrupt as Python does."""
    INTERRUPTED.set()
    raise KeyboardInterrupt


def pause_point(stage: str, home: Path | None = None) -> None:
    """When CITYTRADE_TEST_PAUSE_AT names this stage: write `<home>/paused-at-<stage>` and wait while it exists.

    Only tests set the variable (tests/scheduling); unset, this returns at once. Waits 10 minutes at most.
    """
    if os.environ.get(PAUSE_ENV) != stage or stage in _PAUSED:
        return
    _PAUSED.add(stage)  # once per process: the dbt hook fires for every mart
    folder = home or Path(os.environ.get("CITYTRADE_HOME", ".citytrade"))
    marker = Path(folder) / f"paused-at-{stage}"
    marker.write_text(f"pid {os.getpid()} at {dt.datetime.now().isoformat(timespec='seconds')}\n", encoding="utf-8")
    deadline = time.monotonic() + 600
    while marker.exists() and time.monotonic() < deadline and not INTERRUPTED.wait(0.1):
        pass
