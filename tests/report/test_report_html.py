"""The HTML report of the latest publish: written by the run, drawn by Debian's chromium with no network."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
import yaml
from citytrade.config import Settings
from citytrade.publish.report_html import _open_alerts_from_warehouse, render_report
from conftest import SAMPLE_RAW

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--hide-scrollbars",
    # belt and braces for the network namespace below: no name resolves, every request goes to a closed port
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
]  # fmt: skip


def _chromium() -> str:
    path = shutil.which("chromium")
    assert path, "Debian's chromium is required for the report tests (python3 scripts/dev.py test installs it: apt-get install chromium)"
    return path


def _offline_prefix() -> list[str]:
    """Run chromium in a network namespace of its own (no interface but loopback) when the machine allows it."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def _chromium_run(page: Path, tmp_path: Path, *mode: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [*_offline_prefix(), _chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000",
         *mode, page.as_uri()],
        capture_output=True, text=not any(m.startswith("--screenshot") for m in mode), timeout=120, cwd=tmp_path,
    )  # fmt: skip


class _ChartCollector(HTMLParser):
    """Per Plotly chart div (id chart-N): its SVG roots, drawn bars and lines, and every piece of SVG text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.charts: dict[str, dict] = {}
        self.h2: list[str] = []
        self._stack: list[tuple[str, str | None]] = []  # (tag, chart id it opened)
        self._chart: str | None = None
        self._in_h2 = False
        self._last_classes: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        opened = None
        if tag == "div" and re.fullmatch(r"chart-\d+", attrs.get("id") or ""):
            opened = self._chart = attrs["id"]
            self.charts[opened] = {"svg": 0, "marks": 0, "lines": 0, "text": []}
        if self._chart:
            chart = self.charts[self._chart]
            if tag == "svg" and "main-svg" in classes:
                chart["svg"] += 1
            if tag == "path" and attrs.get("d") and attrs.get("d") != "M0,0Z":
                if "point" in self._last_classes:  # a bar or a marker: <g class="point"><path d="..."/></g>
                    chart["marks"] += 1
                if "js-line" in classes:
                    chart["lines"] += 1
        self._in_h2 = tag == "h2"
        self._last_classes = classes
        if tag not in {"br", "meta", "img", "input", "link", "hr", "col", "source", "wbr"}:  # HTML's void elements
            self._stack.append((tag, opened))

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False
        if not any(open_tag == tag for open_tag, _ in self._stack):
            return
        while self._stack:
            open_tag, opened = self._stack.pop()
            if opened:
                self._chart = None
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._in_h2:
            self.h2.append(data.strip())
        if self._chart and data.strip():
            self.charts[self._chart]["text"].append(data.strip())


@pytest.fixture(scope="module")
def report_page(sample_home) -> Path:
    page = sample_home / "published" / "report.html"
    assert page.is_file(), "the run did not write published/report.html"
    return page


@pytest.fixture(scope="module")
def leaders(sample_home) -> dict:
    con = duckdb.connect(str(sample_home / "published" / "citytrade.duckdb"), read_only=True)
    try:
        year = con.execute(
            "select max(year) from marts.city_trade_ranking where basis = 'firm_location' and month_from = 1 and month_to = 12"
        ).fetchone()[0]
        ranked = con.execute(
            """select name_en from marts.city_trade_ranking
               where basis = 'firm_location' and year = ? and month_from = 1 and month_to = 12 order by rank_total""",
            [year],
        ).fetchall()
    finally:
        con.close()
    return {"year": year, "names": [name for (name,) in ranked]}


def test_the_run_writes_the_report_after_the_publish(sample_home, report_page):
    published = sample_home / "published" / "citytrade.duckdb"
    assert report_page.stat().st_mtime >= published.stat().st_mtime
    text = report_page.read_text(encoding="utf-8")
    # offline: the page loads nothing from elsewhere, Plotly's JavaScript is inside it
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=[\"']?(https?:)?//", text, re.IGNORECASE)
    assert "Plotly.newPlot" in text and len(text) > 3_000_000  # plotly.min.js itself is about 4.6 MB


def test_the_published_page_is_the_page_of_the_publish_beside_it(sample_home, report_page):
    """The run renders the page while the mart gate runs, from the staged publish: it must be the page of the file
    readers open, with the run's alerts, as if rendered after the publish."""
    run_id = json.loads((sample_home / "logs" / "runs.jsonl").read_text(encoding="utf-8").splitlines()[-1])["run_id"]
    alerts = _open_alerts_from_warehouse(Settings.from_args(None, sample_home), run_id)
    assert alerts, "the sample run raised alerts: the page must list them"
    assert render_report(sample_home / "published" / "citytrade.duckdb", open_alerts=alerts) == report_page.read_text(encoding="utf-8")


def test_chromium_draws_every_chart_offline(report_page, leaders, tmp_path):
    result = _chromium_run(report_page, tmp_path, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = _ChartCollector()
    dom.feed(result.stdout)

    top_city, second_city = leaders["names"][:2]
    year = leaders["year"]
    assert f"Ranking, latest full year: {year}" in dom.h2
    assert "Rank over time, top 10 cities" in dom.h2
    assert "Top 100 foreign-trade cities by region" in dom.h2
    assert f"The top two's rivalry: {top_city} vs {second_city}" in dom.h2
    assert "Open quality alerts" in dom.h2
    assert any(title.startswith("Growth leaders and decliners") for title in dom.h2)

    charts = dom.charts
    assert len(charts) >= 5, f"only {len(charts)} chart(s) in the page"
    for chart_id, chart in charts.items():
        assert chart["svg"] >= 1, f"{chart_id}: Plotly drew no SVG (did its JavaScript run?)"
        assert chart["marks"] + chart["lines"] > 0, f"{chart_id}: the chart has no bars, markers or lines"
    full_year = charts["chart-1"]
    assert f"Total trade by city, {year} (100m yuan)" in full_year["text"]
    assert full_year["marks"] == len(leaders["names"][:20]), "one bar per ranked city (top 20)"
    assert top_city in full_year["text"], "the top city's name is on the ranking chart"
    bump = next(c for c in charts.values() if any(t.startswith("Rank by total trade") for t in c["text"]))
    # no city has a certain rank in every year: uncertain ranks are markers with their interval, not joined by lines
    assert top_city in bump["text"] and bump["marks"] >= 2
    rivalry = next(c for c in charts.values() if f"{top_city} vs {second_city}: total trade by year (trillion yuan)" in c["text"])
    assert rivalry["lines"] >= 2 and {top_city, second_city} <= set(rivalry["text"])  # two drawn lines, both in the legend
    regions = next(c for c in charts.values() if "Top 100 cities per region and edition" in c["text"])
    assert regions["marks"] > 0 and "east" in regions["text"]


def test_screenshot_of_the_report_is_not_blank(report_page, tmp_path):
    from PIL import Image

    shot = tmp_path / "report.png"
    result = _chromium_run(report_page, tmp_path, "--window-size=1200,2400", f"--screenshot={shot}")
    assert result.returncode == 0, result.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 2400)
    pixels = list(image.getdata())
    not_white = sum(1 for p in pixels if min(p) < 240)
    assert not_white > 0.03 * len(pixels), "the screenshot is (almost) blank"
    # Plotly's first colour (#1f77b4) fills the ranking bars: the chart drew, not only the text around it
    bar_blue = sum(1 for r, g, b in pixels if abs(r - 0x1F) < 12 and abs(g - 0x77) < 12 and abs(b - 0xB4) < 12)
    assert bar_blue > 5000, f"only {bar_blue} bar-coloured pixels: the ranking chart did not draw"


def test_a_mart_that_is_absent_says_not_available(sample_home, tmp_path):
    copy = tmp_path / "older-publish.duckdb"
    shutil.copyfile(sample_home / "published" / "citytrade.duckdb", copy)
    con = duckdb.connect(str(copy))
    for mart in ("growth_leaders", "region_distribution"):
        con.execute(f"drop table if exists marts.{mart}")
    con.close()
    page = render_report(copy)
    assert "not available: the growth_leaders mart is not published" in page
    assert "not available: region_distribution is not published" in page
    assert "Ranking, latest full year" in page  # the rest of the report is still there


def test_open_alerts_are_listed_errors_first(sample_home):
    con = duckdb.connect(str(sample_home / "published" / "citytrade.duckdb"), read_only=True)
    try:
        alerts = [dict(zip(("severity", "check_name", "message"), row)) for row in
                  con.execute("select severity, check_name, message from marts.quality_alerts").fetchall()]  # fmt: skip
    finally:
        con.close()
    alerts.append({"severity": "error", "check_name": "parts_sum_to_total", "message": "Suzhou 2024: exports + imports exceed the total"})
    page = render_report(sample_home / "published" / "citytrade.duckdb", open_alerts=alerts)
    section = page[page.index("<h2>Open quality alerts</h2>"):]
    assert "1 error(s)" in section
    first_row = re.search(r"<tbody><tr>(.*?)</tr>", section).group(1)
    assert "parts_sum_to_total" in first_row and "error" in first_row


def test_rivalry_note_says_why_the_top_two_share_of_national_trade_is_not_given(sample_home, leaders):
    database = sample_home / "published" / "citytrade.duckdb"
    con = duckdb.connect(str(database), read_only=True)
    try:
        share = con.execute(
            """select sum(share_of_national_pct) from marts.city_trade_ranking
               where basis = 'firm_location' and year = ? and month_from = 1 and month_to = 12 and rank_total <= 2""",
            [leaders["year"]],
        ).fetchone()[0]
        has_concentration = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = 'trade_concentration'"
        ).fetchone()[0]
    finally:
        con.close()
    page = render_report(database)
    found = re.search(r"Together they held ([\d.]+)% of national trade in (\d{4})", page)
    if not has_concentration:
        assert found is None
        return
    # 2025: Shenzhen is 1-5 and Shanghai 2-6 among all cities, so their share of the nation is not a top-two share
    assert found is None and share == pytest.approx(100 * (4.55 + 4.51) / 45.47)
    assert ("Their combined share of national trade is not given: ranks 1 and 2 are not certain, as the cities with "
            "figures cover 33.7% of it.") in page  # fmt: skip


def test_the_page_ends_with_the_sources_of_the_sample_and_the_terms_of_the_lookups(report_page):
    sidecars = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(SAMPLE_RAW.rglob("*.meta.yaml"))]
    publishers = {sidecar["publisher"] for sidecar in sidecars}
    assert len(publishers) == 4  # NBS tables, customs and commerce departments in the press, national customs, Top 100 lists
    text = report_page.read_text(encoding="utf-8")
    assert re.findall(r"<h2>(.*?)</h2>", text)[-1] == "Sources"
    start = text.index("<h2>Sources</h2>")
    sources = text[start:text.index("</section>", start)]
    for publisher in publishers:
        assert f"<td class=\"\">{html.escape(publisher)}</td>" in sources, f"{publisher} is not listed"
    # the NBS tables' address, as text: no link, nothing the page would fetch
    assert "https://data.stats.gov.cn/easyquery.htm?cn=E0103" in sources and "href=" not in sources
    assert "a page per figure:" in sources  # the press releases cite the page of each figure
    assert "WTFPL" in sources and "H.10" in sources and "Statistical Communiqués" in sources


INTERVAL_COLOUR = (0x00, 0x6D, 0x5B)  # td.rank-interval in the report's CSS


def _interval_pixels(page: Path, tmp_path: Path) -> int:
    from PIL import Image

    shot = tmp_path / f"{page.stem}.png"
    result = _chromium_run(page, tmp_path, "--window-size=1200,2400", f"--screenshot={shot}")
    assert result.returncode == 0, result.stderr[-2000:]
    pixels = Image.open(shot).convert("RGB").getdata()
    return sum(1 for pixel in pixels if all(abs(c - want) < 16 for c, want in zip(pixel, INTERVAL_COLOUR)))


def test_the_ranking_table_draws_uncertain_ranks_as_intervals_with_the_coverage(report_page, tmp_path):
    text = report_page.read_text(encoding="utf-8")
    section = text[text.index("<h2>Ranking, latest full year: 2025</h2>"):]
    section = section[:section.index("</section>")]
    cells = re.findall(r'<td class="num rank-interval">([^<]*)</td><td class="">([^<]*)</td>', section)
    assert ("4–21", "Dongguan 东莞市") in cells and len(cells) == 6  # no 2025 rank is certain
    assert "6 cities have figures for this period on the firm location basis (331 of 337 missing; 33.7% of national trade)" in section
    # chromium draws them: the interval colour is on the screenshot, and only because of those cells
    drawn = _interval_pixels(report_page, tmp_path)
    plain = tmp_path / "plain.html"
    plain.write_text(text.replace('class="num rank-interval"', 'class="num"'), encoding="utf-8")
    assert drawn > 200 and _interval_pixels(plain, tmp_path) == 0, f"{drawn} interval-coloured pixels"
