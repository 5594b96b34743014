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


# The forms the issue lists, each as it appears in a case's text (Traditional forms as written there).
FORMS = {
    "period": ["全年", "前11个月", "1—8月", "1-10月", "上半年", "前三季度", "一季度", "10月份", "当月", "单月", "8月份当月",
               "first 11 months", "From January to August", "first three quarters", "In April alone"],
    "year": ["2023年", "今年", "in 2023"],
    "unit": ["元，", "万元", "亿元", "万亿元", "億元", "萬億元", "兆元", "美元", "万美元", "亿美元", "billion yuan", "trillion yuan",
             "billion US dollars"],
    "basis": ["口岸", "port of"],
    "list": ["分别进出口", "分别增长"],
    "flat": ["持平", "flat"],
    "refusal": ["对美国", "东盟", "with the EU", "机电产品", "integrated circuits", "民营企业", "Foreign-invested", "一般贸易",
                "processing trade", "一带一路", "RCEP", "顺差", "surplus", "占", "accounting for", "百分点", "超", "逾", "近", "约",
                "超过", "exceeding", "nearly", "about", "over", "义乌市", "just shy of", "home-appliance"],
}  # fmt: skip


@pytest.mark.parametrize("kind", FORMS)
def test_every_form_of_the_issue_is_in_a_case(kind):
    texts = [case["text"] for case in CASES]
    missing = [form for form in FORMS[kind] if not any(form in text for text in texts)]
    assert not missing
