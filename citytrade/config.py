"""Settings: every path and switch the pipeline uses, read from the environment with safe local defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

DEFAULT_RAW_DIR = Path("data/raw")
DEFAULT_HOME = Path(".citytrade")

# Switches that keep every tool offline; applied before Prefect, dbt or GX are imported.
OFFLINE_ENV = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_UI_ENABLED": "false",
}


PARSE_RUNNERS = ("process", "thread")


def parse_workers(environ: Mapping[str, str] = os.environ) -> int:
    """How many workers parse a large landing zone: CITYTRADE_PARSE_WORKERS, by default one per CPU; 0 or 1 parses
    one release at a time in the run's own process."""
    value = environ.get("CITYTRADE_PARSE_WORKERS", "").strip()
    if not value:
        return os.cpu_count() or 1
    try:
        return max(0, int(value))
    except ValueError:
        raise ValueError(f"CITYTRADE_PARSE_WORKERS must be a whole number of workers (0 or 1: one at a time), not '{value}'") from None


def parse_runner(environ: Mapping[str, str] = os.environ) -> str:
    """Where those workers run: CITYTRADE_PARSE_RUNNER `process` (default: parsing is Python, held by the GIL in
    threads) or `thread`."""
    value = environ.get("CITYTRADE_PARSE_RUNNER", "").strip() or PARSE_RUNNERS[0]
    if value not in PARSE_RUNNERS:
        raise ValueError(f"CITYTRADE_PARSE_RUNNER must be one of {', '.join(PARSE_RUNNERS)}, not '{value}'")
    return value


@dataclass(frozen=True)
class Settings:
    """Where a run reads releases from and keeps all of its state."""

    raw_dir: Path
    home: Path

    @classmethod
    def from_args(cls, raw_dir: str | os.PathLike | None = None, home: str | os.PathLike | None = None) -> "Settings":
        raw = Path(raw_dir) if raw_dir else Path(os.environ.get("CITYTRADE_RAW_DIR", DEFAULT_RAW_DIR))
        state = Path(home) if home else Path(os.environ.get("CITYTRADE_HOME", DEFAULT_HOME))
        return cls(raw_dir=raw.resolve(), home=state.resolve())

    # ---- state layout under home
    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.home / "published"

    @property
    def published_db(self) -> Path:
        return self.published_dir / "citytrade.duckdb"

    @property
    def published_parquet_dir(self) -> Path:
        return self.published_dir / "parquet"

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"

    @property
    def dbt_target_dir(self) -> Path:
        return self.home / "dbt" / "target"

    @property
    def dbt_log_dir(self) -> Path:
        return self.home / "dbt" / "logs"

    @property
    def gx_dir(self) -> Path:
        return self.home / "gx"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def readers_state_path(self) -> Path:
        return self.home / "state" / "readers.json"

    @property
    def lock_path(self) -> Path:
        return self.home / "run.lock"

    def ensure_dirs(self) -> None:
        for folder in (self.home, self.published_dir, self.prefect_home, self.log_dir, self.gx_dir):
            folder.mkdir(parents=True, exist_ok=True)

    def apply_environment(self) -> None:
        """Point Prefect, dbt and GX at this home and switch off their telemetry."""
        os.environ.update(self.environment(os.environ))

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """`base` as apply_environment leaves it: the telemetry switches where unset, and this home's paths."""
        return {
            **OFFLINE_ENV,
            **base,
            "CITYTRADE_HOME": str(self.home),
            "CITYTRADE_RAW_DIR": str(self.raw_dir),
            "CITYTRADE_WAREHOUSE": str(self.warehouse_path),
            "PREFECT_HOME": str(self.prefect_home),
            "DBT_TARGET_PATH": str(self.dbt_target_dir),
            "DBT_LOG_PATH": str(self.dbt_log_dir),
            "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        }


def dbt_project_files() -> list[Path]:
    """The dbt project's own files (models, macros, seeds, YAML), sorted; not dbt's target/ output."""
    return sorted(
        path for path in DBT_PROJECT_DIR.rglob("*")
        if path.is_file() and path.relative_to(DBT_PROJECT_DIR).parts[0] != "target"
    )  # fmt: skip
