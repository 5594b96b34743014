"""Reading the state of a home for people: runs, the publish, alerts, quarantine, rankings.

Readers never open the build warehouse, which a run may be writing: they read the published file, the run log
(`logs/runs.jsonl`) and what each run records for them (`state/readers.json`, pipeline.record_for_readers).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.request

import duckdb

from citytrade.config import Settings


class NotPublished(RuntimeError):
    """Nothing has been published under this home yet."""


class NoHome(RuntimeError):
    """The home does not exist: a mistyped --home, or no run yet."""


def require_home(settings: Settings) -> None:
    if not settings.home.is_dir():
        raise NoHome(f"no citytrade home at {settings.home}: check --home, or run `citytrade run` first")


def _published(settings: Settings) -> duckdb.DuckDBPyConnection:
    require_home(settings)
    if not settings.published_db.exists():
        raise NotPublished(f"nothing published yet under {settings.home}: run `citytrade run` first")
    return duckdb.connect(str(settings.published_db), read_only=True)


def reader_state(settings: Settings) -> dict:
    """What the last run recorded for readers: the current quarantine and every alert (`open`: seen by it)."""
    try:
        return json.loads(settings.readers_state_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"quarantine": [], "alerts": []}


def runs_from_log(settings: Settings, limit: int) -> list[dict]:
    log = settings.log_dir / "runs.jsonl"
    if not log.exists():
        return []
    runs = []
    for line in log.read_text(encoding="utf-8").splitlines()[-limit:]:
        try:
            runs.append(json.loads(line))
        except ValueError:  # the line a run is appending right now
            continue
    return runs[::-1]


def local_time(stamp: str | None) -> str:
    """An ISO time (UTC when it has no zone) in this machine's zone, with the zone's name."""
    if not stamp:
        return "-"
    moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _duration(start: str | None, end: str | None) -> str:
    if not start or not end:
        return "-"
    seconds = (dt.datetime.fromisoformat(end.replace("Z", "+00:00")) - dt.datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
    return f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 60:.0f} min"


def _run_line(run: dict) -> str:
    alerts = run.get("new_alerts") or []
    errors = sum(1 for alert in alerts if alert["severity"] == "error")
    counts = (
        f"loaded {len(run.get('releases_loaded') or [])}, unchanged {run.get('releases_unchanged', 0)}, "
        f"quarantined {len(run.get('problems') or [])}; rows kept out {run.get('rows_kept_out', 0)}; "
        f"new alerts {errors} error(s), {len(alerts) - errors} warning(s)"
    )
    when = local_time(run.get("started_at"))
    return f"  {when}  {_duration(run.get('started_at'), run.get('finished_at')):>6}  {run['status']:9}  {counts}"


def _prefect_api(api_url: str):
    def call(method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            api_url.rstrip("/") + path, method=method, headers={"Content-Type": "application/json"},
            data=json.dumps(body).encode() if body is not None else None,
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    return call


def runs_from_prefect(api_url: str, limit: int) -> tuple[list[str], list[str]]:
    """The latest citytrade flow runs that started, and the next scheduled ones, from the Prefect REST API."""
    call = _prefect_api(api_url)
    names: dict[str, str] = {}

    def name_of(run: dict) -> str:
        for key, kind in (("flow_id", "flows"), ("deployment_id", "deployments")):
            if run.get(key) and run[key] not in names:
                names[run[key]] = call("GET", f"/{kind}/{run[key]}")["name"]
        return names[run["flow_id"]] + (f"/{names[run['deployment_id']]}" if run.get("deployment_id") else "")

    top_level = {"parent_task_run_id": {"is_null_": True}}  # a watch's pipeline run is its child
    past = call("POST", "/flow_runs/filter", {
        "limit": limit, "sort": "START_TIME_DESC", "flows": {"name": {"like_": "citytrade-"}},
        "flow_runs": {**top_level, "start_time": {"is_null_": False}},
    })  # fmt: skip
    upcoming = call("POST", "/flow_runs/filter", {
        "limit": limit, "sort": "EXPECTED_START_TIME_ASC", "flows": {"name": {"like_": "citytrade-"}},
        "flow_runs": {**top_level, "state": {"type": {"any_": ["SCHEDULED"]}}},
    })  # fmt: skip
    last = []
    for run in past:
        state = run.get("state") or {}
        message = (state.get("message") or "").splitlines()[0] if state.get("message") else ""
        took = f"{run['total_run_time']:.0f} s" if run.get("total_run_time") else "-"
        last.append(f"  {local_time(run.get('start_time'))}  {took:>6}  {state.get('type', '?'):10} {name_of(run)}  {message}".rstrip())
    following = [f"  {local_time(run.get('expected_start_time'))}  {name_of(run)}" for run in upcoming]
    return last, following


def status_text(settings: Settings, limit: int = 8) -> str:
    require_home(settings)
    lines = [f"home: {settings.home}"]
    api_url = os.environ.get("PREFECT_API_URL")
    lines.append(f"Prefect API: {api_url}" if api_url else "Prefect API: none configured (runs use Prefect's ephemeral API)")
    lines.append("")
    if api_url:
        try:
            last, following = runs_from_prefect(api_url, limit)
            lines += ["last runs (Prefect):", *(last or ["  none yet"]), "", "next scheduled runs:", *(following or ["  none"])]
        except (OSError, ValueError, KeyError) as exc:
            lines.append(f"cannot read the Prefect API ({exc}); the local run log follows")
            api_url = None
    if not api_url:
        runs = runs_from_log(settings, limit)
        lines.append(f"last runs (run log {settings.log_dir / 'runs.jsonl'}):")
        lines += [_run_line(run) for run in runs] or ["  none yet"]
    lines += ["", "published:"]
    if settings.published_db.exists():
        stamp = dt.datetime.fromtimestamp(settings.published_db.stat().st_mtime).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
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
    state = reader_state(settings)
    counts: dict[str, int] = {}
    for alert in state["alerts"]:
        if alert.get("open"):
            counts[alert["severity"]] = counts.get(alert["severity"], 0) + 1
    lines += ["", "open alerts (latest run): " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none")]
    lines += ["", "quarantined (as the latest run found the landing zone):"] + ([f"  {line}" for line in state["quarantine"]] or ["  nothing"])
    return "\n".join(lines)


def open_alerts(settings: Settings, include_all: bool = False) -> list[dict]:
    require_home(settings)
    alerts = [alert for alert in reader_state(settings)["alerts"] if include_all or alert.get("open")]
    return sorted(alerts, key=lambda alert: (alert["severity"] != "error", alert["check_name"], alert["message"]))


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
                       share_of_national_pct, count(*) over () as ranked, rank_total, rank_best, rank_worst,
                       rank_is_certain, areas_reported, areas_in_universe, areas_missing, coverage_of_national_pct
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


def rank_text(row: dict) -> str:
    """A rank as a reader should take it: `4` when certain, `4–21` (rank_best–rank_worst among all areas) when not."""
    best, worst = row.get("rank_best"), row.get("rank_worst")
    if best is None or worst is None or best == worst:
        return str(row["rank_total"] if best is None else best)
    return f"{best}–{worst}"


def coverage_text(row: dict, level: str) -> str:
    """The footer line on what a ranking rests on: areas reported and missing, and their share of the nation."""
    areas = "cities" if level == "city" else "provinces"
    coverage = row.get("coverage_of_national_pct")
    covered = f", {coverage:.1f}% of national trade" if coverage is not None else ", national total not loaded"
    return f"{row['areas_reported']} of {row['areas_in_universe']} {areas} reported ({row['areas_missing']} missing{covered})"


def ranking_table(rows: list[dict], by: str = "total"):
    """A rich Table of ranking_rows: rank (an interval where uncertain), area, the figure ranked by (100m yuan), its
    growth, share, rank change; the caption states the coverage."""
    from rich.table import Table
    from rich.text import Text

    first = rows[0]
    level = first.get("level", "city")
    if by == "total":
        ranks = (f"{coverage_text(first, level)}; a rank such as 4–9 is the range the area's rank can take among all "
                 f"{'cities' if level == 'city' else 'provinces'} (docs/rank_bounds.md); ")  # fmt: skip
    else:
        ranks = f"{first['ranked']} {'cities' if level == 'city' else 'provinces'} ranked (those with {by} figures); "
    table = Table(
        title=f"{level.capitalize()} ranking by {by}, {first['period_label']} ({first['basis'].replace('_', ' ')} basis)",
        caption=ranks + "100m yuan = 亿元; change = places gained since the same period a year before, "
                "given only between certain ranks",
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
            rank_text(row) if by == "total" else str(row["rank"]),
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


def extracted_table(figures: list[dict], refused: list[dict]):
    """`citytrade extract`: the figures a press release gives (value as written, in 100m yuan, growth, quote) and
    the refused ones with their reasons, each with its character span in the decoded text."""
    from rich.console import Group
    from rich.table import Table

    loaded = Table(title="Figures that would be loaded", title_style="bold", caption_justify="left",
                   caption="period: year and months (M1-M11 = January to November); 100m yuan = 亿元")  # fmt: skip
    for name, justify in (("area", "left"), ("period", "left"), ("basis", "left"), ("measure", "left"), ("as written", "right"),
                          ("100m yuan", "right"), ("growth %", "right"), ("chars", "right"), ("quote", "left")):  # fmt: skip
        loaded.add_column(name, justify=justify, overflow="fold")
    for figure in figures:
        months = f"M{figure['month_from']}" + (f"-M{figure['month_to']}" if figure["month_to"] != figure["month_from"] else "")
        loaded.add_row(
            f"{figure['area_name']} ({figure['area_code']})", f"{figure['year']} {months}", figure["basis"], figure["measure"],
            f"{figure['value']} {figure['unit']}", _fmt(figure["value_cny"] / 1e8 if figure["value_cny"] is not None else None, 1),
            _fmt(figure["yoy_pct"], 1, signed=True), f"{figure['span_start']}-{figure['span_end']}", figure["quote"],
        )  # fmt: skip
    refusals = Table(title="Refused (never loaded as an area's trade)", title_style="bold")
    for name in ("chars", "reason", "quote"):
        refusals.add_column(name, overflow="fold", justify="right" if name == "chars" else "left")
    for refusal in refused:
        refusals.add_row(f"{refusal['span_start']}-{refusal['span_end']}", refusal["reason"], refusal["quote"])
    return Group(loaded, refusals)
