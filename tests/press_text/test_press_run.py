"""A whole `citytrade run` on a landing zone of press texts and tables (issue #30, acceptance 2 and 3): every
figure the extractor reads reaches fct_trade_history with its quote, and a press text whose total is not its
exports plus imports fails the row gate on that figure, its alert quoting the release."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import duckdb
import pytest

from citytrade.ingest.areas import default_resolver
from citytrade.ingest.parsers.press_text_v1 import extract_release
from citytrade.ingest.releases import release_for_file
from conftest import run_cli, write_release

FIXTURES = Path(__file__).parent.parent / "fixtures" / "press_text"

# Shenzhen's 2023 figures as the reference data gives them (published 2024-01-18): 3.51 trillion yuan in
# January-November (+6.3 %), 3.87 trillion in the year (+5.9 %); the page's wording is the test's own.
SHENZHEN_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Shenzhen foreign trade 2023</title></head><body>
<nav><a href="/">Home</a> | <a href="/news">News</a> | <a href="/contact">Contact</a></nav>
<article><h1>Shenzhen's foreign trade grows in 2023</h1>
<p>Shenzhen customs said on Thursday that the city's imports and exports totalled 3.87 trillion yuan in 2023, up 5.9 percent year on year.</p>
<p>In the first 11 months, the city's foreign trade had reached 3.51 trillion yuan, an increase of 6.3 percent.</p>
<p>Trade with ASEAN, the city's largest trading partner, came to 580.2 billion yuan in the year.</p>
</article><footer>Copyright | Site map | Contact us</footer></body></html>
"""
# Deliberately faulty, illustrative figures: exports 4010.2 + imports 1402.2 = 5412.4, not the total 6112.4.
HANGZHOU_FAULTY = "杭州海关消息：据海关统计，今年前11个月，我市进出口6112.4亿元，同比增长4.1%，其中出口4010.2亿元，进口1402.2亿元。\n"


def write_sidecar(path: Path, **fields) -> None:
    lines = [f"{key}: {value}" for key, value in {"format": "press-text-v1", "publisher": "test", **fields}.items()]
    path.with_name(path.stem + ".meta.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def press_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("press-run")
    raw, home = base / "raw", base / "home"
    write_release(raw, "tables/cities-2023.csv", """
        area,year,month_from,month_to,total,total_yoy_pct
        Beijing,2023,1,12,3.65,0.3
        Ningbo,2023,1,12,1.28,0.9
        """, published_on="2024-01-26")  # fmt: skip
    shanghai = raw / "press" / "shanghai-2023-m11.txt"
    shanghai.parent.mkdir(parents=True)
    shanghai.write_bytes((FIXTURES / "shanghai_2023_m11_zht.txt").read_text(encoding="utf-8").encode("big5"))
    write_sidecar(shanghai, published_on="2023-12-19", source_url="https://example.org/shanghai")
    shenzhen = raw / "press" / "shenzhen-2023.html"
    shenzhen.write_text(SHENZHEN_PAGE, encoding="utf-8")
    write_sidecar(shenzhen, published_on="2024-01-18", area="深圳")
    hangzhou = raw / "press" / "hangzhou-2024-m11.txt"
    hangzhou.write_text(HANGZHOU_FAULTY, encoding="gb18030")
    write_sidecar(hangzhou, published_on="2024-12-20", area="杭州")
    before = {path: path.read_bytes() for path in raw.rglob("*") if path.is_file()}
    result = run_cli("run", "--raw-dir", str(raw), "--home", str(home), timeout=600)
    assert result.returncode == 0, result.stderr
    assert {path: path.read_bytes() for path in raw.rglob("*") if path.is_file()} == before  # raw files untouched
    return raw, home, result


def published(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "published" / "citytrade.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_figure_of_every_press_text_reaches_fct_trade_history_with_its_quote(press_run):
    raw, home, _ = press_run
    history = published(home, """
        select area_code, year, month_from, month_to, basis, total_as_published, exports_as_published,
               imports_as_published, quote, source_file
        from marts.fct_trade_history""")
    found = 0
    for path in sorted((raw / "press").glob("*.*")):
        if path.name.endswith(".meta.yaml"):
            continue
        extraction, _ = extract_release(release_for_file(path), default_resolver())
        assert extraction.figures, path
        for figure in extraction.figures:
            column = {"total": 5, "exports": 6, "imports": 7}[figure.measure]
            rows = [row for row in history if row[:5] == (figure.area_code, figure.year, figure.month_from, figure.month_to, figure.basis)
                    and row[column] == figure.value and row[9] == f"press/{path.name}"]  # fmt: skip
            assert len(rows) == 1, (path.name, figure)
            assert figure.quote in rows[0][8]
            found += 1
    assert found == 3 + 2 + 3  # Shanghai's total, exports, imports; Shenzhen's two totals; Hangzhou's three figures
    tables = [row for row in history if row[9] == "tables/cities-2023.csv"]
    assert len(tables) == 2 and all(row[8] is None for row in tables)  # tables carry no quote


def test_the_refused_figures_are_kept_with_their_reasons_not_loaded(press_run):
    _, home, _ = press_run
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        refused = con.execute("select reason, quote from raw.press_refused_figures order by reason").fetchall()
    assert [reason for reason, _ in refused] == [
        "enterprise-type figure (民營企業)", "share (18.3%), not a growth rate", "trade-partner figure (trading partner)", "trade-partner figure (歐盟)",
    ]  # fmt: skip
    assert not published(home, "select 1 from marts.fct_trade_history where total_as_published in ('580.2', '7051.3', '9210.7')")


def test_a_total_that_is_not_exports_plus_imports_fails_the_row_gate_and_the_alert_quotes_the_release(press_run):
    _, home, result = press_run
    alerts = published(home, "select severity, area_code, period_label, message, source_file from marts.quality_alerts "
                             "where check_name = 'parts_and_totals'")  # fmt: skip
    assert len(alerts) == 1
    severity, area_code, period, message, source_file = alerts[0]
    assert (severity, area_code, period, source_file) == ("error", "330100", "2024 M1-M11", "press/hangzhou-2024-m11.txt")
    assert "exports 4010.2 + imports 1402.2 do not add up to the published total 6112.4" in message
    assert message.endswith("«我市进出口6112.4亿元，同比增长4.1% … 其中出口4010.2亿元 … 进口1402.2亿元»")
    assert "1 kept out of the marts by the row gate" in result.stdout
    assert not published(home, "select 1 from marts.fct_trade where area_code = '330100'")  # kept out of the marts
    page = (home / "published" / "report.html").read_text(encoding="utf-8")
    assert "其中出口4010.2亿元" in html.unescape(page)  # the report's alert table quotes it too
