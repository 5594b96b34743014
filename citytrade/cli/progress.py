"""A progress bar over the stages of `citytrade run` in a terminal, driven by the flow's own task log records."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

# The flow's tasks in the order a run reaches them (flows/run_pipeline.py). A task not listed still counts: it adds
# one to the bar's total.
STAGES = [
    "ingest releases",
    "dbt build (pre-gate)",
    "audit rows (GX row_gate)",
    "dbt build (marts)",
    "audit marts (GX mart_gate)",
    "publish or hold",
    "GX Data Docs",
    "notify people",
]
TASK_LOGGER = "prefect.task_runs"  # where the orchestrator logs each task's end; read here, never imported


class StageHandler(logging.Handler):
    """Advances the bar when a task of the run logs that it finished, and names the stage that comes next."""

    def __init__(self, progress, task_id, stages: list[str] = STAGES):
        super().__init__(level=logging.INFO)
        self.progress, self.task_id, self.stages = progress, task_id, stages
        self.finished: list[str] = []

    def attach(self) -> None:
        """Listen to the task logger; call it after the orchestrator configured its logging (which resets handlers)."""
        logging.getLogger(TASK_LOGGER).addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith("Finished in state"):
            return
        name = getattr(record, "task_name", None) or "task"
        self.finished.append(name)
        if name not in self.stages:
            bar = next(task for task in self.progress.tasks if task.id == self.task_id)
            self.progress.update(self.task_id, total=bar.total + 1)
        failed = "Completed" not in message
        following = [stage for stage in self.stages if stage not in self.finished]
        if failed:
            description = f"[red]{name}: {message.removeprefix('Finished in state ').strip()}"
        elif following:
            description = f"{following[0]} ..."
        else:
            description = "finishing"
        self.progress.update(self.task_id, advance=1, description=description)


@contextmanager
def stage_progress(enabled: bool, stages: list[str] = STAGES, console=None) -> Iterator[StageHandler | None]:
    """Show a bar on stderr while the body runs. Enter it before the orchestrator is imported (its log lines then
    print above the bar, not through it) and call `attach()` on what it yields once the orchestrator is imported."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(), TextColumn("citytrade run: {task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console or Console(stderr=True), redirect_stderr=True, redirect_stdout=True,
    )  # fmt: skip
    task_id = progress.add_task(f"{stages[0]} ...", total=len(stages))
    handler = StageHandler(progress, task_id, stages)
    try:
        with progress:
            yield handler
    finally:
        logging.getLogger(TASK_LOGGER).removeHandler(handler)
