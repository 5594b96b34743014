"""`status`, `alerts` and `rankings` called in a tight loop by another process while ten pipeline runs build and
publish on the same home: no run fails, no read fails (issue #28).

The runs are the pipeline flow in this process against the session's Prefect API (see conftest.run_flow), so ten of
them cost ten builds and not ten interpreter starts; the readers are `citytrade` commands in their own processes, as
a user or a dashboard's cron job calls them. Ctrl-C and the `citytrade run` process itself are tested in
tests/scheduling/test_interrupts.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess

from conftest import CITYTRADE_BIN, SAMPLE_RAW, run_flow


def test_readers_in_a_tight_loop_never_break_ten_runs(prefect_harness, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    said = tmp_path / "readers.log"
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    loop = subprocess.Popen(
        ["bash", "-c", f"while true; do for command in status alerts rankings; do "
                       f"'{CITYTRADE_BIN}' $command --home '{home}' > /dev/null 2> \"$0.err\"; "
                       f"echo \"$command $? $(cat \"$0.err\")\" >> \"$0\"; done; done", str(said)],
        env=env, start_new_session=True,
    )  # fmt: skip
    try:
        reports = [run_flow(SAMPLE_RAW, home) for _ in range(10)]
    finally:
        os.killpg(loop.pid, signal.SIGKILL)
        loop.wait(timeout=10)
    assert [report.status for report in reports] == ["published"] * 10, [report.message for report in reports]
    logged = [json.loads(line) for line in (home / "logs" / "runs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [run["status"] for run in logged] == ["published"] * 10
    reads = said.read_text(encoding="utf-8").splitlines()
    assert len(reads) >= 10, reads
    nothing_yet = f"citytrade: nothing published yet under {home}: run `citytrade run` first"
    for read in reads:
        command, code, line = (read.split(" ", 2) + [""])[:3]
        assert code == "0" or (code == "1" and line == nothing_yet), read
    assert any(read.split(" ")[1] == "0" and read.startswith("rankings") for read in reads), "no ranking was ever read"
