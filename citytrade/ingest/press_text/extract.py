"""The extractor: figures of total trade, exports and imports (with growth) for an area and period, each with the
clause it came from, and every other figure refused with a one-line reason. Rule-based: see docs/press_text.md."""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Callable

from citytrade.ingest.areas import NATION_CODE, AreaResolver, UnknownArea
from citytrade.ingest.press_text.numbers import Amount, Percent, find_amounts, find_percents
from citytrade.ingest.press_text.periods import Period, find_periods, resolve_year
from citytrade.ingest.press_text.subjects import Measure, Subject, find_measures, find_subjects
from citytrade.ingest.press_text.text import PressText, fold

_REFUSED_KINDS = {
    "partner": "trade-partner figure ({word})",
    "product": "product figure ({word})",
    "enterprise": "enterprise-type figure ({word})",
    "mode": "trade-mode figure ({word})",
    "subset": "subset figure ({word})",
}
_AREA_KINDS = ("area", "self", "nation", "port")
# an amount that is a mark passed, not a figure: "跨越100亿元台阶", "the 10-trillion-yuan mark"
_THRESHOLD = re.compile(r"\s*(?:的)?(?:台阶|大关|门槛|关口|(?:mark|threshold)(?![a-z]))")
_MEASURE_AFTER = re.compile(r"\s*(?:in|of|worth of)\s+(exports|imports)(?![a-z])")  # "US$276.4 billion in exports"
_LIST_JOIN = re.compile(r"^\s*(?:、|,|和|及|与|以及|and|,\s*and|&)?\s*$")
_COUNT_WORD = re.compile(r"^\s*(?:[二两三四五六七八九十\d]+|two|three|four|five|six|seven|eight|nine|ten)\s*(?:个)?(?:市|省|城市|地市|省市|地区|cities|provinces)\s*")


@dataclass
class Figure:
    """One figure the extractor reads: what `citytrade extract --json` prints for it."""

    area_code: str
    area_name: str
    year: int
    month_from: int
    month_to: int
    basis: str
    measure: str
    value: str
    unit: str
    unit_code: str
    value_cny: float | None
    yoy_pct: float | None
    quote: str
    span_start: int
    span_end: int
    yoy_resolution: float | None = None
    line: int = 0

    def public(self) -> dict:
        row = asdict(self)
        del row["yoy_resolution"], row["line"]
        return row


@dataclass
class Refusal:
    quote: str
    span_start: int
    span_end: int
    reason: str
    blocking: bool = False  # a fixable problem of the release (an unknown area, a contradiction): quarantined
    line: int = 0

    def public(self) -> dict:
        return {"quote": self.quote, "span_start": self.span_start, "span_end": self.span_end, "reason": self.reason}


@dataclass
class Extraction:
    figures: list[Figure]
    refused: list[Refusal]


# a pinyin gloss after a character, as some reprints of Traditional releases carry them: 進(jìn)口, 增長(zhǎng)
_GLOSS = re.compile(r"(?<=[\u4e00-\u9fff])\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ]{1,8}\)")


def without_glosses(folded: str) -> tuple[str, list[int]]:
    """The folded text without pinyin glosses, and for each of its characters the offset of that character in the
    text as decoded (spans and quotes are always of the decoded text)."""
    kept, positions, last = [], [], 0
    for match in _GLOSS.finditer(folded):
        kept.append(folded[last : match.start()])
        positions.extend(range(last, match.start()))
        last = match.end()
    kept.append(folded[last:])
    positions.extend(range(last, len(folded)))
    positions.append(len(folded))
    return "".join(kept), positions


class _Original:
    """Spans of the compacted text read in the decoded text."""

    def __init__(self, text: str, positions: list[int]):
        self.text, self.positions = text, positions

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.positions[start], (self.positions[end - 1] + 1 if end > start else self.positions[start])

    def __call__(self, start: int, end: int) -> str:
        low, high = self.span(start, end)
        return self.text[low:high]


class _Layout:
    """Paragraphs, sentences and clauses of the folded text, as sorted boundaries."""

    def __init__(self, folded: str):
        self.folded = folded
        self.paragraphs = [0] + [m.end() for m in re.finditer(r"\n+", folded)]
        breaks = {0}
        for match in re.finditer(r"[。!?！？\n]|(?<=[a-z0-9%)\"'])\.(?=\s|$)", folded):
            word = re.search(r"([a-z.]+)\.$", folded[max(0, match.start() - 6) : match.end()])
            if match.group() == "." and word and word.group(1) in ("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
                                                                   "sept", "oct", "nov", "dec", "u.s", "mr", "no", "st"):
                continue  # fmt: skip
            breaks.add(match.end())
        self.sentences = sorted(breaks)
        clause = set(self.sentences)
        for match in re.finditer(r"[,;:()（）]", folded):
            before, after = folded[: match.start()].rstrip()[-1:], folded[match.end() :].lstrip()[:1]
            if match.group() == "," and before.isdigit() and after.isdigit():
                continue  # 4,588 or a list of figures "3.38, 3.23 and 2.82"
            clause.add(match.end())
        self.clauses = sorted(clause)

    @staticmethod
    def _start(bounds: list[int], position: int) -> int:
        return bounds[bisect.bisect_right(bounds, position) - 1]

    @staticmethod
    def _end(bounds: list[int], position: int, limit: int) -> int:
        index = bisect.bisect_right(bounds, position)
        return bounds[index] if index < len(bounds) else limit

    def sentence(self, position: int) -> tuple[int, int]:
        return self._start(self.sentences, position), self._end(self.sentences, position, len(self.folded))

    def clause(self, position: int) -> tuple[int, int]:
        return self._start(self.clauses, position), self._end(self.clauses, position, len(self.folded))

    def paragraph_start(self, position: int) -> int:
        return self._start(self.paragraphs, position)

    def line(self, position: int) -> int:
        return self.folded.count("\n", 0, position) + 1


def _nearest_before(items, position: int, floor: int):
    best = None
    for item in items:
        if floor <= item.start and item.end <= position:
            best = item
    return best


def extract_figures(press: PressText, published_on: dt.date, area: str | None, basis: str, resolver: AreaResolver,
                    rate: Callable[[int, int, int], float | None] | None = None) -> Extraction:  # fmt: skip
    """Read the figures of one release. `area` is the sidecar's (what 我市 / the city mean), `basis` its default;
    rate(year, month_from, month_to) gives the CNY/USD rate for a USD figure's value_cny (None: left null)."""
    folded, positions = without_glosses(press.folded)
    original = _Original(press.text, positions)
    layout = _Layout(folded)
    own_code = own_area(area, resolver)
    amounts = find_amounts(folded)
    percents = find_percents(folded, lambda position: layout.clause(position)[0])
    periods = find_periods(folded)
    for period in periods:
        clause_start, clause_end = layout.clause(period.start)
        lead = folded[clause_start : period.start].strip()
        period.topical = lead in ("", "今年", "in", "during", "其中") or not any(
            clause_start <= amount.start < clause_end for group in amounts for amount in group)  # fmt: skip
    subjects = find_subjects(folded, resolver)
    for subject in subjects:
        subject.word = original(subject.start, subject.end)  # as written, for the reasons
    measures = find_measures(folded)
    refused: list[Refusal] = []
    figures: list[Figure] = []

    def clip(start: int, end: int) -> tuple[str, int, int]:
        start, end = original.span(start, end)
        text = press.text
        while start < end and (text[start].isspace() or text[start] in ",，;；:：。.、"):
            start += 1
        while end > start and (text[end - 1].isspace() or text[end - 1] in ",，;；:：。、."):
            end -= 1
        return text[start:end], start, end

    def refuse(start: int, end: int, reason: str, blocking: bool = False) -> None:
        quote, start, end = clip(start, end)
        refused.append(Refusal(quote, start, end, reason, blocking, layout.line(start)))

    # ---- shares and point changes are never a figure
    growth_groups = []
    for group in percents:
        kind = group[0].kind
        if kind == "share":
            refuse(*layout.clause(group[0].start), f"share ({original(group[0].start, group[-1].end)}), not a growth rate")
        elif kind == "points":
            refuse(*layout.clause(group[0].start), f"percentage-point change ({original(group[0].start, group[-1].end)}), not a growth rate")
        elif kind == "growth":
            growth_groups.append(group)

    # ---- restatements in brackets: "498.7亿元（近500亿元）"
    restated: dict[int, Amount] = {}
    restatements: set[int] = set()
    for index, group in enumerate(amounts):
        if index + 1 < len(amounts) and len(group) == 1 and len(amounts[index + 1]) == 1:
            gap = folded[group[0].end : amounts[index + 1][0].start]
            after = folded[amounts[index + 1][0].end : amounts[index + 1][0].end + 3]
            if re.fullmatch(r"\s*[(（]\s*[a-z\s]*", gap) and re.match(r"\s*[a-z\s]*[)）]", after):
                restatements.add(id(amounts[index + 1][0]))
                restated[id(group[0])] = amounts[index + 1][0]

    # ---- growth to the amounts they belong to
    growth_of: dict[int, Percent] = {}
    flat_amounts = [amount for group in amounts for amount in group if id(amount) not in restatements]
    for group in growth_groups:
        clause_start, clause_end = layout.clause(group[0].start)
        sentence_start, sentence_end = layout.sentence(group[0].start)
        money_groups = [g for g in amounts if id(g[0]) not in restatements]
        # a list of growth rates pairs with the list of amounts before it
        if len(group) > 1:
            target = next((g for g in reversed(money_groups) if g[-1].end <= group[0].start and g[0].start >= sentence_start and len(g) == len(group)), None)
            if target:
                for amount, percent in zip(target, group):
                    growth_of[id(amount)] = percent
            continue
        percent = group[0]
        clause_measures = [m for m in measures if clause_start <= m.start < percent.start]
        in_clause = [a for a in flat_amounts if clause_start <= a.start < clause_end and id(a) not in growth_of
                     and (a.end <= percent.start or not any(percent.end <= m.start < a.start for m in measures))]  # fmt: skip
        candidates = sorted(in_clause, key=lambda a: (a.start > percent.start, abs(a.start - percent.start)))
        if not candidates:
            before = [a for a in flat_amounts if sentence_start <= a.start and a.end <= percent.start and id(a) not in growth_of]
            if before and not clause_measures:
                candidates = [before[-1]]
            elif not any(sentence_start <= a.start and a.end <= percent.start for a in flat_amounts):
                # "…decreased by 5.9 percent in the first two months, reaching 124.49 billion yuan"
                after = [a for a in flat_amounts if percent.end <= a.start < sentence_end and id(a) not in growth_of]
                candidates = after[:1]
        if candidates:
            growth_of[id(candidates[0])] = percent

    # ---- each amount: measure, subject, period, then the checks
    own_rows: dict[tuple, Figure] = {}
    topic: Subject | None = None
    for group in amounts:
        if id(group[0]) in restatements:
            continue
        first = group[0]
        clause_start, clause_end = layout.clause(first.start)
        sentence_start, sentence_end = layout.sentence(first.start)
        paragraph_start = layout.paragraph_start(first.start)

        # measure: the nearest measure word before, in the clause, else in the sentence with no amount between
        measure = _nearest_before(measures, first.start, clause_start)
        if measure is None:
            earlier = _nearest_before(measures, first.start, sentence_start)
            breakdown = re.match(r"\s*(?:其中|among them|of which|therein)", folded[clause_start:first.start])
            if earlier and (breakdown or not any(earlier.end <= a.start < first.start for g in amounts for a in g)):
                measure = earlier  # "…进出口规模突破20万亿元，其中一季度、二季度分别达到…": a breakdown of the same measure
        quote_start = min(clause_start, layout.clause(measure.start)[0]) if measure else clause_start
        measure_list = _run(measures, measure, folded) if measure else []
        period = _period_for(periods, layout, first.start, sentence_start, sentence_end, clause_start, clause_end)
        period_list = _run(periods, period, folded) if period and len(group) > 1 else []
        if measure and len(group) == 2 and measure.measure == "total" and " and " in measure.word and len(period_list) != 2:
            words = measure.word.split(" and ")  # "exports and imports were 3 and 2 billion yuan respectively"
            measure_list = [Measure(measure.start, measure.end, "exports" if w.startswith("export") else "imports", w) for w in words]

        # subject: the nearest before in the paragraph, else the nearest area before, else the sidecar's area
        subject = _nearest_before(subjects, first.start, paragraph_start)
        qualifying = _nearest_before([s for s in subjects if s.kind in _REFUSED_KINDS], first.start, clause_start)
        if qualifying is not None:
            subject = qualifying  # "exports of integrated circuits from the province": the clause is about the product
        if subject is None:  # the area the text's last figure was about, not one a caption or headline names
            subject = topic or _nearest_before([s for s in subjects if s.kind in _AREA_KINDS], first.start, 0)
        if subject is not None and subject.kind in _AREA_KINDS:
            topic = subject
        subject_list = _run(subjects, subject, folded) if subject else []

        # period: in the clause, else before in the sentence, else after it in the sentence, else before in the text

        for position, amount in enumerate(group):
            growth = growth_of.get(id(amount))
            end = max(clause_end, layout.clause(growth.start)[1] if growth else 0)
            if len(group) > 1:
                quote_span = (min(quote_start, subject_list[0].start if subject_list and subject_list[0].start >= sentence_start else quote_start), end)
            else:
                quote_span = (quote_start, end)
            written_after = _MEASURE_AFTER.match(folded, amount.end)
            if measure is None and written_after is None:
                refuse(*layout.clause(amount.start), f"not a trade figure: no word for trade, exports or imports before {original(amount.start, amount.end)}")
                continue
            if written_after:
                this_measure = written_after.group(1)
            else:
                this_measure = measure_list[position].measure if len(measure_list) == len(group) else measure.measure
            if this_measure == "balance":
                refuse(*quote_span, f"trade balance ({original(measure.start, measure.end)}), not total, exports or imports")
                continue
            threshold = _THRESHOLD.match(folded, amount.end)
            if threshold:
                refuse(*quote_span, f"a threshold ({original(amount.start, threshold.end())}), not a figure")
                continue
            if amount.qualifier:
                refuse(*quote_span, f"qualified figure ({original(amount.start, amount.end).strip()}): not an exact value")
                continue
            this_subject = subject
            if subject_list and len(subject_list) == len(group) and len(group) > 1:
                this_subject = subject_list[position]
            elif len(subject_list) > 1 and len(group) == 1:
                words = "、".join(s.word for s in subject_list)
                refuse(*quote_span, f"a figure for several subjects together ({words})")
                continue
            elif len(group) > 1 and len(group) not in (len(measure_list), len(subject_list), len(period_list)):
                refuse(*quote_span, f"a list of {len(group)} figures for {len(subject_list) or 'no'} subject(s): cannot pair them")
                continue
            try:
                area_code, area_basis = _area_of(this_subject, own_code, resolver)
            except _NotAnArea as exc:
                refuse(*quote_span, exc.reason, blocking=exc.blocking)
                continue
            if period is None:
                refuse(*quote_span, "no period (前N个月, 1-N月, first N months, ...) for this figure", blocking=True)
                continue
            restatement = restated.get(id(amount))
            if restatement is not None and restatement.currency == amount.currency and restatement.scale:
                value, half = amount.in_currency()
                loose, loose_half = restatement.loose_in_currency()
                if abs(value - loose) > half + loose_half:
                    restated_text = original(restatement.start, restatement.end)
                    refuse(*quote_span, f"self-contradicting: {original(amount.start, amount.end)} and its restatement {restated_text} "
                                        f"differ beyond the restatement's rounding", blocking=True)  # fmt: skip
                    continue
            if growth is not None and growth.qualifier:
                refuse(*layout.clause(growth.start), f"qualified growth ({growth.qualifier} {growth.number}%): not an exact value")
                growth = None
            this_period = period_list[position] if len(period_list) == len(group) else period
            try:
                month_from, month_to, year = _window(this_period, periods, layout, first.start, published_on)
            except ValueError as exc:
                refuse(*quote_span, str(exc), blocking=True)
                continue
            figure_basis = area_basis or basis
            quote, span_start, span_end = clip(*quote_span)
            value_in_currency, _ = amount.in_currency()
            figure = Figure(
                area_code=area_code,
                area_name=resolver.areas[area_code].name_en if area_code in resolver.areas else area_code,
                year=year, month_from=month_from, month_to=month_to, basis=figure_basis, measure=this_measure,
                value=amount.number, unit=_written(original, amount), unit_code=amount.unit or "",
                value_cny=float(value_in_currency) if amount.currency == "CNY" else (
                    float(value_in_currency * Decimal(str(rate(year, month_from, month_to)))) if rate and rate(year, month_from, month_to) else None),
                yoy_pct=float(growth.value) if growth is not None else None,
                yoy_resolution=float(growth.resolution) if growth is not None else None,
                quote=quote, span_start=span_start, span_end=span_end, line=layout.line(span_start),
            )  # fmt: skip
            key = (figure.area_code, figure.year, figure.month_from, figure.month_to, figure.basis, figure.measure)
            if key in own_rows:
                before = own_rows[key]
                if before.value == figure.value and before.unit_code == figure.unit_code:
                    refuse(*quote_span, f"repeats the figure at chars {before.span_start}-{before.span_end}")
                else:
                    refuse(*quote_span, f"differs from the same figure at chars {before.span_start}-{before.span_end} "
                                                 f"({before.value} {before.unit})", blocking=True)  # fmt: skip
                continue
            own_rows[key] = figure
            figures.append(figure)
    refused.sort(key=lambda refusal: refusal.span_start)
    return Extraction(figures=figures, refused=refused)


def own_area(area: str | None, resolver: AreaResolver) -> str | None:
    """The sidecar's `area` as a code, written in either script (廣東 as 广东); UnknownArea if dim_area lacks it."""
    if area in (None, ""):
        return None
    try:
        return resolver.resolve(str(area))
    except UnknownArea:
        return resolver.resolve(fold(str(area)))


def _written(original: "_Original", amount: Amount) -> str:
    """The unit as the original text writes it (億元, not the folded 亿元)."""
    parts = [original(start, end).strip() for start, end in amount.unit_spans]
    return " ".join(part for part in parts if part)


def _run(items, last, folded: str) -> list:
    """The list that `last` ends: items before it joined only by 、 , 和 and (and a count word such as 三市)."""
    ordered = [item for item in items if item.end <= last.start]
    run = [last]
    for item in reversed(ordered):
        gap = folded[item.end : run[0].start]
        if _LIST_JOIN.match(gap):
            run.insert(0, item)
        else:
            break
    # "A、B、C三市" : the count word after the run, if any, must agree
    return run


class _NotAnArea(Exception):
    def __init__(self, reason: str, blocking: bool):
        super().__init__(reason)
        self.reason, self.blocking = reason, blocking


def _area_of(subject: Subject | None, own_code: str | None, resolver: AreaResolver) -> tuple[str, str | None]:
    """(area_code, basis or None) for a subject; _NotAnArea when the figure is not an area's."""
    if subject is None:
        if own_code:
            return own_code, None
        raise _NotAnArea("no area named for this figure, and the sidecar names none (set `area`)", True)
    if subject.kind in _REFUSED_KINDS:
        raise _NotAnArea(_REFUSED_KINDS[subject.kind].format(word=subject.word), False)
    if subject.kind == "self":
        if own_code is None:
            raise _NotAnArea(f"self-reference ({subject.word}) but the sidecar names no area (set `area`)", True)
        return own_code, None
    if subject.kind == "nation":
        return NATION_CODE, "national"
    if subject.kind == "unknown_area":
        try:
            return resolver.resolve(subject.word), None
        except UnknownArea:
            raise _NotAnArea(f"unknown area '{subject.word}': dim_area does not know it (add it to dbt_project/seeds/area_aliases.csv if it is one)", True)
    if subject.kind == "port":
        if subject.area_code is None:
            raise _NotAnArea(f"unknown port '{subject.word}'", True)
        return subject.area_code, "port"
    return subject.area_code, None


def _period_for(periods, layout, position, sentence_start, sentence_end, clause_start, clause_end) -> Period | None:
    in_clause = [p for p in periods if clause_start <= p.start < clause_end]
    if in_clause:
        return min(in_clause, key=lambda p: abs(p.start - position))
    before = [p for p in periods if sentence_start <= p.start and p.end <= position]
    if before:
        return ([p for p in before if p.topical] or before)[-1]
    after = [p for p in periods if position < p.start < sentence_end]
    if after:
        return after[0]
    earlier = [p for p in periods if p.end <= position]
    return ([p for p in earlier if p.topical] or earlier or [None])[-1]


def _window(period: Period, periods: list[Period], layout, position: int, published_on: dt.date) -> tuple[int, int, int]:
    """month_from, month_to, year of a figure's period: "当月" is the last month of the period before it."""
    base = period
    if period.single_month or period.month_from is None:
        earlier = [p for p in periods if p.end <= period.start and not p.single_month and p.month_to is not None]
        base = ([p for p in earlier if p.topical] or earlier or [None])[-1]
        if base is None:
            raise ValueError("当月 / this month without a period before it")
        month = base.month_to
        year = resolve_year(base, _year_hint(base, periods, layout), published_on)
        return month, month, year
    year = resolve_year(period, _year_hint(period, periods, layout), published_on)
    if period.month_from == period.month_to and period.year is None and period.year_offset is None:
        # "11月份" after "前11个月" of a named year: the same year
        earlier = [p for p in periods if p.end <= period.start and p.month_to is not None and not p.single_month]
        earlier = [p for p in earlier if p.topical] or earlier
        if earlier and (earlier[-1].year or earlier[-1].year_offset is not None):
            year = resolve_year(earlier[-1], None, published_on)
    return period.month_from, period.month_to, year


def _year_hint(period: Period, periods: list[Period], layout) -> int | None:
    """A bare year just before a period in its sentence ("2024年，…前11个月") gives it its year."""
    sentence_start, _ = layout.sentence(period.start)
    for other in reversed(periods):
        if other.end <= period.start and other.start >= sentence_start and other.year and other.month_from == 1 and other.month_to == 12:
            return other.year
    return None
