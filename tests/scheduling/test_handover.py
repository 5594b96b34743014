"""The run's dbt worker and run lock, taken before an exec (what citytrade.launch does before it becomes Prefect's
engine) and adopted by the run in the new program: the same worker process, parsed under the same lock. A worker
started for another home is stopped, its lock let go, and the run starts its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from conftest import REPO, SAMPLE_RAW

BEFORE = textwrap.dedent("""
    import os, sys
    from citytrade import dbt_worker, home_lock
    from citytrade.config import Settings
    from citytrade.helper_process import HelperProcess, hand_over

    raw, home, run_home, after = sys.argv[1:5]
    settings = Settings.from_args(raw, home)
    worker = HelperProcess.start("citytrade.dbt_worker", settings.log_dir / "dbt-worker.log", "dbt worker", RuntimeError,
                                 env=settings.environment(os.environ))
    lock = home_lock.acquire(settings.lock_path)
    worker.send("parse", dbt_worker.settings_args(settings))
    home_lock.hand_over(lock, settings.lock_path)
    hand_over({"citytrade.dbt_worker": worker})
    print(worker.process.pid, flush=True)
    os.execv(sys.executable, [sys.executable, "-c", after, raw, run_home, home])
""")

AFTER = textwrap.dedent("""
    import json, os, subprocess, sys
    from citytrade import dbt_worker, pipeline
    from citytrade.config import Settings

    raw, home, handed_home = sys.argv[1:4]
    settings = Settings.from_args(raw, home)
    settings.apply_environment()
    probe = "import sys; from pathlib import Path; from citytrade import home_lock; home_lock.acquire(Path(sys.argv[1]))"

    def free(home):  # can another process take that home's lock now?
        return subprocess.run([sys.executable, "-c", probe, str(Settings.from_args(raw, home).lock_path)], capture_output=True).returncode == 0

    with pipeline.run_lock(settings):
        with dbt_worker.running(settings.log_dir / "dbt-worker.log", parse_for=settings) as worker:
            worker.call("parse", dbt_worker.settings_args(settings))  # answered after the one sent before the exec
            print(json.dumps({"adopted": worker.adopted, "pid": worker.process.pid, "run_home_free": free(home),
                              "handed_home_free": free(handed_home)}), flush=True)
""")


def handed_over(tmp_path, run_home_name: str) -> tuple[int, dict]:
    env_home = tmp_path / "handed"
    run_home = tmp_path / run_home_name
    done = subprocess.run([sys.executable, "-c", BEFORE, str(SAMPLE_RAW), str(env_home), str(run_home), AFTER],
                          cwd=REPO, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    pid_line, result_line = done.stdout.strip().splitlines()[-2:]
    return int(pid_line), json.loads(result_line)


def test_the_run_adopts_the_worker_and_the_lock_taken_before_the_exec(tmp_path):
    pid, seen = handed_over(tmp_path, "handed")  # the same home
    assert seen["adopted"] is True and seen["pid"] == pid
    assert seen["run_home_free"] is False  # held across the exec: no other run could start in between


def test_a_worker_and_lock_handed_over_for_another_home_are_let_go(tmp_path):
    pid, seen = handed_over(tmp_path, "other")
    assert seen["adopted"] is False and seen["pid"] != pid
    assert seen["handed_home_free"] is True and seen["run_home_free"] is False
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive, "the worker started for the other home is still running"
