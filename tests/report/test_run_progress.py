"""`citytrade run` in a terminal shows a bar over its stages, driven by the flow's task log records."""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager

import pytest
from rich.console import Console
from citytrade.cli.progress import STAGES, TASK_LOGGER, stage_progress
from conftest import REPO, SAMPLE_RAW

logger = logging.getLogger(TASK_LOGGER)


@contextmanager
def bar():
    """A bar on a fake terminal, listening to the task logger as in a run."""
    logger.setLevel(logging.INFO)
    with stage_progress(True, console=Console(file=io.StringIO(), force_terminal=True, width=120)) as handler:
        handler.attach()
        yield handler


def test_the_bar_advances_once_per_finished_task_and_names_the_next_stage():
    with bar() as handler:
        logger.info("Finished in state Completed()", extra={"task_name": STAGES[0]})
        task = handler.progress.tasks[0]
        assert task.completed == 1 and task.description == f"{STAGES[1]} ..."
        logger.info("some other line", extra={"task_name": STAGES[1]})
        assert task.completed == 1
        for stage in STAGES[1:]:
            logger.info("Finished in state Completed()", extra={"task_name": stage})
        assert task.completed == task.total == len(STAGES) and task.finished
    assert handler not in logger.handlers, "the handler outlives the run"


def test_a_failed_task_shows_in_red_with_its_state():
    with bar() as handler:
        logger.info("Finished in state Failed('Task run encountered an exception')", extra={"task_name": "dbt build (marts)"})
        assert handler.progress.tasks[0].description.startswith("[red]dbt build (marts): Failed(")


def test_a_task_not_listed_still_counts_and_the_bar_still_ends_full():
    with bar() as handler:
        task = handler.progress.tasks[0]
        for stage in STAGES[:5]:
            logger.info("Finished in state Completed()", extra={"task_name": stage})
        logger.info("Finished in state Completed()", extra={"task_name": "dbt build (marts, this run's verdicts)"})
        assert task.completed == 6 and task.total == len(STAGES) + 1
        assert task.description == f"{STAGES[5]} ..."
        for stage in STAGES[5:]:
            logger.info("Finished in state Completed()", extra={"task_name": stage})
        assert task.completed == task.total == len(STAGES) + 1 and task.finished


def test_no_bar_without_a_terminal():
    with stage_progress(False) as handler:
        assert handler is None


@pytest.mark.skipif(shutil.which("script") is None, reason="util-linux `script` is needed for a pseudo-terminal")
def test_run_in_a_terminal_shows_every_stage_and_still_publishes(tmp_path):
    log = tmp_path / "terminal.log"
    env = {k: v for k, v in os.environ.items() if k not in {"PREFECT_API_URL", "PREFECT_HOME"}}
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
    command = f"{sys.executable} -m citytrade.cli.main run --raw-dir '{SAMPLE_RAW}' --home '{tmp_path / 'home'}'"
    result = subprocess.run(["script", "-qec", command, str(log)], cwd=REPO, env=env, capture_output=True, timeout=600)
    assert result.returncode == 0, log.read_text(errors="replace")[-3000:]
    screen = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", log.read_text(encoding="utf-8", errors="replace")).replace("\r", "\n")
    short = {"GX Data Docs", "notify people"}  # over before the bar redraws (the Data Docs are built during the publish)
    # A first run's row gate adds alerts, so the alerts' mart is built again (one more task, one more on the bar's total).
    for number, stage in [(number, stage) for number, stage in enumerate(STAGES) if number and stage not in short]:
        assert re.search(rf"citytrade run: {re.escape(stage)} \.\.\..* ({number}|{number + 1})/({len(STAGES)}|{len(STAGES) + 1})", screen), f"no bar at {stage}"
    assert re.search(r" (\d+)/\1 ", screen), "the bar never ends full"
    assert "citytrade: published" in screen
    assert (tmp_path / "home" / "published" / "report.html").is_file()
