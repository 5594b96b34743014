"""The report of the latest publish: one static HTML page, rankings and Plotly charts, that opens offline."""

from __future__ import annotations

import datetime as dt
import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import duckdb
from citytrade import warehouse
from citytrade.config import Settings

REPORT_NAME = "report.html"
DEFAULT_BASIS = "firm_location"
NOT_AVAILABLE = "not available"
REGION_ORDER = ["east", "central", "west", "northeast"]
PLOTLY_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
REGION_COLOURS = {"east": "#1f77b4", "central": "#ff7f0e", "west": "#2ca02c", "northeast": "#9467bd"}
# The lookups citytrade ships (dbt_project/seeds, described in its README): what, from whom, on what terms.
LOOKUP_SOURCES = [
    ("areas and area names (areas.csv)",
     "administrative division codes and Chinese names: modood/Administrative-divisions-of-China, 2024 edition, "
     "compiled from the National Bureau of Statistics' division codes; English names and aliases: citytrade",
     "WTFPL version 2; English names and aliases MIT, with citytrade"),
    ("CNY/USD rates, annual (cny_usd_rates.csv)",
     "National Bureau of Statistics, Statistical Communiqués 2016-2024: annual average central parity",
     "free to quote in good faith, undistorted, with \"Source: National Bureau of Statistics\""),
    ("CNY/USD rates, monthly (cny_usd_rates.csv)",
     "Board of Governors of the Federal Reserve System, H.10 release, as FRED series EXCHUS",
     "public domain (data of a US federal agency); FRED asks that the source be cited"),
]  # fmt: skip


@dataclass
class Section:
    """One titled part of the page: an optional chart, an optional table, a note."""

    title: str
    note: str = ""
    figure: dict | None = None  # a Plotly figure, as plain data: {"data": [traces], "layout": {...}} (_figure)
    table_html: str = ""
    available: bool = True
    anchor: str = ""


@dataclass
class Report:
    title: str
    subtitle: str
    sections: list[Section] = field(default_factory=list)


def write_report(settings: Settings, run_id: str | None = None, basis: str = DEFAULT_BASIS) -> Path:
    """Write `<home>/published/report.html` from the published marts; replaces the old page in one rename."""
    alerts = _open_alerts_from_warehouse(settings, run_id)
    page = render_report(settings.published_db, basis=basis, open_alerts=alerts)
    target = settings.published_dir / REPORT_NAME
    temporary = target.with_name(f".{REPORT_NAME}.{os.getpid()}.tmp")
    temporary.write_text(page, encoding="utf-8")
    os.replace(temporary, target)
    return target


def render_report(published_db: Path, basis: str = DEFAULT_BASIS, open_alerts: list[dict] | None = None, name: str | None = None) -> str:
    """The whole page as a string; `open_alerts` None means: take them from the published quality_alerts mart.
    `name`: the database's name as the page gives it (default: its file name)."""
    con = duckdb.connect(str(published_db), read_only=True)
    try:
        marts = {name for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'").fetchall()}  # fmt: skip
        reader = _MartReader(con, marts, basis)
        stamp = dt.datetime.fromtimestamp(published_db.stat().st_mtime).isoformat(timespec="seconds")
        report = Report(
            title="City foreign-trade report",
            subtitle=f"Latest publish ({name or published_db.name}, {stamp}); {basis.replace('_', ' ')} basis; money in yuan",
        )
        full_year = reader.latest_period(full_year=True)
        report.sections += [
            reader.ranking_section(full_year, "Ranking, latest full year"),
            reader.ranking_section(reader.latest_period(full_year=False), "Ranking, latest year to date"),
            reader.bump_section(),
            reader.region_section(),
            reader.rivalry_section(full_year),
            reader.growth_section(),
            reader.alerts_section(open_alerts),
            reader.sources_section(),
        ]
    finally:
        con.close()
    return _page(report)


# ---- reading the marts


class _MartReader:
    """Queries the published marts; a mart that is absent makes its section say "not available"."""

    def __init__(self, con: duckdb.DuckDBPyConnection, marts: set[str], basis: str):
        self.con, self.marts, self.basis = con, marts, basis

    def rows(self, sql: str, params: list | None = None) -> list[dict]:
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def columns(self, mart: str) -> list[str]:
        return [d[0] for d in self.con.execute(f"select * from marts.{mart} limit 0").description]

    def latest_period(self, full_year: bool) -> dict | None:
        if "city_trade_ranking" not in self.marts:
            return None
        window = "month_to = 12" if full_year else "month_to < 12"
        found = self.rows(
            f"""select year, month_from, month_to, any_value(period_label) as period_label
                from marts.city_trade_ranking
                where basis = ? and month_from = 1 and {window}
                group by year, month_from, month_to order by year desc, month_to desc limit 1""",
            [self.basis],
        )
        return found[0] if found else None

    def ranking_section(self, period: dict | None, title: str, top: int = 20) -> Section:
        if period is None:
            return Section(title=title, note=f"{NOT_AVAILABLE}: no such city ranking is published", available=False)
        rows = self.rows(
            """select rank_total, name_en, name_zh, province_name_en, region, total_cny, exports_cny, imports_cny,
                      total_yoy_pct, share_of_national_pct, rank_change, cities_ranked, rank_best, rank_worst,
                      areas_reported, areas_in_universe, areas_missing, coverage_of_national_pct
               from marts.city_trade_ranking
               where basis = ? and year = ? and month_from = ? and month_to = ?
               order by rank_total limit ?""",
            [self.basis, period["year"], period["month_from"], period["month_to"], top],
        )
        title = f"{title}: {period['period_label']}"
        table = _table(
            ["rank", "city", "province", "region", "total (100m yuan)", "exports", "imports", "growth %", "share of national %", "rank change"],
            [[_rank_cell(r), f"{r['name_en']} {r['name_zh']}", r["province_name_en"], r["region"], _hundred_million(r["total_cny"]),
              _hundred_million(r["exports_cny"]), _hundred_million(r["imports_cny"]), _num(r["total_yoy_pct"], 1),
              _num(r["share_of_national_pct"], 1), "=" if r["rank_change"] == 0 else _num(r["rank_change"], 0, signed=True)] for r in rows],
            numeric_from=4, first_numeric=True,
        )  # fmt: skip
        figure = _bar_figure(
            [r["name_en"] for r in rows][::-1], [r["total_cny"] / 1e8 for r in rows][::-1],
            f"Total trade by city, {period['period_label']} (100m yuan)",
        )  # fmt: skip
        ranked = rows[0]["cities_ranked"] if rows else 0
        cities = "1 city has" if ranked == 1 else f"{ranked} cities have"
        note = f"{cities} figures for this period on the {self.basis.replace('_', ' ')} basis"
        if rows:
            first = rows[0]
            coverage = first["coverage_of_national_pct"]
            note += (f" ({first['areas_missing']} of {first['areas_in_universe']} missing; "
                     + (f"{coverage:.1f}% of national trade" if coverage is not None else "no national total loaded") + ")")
        note += (". A rank such as 4–9 is the range the city's rank can take among all cities, given the published "
                 "rounding and what the province and national totals leave for the cities without figures; rank "
                 "changes are given only between certain ranks.")  # fmt: skip
        return Section(title=title, note=note, figure=figure, table_html=table)

    def bump_section(self, top: int = 10) -> Section:
        title = f"Rank over time, top {top} cities"
        if "city_trade_ranking" not in self.marts:
            return Section(title=title, note=f"{NOT_AVAILABLE}: city_trade_ranking is not published", available=False)
        rows = self.rows(
            """with latest as (
                   select max(year) as year from marts.city_trade_ranking
                   where basis = ? and month_from = 1 and month_to = 12
               ),
               leaders as (
                   select ranking.area_code from marts.city_trade_ranking as ranking
                   inner join latest on ranking.year = latest.year
                   where ranking.basis = ? and ranking.month_from = 1 and ranking.month_to = 12 and ranking.rank_total <= ?
               )
               select ranking.year, ranking.name_en, ranking.rank_total, ranking.rank_best, ranking.rank_worst
               from marts.city_trade_ranking as ranking
               inner join leaders on ranking.area_code = leaders.area_code
               where ranking.basis = ? and ranking.month_from = 1 and ranking.month_to = 12
               order by ranking.name_en, ranking.year""",
            [self.basis, self.basis, top, self.basis],
        )
        if not rows:
            return Section(title=title, note=f"{NOT_AVAILABLE}: no full-year city ranking", available=False)
        latest_year = max(r["year"] for r in rows)
        by_city: dict[str, list[dict]] = {}
        for row in rows:
            by_city.setdefault(row["name_en"], []).append(row)
        # a certain rank is a point on the city's line; an uncertain one only its interval (rank_best..rank_worst),
        # with no line through it: ranks among different sets of reporting cities are not moves
        traces = []
        for index, (name, series) in enumerate(sorted(by_city.items(), key=lambda item: _latest_rank(item[1], latest_year))):
            colour = PLOTLY_COLOURS[index % len(PLOTLY_COLOURS)]
            certain = [r if r["rank_best"] == r["rank_worst"] else None for r in series]
            traces.append({"type": "scatter", "x": [r["year"] for r in series], "y": [r and r["rank_best"] for r in certain],
                           "name": name, "legendgroup": name, "mode": "lines+markers", "marker": {"size": 10, "color": colour},
                           "line": {"color": colour}, "connectgaps": False})  # fmt: skip
            uncertain = [r for r in series if r["rank_best"] != r["rank_worst"]]
            if uncertain:
                traces.append({"type": "scatter", "x": [r["year"] for r in uncertain], "y": [r["rank_best"] for r in uncertain],
                               "name": f"{name} (range)", "legendgroup": name, "showlegend": False, "mode": "markers",
                               "marker": {"size": 8, "symbol": "line-ew-open", "color": colour},
                               "error_y": {"type": "data", "symmetric": False, "array": [r["rank_worst"] - r["rank_best"] for r in uncertain],
                                           "arrayminus": [0] * len(uncertain), "color": colour, "thickness": 2, "width": 6},
                               "text": [f"{r['rank_best']}–{r['rank_worst']}" for r in uncertain], "hoverinfo": "text+name"})  # fmt: skip
        max_rank = max(r["rank_worst"] for r in rows)
        figure = _figure(
            traces, f"Rank by total trade, full years (top {top} of {latest_year})",
            yaxis={"autorange": False, "range": [max_rank + 0.5, 0.5], "dtick": 1 if max_rank <= 20 else 5, "title": {"text": "rank"}},
            xaxis={"dtick": 1, "title": {"text": "year"}},
        )  # fmt: skip
        note = ("Cities in the top of the latest full year. A certain rank is a point on the city's line; an uncertain "
                "one is drawn as the range it can take among all cities (a bar from its best to its worst rank), "
                "not joined to other years. A gap is a year without a certain rank.")  # fmt: skip
        return Section(title=title, note=note, figure=figure)

    def region_section(self) -> Section:
        title = "Top 100 foreign-trade cities by region"
        if "region_distribution" not in self.marts:
            return Section(title=title, note=f"{NOT_AVAILABLE}: region_distribution is not published", available=False)
        rows = self.rows("select * from marts.region_distribution order by year, region")
        if not rows:
            return Section(title=title, note=f"{NOT_AVAILABLE}: no Top 100 list is loaded", available=False)
        years = sorted({r["year"] for r in rows})
        traces = []
        for region in REGION_ORDER + sorted({r["region"] for r in rows} - set(REGION_ORDER)):
            counts = {r["year"]: r["cities_in_list"] for r in rows if r["region"] == region}
            if counts:
                traces.append({"type": "bar", "x": [str(y) for y in years], "y": [counts.get(y) for y in years], "name": region,
                               "marker": {"color": REGION_COLOURS.get(region)}})  # fmt: skip
        figure = _figure(traces, "Top 100 cities per region and edition", barmode="stack",
                         xaxis={"title": {"text": "edition (year)"}}, yaxis={"title": {"text": "cities in the list"}})  # fmt: skip
        published = sorted({r["year"] for r in rows if r.get("is_count_published")})
        unknown = sorted({r["year"] for r in rows if r["cities_in_list"] is None})
        note = " ".join(filter(None, [
            "Counts as the list's publisher gives them: " + ", ".join(map(str, published)) + "." if published else "",
            "Only part of the list is known, so no count per region: " + ", ".join(map(str, unknown))
            + " (the table gives the cities of the known entries as a minimum)." if unknown else "",
        ]))  # fmt: skip
        table = _table(
            ["year", "region", "cities in list", "at least (entries loaded)", "change vs previous edition", "list size"],
            [[r["year"], r["region"], _num(r["cities_in_list"], 0), r.get("cities_in_list_min"),
              _num(r.get("change_vs_prev_year"), 0, signed=True), _num(r["list_size"], 0)] for r in rows],
            numeric_from=2,
        )  # fmt: skip
        return Section(title=title, note=note, figure=figure, table_html=table)

    def rivalry_section(self, full_year: dict | None) -> Section:
        title = "The top two's rivalry"
        if full_year is None:
            return Section(title=title, note=f"{NOT_AVAILABLE}: no full-year city ranking", available=False)
        leaders = self.rows(
            """select area_code, name_en from marts.city_trade_ranking
               where basis = ? and year = ? and month_from = 1 and month_to = 12 and rank_total <= 2 order by rank_total""",
            [self.basis, full_year["year"]],
        )
        if len(leaders) < 2:
            return Section(title=title, note=f"{NOT_AVAILABLE}: fewer than two cities ranked in {full_year['year']}", available=False)
        rows = self.rows(
            """select year, area_code, name_en, total_cny, rank_total from marts.city_trade_ranking
               where basis = ? and month_from = 1 and month_to = 12 and area_code in (?, ?) order by year""",
            [self.basis, leaders[0]["area_code"], leaders[1]["area_code"]],
        )
        names = [leader["name_en"] for leader in leaders]
        title = f"{title}: {names[0]} vs {names[1]}"
        traces = []
        for leader in leaders:
            series = [r for r in rows if r["area_code"] == leader["area_code"]]
            traces.append({"type": "scatter", "x": [r["year"] for r in series], "y": [r["total_cny"] / 1e12 for r in series],
                           "name": leader["name_en"], "mode": "lines+markers"})  # fmt: skip
        figure = _figure(traces, f"{names[0]} vs {names[1]}: total trade by year (trillion yuan)",
                         xaxis={"dtick": 1, "title": {"text": "year"}}, yaxis={"title": {"text": "trillion yuan"}})  # fmt: skip
        by_year: dict[int, dict[str, dict]] = {}
        for row in rows:
            by_year.setdefault(row["year"], {})[row["area_code"]] = row
        table_rows = []
        for year in sorted(by_year):
            first, second = (by_year[year].get(leader["area_code"]) for leader in leaders)
            gap = first["total_cny"] - second["total_cny"] if first and second else None
            table_rows.append([year, _trillion(first and first["total_cny"]), _trillion(second and second["total_cny"]), _trillion(gap, signed=True)])
        table = _table(["year", f"{names[0]} (trillion yuan)", f"{names[1]} (trillion yuan)", "gap"], table_rows, numeric_from=1)
        note = f"The two leading cities of {full_year['year']}, full-year totals."
        if "trade_concentration" in self.marts:  # how much of the nation's trade the two hold, where published
            shares = self.rows(
                """select top2_share_pct, top10_share_pct, coverage_of_national_pct from marts.trade_concentration
                   where basis = ? and year = ? and month_from = 1 and month_to = 12""",
                [self.basis, full_year["year"]],
            )
            if shares and shares[0]["top2_share_pct"] is not None:
                note += f" Together they held {shares[0]['top2_share_pct']:.1f}% of national trade in {full_year['year']}."
            elif shares and shares[0]["coverage_of_national_pct"] is not None:
                note += (f" Their combined share of national trade is not given: ranks 1 and 2 are not certain, as the "
                         f"cities with figures cover {shares[0]['coverage_of_national_pct']:.1f}% of it.")  # fmt: skip
        return Section(title=title, note=note, figure=figure, table_html=table)

    def growth_section(self) -> Section:
        title = "Growth leaders and decliners"
        if "growth_leaders" not in self.marts:
            return Section(title=title, note=f"{NOT_AVAILABLE}: the growth_leaders mart is not published", available=False)
        columns = self.columns("growth_leaders")
        growth = next((c for c in ("total_yoy_pct", "growth_pct", "total_yoy_pct_computed", "yoy_pct") if c in columns), None)
        if growth is None or "name_en" not in columns:
            return Section(title=title, note=f"{NOT_AVAILABLE}: growth_leaders has no growth or name column", available=False)
        where, params = [], []
        if "basis" in columns:
            where.append("basis = ?")
            params.append(self.basis)
        clause = ("where " + " and ".join(where)) if where else ""
        period_cols = [c for c in ("year", "month_from", "month_to") if c in columns]
        rows = self.rows(f"select * from marts.growth_leaders {clause}", params)
        if period_cols and rows:
            latest = max(tuple(r[c] for c in period_cols) for r in rows if all(r[c] is not None for c in period_cols))
            rows = [r for r in rows if tuple(r[c] for c in period_cols) == latest]
        rows = [r for r in rows if r[growth] is not None]
        if not rows:
            return Section(title=title, note=f"{NOT_AVAILABLE}: no growth leaders for the {self.basis} basis", available=False)
        rows.sort(key=lambda r: r[growth], reverse=True)
        label = rows[0].get("period_label") or ""
        bars = {"type": "bar", "x": [r[growth] for r in rows][::-1], "y": [r["name_en"] for r in rows][::-1], "orientation": "h",
                "marker": {"color": ["#2ca02c" if r[growth] >= 0 else "#d62728" for r in rows][::-1]}}  # fmt: skip
        figure = _figure([bars], f"Year-on-year growth of total trade, {label} (%)" if label else "Year-on-year growth of total trade (%)",
                         xaxis={"title": {"text": "growth %"}}, height=max(320, 28 * len(rows) + 120))  # fmt: skip
        if "direction" in columns:  # the mart says which board a city is on
            leaders = [r for r in rows if r["direction"] == "growing"]
            decliners = [r for r in rows if r["direction"] != "growing"][::-1]
        else:
            leaders = [r for r in rows if r[growth] >= 0]
            decliners = [r for r in rows if r[growth] < 0][::-1]
        tables = []
        for caption, board in (("Growth leaders", leaders), ("Decliners", decliners)):
            tables.append(f"<h3>{caption}</h3>" + (_table(
                ["city", "growth %", "total (100m yuan)", "rank by total"],
                [[f"{r['name_en']} {r.get('name_zh') or ''}".strip(), _num(r[growth], 1), _hundred_million(r.get("total_cny")),
                  r.get("rank_total", "")] for r in board],
                numeric_from=1,
            ) if board else '<p class="note">none in this period</p>'))  # fmt: skip
        threshold = rows[0].get("min_total_cny")
        note = "Cities above the size threshold" + (f" ({_hundred_million(threshold)} 100m yuan)" if threshold else "") + ", fastest growing first."
        return Section(title=f"{title}: {label}" if label else title, note=note, figure=figure, table_html="".join(tables))

    def alerts_section(self, open_alerts: list[dict] | None) -> Section:
        title = "Open quality alerts"
        if open_alerts is None:
            if "quality_alerts" not in self.marts:
                return Section(title=title, note=f"{NOT_AVAILABLE}: quality_alerts is not published", available=False)
            open_alerts = self.rows("select * from marts.quality_alerts")
        alerts = sorted(open_alerts, key=lambda a: (a["severity"] != "error", a["check_name"], a["message"]))
        if not alerts:
            return Section(title=title, note="No open alerts.")
        errors = sum(1 for a in alerts if a["severity"] == "error")
        table = _table(
            ["severity", "check", "area", "period", "message"],
            [[a["severity"], a["check_name"], a.get("area_code") or "", a.get("period_label") or "", a["message"]] for a in alerts],
        )  # fmt: skip
        return Section(title=title, note=f"{errors} error(s), {len(alerts) - errors} warning(s) raised or seen again by the latest run.",
                       table_html=table)  # fmt: skip

    def sources_section(self) -> Section:
        """Who published the figures behind this publish, where, and the terms of the lookups citytrade ships."""
        title = "Sources"
        lookups = "<h3>Lookups shipped with citytrade</h3>" + _table(["lookup", "source", "licence or terms"], LOOKUP_SOURCES)
        if "releases" not in self.marts:
            return Section(title=title, note=f"{NOT_AVAILABLE}: releases is not published; the lookups follow.", table_html=lookups)
        # the version in force of each file the loader kept rows of
        releases = self.rows(
            """select publisher, title, path, source_url, published_on, is_synthetic from marts.releases
               where status in ('loaded', 'partial')
               qualify row_number() over (partition by path order by loaded_at desc) = 1
               order by publisher, published_on, path"""
        )
        pages_per_file = {}
        if "fct_trade" in self.marts:  # releases that cite a page per row (press reports) rather than one for the file
            pages_per_file = dict(self.con.execute(
                "select source_file, count(distinct source_url) from marts.fct_trade where source_url is not null group by source_file"
            ).fetchall())  # fmt: skip

        def source(release: dict) -> str:
            if release["source_url"]:
                return release["source_url"]
            pages = pages_per_file.get(release["path"])
            return f"a page per figure: {pages} pages (source_url of fct_trade)" if pages else "not given"

        table = _table(
            ["publisher", "release", "source", "published"],
            [[r["publisher"], (r["title"] or r["path"]) + (" (synthetic)" if r["is_synthetic"] else ""), source(r), r["published_on"]]
             for r in releases],
        )  # fmt: skip
        publishers = len({r["publisher"] for r in releases})
        note = (f"{len(releases)} release(s) from {publishers} publisher(s). The figures are quoted as each publisher gave them, "
                "and its own terms apply; addresses are given as text, not links.")  # fmt: skip
        return Section(title=title, note=note, table_html="<h3>Releases</h3>" + table + lookups)


def _open_alerts_from_warehouse(settings: Settings, run_id: str | None) -> list[dict] | None:
    """Alerts last seen by this run (mart-gate alerts come after the marts are built); None if unreadable."""
    if run_id is None or not settings.warehouse_path.exists():
        return None
    try:
        con = warehouse.connect(settings.warehouse_path)  # the configuration of the run's own connections
    except duckdb.IOException:
        return None
    try:
        return open_alerts(con, run_id)
    finally:
        con.close()


def open_alerts(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict]:
    """The alerts the run `run_id` raised or saw again so far, from the warehouse open as `con`."""
    cursor = con.execute("select * from audit.alerts where last_seen_run_id = ?", [run_id])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _latest_rank(series: list[dict], latest_year: int) -> int:
    return next((r["rank_total"] for r in series if r["year"] == latest_year), 10**6)


# ---- rendering


def _bar_figure(names: list[str], values: list[float], title: str) -> dict:
    bars = {"type": "bar", "x": values, "y": names, "orientation": "h", "marker": {"color": "#1f77b4"},
            "text": [f"{v:,.0f}" for v in values], "textposition": "auto"}  # fmt: skip
    return _figure([bars], title, height=max(320, 28 * len(names) + 120), xaxis={"title": {"text": "100m yuan"}})


# The look of Plotly's "plotly_white" template, as plotly.js applies it (layout.template): the page's charts are plain
# Plotly JSON, which plotly.js draws as it is.
_TEMPLATE = {
    "layout": {
        "autotypenumbers": "strict", "font": {"color": "#2a3f5f"}, "hovermode": "closest", "hoverlabel": {"align": "left"},
        "colorway": ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52"],
        "paper_bgcolor": "white", "plot_bgcolor": "white", "title": {"x": 0.05},
        **{axis: {"gridcolor": "#EBF0F8", "linecolor": "#EBF0F8", "ticks": "", "title": {"standoff": 15}, "zerolinecolor": "#EBF0F8",
                  "automargin": True, "zerolinewidth": 2} for axis in ("xaxis", "yaxis")},
    },
    "data": {"bar": [{"type": "bar", "marker": {"line": {"color": "white", "width": 0.5}}}]},
}  # fmt: skip
_LAYOUT = {
    "template": _TEMPLATE, "margin": {"l": 60, "r": 30, "t": 60, "b": 50},
    "font": {"family": "DejaVu Sans, Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif"},
}  # fmt: skip


def _figure(traces: list[dict], title: str, **layout) -> dict:
    """A Plotly figure as the JSON plotly.js draws: `traces` and `layout` in its own attribute names."""
    return {"data": traces, "layout": {**_LAYOUT, "title": {"text": title}, **layout}}


def _page(report: Report) -> str:
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    parts = []
    for index, section in enumerate(report.sections):
        section.anchor = f"section-{index + 1}"
        body = [f'<section id="{section.anchor}" class="{"" if section.available else "not-available"}">',
                f"<h2>{html.escape(section.title)}</h2>"]  # fmt: skip
        if section.note:
            body.append(f'<p class="note">{html.escape(section.note)}</p>')
        if section.figure is not None:  # plain data: not validated again (validate=False), nor copied
            body.append(pio.to_html(section.figure, full_html=False, include_plotlyjs=False, div_id=f"chart-{index + 1}",
                                    config={"displayModeBar": False, "responsive": True}, validate=False))  # fmt: skip
        if section.table_html:
            body.append(section.table_html)
        body.append("</section>")
        parts.append("\n".join(body))
    contents = "".join(f'<li><a href="#{s.anchor}">{html.escape(s.title)}</a></li>' for s in report.sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(report.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{_CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<header><h1>{html.escape(report.title)}</h1><p class="note">{html.escape(report.subtitle)}</p>
<nav><ul>{contents}</ul></nav></header>
<main>
{chr(10).join(parts)}
</main>
<footer><p class="note">Made by citytrade from the published marts; charts by Plotly, embedded in this file (works offline).</p></footer>
</body>
</html>
"""


class _Styled(NamedTuple):
    """A table cell drawn with a CSS class of its own (a rank interval)."""

    text: str
    css_class: str


def _rank_cell(row: dict) -> object:
    """The rank as certain (`4`) or as the interval it can take among all areas (`4–21`, drawn in its own colour)."""
    best, worst = row["rank_best"], row["rank_worst"]
    return best if best == worst else _Styled(f"{best}–{worst}", "rank-interval")


def _table(headers: list[str], rows: list[list], numeric_from: int = 99, first_numeric: bool = False) -> str:
    head = "".join(
        f'<th class="{"num" if i >= numeric_from or (first_numeric and i == 0) else ""}">{html.escape(str(h))}</th>'
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="{" ".join(filter(None, ["num" if i >= numeric_from or (first_numeric and i == 0) else "", getattr(v, "css_class", "")]))}">'
            f'{html.escape("" if v is None else str(getattr(v, "text", v)))}</td>'
            for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f'<table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _num(value, digits: int, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _hundred_million(value) -> str:
    return "–" if value is None else f"{value / 1e8:,.0f}"


def _trillion(value, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value / 1e12:+.2f}" if signed else f"{value / 1e12:.2f}"


_CSS = """
body { font-family: "DejaVu Sans", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", Arial, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1.5rem; color: #222; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.3rem; }
.note { color: #555; } nav ul { columns: 2; padding-left: 1.2rem; }
section.not-available h2 { color: #888; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; width: 100%; }
th, td { border-bottom: 1px solid #e5e5e5; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
td.rank-interval { color: #006d5b; font-weight: bold; white-space: nowrap; }
th { background: #f6f6f6; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
"""
