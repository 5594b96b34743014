"""The run's dbt worker process (citytrade.dbt_worker) builds what dbt in-process builds; a lost worker fails the build
and a killed run leaves no worker holding the warehouse."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from citytrade import dbt_worker, transform
from citytrade.config import Settings
from citytrade.warehouse import connect
from conftest import REPO, SAMPLE_RAW


@pytest.fixture
def settings(sample_home: Path, tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    shutil.copytree(sample_home, home, ignore=shutil.ignore_patterns("run.lock"))
    return Settings.from_args(SAMPLE_RAW, home)


def test_the_worker_builds_the_marts_as_dbt_in_process_does(settings: Settings):
    in_process = transform.build_models(settings, transform.POST_GATE)
    with connect(settings.warehouse_path) as con:
        con.execute("drop table marts.city_trade_ranking")  # the worker's build must make it again
    with dbt_worker.running(settings.log_dir / "dbt-worker.log", parse_for=settings) as worker:
        through_worker = transform.build_models(settings, transform.POST_GATE)
        assert worker.process.pid != os.getpid()
    assert worker.process.poll() == 0  # stopped with the block, no process left behind
    assert through_worker == in_process
    assert through_worker["city_trade_ranking"] == "success" and through_worker["primary_key_dim_area_area_code"] == "pass"
    with connect(settings.warehouse_path) as con:  # the worker let go of the warehouse: this process opens it
        shenzhen = con.execute(
            "select rank_total from marts.city_trade_ranking where year = 2025 and month_to = 12 and basis = 'firm_location' and name_en = 'Shenzhen'"
        ).fetchone()
    assert shenzhen == (1,)


def test_a_worker_that_died_fails_the_build(settings: Settings):
    with dbt_worker.running(settings.log_dir / "dbt-worker.log") as worker:
        worker.process.kill()
        worker.process.wait()
        with pytest.raises(transform.BuildError, match=r"dbt worker process ended .*exit code -9.* during build"):
            transform.build_models(settings, transform.POST_GATE)


def test_the_worker_ends_when_its_run_is_killed_mid_build(settings: Settings, tmp_path: Path):
    """A run SIGKILLed while its worker builds must not leave dbt holding the warehouse for the next run."""
    pid_file = tmp_path / "worker.pid"
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(REPO)!r})
        from pathlib import Path
        from citytrade import dbt_worker, transform
        from citytrade.config import Settings
        os.environ["CITYTRADE_TEST_PAUSE_AT"] = "dbt-build"  # the build holds once the first mart is written
        settings = Settings.from_args({str(SAMPLE_RAW)!r}, {str(settings.home)!r})
        settings.apply_environment()
        with dbt_worker.running(settings.log_dir / "dbt-worker.log", parse_for=settings) as worker:
            worker.send("build", {{**dbt_worker.settings_args(settings), "select": transform.POST_GATE}})
            Path({str(pid_file)!r}).write_text(str(worker.process.pid))
            time.sleep(600)
    """)
    run = subprocess.Popen([sys.executable, "-c", script])
    marker = settings.home / "paused-at-dbt-build"
    deadline = time.monotonic() + 180
    while not (marker.exists() and pid_file.exists()):
        assert run.poll() is None and time.monotonic() < deadline, "the worker's build never reached its first mart"
        time.sleep(0.1)
    worker_pid = int(pid_file.read_text())
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 20
    while _alive(worker_pid):
        assert time.monotonic() < deadline, "the dbt worker outlived its killed run"
        time.sleep(0.1)
    assert marker.exists()  # it was still holding the build when it ended, not finishing it
    with connect(settings.warehouse_path) as con:  # the next run can open the warehouse
        assert con.execute("select count(*) from marts.dim_area").fetchone()[0] > 300


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended; init reaps it
    except FileNotFoundError:
        return False



def test_dbts_json_schemas_are_kept_in_the_home_and_the_next_process_reads_them(settings: Settings):
    """transform._KeptSchemas: the schemas dbt validates its config with, built once per home, read by later runs."""
    import importlib

    from dbt_common.dataclass_schema import build_json_schema

    for kept in settings.dbt_target_dir.glob("json-schemas-*.json"):
        kept.unlink()
    with dbt_worker.running(settings.log_dir / "dbt-worker.log", parse_for=settings):
        transform.build_models(settings, ["dim_area"])
    (kept,) = settings.dbt_target_dir.glob("json-schemas-*.json")
    schemas = json.loads(kept.read_text(encoding="utf-8"))
    assert {"dbt.contracts.project.Project", "dbt.adapters.duckdb.credentials.DuckDBCredentials"} <= set(schemas)
    for key, schema in schemas.items():  # each the schema mashumaro builds for that class
        module, _, name = key.rpartition(".")
        assert schema == json.loads(json.dumps(build_json_schema(getattr(importlib.import_module(module), name)).to_dict())), key

    # a later process validates with the kept schemas, not its own: one that demands a key no project has fails the parse
    schemas["dbt.contracts.project.Project"] = {"type": "object", "required": ["citytrade_kept_schema_marker"]}
    kept.write_text(json.dumps(schemas), encoding="utf-8")
    with dbt_worker.running(settings.log_dir / "dbt-worker.log", parse_for=settings):
        with pytest.raises(transform.BuildError, match="dbt could not parse the project"):
            transform.build_models(settings, ["dim_area"])
    assert "citytrade_kept_schema_marker" in (settings.dbt_log_dir / "dbt.log").read_text(encoding="utf-8")


def test_events_no_log_takes_are_skipped_but_warnings_and_callbacks_get_theirs(settings: Settings):
    """transform._skip_unlogged_events: dbt's debug and info events are not made when its log is at warn (a run's
    default), but a warning still reaches dbt.log, and a callback still gets every event."""
    from dbt.cli.main import dbtRunner

    (settings.dbt_log_dir / "dbt.log").unlink(missing_ok=True)
    transform.build_models(settings, ["no_such_model"])  # dbt warns that the selection matches no node
    assert "does not match any enabled nodes" in (settings.dbt_log_dir / "dbt.log").read_text(encoding="utf-8")

    seen = []
    args = ["build", *transform._common_args(settings), "--select", "dim_area"]
    try:
        result = dbtRunner(manifest=transform.parsed_manifest(settings), callbacks=[seen.append]).invoke(args)
    finally:
        transform.release_warehouse()
    assert result.success
    names = {message.info.name for message in seen}
    assert {"SQLQuery", "NodeStart", "NodeFinished"} <= names  # debug and info events, each with its message
    assert any("dim_area" in message.info.msg for message in seen if message.info.name == "SQLQuery")


def test_dbt_types_its_results_as_before_with_type_testers_built_once_per_kind(settings: Settings):
    """transform._share_type_testers: a result's agate table has the types and values the TypeTester built for it
    alone gives; one TypeTester per kind (text columns, null values) is built, and an empty table is one still."""
    import agate
    from dbt_common.clients import agate_helper

    transform.parsed_manifest(settings)  # installs it
    shared = agate_helper.build_type_tester
    assert getattr(shared, "citytrade", False)
    rows = [["2025-01-31", "12", "", "null", "true", "x"], ["2025-02-28", None, "7.5", "3", "false", "null"]]
    names = ["day", "count", "share", "code", "flag", "label"]
    for text_columns, null_values in [(set(), ()), ({"code", "label"}, ()), ({"label"}, ("null", ""))]:
        table = agate.Table(rows, names, column_types=shared(text_columns, string_null_values=null_values))
        fresh = agate.Table(rows, names, column_types=shared.__wrapped__(text_columns, string_null_values=null_values))
        assert [type(t) for t in table.column_types] == [type(t) for t in fresh.column_types]
        assert [list(row.values()) for row in table.rows] == [list(row.values()) for row in fresh.rows]
        assert shared(set(text_columns), string_null_values=null_values) is shared(list(text_columns), string_null_values=null_values)
    empty = agate_helper.empty_table()
    assert len(empty.rows) == 0 and empty.column_names == () and empty is not agate_helper.empty_table()
    statuses = transform.build_models(settings, ["dim_area"])  # tests read their failure counts through these tables
    assert statuses["primary_key_dim_area_area_code"] == "pass"


def test_dbt_classes_compiled_lazily_read_and_write_a_manifest_as_compiled_at_once(settings: Settings, tmp_path: Path):
    """dbt_worker.compile_dbt_classes_lazily: the worker's dbt classes compile their code when first used; a
    manifest read and written through them is the same as through classes compiled as they were defined."""
    manifest = settings.published_dir / "docs" / "manifest.json"
    script = textwrap.dedent("""
        import json, sys
        from citytrade import dbt_worker
        if sys.argv[1] == "lazily":
            dbt_worker.compile_dbt_classes_lazily()
        import dbt.cli.main
        from dbt.artifacts.schemas.manifest import WritableManifest
        from mashumaro import DataClassDictMixin

        def compiled(cls, seen):  # methods with their code generated already, not a stub that generates it
            count = 0
            for sub in cls.__subclasses__():
                if sub not in seen:
                    seen.add(sub)
                    for name in ("__mashumaro_from_dict__", "__mashumaro_to_dict__"):
                        method = sub.__dict__.get(name)
                        count += method is not None and "CodeBuilder" not in getattr(method, "__func__", method).__code__.co_names
                    count += compiled(sub, seen)
            return count

        before_use = compiled(DataClassDictMixin, set())
        manifest = WritableManifest.read_and_check_versions(sys.argv[2])
        print(json.dumps({"compiled_before_use": before_use, "manifest": manifest.to_dict(omit_none=False)}, sort_keys=True, default=str))
    """)
    outputs = {}
    for mode in ("lazily", "at-once"):
        done = subprocess.run([sys.executable, "-c", script, mode, str(manifest)], capture_output=True, text=True, cwd=REPO, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        outputs[mode] = json.loads(done.stdout)
    assert outputs["lazily"]["compiled_before_use"] < 10 < outputs["at-once"]["compiled_before_use"]
    assert outputs["lazily"]["manifest"] == outputs["at-once"]["manifest"]
    assert len(outputs["lazily"]["manifest"]["nodes"]) > 50


def test_a_failed_build_leaves_its_error_in_the_dbt_log_it_points_to(settings: Settings, monkeypatch):
    """A failed build says "see <home>/dbt/logs": that log must exist and hold the error, console log or not."""
    log = settings.dbt_log_dir / "dbt.log"
    log.unlink(missing_ok=True)
    with connect(settings.warehouse_path) as con:
        con.execute("drop table intermediate.int_trade_observations_versioned")  # built pre-gate; the marts read it
    with pytest.raises(transform.BuildError, match=r"int_trade_observations_validated: Runtime Error in model .*: Catalog Error: .*int_trade_observations_versioned does not exist"):
        transform.build_models(settings, transform.POST_GATE)
    text = log.read_text(encoding="utf-8")
    assert "int_trade_observations_validated" in text and "int_trade_observations_versioned" in text and "does not exist" in text
    assert "create  table" not in text  # warnings and errors only, by default: no SQL of the models that worked

    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")  # ... and every statement when asked for
    with pytest.raises(transform.BuildError):
        transform.build_models(settings, transform.POST_GATE)
    assert '"marts"."dim_area' in log.read_text(encoding="utf-8")


@pytest.mark.parametrize("damage", ["a null key", "a duplicated key"])
def test_the_primary_key_test_fails_on_a_null_or_a_duplicated_key(settings: Settings, damage: str):
    """dbt_project/macros/test_primary_key.sql: one node for what dbt's unique and not_null made in two."""
    with connect(settings.warehouse_path) as con:
        if damage == "a null key":
            con.execute("update marts.dim_area set area_code = null where area_code = (select min(area_code) from marts.dim_area)")
        else:
            con.execute("insert into marts.dim_area select * from marts.dim_area where area_code = (select min(area_code) from marts.dim_area)")
    with pytest.raises(transform.BuildError, match=r"primary_key_dim_area_area_code: (fail|Got 1 result)"):
        transform.build_models(settings, ["primary_key_dim_area_area_code"])  # the test alone: the table stays damaged


def test_one_not_null_columns_node_names_each_column_with_nulls_and_non_negative_each_with_negatives(settings: Settings):
    """dbt_project/tests/generic/not_null_columns.sql and non_negative.sql: one node per model for several columns,
    failing with one row per damaged column (dbt says how many)."""
    not_null = "not_null_columns_fct_trade_area_code__year__month_from__month_to__basis"
    non_negative = "non_negative_fct_trade_monthly_total_cny__exports_cny__imports_cny"
    assert transform.build_models(settings, [not_null, non_negative]) == {not_null: "pass", non_negative: "pass"}
    with connect(settings.warehouse_path) as con:
        con.execute("update marts.fct_trade set year = null where observation_id = (select min(observation_id) from marts.fct_trade)")
        con.execute("update marts.fct_trade set basis = null where observation_id = (select max(observation_id) from marts.fct_trade)")
        con.execute("update marts.fct_trade_monthly set exports_cny = -1 where observation_id = (select min(observation_id) from marts.fct_trade_monthly)")
    with pytest.raises(transform.BuildError, match=rf"{not_null}: Got 2 results") as failed:
        transform.build_models(settings, [not_null])  # the tests alone: the tables stay damaged
    assert "1 node(s)" in str(failed.value)
    with pytest.raises(transform.BuildError, match=rf"{non_negative}: Got 1 result"):
        transform.build_models(settings, [non_negative])
