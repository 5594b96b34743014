"""Which years a run's build must compute of the tables of one row per figure (issue #8).

The eight `table_by_year` tables (dbt_project/macros/table_by_year_materialization.sql) were computed whole in
every build, then compared year by year: 1.0 CPU s of a cold incremental run, for a month that changes one year.
A figure of a year is made from that year's figures, and from the year before's (growth, last year's rank): rows
of year Y change only when the inputs of Y, Y-1 or Y-2 changed (REACH). So before a build this module compares
what the build reads with what the previous successful build of the same stage read (the basis, kept in
audit.dbt_years_basis) and lists the years to compute in audit.dbt_build_years; the materialization computes and
compares those years only. It lists no years (all are computed) whenever a change is not one of new figures:

- any file of the dbt project, the environment dbt reads or a dbt version changed (the seeds among the files);
- a release was removed or changed: its row, its figures, or its place in release order (a release published
  before others shifts their order, which the placed figures carry);
- a new release has the path of an older one (the older one's figures stop competing: in any of its years);
- the stage has no basis yet, or its basis cannot be read.

New releases add their figures' years; for the post-gate stage, figures whose row verdict changed (kept out, or
let in again) add theirs. tests/marts/test_table_by_year.py compares the tables with a full build after each kind
of change. After the build the list is dropped, so that dbt run by hand computes every year.
"""

from __future__ import annotations

import json

import duckdb

YEARS_TABLE = "audit.dbt_build_years"
BASIS_TABLE = "audit.dbt_years_basis"
REACH = 2  # a changed year Y changes Y+1 (growth on the year before) and Y+2 (last year's rank of that growth)
STAGES = {"pre-gate", "post-gate"}  # the post-gate stage also reads the row verdicts

# One row per release: the release's row, its figures (count, hash, years) and its place in release order, as
# int_trade_observations_placed orders releases (published_on, loaded_at, release_id).
RELEASES = """
    select
        releases.release_id,
        cast(hash(releases) as varchar) as release_hash,
        releases.path,
        coalesce(figures.figure_count, 0) as figure_count,
        coalesce(figures.figure_hash, '0') as figure_hash,
        figures.first_year,
        figures.last_year,
        dense_rank() over (order by releases.published_on, releases.loaded_at, releases.release_id) as release_order
    from raw.releases as releases
    left join (
        select release_id, count(*) as figure_count, cast(sum(hash(figures)) as varchar) as figure_hash,
            min(year) as first_year, max(year) as last_year
        from raw.trade_observations as figures
        group by release_id
    ) as figures on figures.release_id = releases.release_id
"""

# The figures the row verdicts keep out, with their year (int_trade_observations_validated leaves them out).
KEPT_OUT = """
    select distinct verdicts.observation_id, figures.year
    from audit.row_verdicts as verdicts
    inner join intermediate.int_trade_observations_versioned as figures
        on figures.observation_id = verdicts.observation_id
    where verdicts.severity = 'error'
"""


def read_basis(con: duckdb.DuckDBPyConnection, stage: str, project: str) -> dict:
    """What a build of `stage` reads now: the project's fingerprint, the releases, (post-gate) the kept-out figures."""
    names = ["release_hash", "path", "figure_count", "figure_hash", "first_year", "last_year", "release_order"]
    releases = {row[0]: dict(zip(names, row[1:])) for row in con.execute(RELEASES).fetchall()}
    basis = {"project": project, "releases": releases}
    if stage == "post-gate":
        basis["kept_out"] = {observation_id: year for observation_id, year in con.execute(KEPT_OUT).fetchall()}
    return basis


def years_to_compute(previous: dict | None, current: dict) -> list[int] | None:
    """The years whose rows may differ from what the previous build made of `previous`; None: all of them."""
    if previous is None or previous.get("project") != current["project"]:
        return None
    before, now = previous["releases"], current["releases"]
    if set(before) - set(now):
        return None  # a release removed
    changed: set[int] = set()
    paths_before = {release["path"] for release in before.values()}
    for release_id, release in now.items():
        if release_id in before:
            if release != before[release_id]:
                return None  # its row, its figures or its place in release order changed
            continue
        if release["path"] in paths_before:
            return None  # a new version of a file: the older one's figures stop competing, in any year
        if release["first_year"] is not None:
            changed.update(range(release["first_year"], release["last_year"] + 1))
    if "kept_out" in current:
        if "kept_out" not in previous:
            return None
        kept_before, kept_now = previous["kept_out"], current["kept_out"]
        for observation_id in set(kept_before) ^ set(kept_now):
            changed.add(kept_now.get(observation_id, kept_before.get(observation_id)))
    return sorted({year + step for year in changed for step in range(REACH + 1)})


def prepare(con: duckdb.DuckDBPyConnection, stage: str, project: str, full_refresh: bool = False) -> dict | None:
    """Before a build of `stage`: list the years it computes in YEARS_TABLE; returns the basis to record() after
    it succeeded. Without a stage (another selection) every year is computed and nothing is recorded."""
    con.execute(f"drop table if exists {YEARS_TABLE}")
    tables = {f"{schema}.{name}" for schema, name in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()}
    needed = {"raw.releases", "raw.trade_observations", "audit.row_verdicts"}
    if stage == "post-gate":
        needed.add("intermediate.int_trade_observations_versioned")
    if stage not in STAGES or not needed <= tables:
        return None
    current = read_basis(con, stage, project)
    years = None if full_refresh or BASIS_TABLE not in tables else years_to_compute(_stored_basis(con, stage), current)
    if years is not None:
        con.execute(f"create table {YEARS_TABLE} as select cast(? as integer[]) as years", [years])
    return current


def record(con: duckdb.DuckDBPyConnection, stage: str, basis: dict) -> None:
    """After a successful build of `stage`: what it read is the next build's basis."""
    con.execute(f"create table if not exists {BASIS_TABLE} (stage varchar primary key, basis json, recorded_at timestamp)")
    con.execute(f"insert or replace into {BASIS_TABLE} values (?, ?, now())", [stage, json.dumps(basis)])


def finish(con: duckdb.DuckDBPyConnection) -> None:
    """After any build: no list left for the next dbt invocation, which may not be a run's."""
    con.execute(f"drop table if exists {YEARS_TABLE}")


def _stored_basis(con: duckdb.DuckDBPyConnection, stage: str) -> dict | None:
    row = con.execute(f"select basis from {BASIS_TABLE} where stage = ?", [stage]).fetchone()
    return json.loads(row[0]) if row else None
