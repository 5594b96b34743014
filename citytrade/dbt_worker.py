"""dbt in a helper process of the run, started before anything else, so that dbt's import and parse overlap the
run's own start (Prefect's import, the flow run's creation, the ingest) on the other core.

Importing dbt takes 3 s here and the parse 1-1.5 s more; in the run's process they came one after the other before
the first build, while the other core mostly waited (issue #8). The worker runs the same functions the run would
(citytrade.transform.build_models, citytrade.dbt_docs.publish_docs) and answers with plain data. It holds the
warehouse only while it builds, as dbt in-process did, and lets go before answering: the run's own stages open it in
between. It is a helper process (citytrade.helper_process): if it dies, the build fails, and the run with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import ContextManager

from citytrade import dbt_docs, transform
from citytrade.config import Settings
from citytrade.dbt_docs import DocsError
from citytrade.helper_process import HelperKind, HelperProcess, begin, serve
from citytrade.transform import BuildError

DBT_WORKER = HelperKind("citytrade.dbt_worker", "dbt worker", BuildError, {"BuildError": BuildError, "DocsError": DocsError})


def current() -> HelperProcess | None:
    """The run's dbt worker, if one is running in this process."""
    return DBT_WORKER.current


def running(log_path: Path, parse_for: Settings | None = None) -> ContextManager[HelperProcess]:
    """A dbt worker for the length of the block (the one already running, if `citytrade run` started it).

    With `parse_for` a new worker parses the project for that home at once (the caller holds its run lock: the parse
    writes the home's partial-parse file); the first build waits for it. A project that does not parse is reported by
    that build, as any build error is.
    """
    return DBT_WORKER.running(log_path, ("parse", settings_args(parse_for)) if parse_for is not None else None)


def settings_args(settings: Settings) -> dict:
    return {"raw_dir": str(settings.raw_dir), "home": str(settings.home)}


# ---- the worker's side


def parse(raw_dir: str, home: str) -> None:
    transform.parsed_manifest(_settings(raw_dir, home))


def build(raw_dir: str, home: str, **options) -> dict[str, str]:
    return transform.build_models(_settings(raw_dir, home), **options)


def docs(raw_dir: str, home: str) -> str:
    return str(dbt_docs.publish_docs(_settings(raw_dir, home)))


def _settings(raw_dir: str, home: str) -> Settings:
    settings = Settings.from_args(raw_dir, home)
    settings.apply_environment()
    return settings


def compile_dbt_classes_lazily() -> None:
    """dbt's artifact classes are mashumaro dataclasses, each of which generates and compiles its to_dict and
    from_dict code as it is defined: 0.27 of the 1.3 CPU s of importing dbt here, for classes a run never
    serializes. Lazily (mashumaro's own option, for classes defined after this call), a class compiles the same
    code the first time it is used instead (issue #8). For the worker: a warm process (citytrade.serve) compiles
    them all as it warms up, off any run."""
    from mashumaro.config import BaseConfig

    BaseConfig.lazy_compilation = True


def main() -> None:
    answers = begin()
    compile_dbt_classes_lazily()
    import dbt.cli.main  # noqa: F401  (the point of the worker: this import, before the first request)

    serve(answers, {"parse": parse, "build": build, "docs": docs}, passed_on=(BuildError, DocsError))


if __name__ == "__main__":
    main()
