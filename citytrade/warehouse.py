"""The build warehouse: one DuckDB file under the home, its raw and audit schemas."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
from citytrade.config import duckdb_config

RAW_DDL = """
create schema if not exists raw;
create schema if not exists audit;

create table if not exists raw.releases (
    release_id varchar primary key,
    path varchar not null,
    sha256 varchar not null,
    sidecar_sha256 varchar,
    format varchar,
    publisher varchar,
    title varchar,
    source_url varchar,
    published_on date,
    retrieved_on date,
    unit varchar,
    basis varchar,
    encoding varchar,
    is_complete_list boolean,
    is_synthetic boolean not null default false,
    notes varchar,
    loaded_at timestamp not null,
    run_id varchar not null,
    rows_loaded integer not null,
    rows_quarantined integer not null,
    status varchar not null,
    status_reason varchar
);

create table if not exists raw.trade_observations (
    release_id varchar not null,
    row_number integer not null,
    area_raw varchar not null,
    area_code varchar not null,
    year integer not null,
    month_from integer not null,
    month_to integer not null,
    basis varchar not null,
    unit varchar not null,
    currency varchar not null,
    total_text varchar,
    total_value double,
    total_resolution double,
    exports_text varchar,
    exports_value double,
    exports_resolution double,
    imports_text varchar,
    imports_value double,
    imports_resolution double,
    total_yoy_pct double,
    total_yoy_pct_resolution double,
    exports_yoy_pct double,
    exports_yoy_pct_resolution double,
    imports_yoy_pct double,
    imports_yoy_pct_resolution double,
    source_url varchar,
    published_on date,  -- the row's own date, overriding its release's (citytrade-v1 compilations)
    quote varchar,  -- press-text-v1: the clauses the figures came from, and their character span in the decoded text
    span_start integer,
    span_end integer,
    primary key (release_id, row_number, month_from, month_to)  -- one file row may give two windows (month, year to date)
);

create table if not exists raw.press_refused_figures (  -- press-text-v1: figures that are not an area's trade, and why
    release_id varchar not null,
    quote varchar not null,
    span_start integer not null,
    span_end integer not null,
    reason varchar not null
);

create table if not exists raw.trade_detail (  -- citytrade-detail-v1 rows, bulk-loaded by their parser
    release_id varchar not null,
    row_number bigint not null,
    area_code varchar not null,
    year integer not null,
    month_from integer not null,
    month_to integer not null,
    basis varchar not null,
    partner_region varchar not null,
    hs_section varchar not null,
    unit varchar not null,
    exports_value double,
    imports_value double
);

create table if not exists raw.top100_entries (
    release_id varchar not null,
    row_number integer not null,
    year integer not null,
    rank integer not null,
    area_raw varchar not null,
    area_code varchar not null,
    score double,
    is_complete_list boolean not null,
    primary key (release_id, row_number)
);

create table if not exists raw.top100_subindex_scores (
    release_id varchar not null,
    row_number integer not null,
    subindex varchar not null,
    score double not null,
    primary key (release_id, row_number, subindex)
);

create table if not exists raw.top100_region_counts (  -- a list's counts per region, as its publisher states them
    release_id varchar not null,
    row_number integer not null,
    year integer not null,
    region varchar not null,
    cities_in_list integer not null,
    primary key (release_id, row_number)
);

create table if not exists raw.quarantine (
    release_id varchar not null,
    path varchar not null,
    row_number integer,
    reason varchar not null,
    run_id varchar not null,
    detected_at timestamp not null
);

create table if not exists audit.runs (
    run_id varchar primary key,
    started_at timestamp not null,
    finished_at timestamp,
    status varchar not null,
    message varchar,
    releases_loaded integer,
    published boolean
);

create table if not exists audit.row_verdicts (
    observation_id varchar not null,
    check_name varchar not null,
    severity varchar not null,
    run_id varchar not null
);

-- the md5 of each dbt view's compiled SQL, written with the view (dbt_project/macros/view_materialization.sql)
create table if not exists audit.dbt_view_definitions (
    relation varchar not null,
    sql_md5 varchar not null,
    built_at timestamp not null
);

create table if not exists audit.alerts (
    alert_id varchar primary key,
    run_id varchar not null,
    detected_at timestamp not null,
    last_seen_run_id varchar not null,
    severity varchar not null,
    check_name varchar not null,
    area_code varchar,
    period_label varchar,
    observed varchar,
    expected varchar,
    message varchar not null,
    release_id varchar,
    source_file varchar
);
"""


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The warehouse with its memory limit and spill folder (config.duckdb_config), as dbt opens it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only, config=duckdb_config(path))


# Columns added since a warehouse may have been created: `create table if not exists` leaves an old table as it is.
ADDED_COLUMNS = """
alter table raw.trade_observations add column if not exists published_on date;
alter table raw.trade_observations add column if not exists quote varchar;
alter table raw.trade_observations add column if not exists span_start integer;
alter table raw.trade_observations add column if not exists span_end integer;
"""


def initialise(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(RAW_DDL)
    con.execute(ADDED_COLUMNS)


@contextmanager
def open_warehouse(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(path)
    try:
        initialise(con)
        yield con
    finally:
        con.close()


def utc_now() -> dt.datetime:
    """Now as the warehouse's timestamps hold it: UTC, without a zone (audit.runs, raw.releases, raw.quarantine)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
