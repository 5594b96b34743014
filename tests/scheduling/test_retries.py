"""Tasks retry transient failures (a warehouse lock held by another process) and fail bad input at once."""

from __future__ import annotations

import subprocess
import sys
import urllib.error

import duckdb
import pytest
from prefect import flow, task
from citytrade.ingest.releases import ReleaseError
from citytrade.scheduling import is_transient
from citytrade.transform.build import BuildError
from flows.run_pipeline import TRANSIENT_RETRIES

FAST = {**TRANSIENT_RETRIES, "retry_delay_seconds": 0}


def test_what_counts_as_transient():
    lock = duckdb.IOException('IO Error: Could not set lock on file "warehouse.duckdb": Conflicting lock is held')
    assert is_transient(lock)
    assert is_transient(ConnectionRefusedError(111, "Connection refused"))
    assert is_transient(urllib.error.HTTPError("http://127.0.0.1/x", 503, "Service Unavailable", {}, None))
    wrapped = RuntimeError("ingest failed")
    wrapped.__cause__ = TimeoutError("timed out")
    assert is_transient(wrapped)
    assert not is_transient(urllib.error.HTTPError("http://127.0.0.1/x", 404, "Not Found", {}, None))
    assert not is_transient(BuildError("dbt build failed on 1 node(s): fct_trade: division by zero"))
    assert not is_transient(ReleaseError("sidecar lacks required field(s): publisher"))
    assert not is_transient(duckdb.CatalogException("Table with name x does not exist"))


def test_a_task_waits_out_a_warehouse_held_by_another_process(prefect_harness, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; con = duckdb.connect({str(path)!r}); print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    attempts = []

    @task(**FAST)
    def write_warehouse() -> int:
        attempts.append(1)
        if len(attempts) == 2:  # the other process lets go before the second attempt
            holder.stdin.close()
            holder.wait(timeout=30)
        con = duckdb.connect(str(path))
        try:
            return con.execute("select 42").fetchone()[0]
        finally:
            con.close()

    @flow
    def writes() -> int:
        return write_warehouse()

    try:
        assert writes() == 42
    finally:
        if holder.poll() is None:
            holder.kill()
    assert len(attempts) == 2  # failed on the lock once, then went through


def test_bad_input_is_not_retried(prefect_harness):
    attempts = []

    @task(**FAST)
    def build() -> None:
        attempts.append(1)
        raise BuildError("dbt build failed on 1 node(s): fct_trade: division by zero")

    @flow
    def builds() -> None:
        build()

    with pytest.raises(BuildError, match="fct_trade: division by zero"):
        builds()
    assert len(attempts) == 1
