"""Human-readable summaries of a run: the rankings and the validation outcome, as Markdown."""

from __future__ import annotations

import duckdb
from citytrade.config import Settings


def latest_full_year(con: duckdb.DuckDBPyConnection, basis: str = "firm_location") -> int | None:
    row = con.execute(
        "select max(year) from marts.city_trade_ranking where month_from = 1 and month_to = 12 and basis = ?", [basis]
    ).fetchone()
    return row[0] if row else None


def rankings_markdown(settings: Settings, basis: str = "firm_location", top: int = 10) -> str:
    con = duckdb.connect(str(settings.published_db), read_only=True)
    try:
        year = latest_full_year(con, basis)
        if year is None:
            return "No full-year city ranking is published yet."
        rows = con.execute(
            """select rank_best, rank_worst, name_en, name_zh, total_cny / 1e12, total_yoy_pct, share_of_national_pct, rank_change,
                      areas_reported, areas_in_universe, coverage_of_national_pct
               from marts.city_trade_ranking
               where year = ? and month_from = 1 and month_to = 12 and basis = ?
               order by rank_total limit ?""",
            [year, basis, top],
        ).fetchall()
    finally:
        con.close()
    lines = [
        f"# City foreign-trade ranking {year} ({basis.replace('_', ' ')} basis)",
        "",
        "| rank | city | total (trillion yuan) | growth % | share of national % | rank change |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for best, worst, name_en, name_zh, total, growth, share, change, *_ in rows:
        rank = best if best == worst else f"{best}–{worst}"
        lines.append(f"| {rank} | {name_en} ({name_zh}) | {total:.3f} | {_num(growth, 1)} | {_num(share, 1)} | {_num(change, 0)} |")
    if rows:
        reported, universe, coverage = rows[0][8:]
        covered = f", {coverage:.1f}% of national trade" if coverage is not None else ""
        lines += ["", f"{reported} of {universe} cities have figures for {year} on this basis ({universe - reported} missing{covered}); "
                      "a rank such as 4–9 is the range it can take among all cities; rank changes only between certain ranks."]
    return "\n".join(lines)


def validation_markdown(report) -> str:
    lines = [
        f"# Validation of run {report.run_id}",
        "",
        f"- status: **{report.status}** — {report.message}",
        f"- releases loaded: {len(report.releases_loaded)} ({report.rows_loaded} rows), unchanged: {report.releases_unchanged}",
        f"- quarantined: {report.rows_quarantined} rows, {len([p for p in report.problems if ':' not in p.split(': ')[0]])} files",
        f"- row gate: {report.row_gate} — rows kept out of the marts: {report.rows_kept_out}",
        f"- mart gate: {report.mart_gate}",
        f"- failing expectations: {report.errors} error(s), {report.warnings} warning(s); new alerts: {len(report.new_alerts)}",
    ]
    if report.new_alerts:
        lines += ["", "| severity | check | message |", "|---|---|---|"]
        for alert in sorted(report.new_alerts, key=lambda a: a["severity"] != "error")[:50]:
            lines.append(f"| {alert['severity']} | {alert['check_name']} | {alert['message'].replace('|', '/')} |")
    return "\n".join(lines)


def _num(value, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"
