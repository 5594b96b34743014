"""dbt's views on DuckDB are created again only when their SQL changed (dbt_project/macros/view_materialization.sql):
a later build keeps them and they show what the tables under them hold now; a changed, dropped or fully refreshed
view is created as dbt-core creates it. While no file of the project (nor the environment dbt reads) changed since
the warehouse's views were built, the pre-gate build leaves them out altogether and still runs their tests."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from citytrade import transform
from citytrade.config import Settings
from citytrade.warehouse import connect
from conftest import SAMPLE_RAW

VIEWS_CREATED = re.compile(r'create view\s+"[^"]+"\."([^"]+)"\."([^"]+)__dbt_tmp"')


@pytest.fixture
def settings(sample_home: Path, tmp_path: Path, monkeypatch) -> Settings:
    home = tmp_path / "home"
    shutil.copytree(sample_home, home, ignore=shutil.ignore_patterns("run.lock"))
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")  # dbt.log then holds every statement dbt ran
    return Settings.from_args(SAMPLE_RAW, home)


def build_pre_gate(settings: Settings, full_refresh: bool = False) -> tuple[dict[str, str], set[str]]:
    """The run's pre-gate build; returns its node statuses and the views it created, read from dbt's own log."""
    log = settings.dbt_log_dir / "dbt.log"
    start = log.stat().st_size if log.exists() else 0
    statuses = transform.build_models(settings, transform.PRE_GATE, exclude=transform.PRE_GATE_EXCLUDE, full_refresh=full_refresh)
    with open(log, encoding="utf-8") as handle:
        handle.seek(start)
        created = {f"{schema}.{name}" for schema, name in VIEWS_CREATED.findall(handle.read())}
    return statuses, created


def views_of_the_project(settings: Settings) -> set[str]:
    with connect(settings.warehouse_path) as con:
        return {f"{s}.{v}" for s, v in con.execute("select schema_name, view_name from duckdb_views() where not internal").fetchall()}


def test_a_second_build_keeps_the_unchanged_views_and_they_read_the_new_rows(settings: Settings):
    # the sample home's run made these views already, from the same SQL; in this copy of it (another path, which the
    # fingerprint includes) the first build takes them as they are, then records their fingerprint
    statuses, created = build_pre_gate(settings)
    views = views_of_the_project(settings)
    assert len(views) == 14 and "staging.stg_raw__releases" in views and "intermediate.int_trade_checks" in views
    assert created == set() and {statuses[v.split(".")[1]] for v in views} == {"success"}
    statuses, created = build_pre_gate(settings)
    assert created == set()
    assert not {v.split(".")[1] for v in views} & set(statuses), "unchanged project: the views are left out of the build"
    assert statuses["primary_key_stg_raw__releases_release_id"] == "pass"  # their tests still run
    assert statuses["relationships_stg_raw__trade_observations_area_code__area_code__ref_areas_"] == "pass"
    with connect(settings.warehouse_path) as con:
        releases = con.execute("select count(*) from staging.stg_raw__releases").fetchone()[0]
        con.execute("delete from raw.releases where release_id = (select min(release_id) from staging.stg_raw__releases)")
        con.execute("delete from raw.quarantine")
    statuses, created = build_pre_gate(settings)
    assert created == set()
    with connect(settings.warehouse_path) as con:  # a view is its SQL, bound when read: the rows of now
        assert con.execute("select count(*) from staging.stg_raw__releases").fetchone()[0] == releases - 1
        assert con.execute("select count(*) from staging.stg_raw__quarantine").fetchone()[0] == 0


def test_left_out_views_leave_out_nothing_else_and_come_back_when_the_project_changed(settings: Settings):
    build_pre_gate(settings)  # records the views' fingerprint for this home (test above)
    kept, _ = build_pre_gate(settings)
    with connect(settings.warehouse_path) as con:  # as after an edit of any file of the project
        con.execute(f"update {transform.VIEWS_TABLE} set fingerprint = 'a project of another day'")
    built, created = build_pre_gate(settings)
    views = {v.split(".")[1] for v in views_of_the_project(settings)}
    assert set(built) - set(kept) == views and set(kept) <= set(built), "the same build but for the views themselves"
    assert {built[v] for v in views} == {"success"} and created == set()  # their SQL is the same: no DDL
    with connect(settings.warehouse_path) as con:
        assert transform.held_fingerprints(con, settings)[transform.VIEWS_TABLE] == transform.project_fingerprint()
    assert set(build_pre_gate(settings)[0]) == set(kept)

    # a view gone from the warehouse: all of them are built again
    with connect(settings.warehouse_path) as con:
        con.execute("drop view staging.stg_raw__quarantine")
    built, created = build_pre_gate(settings)
    assert created == {"staging.stg_raw__quarantine"} and views <= set(built)


def test_the_views_fingerprint_follows_the_project_files_and_the_environment(tmp_path: Path, monkeypatch):
    project = tmp_path / "dbt_project"
    shutil.copytree(transform.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target"))
    monkeypatch.setattr(transform, "DBT_PROJECT_DIR", project)
    monkeypatch.setattr(transform, "dbt_project_files", lambda: sorted(p for p in project.rglob("*") if p.is_file()))
    before = transform.project_fingerprint()
    macro = project / "macros" / "period_label.sql"
    macro.write_text(macro.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    edited = transform.project_fingerprint()
    assert edited != before
    monkeypatch.setenv("CITYTRADE_WAREHOUSE", str(tmp_path / "elsewhere.duckdb"))
    assert transform.project_fingerprint() not in {before, edited}
    monkeypatch.setenv("CITYTRADE_DBT_TARGET", "postgres")
    assert transform.project_fingerprint() is None  # not tracked off DuckDB: always built there


def test_a_changed_or_dropped_view_is_created_again_and_a_full_refresh_creates_them_all(settings: Settings):
    with connect(settings.warehouse_path) as con:
        held = dict(con.execute("select relation, sql_md5 from audit.dbt_view_definitions").fetchall())
        assert len(held) == 14
        # what the warehouse holds of stg_raw__releases is no longer what the project says: as after an edit
        con.execute("update audit.dbt_view_definitions set sql_md5 = 'an older definition' where relation like '%stg_raw__releases%'")
        con.execute("drop view intermediate.int_trade_checks")
    statuses, created = build_pre_gate(settings)
    assert created == {"staging.stg_raw__releases", "intermediate.int_trade_checks"}
    assert statuses["stg_raw__releases"] == statuses["int_trade_checks"] == "success"
    with connect(settings.warehouse_path) as con:
        after = con.execute("select relation, sql_md5 from audit.dbt_view_definitions").fetchall()
        assert con.execute("select count(*) from intermediate.int_trade_checks").fetchone()[0] > 0
    assert dict(after) == held and len(after) == 14  # the same SQL again: the same md5, one row per view

    statuses, created = build_pre_gate(settings, full_refresh=True)
    assert created == views_of_the_project(settings) and len(created) == 14
