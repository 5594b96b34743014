"""The same release as UTF-8, GB18030, Big5 and as an HTML page extracts to the same figures (issue #30)."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import pytest

from citytrade.ingest.areas import default_resolver
from citytrade.ingest.press_text.extract import extract_figures
from citytrade.ingest.press_text.text import PressTextError, read_press_text

RELEASE = Path(__file__).parent.parent / "fixtures" / "press_text" / "shanghai_2023_m11_zht.txt"
PUBLISHED_ON = dt.date(2023, 12, 19)


def as_html(text: str, charset: str) -> str:
    """A news page around the release: navigation, the article's paragraphs, a footer."""
    title, *paragraphs = [line for line in text.splitlines() if line.strip()]
    body = "".join(f"<p>{html.escape(line)}</p>\n" for line in paragraphs)
    return (f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>{html.escape(title)}</title></head><body>'
            f'<nav><a href="/">首頁</a> | <a href="/news">新聞</a> | <a href="/about">關於我們</a></nav>'
            f'<article><h1>{html.escape(title)}</h1>\n{body}</article>'
            f'<footer>版權所有 2023 | 聯絡我們 | 網站地圖</footer></body></html>')  # fmt: skip


def figures_of(path: Path, encoding: str | None = None) -> tuple[list[tuple], list[tuple], str]:
    press = read_press_text(path, encoding)
    extraction = extract_figures(press, PUBLISHED_ON, None, "firm_location", default_resolver())
    for item in [*extraction.figures, *extraction.refused]:
        assert press.text[item.span_start : item.span_end] == item.quote  # spans are offsets in the decoded text
    figures = [(f.area_code, f.year, f.month_from, f.month_to, f.measure, f.value, f.unit_code, f.yoy_pct, f.quote) for f in extraction.figures]
    return figures, [(r.reason, r.quote) for r in extraction.refused], press.encoding


@pytest.fixture(scope="module")
def utf8_reading():
    return figures_of(RELEASE)


def test_the_release_gives_shanghais_three_figures(utf8_reading):
    figures, refused, encoding = utf8_reading
    assert encoding == "utf-8"
    assert [figure[:8] for figure in figures] == [
        ("310000", 2023, 1, 11, "total", "3.86", "trillion_yuan", 1.2),
        ("310000", 2023, 1, 11, "exports", "1.59", "trillion_yuan", 1.7),
        ("310000", 2023, 1, 11, "imports", "2.27", "trillion_yuan", 0.8),
    ]
    assert [reason for reason, _ in refused] == ["trade-partner figure (歐盟)", "share (18.3%), not a growth rate", "enterprise-type figure (民營企業)"]


@pytest.mark.parametrize("encoding", ["gb18030", "big5"])
def test_gb18030_and_big5_are_detected_and_read_alike(tmp_path, utf8_reading, encoding):
    path = tmp_path / f"release-{encoding}.txt"
    path.write_bytes(RELEASE.read_text(encoding="utf-8").encode(encoding))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really not UTF-8
    figures, refused, detected = figures_of(path)
    assert detected == encoding
    assert (figures, refused) == utf8_reading[:2]


def test_the_sidecars_encoding_overrides_detection(tmp_path, utf8_reading):
    path = tmp_path / "release.txt"
    path.write_bytes(RELEASE.read_text(encoding="utf-8").encode("big5"))
    assert figures_of(path, "big5")[:2] == utf8_reading[:2]
    with pytest.raises(PressTextError, match="not gb2312 text as its sidecar says"):
        read_press_text(path, "gb2312")


@pytest.mark.parametrize("charset", ["utf-8", "big5"])
def test_an_html_page_gives_the_same_figures_from_its_article(tmp_path, utf8_reading, charset):
    path = tmp_path / "release.html"
    path.write_bytes(as_html(RELEASE.read_text(encoding="utf-8"), charset).encode(charset))
    figures, refused, _ = figures_of(path)
    assert (figures, refused) == utf8_reading[:2]
    assert "網站地圖" not in read_press_text(path).text  # the page's furniture is not the article


def test_a_simplified_release_reads_alike_in_utf8_and_gb18030(tmp_path):
    text = "据海关统计，今年前11个月，上海市货物贸易进出口3.86万亿元，同比增长1.2%。其中，出口1.59万亿元，增长1.7%；进口2.27万亿元，增长0.8%。\n"
    readings = []
    for encoding in ("utf-8", "gb18030"):
        path = tmp_path / f"{encoding}.txt"
        path.write_bytes(text.encode(encoding))
        readings.append(figures_of(path))
    assert readings[1][2] == "gb18030" and readings[0][:2] == readings[1][:2] and len(readings[0][0]) == 3
