"""Reading the state of a home for people: runs, the publish, alerts, quarantine, rankings."""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.request

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


def _runs_from_prefect(api_url: str, limit: int) -> list[str]:
    """The latest citytrade flow runs from the Prefect REST API (plain HTTP: the package does not import Prefect)."""

    def call(method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            api_url.rstrip("/") + path, method=method, headers={"Content-Type": "application/json"},
            data=json.dumps(body).encode() if body is not None else None,
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    runs = call("POST", "/flow_runs/filter", {
        "limit": limit, "sort": "EXPECTED_START_TIME_DESC",
        "flows": {"name": {"like_": "citytrade-"}},
        "flow_runs": {"parent_task_run_id": {"is_null_": True}},  # top-level runs; a watch's pipeline run is its child
    })  # fmt: skip
    names: dict[str, str] = {}
    lines = []
    for run in runs:
        for key, kind in (("flow_id", "flows"), ("deployment_id", "deployments")):
            if run.get(key) and run[key] not in names:
                names[run[key]] = call("GET", f"/{kind}/{run[key]}")["name"]
        name = names[run["flow_id"]] + (f"/{names[run['deployment_id']]}" if run.get("deployment_id") else "")
        state = run.get("state") or {}
        started = (run.get("start_time") or run.get("expected_start_time") or "")[:19].replace("T", " ")
        message = (state.get("message") or "").splitlines()[0] if state.get("message") else ""
        lines.append(f"  {started}  {name:45} {state.get('type', '?'):10} {run['name']}  {message}".rstrip())
    return lines


def status_text(settings: Settings, limit: int = 8) -> str:
    lines = [f"home: {settings.home}", ""]
    api_url = os.environ.get("PREFECT_API_URL")
    if api_url:
        lines.append(f"last runs (Prefect API {api_url}):")
        try:
            lines += _runs_from_prefect(api_url, limit) or ["  none yet"]
        except (OSError, ValueError, KeyError) as exc:
            lines.append(f"  cannot read the Prefect API ({type(exc).__name__}: {exc}); the local run log follows")
            api_url = None
    if not api_url:
        lines.append(f"last runs (run log {settings.log_dir / 'runs.jsonl'}):")
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
            releases = con.execute(
                "select path, published_on, status from marts.releases where status in ('loaded', 'partial') order by published_on, path"
            ).fetchall()
            marts = con.execute("select count(*) from information_schema.tables where table_schema = 'marts'").fetchone()[0]
        finally:
            con.close()
        lines.append(f"  {settings.published_db} at {stamp}: {marts} marts from {len(releases)} release(s)")
        lines += [f"    {path}  published {published_on}" + ("  (partly quarantined)" if status == "partial" else "")
                  for path, published_on, status in releases]  # fmt: skip
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


class NoRanking(LookupError):
    """The publish has no ranking for the period and basis asked for."""


# by -> (rank column, rank change column, growth expression) in the ranking marts
_RANKED_BY = {
    "total": ("rank_total", "rank_change", "total_yoy_pct"),
    "exports": ("rank_exports", "rank_exports_change", "coalesce(exports_yoy_pct_published, exports_yoy_pct_computed)"),
    "imports": ("rank_imports", "rank_imports_change", "coalesce(imports_yoy_pct_published, imports_yoy_pct_computed)"),
}


def ranking_rows(settings: Settings, *, year: int | None, month_to: int, basis: str, by: str, level: str, top: int) -> list[dict]:
    """The top of a published ranking (year to date through `month_to`), as the mart has it; raises NoRanking."""
    mart = "city_trade_ranking" if level == "city" else "province_trade_ranking"
    rank, change, growth = _RANKED_BY[by]
    con = _published(settings)
    try:
        if year is None:
            year = con.execute(
                f"select max(year) from marts.{mart} where month_from = 1 and month_to = ? and basis = ? and {rank} is not null",
                [month_to, basis],
            ).fetchone()[0]
        cursor = con.execute(
            f"""select year, month_from, month_to, period_label, basis, {rank} as rank, {rank}_prev as rank_prev,
                       {change} as rank_change, area_code, name_en, name_zh, province_name_en, region,
                       {by}_cny as value_cny, {growth} as growth_pct, total_cny, exports_cny, imports_cny, total_yoy_pct,
                       share_of_national_pct, count(*) over () as ranked
                from marts.{mart}
                where year = ? and month_from = 1 and month_to = ? and basis = ? and {rank} is not null
                order by {rank}, area_code limit ?""",
            [year, month_to, basis, top],
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row)) for row in cursor.fetchall()]
        if not rows:
            periods = con.execute(
                f"""select distinct year, month_to, period_label from marts.{mart}
                    where month_from = 1 and basis = ? and {rank} is not null order by year desc, month_to desc limit 8""",
                [basis],
            ).fetchall()
            asked = f"{year if year is not None else 'any year'} through month {month_to}"
            found = ", ".join(f"--year {y} --month-to {m} ({label})" for y, m, label in periods) or "none"
            raise NoRanking(f"no {level} ranking by {by} for {asked} on the {basis} basis; published: {found}")
        for row in rows:
            row["by"], row["level"] = by, level
        return rows
    finally:
        con.close()


def ranking_table(rows: list[dict], by: str = "total"):
    """A rich Table of ranking_rows: rank, area, the figure ranked by (100m yuan), its growth, share, rank change."""
    from rich.table import Table
    from rich.text import Text

    first = rows[0]
    level = first.get("level", "city")
    table = Table(
        title=f"{level.capitalize()} ranking by {by}, {first['period_label']} ({first['basis'].replace('_', ' ')} basis)",
        caption=f"{first['ranked']} {'cities' if level == 'city' else 'provinces'} ranked (those with figures for this period); "
                "100m yuan = 亿元; "
                "change = places gained since the same period a year before",
        title_style="bold", caption_justify="left",
    )  # fmt: skip
    table.add_column("rank", justify="right", style="bold")
    table.add_column(level)
    table.add_column("province" if level == "city" else "region")
    table.add_column(f"{by} (100m yuan)", justify="right")
    table.add_column("growth %", justify="right")
    if by == "total":
        table.add_column("share of national %", justify="right")
    table.add_column("change", justify="right")
    for row in rows:
        growth = row["growth_pct"]
        cells = [
            str(row["rank"]),
            f"{row['name_en']} {row['name_zh']}",
            row["province_name_en"] if level == "city" else (row["region"] or ""),
            f"{row['value_cny'] / 1e8:,.1f}",
            Text(_fmt(growth, 1, signed=True), style="green" if growth and growth > 0 else "red" if growth and growth < 0 else ""),
        ]
        if by == "total":
            cells.append(_fmt(row["share_of_national_pct"], 1))
        cells.append(_rank_change(row["rank_change"]))
        table.add_row(*cells)
    return table


def _rank_change(change) -> object:
    from rich.text import Text

    if change is None:
        return Text("n/a", style="dim")
    if change == 0:
        return Text("=")
    return Text(f"▲{change}", style="green") if change > 0 else Text(f"▼{-change}", style="red")


def _fmt(value, digits: int, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
