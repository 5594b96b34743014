"""Shared fixtures: offline environment, a Prefect harness per session, homes and raw folders to run against."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE_RAW = REPO / "data" / "raw"
CITYTRADE_BIN = str(Path(sys.executable).with_name("citytrade"))  # the console script of this environment

# Offline and contained before anything imports Prefect, dbt or GX.
os.environ.update(
    {
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PREFECT_UI_ENABLED": "false",
    }
)


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("citytrade-session")


@pytest.fixture(scope="session", autouse=True)
def prefect_home(session_dir):
    """Prefect writes under the test session's folder, never ~/.prefect."""
    home = session_dir / "prefect-home"
    home.mkdir()
    os.environ["PREFECT_HOME"] = str(home)
    yield home


@pytest.fixture(scope="session")
def prefect_harness(prefect_home):
    """One temporary Prefect API for the whole session (starting one costs about 7 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield


def write_release(raw_dir: Path, name: str, csv_text: str, **meta) -> Path:
    """Write a release (data file and sidecar) into a landing zone; returns the data file's path."""
    path = raw_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(csv_text).lstrip(), encoding=meta.pop("file_encoding", "utf-8"))
    sidecar = {"format": "citytrade-v1", "publisher": "test publisher", "published_on": "2026-01-20",
               "unit": "trillion_yuan", "basis": "firm_location"}  # fmt: skip
    sidecar.update(meta)
    lines = [f"{key}: {value}" for key, value in sidecar.items() if value is not None]
    path.with_name(path.stem + ".meta.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def raw_dir(tmp_path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    return folder


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """`citytrade ...` in a child process, the way a user runs it."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PREFECT_API_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "citytrade.cli.main", *args], cwd=cwd or REPO, env=full_env,
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def run_flow(raw: Path, home: Path):
    """The pipeline flow in this process (needs the prefect_harness fixture); returns the RunReport."""
    from citytrade.config import Settings
    from flows.run_pipeline import run_pipeline

    Settings.from_args(raw, home).apply_environment()
    return run_pipeline(raw_dir=str(raw), home=str(home))


def normalised(value):
    """A value as two engines agree on it (the parity tests): floats to 9 significant digits, dates as ISO text."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float | decimal.Decimal):
        number = float(value)
        return "nan" if math.isnan(number) else format(number, ".9g")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def normalised_rows(fetched) -> list[tuple]:
    """Rows fetched from any engine, each value normalised, in one order."""
    return sorted((tuple(normalised(value) for value in row) for row in fetched), key=repr)


@pytest.fixture(scope="session")
def sample_home(session_dir, prefect_harness) -> Path:
    """The shipped sample releases run once through the whole pipeline; tests read its publish."""
    home = session_dir / "sample-home"
    report = run_flow(SAMPLE_RAW, home)
    assert report.status == "published", report.message
    return home


@pytest.fixture
def sample_copy(tmp_path) -> Path:
    """A writable copy of the sample landing zone."""
    target = tmp_path / "raw"
    shutil.copytree(SAMPLE_RAW, target)
    return target


_EXIT_STATUS = {"status": 0}


def pytest_sessionfinish(session, exitstatus):
    _EXIT_STATUS["status"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """End the process right after pytest's summary, with pytest's own exit status.

    DuckDB 2.0's nanobind bindings print pages of "leaked instance" lines during interpreter teardown
    (dbt and GX keep DuckDB objects in module caches); they bury the summary line a reader looks for.
    Every fixture has been finalised and every report written by now, so nothing is lost.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_EXIT_STATUS["status"])
