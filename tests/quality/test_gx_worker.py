"""The run's GX worker process (citytrade.gx_worker) judges exactly as GX in-process does, and a lost worker fails the gate."""

from __future__ import annotations

import pytest

from citytrade import gx_worker, quality, warehouse
from citytrade.data_docs import data_docs_site
from checks_helpers import expectations_with_a_broken_check, prepare, run_row_gate
from conftest import write_release
from test_row_gate import PARTS  # Shenzhen's parts miss its total; Shanghai's and Suzhou's add up


def _verdicts(gate: quality.GateResult) -> list[tuple]:
    return sorted(
        (f.dataset, f.check_name, f.severity, f.could_not_run is not None, tuple(f.unexpected_ids), tuple(d["message"] or "" for d in f.details))
        for f in gate.findings
    )  # fmt: skip


def test_the_worker_flags_the_same_rows_as_gx_in_process(raw_dir, home, tmp_path):
    write_release(raw_dir, "parts.csv", PARTS)
    settings = prepare(raw_dir, home)
    broken = expectations_with_a_broken_check(tmp_path / "expectations")  # one check that cannot run
    in_process = run_row_gate(settings, broken)
    with gx_worker.running(settings.log_dir / "gx-worker.log") as worker:
        pending = quality.start_data_docs(settings, in_process)  # answered while the checkpoint below is asked for
        through_worker = run_row_gate(settings, broken)
        docs_pages = quality.finish_data_docs(pending)
    assert worker.process.poll() == 0  # stopped with the block, no process left behind

    assert _verdicts(through_worker) == _verdicts(in_process)
    assert through_worker.expectations_run == in_process.expectations_run > 5
    parts = [f for f in through_worker.findings if f.check_name == "parts_and_totals"]
    assert len(parts) == 1 and "Shenzhen" in parts[0].details[0]["message"]
    assert [f.could_not_run is not None for f in through_worker.findings if f.check_name == "broken_check"] == [True]
    assert not through_worker.passed
    assert docs_pages > 0  # the worker built this run's Data Docs pages
    index = (data_docs_site(settings.gx_dir) / "index.html").read_text(encoding="utf-8")
    assert "row_gate" in index


def test_a_clean_dataset_passes_through_the_worker(raw_dir, home):
    write_release(raw_dir, "parts.csv", PARTS.splitlines()[0] + "\n" + PARTS.splitlines()[1] + "\n")
    settings = prepare(raw_dir, home)
    with gx_worker.running(settings.log_dir / "gx-worker.log"):
        gate = run_row_gate(settings)
    assert gate.passed, gate.summary()
    assert gate.expectations_run > 5


def test_a_worker_that_died_means_the_gate_cannot_run(raw_dir, home):
    write_release(raw_dir, "parts.csv", PARTS)
    settings = prepare(raw_dir, home)
    with gx_worker.running(settings.log_dir / "gx-worker.log") as worker:
        worker.process.kill()
        worker.process.wait()
        with warehouse.open_warehouse(settings.warehouse_path) as con:
            with pytest.raises(quality.CheckCouldNotRun, match=r"GX worker process ended .*exit code -9.* during checkpoint"):
                quality.run_checkpoint(settings, "row_gate", con)
