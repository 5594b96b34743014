"""The extractor on sentences in the style of real releases (tests/press_text/cases.yaml): exact figures, exact reasons."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from citytrade.ingest.areas import default_resolver
from citytrade.ingest.press_text.extract import extract_figures
from citytrade.ingest.press_text.text import PressText, fold

CASES = yaml.safe_load((Path(__file__).parent / "cases.yaml").read_text(encoding="utf-8"))


def extract(text: str, area: str | None, published_on) -> tuple[list[str], list[str], list]:
    press = PressText(text=text, encoding="utf-8", folded=fold(text))
    extraction = extract_figures(press, published_on, area, "firm_location", default_resolver())
    figures = [
        f"{f.area_code} {f.year} {f.month_from}-{f.month_to} {f.basis} {f.measure} {f.value} {f.unit_code} "
        + ("-" if f.yoy_pct is None else f"{f.yoy_pct:g}" if f.yoy_pct != 0 else "0.0")
        for f in extraction.figures
    ]
    return figures, [r.reason for r in extraction.refused], extraction


def _expected(figure: str) -> str:
    *head, yoy = figure.split()
    return " ".join(head + [yoy if yoy in ("-", "0.0") else f"{float(yoy):g}"])


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_sentence(case):
    figures, reasons, extraction = extract(case["text"], case.get("area"), case["published_on"])
    assert figures == [_expected(figure) for figure in case.get("figures") or []]
    assert reasons == case.get("refused", [])
    for item in [*extraction.figures, *extraction.refused]:  # every quote is the text at its span
        assert case["text"][item.span_start : item.span_end] == item.quote and item.quote


def test_the_cases_cover_three_languages_and_forty_sentences():
    languages = {case["id"].split("-")[0] for case in CASES}
    assert languages == {"zh", "zht", "en"} and len(CASES) >= 40
