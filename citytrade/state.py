"""Reading the state of a home for people: runs, the publish, alerts, quarantine, rankings."""

from __future__ import annotations

import datetime as dt
import json

import duckdb

from citytrade.config import Settings


class NotPublished(RuntimeError):
    """Nothing has been published under this home yet."""


def _published(settings: Settings) -> duckdb.DuckDBPyConnection:
    if not settings.published_db.exists():
        raise NotPublished(f"nothing published yet under {settings.home}: run `citytrade run` first")
    return duckdb.connect(str(settings.published_db), read_only=True)


def _warehouse(settings: Settings) -> duckdb.DuckDBPyConnection | None:
    if not settings.warehouse_path.exists():
        return None
    try:
        return duckdb.connect(str(settings.warehouse_path), read_only=True)
    except duckdb.IOException:
        return None  # a run holds the warehouse; fall back on the run log and the publish


def _runs_from_log(settings: Settings, limit: int) -> list[dict]:
    log = settings.log_dir / "runs.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").strip().splitlines()[-limit:]][::-1]


def status_text(settings: Settings, limit: int = 5) -> str:
    lines = [f"home: {settings.home}", "", "last runs:"]
    runs = _runs_from_log(settings, limit)
    if not runs:
        lines.append("  none yet")
    for run in runs:
        lines.append(f"  {run['run_id'][:8]}  {run['status']:9}  loaded {len(run['releases_loaded'])} release(s)  {run['message']}")
    lines += ["", "published:"]
    if settings.published_db.exists():
        stamp = dt.datetime.fromtimestamp(settings.published_db.stat().st_mtime).isoformat(timespec="seconds")
        con = _published(settings)
        try:
            releases = con.execute("select count(*) filter (where status in ('loaded', 'partial')), max(published_on) from marts.releases").fetchone()
            marts = con.execute("select count(*) from information_schema.tables where table_schema = 'marts'").fetchone()[0]
        finally:
            con.close()
        lines.append(f"  {settings.published_db} at {stamp}: {marts} marts from {releases[0]} release(s), newest published {releases[1]}")
    else:
        lines.append("  nothing yet")
    con = _warehouse(settings)
    if con is None:
        lines += ["", "warehouse busy or absent: alerts and quarantine not shown"]
        return "\n".join(lines)
    try:
        alerts = con.execute(
            """select severity, count(*) from audit.alerts
               where last_seen_run_id = (select run_id from audit.runs where status <> 'running' order by started_at desc limit 1)
               group by severity order by severity"""
        ).fetchall()
        quarantine = con.execute(
            "select path, count(*), max(reason) from raw.quarantine group by path order by path"
        ).fetchall()
    finally:
        con.close()
    lines += ["", "open alerts (latest run): " + (", ".join(f"{n} {s}" for s, n in alerts) or "none")]
    lines += ["", "quarantined:"] + ([f"  {path}: {n} row(s)/file, e.g. {reason}" for path, n, reason in quarantine] or ["  nothing"])
    return "\n".join(lines)


def open_alerts(settings: Settings, include_all: bool = False) -> list[dict]:
    con = _warehouse(settings)
    if con is None:
        raise RuntimeError(f"cannot read alerts: the warehouse {settings.warehouse_path} is absent or a run holds it")
    try:
        where = "" if include_all else (
            "where last_seen_run_id = (select run_id from audit.runs where status <> 'running' order by started_at desc limit 1)"
        )
        cursor = con.execute(
            f"select * from audit.alerts {where} order by case severity when 'error' then 0 else 1 end, check_name, message"
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()


def ranking_rows(settings: Settings, *, year: int | None, month_to: int, basis: str, by: str, level: str, top: int) -> list[dict]:
    mart = "city_trade_ranking" if level == "city" else "province_trade_ranking"
    con = _published(settings)
    try:
        if year is None:
            year = con.execute(
                f"select max(year) from marts.{mart} where month_from = 1 and month_to = ? and basis = ?", [month_to, basis]
            ).fetchone()[0]
        cursor = con.execute(
            f"""select year, month_from, month_to, period_label, basis, rank_{by} as rank, area_code, name_en, name_zh,
                       province_name_en, region, total_cny, exports_cny, imports_cny, total_yoy_pct, rank_total_prev,
                       rank_change, share_of_national_pct, cities_ranked
                from marts.{mart}
                where year = ? and month_from = 1 and month_to = ? and basis = ? and rank_{by} is not null
                order by rank_{by} limit ?""",
            [year, month_to, basis, top],
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()


def ranking_table(rows: list[dict], by: str = "total") -> str:
    if not rows:
        return "no ranking for that period and basis"
    first = rows[0]
    header = f"{first['period_label']} {first['basis']} ranking by {by} ({first['cities_ranked']} ranked)"
    lines = [header, f"{'rank':>4}  {'area':<22} {by + ' (100m yuan)':>18} {'growth %':>9} {'share %':>8} {'change':>7}"]
    for row in rows:
        value = row[f"{by}_cny"]
        lines.append(
            f"{row['rank']:>4}  {row['name_en'] + ' ' + row['name_zh']:<22} {value / 1e8:>18,.1f} "
            f"{_fmt(row['total_yoy_pct'], 1):>9} {_fmt(row['share_of_national_pct'], 1):>8} {_fmt(row['rank_change'], 0, True):>7}"
        )
    return "\n".join(lines)


def _fmt(value, digits: int, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
