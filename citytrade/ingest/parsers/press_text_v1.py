"""Parser for `press-text-v1`: a press release as .txt or .html, read by the extractor (citytrade/ingest/press_text)."""

from __future__ import annotations

import csv
from functools import lru_cache

from citytrade.config import SEEDS_DIR
from citytrade.ingest.areas import AreaResolver, UnknownArea
from citytrade.ingest.parsers.base import ParsedRelease, trade_row
from citytrade.ingest.press_text.extract import Extraction, Figure, extract_figures, own_area
from citytrade.ingest.press_text.text import PressTextError, read_press_text
from citytrade.ingest.releases import BASES, Release, ReleaseError
from citytrade.ingest.units import Figure as Written
from citytrade.ingest.units import parse_figure


def extract_release(release: Release, resolver: AreaResolver) -> tuple[Extraction, str]:
    """The figures and refusals of a release, and the encoding its text was read with; ReleaseError if unreadable."""
    meta = release.meta
    basis = str(meta.get("basis") or "firm_location")
    if basis not in BASES:
        raise ReleaseError(f"unknown basis '{basis}' (known: {', '.join(BASES)})")
    area = meta.get("area")
    if area not in (None, ""):
        try:
            own_area(str(area), resolver)
        except UnknownArea as exc:
            raise ReleaseError(f"sidecar area: {str(exc).strip(chr(34) + chr(39))}") from None
    try:
        press = read_press_text(release.data_path, meta.get("encoding"))
    except PressTextError as exc:
        raise ReleaseError(str(exc)) from None
    extraction = extract_figures(press, meta["published_on"], None if area in (None, "") else str(area), basis, resolver, cny_per_usd)
    return extraction, press.encoding


def parse(release: Release, resolver: AreaResolver) -> ParsedRelease:
    extraction, _ = extract_release(release, resolver)
    parsed = ParsedRelease(kind="trade")
    for refusal in extraction.refused:
        if refusal.blocking:
            parsed.rejects.append((refusal.line, f"chars {refusal.span_start}-{refusal.span_end}: {refusal.reason}: «{refusal.quote}»"))
        else:
            parsed.notes.append(refusal.public())
    rows: dict[tuple, list[Figure]] = {}
    for figure in extraction.figures:
        rows.setdefault((figure.area_code, figure.year, figure.month_from, figure.month_to, figure.basis), []).append(figure)
    for number, figures in enumerate(rows.values(), start=1):
        unit = figures[0].unit_code
        kept = []
        for figure in figures:
            if figure.unit_code != unit:
                parsed.rejects.append((figure.line, f"chars {figure.span_start}-{figure.span_end}: {figure.measure} is in {figure.unit} "
                                                    f"while the same area and period's {figures[0].measure} is in {figures[0].unit}: «{figure.quote}»"))  # fmt: skip
            else:
                kept.append(figure)
        try:
            row = trade_row(
                row_number=number, area_raw=kept[0].area_name, area_code=kept[0].area_code, year=kept[0].year,
                month_from=kept[0].month_from, month_to=kept[0].month_to, basis=kept[0].basis, unit=unit,
                figures={f.measure: parse_figure(f.value) for f in kept},
                growth={f.measure: _growth(f) for f in kept if f.yoy_pct is not None},
                source_url=release.meta.get("source_url"),
            )  # fmt: skip
        except ValueError as exc:
            parsed.rejects.append((kept[0].line, f"chars {kept[0].span_start}-{kept[0].span_end}: {exc}: «{kept[0].quote}»"))
            continue
        row.update(_provenance(kept))
        parsed.rows.append(row)
    if not parsed.rows:
        reasons = sorted({reason for _, reason in parsed.rejects} | {note["reason"] for note in parsed.notes})
        shown = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more" if len(reasons) > 3 else "")
        raise ReleaseError(f"no figure of an area's total trade, exports or imports in the text ({shown or 'no amounts found'})")
    return parsed


def _growth(figure: Figure) -> Written:
    text = f"{figure.yoy_pct:.{_decimals(figure.yoy_resolution)}f}"
    return parse_figure(text, allow_negative=True)


def _decimals(resolution: float | None) -> int:
    decimals = 0
    while resolution is not None and resolution < 1 and decimals < 6:
        resolution *= 10
        decimals += 1
    return decimals


def _provenance(figures: list[Figure]) -> dict:
    """The row's quote: its clauses, as one stretch of text when they are near, else each quoted in turn."""
    start, end = min(f.span_start for f in figures), max(f.span_end for f in figures)
    quotes = []
    for figure in sorted(figures, key=lambda f: f.span_start):
        if not quotes or figure.quote not in quotes[-1]:
            quotes.append(figure.quote)
    joined = " … ".join(quotes)
    return {"quote": joined, "span_start": start, "span_end": end}


@lru_cache(maxsize=1)
def _rates() -> dict[tuple[int, int | None], float]:
    with open(SEEDS_DIR / "cny_usd_rates.csv", encoding="utf-8") as handle:
        return {(int(r["year"]), int(r["month"]) if r["month"] else None): float(r["cny_per_usd"]) for r in csv.DictReader(handle)}


def cny_per_usd(year: int, month_from: int, month_to: int) -> float | None:
    """The rate stg/int models convert a USD window at (int_cny_usd_rates_windowed): a single month's own, the mean of
    the window's months when the seed has them all (not for a full year), else the annual average."""
    rates = _rates()
    months = [rates.get((year, month)) for month in range(month_from, month_to + 1)]
    if (month_from, month_to) != (1, 12) and all(rate is not None for rate in months):
        return sum(months) / len(months)
    if (year, None) in rates:
        return rates[(year, None)]
    return sum(months) / len(months) if months and all(rate is not None for rate in months) else None
