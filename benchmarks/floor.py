"""The floor: the same transformation as a citytrade run, as one plain DuckDB script with nothing else around it.

Loads every release file not loaded before (citytrade-v1 and citytrade-detail-v1, by content hash), resolves
areas against the seeds, converts units to yuan, keeps the latest published version of each figure, builds
fct_trade, the city and province rankings and trade by partner region, and publishes them to a new DuckDB file
plus one Parquet per mart, replaced atomically. No orchestration, no validation, no dbt: what DuckDB alone costs.

    python benchmarks/floor.py --raw-dir DIR --db FLOOR.duckdb --out PUBLISHED_DIR
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import duckdb
import yaml

SEEDS = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def setup(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"""
        create table if not exists files (path varchar, sha256 varchar, format varchar, unit varchar, basis varchar, published_on date);
        create table if not exists trade (path varchar, area_code varchar, year integer, month_from integer, month_to integer,
            basis varchar, total_cny double, exports_cny double, imports_cny double, total_yoy_pct double, published_on date);
        create table if not exists detail (path varchar, area_code varchar, year integer, month_from integer, month_to integer,
            basis varchar, partner_region varchar, hs_section varchar, exports_cny double, imports_cny double, published_on date);
        create or replace table areas as select * from read_csv('{SEEDS / "areas.csv"}', all_varchar = true);
        create or replace table units as select * from read_csv('{SEEDS / "units.csv"}');
        create or replace table names as
            select lower(name_zh) as name, area_code from areas
            union select lower(name_en), area_code from areas
            union select area_code, area_code from areas
            union select lower(alias), area_code from read_csv('{SEEDS / "area_aliases.csv"}', all_varchar = true);
    """)


def load_new_files(con: duckdb.DuckDBPyConnection, raw_dir: Path) -> int:
    known = {row[0] for row in con.execute("select sha256 from files").fetchall()}
    rows_before = con.execute("select (select count(*) from trade) + (select count(*) from detail)").fetchone()[0]
    for path in sorted(raw_dir.rglob("*.csv")):
        meta = yaml.safe_load(path.with_name(path.stem + ".meta.yaml").read_text(encoding="utf-8"))
        digest = sha256(path)
        if digest in known:
            continue
        fmt, unit, basis, published = meta["format"], meta["unit"], meta["basis"], str(meta["published_on"])
        factor = con.execute("select factor from units where unit = ?", [unit]).fetchone()[0]
        con.execute("begin transaction")
        if fmt == "citytrade-v1":
            con.execute(
                f"""insert into trade
                    select ?, names.area_code, year, month_from, month_to, ?, total * {factor}, exports * {factor},
                        imports * {factor}, total_yoy_pct, cast(? as date)
                    from read_csv(?, header = true) as release
                    inner join names on lower(cast(release.area as varchar)) = names.name""",
                [str(path), basis, published, str(path)],
            )
        elif fmt == "citytrade-detail-v1":
            con.execute(
                f"""insert into detail
                    select ?, names.area_code, year, month_from, month_to, ?, partner_region, hs_section,
                        exports * {factor}, imports * {factor}, cast(? as date)
                    from read_csv(?, header = true) as release
                    inner join names on lower(cast(release.area as varchar)) = names.name""",
                [str(path), basis, published, str(path)],
            )
        con.execute("insert into files values (?, ?, ?, ?, ?, ?)", [str(path), digest, fmt, unit, basis, published])
        con.execute("commit")
        known.add(digest)
    return con.execute("select (select count(*) from trade) + (select count(*) from detail)").fetchone()[0] - rows_before


MARTS = {
    "fct_trade": """
        select * exclude (version_rank) from (
            select *, row_number() over (partition by area_code, year, month_from, month_to, basis
                                         order by published_on desc, path desc) as version_rank
            from trade) where version_rank = 1""",
    "city_trade_ranking": """
        select fct_trade.*, areas.name_en, areas.province_name_en, areas.region,
            rank() over (partition by fct_trade.year, fct_trade.month_from, fct_trade.month_to, fct_trade.basis order by fct_trade.total_cny desc) as rank_total,
            100 * fct_trade.total_cny / nation.total_cny as share_of_national_pct
        from fct_trade
        inner join areas on fct_trade.area_code = areas.area_code and areas.level in ('city', 'municipality')
        left join fct_trade as nation on nation.area_code = '000000' and nation.year = fct_trade.year
            and nation.month_from = fct_trade.month_from and nation.month_to = fct_trade.month_to""",
    "province_trade_ranking": """
        select fct_trade.*, areas.name_en, areas.region,
            rank() over (partition by fct_trade.year, fct_trade.month_from, fct_trade.month_to, fct_trade.basis order by fct_trade.total_cny desc) as rank_total,
            100 * fct_trade.total_cny / nation.total_cny as share_of_national_pct
        from fct_trade
        inner join areas on fct_trade.area_code = areas.area_code and areas.level in ('province', 'municipality')
        left join fct_trade as nation on nation.area_code = '000000' and nation.year = fct_trade.year
            and nation.month_from = fct_trade.month_from and nation.month_to = fct_trade.month_to""",
    "trade_by_partner_region": """
        select area_code, year, month_from, month_to, basis, partner_region,
            sum(exports_cny) as exports_cny, sum(imports_cny) as imports_cny,
            sum(exports_cny) + sum(imports_cny) as total_cny, count(*) as detail_rows
        from (
            select *, dense_rank() over (partition by area_code, year, month_from, month_to, basis
                                         order by published_on desc, path desc) as version_rank
            from detail)
        where version_rank = 1
        group by all""",
}


def build_and_publish(con: duckdb.DuckDBPyConnection, out: Path) -> dict[str, int]:
    for name, sql in MARTS.items():
        con.execute(f"create or replace table {name} as {sql}")
    out.mkdir(parents=True, exist_ok=True)
    staging = out / f".floor-{os.getpid()}.duckdb"
    staging.unlink(missing_ok=True)
    con.execute(f"attach '{staging}' as publish")
    counts = {}
    for name in MARTS:
        con.execute(f"create table publish.{name} as select * from {name}")
        con.execute(f"copy {name} to '{out / (name + '.parquet')}' (format parquet)")
        counts[name] = con.execute(f"select count(*) from {name}").fetchone()[0]
    con.execute("detach publish")
    os.replace(staging, out / "floor.duckdb")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-dir", required=True, type=Path)
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    con = duckdb.connect(str(args.db))
    setup(con)
    rows = load_new_files(con, args.raw_dir)
    counts = build_and_publish(con, args.out)
    con.close()
    print(json.dumps({"rows_loaded": rows, "marts": counts, "seconds": round(time.perf_counter() - started, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
