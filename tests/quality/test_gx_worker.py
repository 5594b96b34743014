"""The run's GX worker process (citytrade.gx_worker) judges exactly as GX in-process does, and a lost worker fails the gate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
        # the worker's GX judged without SQLAlchemy (gx_worker.hide_imports): none of its compiled modules is mapped
        mapped = Path(f"/proc/{worker.process.pid}/maps").read_text()
        assert "pandas/_libs" in mapped and "sqlalchemy" not in mapped
    assert worker.process.poll() == 0  # stopped with the block, no process left behind

    assert _verdicts(through_worker) == _verdicts(in_process)
    # GX no longer hashes each batch for a fingerprint nobody reads (quality._context)
    results = [path for path in settings.gx_dir.rglob("*.json") if "validations" in path.parts]
    assert results and not any("pandas_data_fingerprint" in path.read_text(encoding="utf-8") for path in results)
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
    with gx_worker.running(settings.log_dir / "gx-worker.log") as worker:
        gate = run_row_gate(settings)
        # its import ran below the run's CPU priority, but it serves the gate at the run's own
        assert os.getpriority(os.PRIO_PROCESS, worker.process.pid) == os.getpriority(os.PRIO_PROCESS, 0)
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


def test_the_worker_imports_below_the_run_priority_and_serves_at_it(tmp_path):
    """GX's import overlaps the start of a run, which needs the CPU more: it runs at a lower priority (a thread's
    own nice value, on Linux), and the thread that then answers requests is at the process's priority."""
    (tmp_path / "records_its_priority.py").write_text(
        "import os\nPRIORITY = os.getpriority(os.PRIO_PROCESS, 0)  # this thread's, on Linux\n", encoding="utf-8")
    script = """
import os, sys
from citytrade import gx_worker
before = os.getpriority(os.PRIO_PROCESS, 0)
gx_worker.import_below_the_run("records_its_priority")
import records_its_priority
print(before, records_its_priority.PRIORITY, os.getpriority(os.PRIO_PROCESS, 0))
try:
    gx_worker.import_below_the_run("no_such_module_here")
except ModuleNotFoundError as exc:
    print("raised", exc.name)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)})  # fmt: skip
    first, second = done.stdout.splitlines()
    before, during, after = map(int, first.split())
    assert during == min(before + gx_worker.NICENESS, 19) and after == before
    assert second == "raised no_such_module_here"  # an import that fails is the caller's error


BOUNDED = {"expect_column_values_to_be_between", "expect_column_pair_values_a_to_be_greater_than_b"}


def test_every_number_gx_compares_reaches_it_as_int64_float64_or_a_time(sample_home):
    """GX's pandas engine compares a column with a bound in bulk only when it is int64, float64 or a datetime.
    Any other number (int32, DuckDB's HUGEINT or DECIMAL, which pandas holds as Python objects) it judges row by row
    in Python: the extracts hand it the former."""
    import pyarrow as pa
    import pyarrow.feather as feather

    checked = []
    for gate in ("row_gate", "mart_gate"):
        for validation in quality.load_checkpoint_spec(gate)["validations"]:
            suite = quality.load_suite(validation["suite"])
            columns = {expectation["kwargs"][key] for expectation in suite["expectations"] if expectation["type"] in BOUNDED
                       for key in ("column", "column_A", "column_B") if key in expectation["kwargs"]}  # fmt: skip
            extract = sample_home / "gx" / "extracts" / gate / f"{validation['dataset']}.{quality.EXTRACT_SUFFIX}"
            schema = feather.read_table(extract).schema
            for column in sorted(columns):
                kind = schema.field(column).type
                assert pa.types.is_int64(kind) or pa.types.is_float64(kind) or pa.types.is_timestamp(kind), (
                    f"{gate}: {validation['dataset']}.{column} reaches GX as {kind}"
                )
                checked.append((validation["dataset"], column))
    assert ("int_trade_conflict_checks", "conflicting_releases") in checked and len(checked) > 20


def test_modules_the_worker_defers_load_whole_when_an_expectation_needs_them(tmp_path):
    """The worker defers scipy.stats and altair (citytrade's suites never use them); an expectation that does use
    scipy (KL divergence) must still judge, in the same process, after GX was imported with them deferred."""
    script = """
import sys
from citytrade import gx_worker
gx_worker.defer_imports()
import great_expectations as gx
import pandas as pd
deferred = sorted(name for name in gx_worker.DEFERRED_IMPORTS if type(sys.modules[name]).__name__ == "_LazyModule")
context = gx.get_context(mode="ephemeral")
batch = context.data_sources.add_pandas("p").add_dataframe_asset("a").add_batch_definition_whole_dataframe("b")
frame = pd.DataFrame({"x": [1, 2, 2, 3, 3, 3] * 50})
partition = {"values": [1, 2, 3], "weights": [1 / 6, 2 / 6, 3 / 6]}
near = batch.get_batch(batch_parameters={"dataframe": frame}).validate(
    gx.expectations.ExpectColumnKLDivergenceToBeLessThan(column="x", partition_object=partition, threshold=0.01))
far = batch.get_batch(batch_parameters={"dataframe": frame.assign(x=1)}).validate(
    gx.expectations.ExpectColumnKLDivergenceToBeLessThan(column="x", partition_object=partition, threshold=0.01))
print(deferred, near.success, far.success, type(sys.modules["scipy.stats"]).__name__)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["['altair',", "'scipy.stats']", "True", "False", "module"], done.stdout
