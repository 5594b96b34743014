"""Periods in folded press text: the month window a figure covers and the year, written or implied."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "十一": 11, "十二": 12}
_EN_NUMBERS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
    "twelve": 12,
}  # fmt: skip
_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5, "june": 6,
    "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10,
    "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_CN_NUMBER = r"(?:1[0-2]|[1-9]|十一|十二|十|[一二两三四五六七八九])"
_EN_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_EN_COUNT = r"(?:\d{1,2}|" + "|".join(_EN_NUMBERS) + ")"
_YEAR = r"(?:(?P<year>(?:19|20)\d{2})年|(?P<year_word>今年|去年|本年|上年))?"
_EN_YEAR = r"(?:\s*(?:of|in)\s*(?:(?P<eyear>(?:19|20)\d{2})|(?P<eyear_word>this year|last year)))?"
_RANGE_DASH = r"\s*(?:-|—|–|~|至|到)\s*"

_PATTERNS = [
    ("months", re.compile(rf"{_YEAR}\s*(?:前|首|头)\s*(?P<n>{_CN_NUMBER})\s*个?月")),
    ("range", re.compile(rf"{_YEAR}\s*(?P<a>{_CN_NUMBER})\s*月?{_RANGE_DASH}(?P<b>{_CN_NUMBER})\s*月(?!\d*日)(?:份)?(?:累计)?")),
    ("half", re.compile(rf"{_YEAR}\s*(?P<half>上半年|下半年)")),
    ("quarters", re.compile(rf"{_YEAR}\s*前(?P<n>三|3|两|二|2)(?:个)?季度")),
    ("quarter", re.compile(rf"{_YEAR}\s*第?(?P<q>一|二|三|四|[1-4])季度")),
    ("full", re.compile(rf"{_YEAR}\s*全年")),
    ("month", re.compile(rf"{_YEAR}\s*(?P<m>{_CN_NUMBER})\s*月份?(?!\d*日|\d*号)(?P<alone>当月|单月)?")),
    ("this_month", re.compile(r"当月|单月")),
    ("year", re.compile(r"(?P<year>(?:19|20)\d{2})年(?!\s*(?:前|第?[一二三四1-4]季度|上半年|下半年|全年|以来|\d|[一二两三四五六七八九十]))")),
    ("months", re.compile(rf"(?:the\s+)?(?:first|past)\s+(?P<en>{_EN_COUNT})\s+months?{_EN_YEAR}")),
    ("quarters", re.compile(rf"(?:the\s+)?first\s+(?P<en>three|two|3|2)\s+quarters{_EN_YEAR}")),
    ("quarter_pair", re.compile(r"(?:the\s+)?(?P<eq>first|second|third)\s+and\s+(?P<eq2>second|third|fourth)\s+quarters")),
    ("quarter", re.compile(rf"(?:the\s+)?(?P<eq>first|second|third|fourth)\s+quarter{_EN_YEAR}")),
    ("half", re.compile(rf"(?:the\s+)?(?P<ehalf>first|second)\s+half{_EN_YEAR}")),
    ("range", re.compile(rf"(?:from\s+)?(?P<ea>{_EN_MONTH})\s*(?:-|–|—|to|through)\s*(?P<eb>{_EN_MONTH})(?:\s+period)?{_EN_YEAR}")),
    ("month", re.compile(rf"(?<![a-z])in\s+(?P<em>{_EN_MONTH})(?![a-z])(?!\s+\d)(?P<ealone>\s+alone)?(?:\s+(?P<eyear2>(?:19|20)\d{{2}}))?")),
    ("this_month", re.compile(r"(?:during|in)\s+(?:this|the)\s+month|(?<![a-z])(?:the month|that month)\s+alone")),
    ("year", re.compile(r"(?:(?<![a-z])in|for|during|of)\s+(?P<year>(?:19|20)\d{2})(?![\d])(?!\s*(?:-|to)\s*\d)")),
    ("year", re.compile(r"(?:full[- ]year|whole year|for the year|all of)\s+(?P<year>(?:19|20)\d{2})")),
]


@dataclass
class Period:
    """A period expression: its month window (None for "this month", resolved from the one before), its year if
    written ("今年" and "this year" count as not written, "去年" as one year before the publication)."""

    start: int
    end: int
    month_from: int | None
    month_to: int | None
    year: int | None
    year_offset: int | None  # 0 for 今年/this year, -1 for 去年/last year; None when not said
    single_month: bool = False  # "当月", "in April alone": a month of the period before
    topical: bool = True  # false for a period said of one amount only ("已超2020年全年的1503.6亿元"): not carried on


def _number(text: str) -> int:
    return int(text) if text.isdigit() else _CN_DIGITS.get(text) or _EN_NUMBERS[text]


# a period a figure is compared with, not the figure's: 与2019年同期相比, 仅低于9月, the same period of 2019
_COMPARED_BEFORE = re.compile(r"(?:比|较|低于|高于|于|与|同|than|same period(?:\s+(?:of|in))?)\s*$")
_COMPARED_AFTER = re.compile(r"\s*(?:同期|相比)")
_ORDINALS = ("first", "second", "third", "fourth")


def find_periods(folded: str) -> list[Period]:
    found: list[Period] = []
    taken = [False] * (len(folded) + 1)
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(folded):
            if any(taken[match.start() : match.end()]):
                continue
            if _COMPARED_BEFORE.search(folded[max(0, match.start() - 16) : match.start()]) or _COMPARED_AFTER.match(folded, match.end()):
                continue
            if kind == "quarter_pair":  # "the first and second quarters": two periods, for a list of two figures
                middle = folded.index(" and ", match.start())
                for number, (start, end) in ((match.group("eq"), (match.start(), middle)), (match.group("eq2"), (middle + 5, match.end()))):
                    quarter = _ORDINALS.index(number) + 1
                    found.append(Period(start, end, 3 * quarter - 2, 3 * quarter, None, None))
                for index in range(match.start(), match.end()):
                    taken[index] = True
                continue
            period = _period(kind, match)
            if period is None:
                continue
            found.append(period)
            for index in range(match.start(), match.end()):
                taken[index] = True
    return sorted(found, key=lambda period: period.start)


def _period(kind: str, match: re.Match) -> Period | None:
    groups = {k: v for k, v in match.groupdict().items() if v}
    year = int(groups.get("year") or groups.get("eyear") or groups.get("eyear2") or 0) or None
    word = groups.get("year_word") or groups.get("eyear_word")
    offset = None if word is None else (-1 if word in ("去年", "上年", "last year") else 0)
    window: tuple[int, int] | None
    if kind == "months":
        window = (1, _number(groups.get("n") or groups["en"]))
    elif kind == "range":
        low = _number(groups["a"]) if "a" in groups else _MONTHS[groups["ea"].rstrip(".")]
        high = _number(groups["b"]) if "b" in groups else _MONTHS[groups["eb"].rstrip(".")]
        window = (low, high)
    elif kind == "half":
        second = groups.get("half") == "下半年" or groups.get("ehalf") == "second"
        window = (7, 12) if second else (1, 6)
    elif kind == "quarters":
        window = (1, 3 * _number(groups.get("n") or groups["en"]))
    elif kind == "quarter":
        number = _number(groups["q"]) if "q" in groups else ("first", "second", "third", "fourth").index(groups["eq"]) + 1
        window = (3 * number - 2, 3 * number)
    elif kind == "full" or kind == "year":
        window = (1, 12)
    elif kind == "month":
        month = _number(groups["m"]) if "m" in groups else _MONTHS[groups["em"].rstrip(".")]
        window = (month, month)
    else:  # this_month
        return Period(match.start(), match.end(), None, None, None, None, single_month=True)
    if not (1 <= window[0] <= window[1] <= 12):
        return None
    return Period(match.start(), match.end(), window[0], window[1], year, offset)


def resolve_year(period: Period, year_hint: int | None, published_on: dt.date) -> int:
    """The period's year: as written; else the year of a nearby year word ("2024年，…前11个月"); else the latest year
    whose window ends on or before the publication date (今年, or no year at all)."""
    if period.year:
        return period.year
    if year_hint:
        return year_hint
    if period.year_offset == -1:
        return published_on.year - 1
    year = published_on.year
    while dt.date(year, period.month_to, calendar.monthrange(year, period.month_to)[1]) > published_on:
        year -= 1
    return year
