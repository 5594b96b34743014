"""GX in a helper process of the run, started with the run, so that GX's import overlaps the ingest and dbt.

Importing great_expectations takes 2.3 s (scipy, altair, sqlalchemy), and a run needs it only at the row gate,
5-8 s in. A run starts this worker first (`citytrade run` against a running server, else the flow); it imports GX
on the other core while this process ingests and builds (issue #8). The run's process keeps the warehouse and
extracts each relation to a file (citytrade.quality); the worker runs the same GX functions on those files that
would otherwise run in-process and answers with plain data.
It is a helper process (citytrade.helper_process): if it dies or fails, the gate cannot run: the run fails, it
never passes.
"""

from __future__ import annotations

from pathlib import Path
from typing import ContextManager

from citytrade.helper_process import HelperKind, HelperProcess, begin, serve
from citytrade.quality import CheckCouldNotRun

GX_WORKER = HelperKind("citytrade.gx_worker", "GX worker", CheckCouldNotRun, {"CheckCouldNotRun": CheckCouldNotRun})


def current() -> HelperProcess | None:
    """The run's GX worker, if one is running in this process."""
    return GX_WORKER.current


def running(log_path: Path) -> ContextManager[HelperProcess]:
    """A GX worker for the length of the block (the one already running, if `citytrade run` started it);
    quality.run_checkpoint and build_data_docs use it meanwhile."""
    return GX_WORKER.running(log_path)


def main() -> None:
    answers = begin()
    import great_expectations  # noqa: F401  (the point of the worker: this import, before the first request)

    from citytrade import quality

    serve(answers, {"checkpoint": quality.gx_checkpoint, "docs": quality.gx_data_docs}, passed_on=(CheckCouldNotRun,))


if __name__ == "__main__":
    main()
