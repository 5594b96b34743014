"""Amounts and percentages in folded press text: the digits as written, their unit, lists of them, qualifiers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"

# (scale words, currency words) -> a unit of dbt_project/seeds/units.csv
_SCALES = {
    "": 1, "万亿": 10**12, "兆": 10**12, "亿": 10**8, "千万": 10**7, "百万": 10**6, "万": 10**4, "千": 10**3,
    "hundred million": 10**8, "ten thousand": 10**4, "trillion": 10**12, "tn": 10**12, "billion": 10**9, "bn": 10**9,
    "million": 10**6, "thousand": 10**3,
}  # fmt: skip
UNITS = {
    ("CNY", 1): "yuan", ("CNY", 10**4): "10k_yuan", ("CNY", 10**6): "million_yuan", ("CNY", 10**8): "100m_yuan",
    ("CNY", 10**9): "billion_yuan", ("CNY", 10**12): "trillion_yuan", ("USD", 1): "usd", ("USD", 10**3): "1k_usd",
    ("USD", 10**4): "10k_usd", ("USD", 10**6): "million_usd", ("USD", 10**8): "100m_usd", ("USD", 10**9): "billion_usd",
    ("USD", 10**12): "trillion_usd",
}  # fmt: skip
_CURRENCY_AFTER = {
    "元人民币": "CNY", "元": "CNY", "美元": "USD", "u.s. dollars": "USD", "us dollars": "USD", "dollars": "USD",
    "usd": "USD", "yuan": "CNY", "rmb": "CNY", "renminbi": "CNY", "cny": "CNY",
}  # fmt: skip
_CURRENCY_BEFORE = {"us$": "USD", "$": "USD", "usd": "USD", "rmb": "CNY", "cny": "CNY", "¥": "CNY", "￥": "CNY", "人民币": "CNY"}


def alternatives(words) -> str:
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True) if word)


_QUALIFIERS_BEFORE = (
    "超过", "超出", "突破", "将近", "接近", "逾", "超", "近", "约", "约为", "约合", "约达", "大约", "达近", "more than", "over", "nearly",
    "about", "around", "approximately", "roughly", "almost", "close to", "just shy of", "exceeding", "exceeded",
    "in excess of", "upwards of", "some",
)  # fmt: skip
_AMOUNT = re.compile(
    rf"(?P<qual>(?:{alternatives(_QUALIFIERS_BEFORE)})\s*)?"
    rf"(?P<pre>(?:{alternatives(_CURRENCY_BEFORE)})\s?)?"
    rf"(?<![\d.])(?P<num>{_NUM})(?![\d])"
    rf"(?P<more>多|余)?\s*(?P<scale>(?:{alternatives(_SCALES)})(?![a-z]))?\s*"
    rf"(?P<cur>(?:{alternatives(_CURRENCY_AFTER)})(?![a-z]))?"
    rf"(?P<about>\s*左右)?"
)
# what makes a number something else: a percentage, a date, a count, a rank
_NOT_AMOUNT = re.compile(r"\s*(%|percent|per cent|pct|个|月|年|日|号|倍|季|家|项|位|名|亿美元以上|percentage|times|st\b|nd\b|rd\b|th\b)")
_LIST_SEPARATOR = re.compile(r"\s*(?:、|,\s*and|,|和|及|与|以及|and)\s*$")


@dataclass
class Amount:
    """One amount as written: its digits, its unit (inherited from the list it ends, if need be), where it is."""

    start: int
    end: int
    number: str  # the digits as written, separators removed
    scale: int | None
    currency: str | None
    unit_written: str  # in the folded text; unit_spans locate it in the original
    qualifier: str | None
    unit_spans: tuple = ()

    @property
    def unit(self) -> str | None:
        return UNITS.get((self.currency, self.scale)) if self.currency and self.scale is not None else None

    @property
    def value(self) -> Decimal:
        return Decimal(self.number)

    @property
    def resolution(self) -> Decimal:
        point = self.number.find(".")
        return Decimal(1).scaleb(-(len(self.number) - point - 1)) if point >= 0 else Decimal(1)

    def in_currency(self) -> tuple[Decimal, Decimal]:
        """The amount and its half step of written precision, in units of its currency."""
        return self.value * self.scale, self.resolution * self.scale / 2

    def loose_in_currency(self) -> tuple[Decimal, Decimal]:
        """As a rounded restatement reads: 500 is a round figure, ± half of its last non-zero digit's place."""
        value, half_step = self.in_currency()
        digits = self.number.split(".")[0]
        if "." not in self.number and digits.rstrip("0") != digits:
            zeros = len(digits) - len(digits.rstrip("0"))
            half_step = Decimal(10) ** zeros * self.scale / 2
        return value, half_step


def find_amounts(folded: str) -> list[list[Amount]]:
    """Every amount of money, grouped into lists ("1755.3亿、1755亿和454.3亿元"): an item without a unit takes the unit
    of the list's last item; a list whose last item has no currency is not money."""
    candidates = []
    for match in _AMOUNT.finditer(folded):
        if _NOT_AMOUNT.match(folded, match.end("num")) and not match.group("scale") and not match.group("cur"):
            continue
        if match.start("num") > 0 and folded[match.start("num") - 1] in "-~—–至" and not match.group("pre"):
            if re.search(r"\d[-~—–至]$", folded[: match.start("num")]):
                continue  # the end of a range of months or years
        currency = None
        if match.group("pre"):
            currency = _CURRENCY_BEFORE[match.group("pre").strip()]
        if match.group("cur"):
            currency = _CURRENCY_AFTER[match.group("cur")]
        scale_word = match.group("scale")
        qualifier = (match.group("qual") or "").strip() or (match.group("more") or "") or (match.group("about") or "").strip() or None
        start = match.start("pre") if match.group("pre") else match.start("num")
        end = max(match.end("num"), match.end("more") if match.group("more") else 0, match.end("scale") if scale_word else 0,
                  match.end("cur") if match.group("cur") else 0, match.end("about") if match.group("about") else 0)  # fmt: skip
        unit_written = folded[match.end("num") : end].strip()
        unit_spans = ((match.end("num"), end),)
        if match.group("pre"):
            unit_written = (match.group("pre").strip() + " " + unit_written).strip()
            unit_spans = ((match.start("pre"), match.end("pre")), (match.end("num"), end))
        candidates.append(
            Amount(
                start=match.start("qual") if match.group("qual") else start,
                end=end,
                number=match.group("num").replace(",", ""),
                scale=_SCALES[scale_word] if scale_word else (1 if currency else None),
                currency=currency,
                unit_written=unit_written,
                qualifier=qualifier,
                unit_spans=unit_spans,
            )
        )
    groups: list[list[Amount]] = []
    for amount in candidates:
        if groups and _LIST_SEPARATOR.match(folded[groups[-1][-1].end : amount.start] + " ") and (
            groups[-1][-1].currency is None or amount.qualifier is None
        ):
            groups[-1].append(amount)
        else:
            groups.append([amount])
    money = []
    for group in groups:
        last = group[-1]
        if last.currency is None:
            continue
        for item in group:
            if item.currency is None:
                item.currency = last.currency
                if item.scale is None:
                    item.scale = last.scale
                item.unit_written = (item.unit_written + last.unit_written) if item.unit_written else last.unit_written
                item.unit_spans = item.unit_spans + last.unit_spans if item.unit_written != last.unit_written else last.unit_spans
        money.append(group)
    return money


# ---- percentages: growth, shares, percentage points

_GROWTH_UP = ("增长", "成长", "增加", "上升", "提升", "攀升", "上涨", "增速", "增幅", "涨幅", "up", "rose", "rise", "rising", "grew",
              "grown", "growth", "grow", "growing", "increase", "increased", "increasing", "jumped", "surged", "climbed",
              "gained", "expanded", "higher", "soared", "advanced")  # fmt: skip
_GROWTH_DOWN = ("下降", "衰退", "减少", "下滑", "回落", "降低", "下跌", "萎缩", "降幅", "减", "down", "fell", "fall", "dropped", "drop",
                "declined", "decline", "decreased", "decrease", "slipped", "slid", "plunged", "tumbled", "retreated", "lower",
                "shrank", "contracted", "decreasing", "declining", "falling", "dropping")  # fmt: skip
_SHARE = ("占比", "比重", "占", "accounting for", "accounted for", "share of", "share")
_GROWTH_FILL = re.compile(r"^(?:\s|同比|分别|了|为|达|达到|至|by|of|an|a|year-on-year|year on year|yoy|respectively|,|或)*$")
_VERB = re.compile(rf"(?<![a-z])({alternatives(_GROWTH_UP + _GROWTH_DOWN + _SHARE)})(?![a-z])")
_PERCENT = re.compile(rf"(?<![\d.])(?P<num>[-+]?(?:{_NUM}))\s*(?P<sign>%|percent|per cent|pct)(?![a-z])")
_POINTS = re.compile(rf"(?<![\d.])(?P<num>{_NUM})\s*(?P<sign>个百分点|percentage points?|ppts?\b|pp\b)")
_FLAT = re.compile(r"持平|(?<![a-z])(?:flat|unchanged)(?![a-z])")
_QUALIFIED_FILL = re.compile(r"(超过|超|逾|近|约|接近|over|more than|nearly|about|around|almost|approximately)\s*$")
_MONTH_BEFORE = re.compile(
    r"\s*(?:month-on-month|month on month|(?:from|over|than)\s+(?:the\s+)?(?:previous|last|prior|preceding)\s+month"
    r"|from\s+(?:january|february|march|april|may|june|july|august|september|october|november|december)(?![a-z]))"
)
_VERB_AFTER = re.compile(r"^\s*(?:year-on-year\s*|yoy\s*)?(increase|rise|growth|jump|gain|decline|drop|decrease|fall)\b")


@dataclass
class Percent:
    """A percentage or a point change: what it is (growth, share, points, other), its value and where it is."""

    start: int
    end: int
    kind: str  # growth, share, points, other
    number: str | None  # None for 持平 / flat
    sign: int
    qualifier: str | None = None

    @property
    def value(self) -> Decimal:
        return Decimal(self.number) * self.sign if self.number is not None else Decimal(0)

    @property
    def resolution(self) -> Decimal:
        if self.number is None:
            return Decimal("0.1")  # "flat": growth rounds to 0.0
        point = self.number.find(".")
        return Decimal(1).scaleb(-(len(self.number) - point - 1)) if point >= 0 else Decimal(1)


def find_percents(folded: str, clause_start) -> list[list[Percent]]:
    """Percentages grouped into lists ("分别增长16.5%、19.1%和40.4%"), each list classified by the words before it
    in its clause: a growth verb, a share word, or neither; point changes ("个百分点") are their own kind."""
    items = []
    for match in _POINTS.finditer(folded):
        items.append(Percent(match.start(), match.end(), "points", match.group("num").replace(",", ""), 1))
    for match in _PERCENT.finditer(folded):
        number = match.group("num").replace(",", "")
        sign = -1 if number.startswith("-") else 1
        items.append(Percent(match.start(), match.end(), "other", number.lstrip("+-"), sign))
    for match in _FLAT.finditer(folded):
        items.append(Percent(match.start(), match.end(), "other", None, 1))
    items.sort(key=lambda item: item.start)
    groups: list[list[Percent]] = []
    for item in items:
        if groups and groups[-1][-1].kind == item.kind and _LIST_SEPARATOR.match(folded[groups[-1][-1].end : item.start] + " "):
            groups[-1].append(item)
        else:
            groups.append([item])
    for group in groups:
        first = group[0]
        if first.kind == "points":
            continue
        if first.number is None:  # 持平 / flat: growth of 0 (and the list it starts)
            for item in group:
                item.kind = "growth"
            continue
        before = folded[clause_start(first.start) : first.start]
        verbs = list(_VERB.finditer(before))
        kind, sign, qualifier = "other", 1, None
        if verbs and re.search(r"(?:环比|month-on-month|month on month)\s*$", before[: verbs[-1].start()]) or _MONTH_BEFORE.match(folded, group[-1].end):
            verbs = []  # 环比增长, "down 0.3% from May": against the month before, not a year-on-year rate
        if verbs:
            verb = verbs[-1]
            fill = before[verb.end() :]
            qualified = _QUALIFIED_FILL.search(fill)
            if qualified:
                qualifier, fill = qualified.group(1), fill[: qualified.start()]
            if verb.group(1) in _SHARE:
                kind = "share"
            elif _GROWTH_FILL.match(fill):
                kind, sign = "growth", (-1 if verb.group(1) in _GROWTH_DOWN else 1)
        elif _VERB_AFTER.match(folded[group[-1].end :]):
            verb_after = _VERB_AFTER.match(folded[group[-1].end :]).group(1)
            kind, sign = "growth", (-1 if verb_after in _GROWTH_DOWN else 1)
        for item in group:
            item.kind, item.sign, item.qualifier = kind, item.sign * sign, qualifier
    return groups
