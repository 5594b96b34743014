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
SPARK_CONF_DIR = Path(__file__).resolve().parent / "transform" / "spark_conf"

DEFAULT_RAW_DIR = Path("data/raw")
DEFAULT_HOME = Path(".citytrade")
TARGETS = ("duckdb", "spark", "postgres")
# DuckDB's own default is 80 % of the machine's memory, whatever else runs on it. Bounded, a build of a hundred
# million detail rows spills to the temporary directory instead (dbt_project/profiles.yml has the same default).
DEFAULT_DUCKDB_MEMORY_LIMIT = "4GB"

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
    """How many processes parse a large landing zone, the run's own among them: CITYTRADE_PARSE_WORKERS, by default
    one per CPU; 0 or 1 parses one release at a time in the run's own process."""
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
    target: str = "duckdb"  # the dbt target the models build on (dbt_project/profiles.yml): duckdb, spark, postgres

    @classmethod
    def from_args(
        cls, raw_dir: str | os.PathLike | None = None, home: str | os.PathLike | None = None, target: str = "duckdb"
    ) -> "Settings":
        raw = Path(raw_dir) if raw_dir else Path(os.environ.get("CITYTRADE_RAW_DIR", DEFAULT_RAW_DIR))
        state = Path(home) if home else Path(os.environ.get("CITYTRADE_HOME", DEFAULT_HOME))
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r}: one of {', '.join(TARGETS)} (dbt_project/profiles.yml)")
        return cls(raw_dir=raw.resolve(), home=state.resolve(), target=target)

    @property
    def on_spark(self) -> bool:
        """The models build on Spark: the lake carries the raw and audit tables to it (citytrade.transform.spark)."""
        return self.target == "spark"

    # ---- state layout under home
    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def lake_dir(self) -> Path:
        """Parquet that Spark reads (the raw and audit tables), and its metastore and the tables it builds."""
        return self.home / "lake"

    @property
    def scratch_dir(self) -> Path:
        """A run's passing files (a parse worker's output), each in a folder that goes with what made it."""
        return self.home / "scratch"

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
            "CITYTRADE_DBT_TARGET": self.target,
            "CITYTRADE_LAKE": str(self.lake_dir),
            "SPARK_CONF_DIR": str(SPARK_CONF_DIR),  # Spark's logging (the spark target only)
            # Spark on loopback, by name too: without these it looks the machine's address up in DNS
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOCAL_HOSTNAME": "localhost",
            "PREFECT_HOME": str(self.prefect_home),
            "DBT_TARGET_PATH": str(self.dbt_target_dir),
            "DBT_LOG_PATH": str(self.dbt_log_dir),
            "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
            "CITYTRADE_DUCKDB_MEMORY_LIMIT": base.get("CITYTRADE_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT,
        }


def duckdb_config(database: Path) -> dict[str, str]:
    """DuckDB's memory limit and spill folder for a warehouse file, from CITYTRADE_DUCKDB_MEMORY_LIMIT and
    CITYTRADE_DUCKDB_TEMP_DIR (default: `<file>.tmp`, DuckDB's own). dbt's profile gives its connection the same
    (`config_options`): DuckDB opens a file in one process with one configuration only."""
    return {
        "memory_limit": os.environ.get("CITYTRADE_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT,
        "temp_directory": os.environ.get("CITYTRADE_DUCKDB_TEMP_DIR") or f"{database}.tmp",
    }


def dbt_project_files() -> list[Path]:
    """The dbt project's own files (models, macros, seeds, YAML), sorted; not dbt's target/ output."""
    return sorted(
        path for path in DBT_PROJECT_DIR.rglob("*")
        if path.is_file() and path.relative_to(DBT_PROJECT_DIR).parts[0] != "target"
    )  # fmt: skip
