"""Parser for `gacc-province-table`: the wide table customs publish by province, the month and the year to date side by side.

The General Administration of Customs publishes, every month, one table per attribution basis
("经营单位所在地进出口总值表", "境内目的地和货源地进出口总值表"): one row per province, and for each of
imports + exports, exports and imports the figure of the month (当月) and of the year to date (1至当月累计 /
累计), each with a growth column (同比±%). Layouts vary: one header row ("当月进出口", "累计出口同比%") or a
group row above the header ("进出口" spanning "当月 | 累计 | 同比"), title rows above, notes below.

Each data row yields two observations: the month window (m-m) and the year-to-date window (1-m). January
yields one (1-1). A window whose cells are all empty (January-February published together: no February
column) is skipped. The reporting year and month come from the sidecar (`year`, `month`) or, failing that,
from a title row such as "2024年11月".
"""

from __future__ import annotations

import re
from citytrade.ingest.areas import NATION_CODE, AreaResolver, UnknownArea
from citytrade.ingest.parsers.base import (
    MEASURES, ParsedRelease, as_int, check_columns, is_note_row, read_rows, trade_defaults, trade_row,
)  # fmt: skip
from citytrade.ingest.releases import Release, ReleaseError
from citytrade.ingest.units import BadValue, parse_figure

AREA_HEADERS = ("地区", "省份", "省市", "省区市", "收发货人所在地", "经营单位所在地", "境内目的地", "货源地",
                "境内目的地/货源地", "境内目的地和货源地", "area", "region", "province")  # fmt: skip
# The national total row of a provincial table; it is the nation's figure, on the `national` basis.
TOTAL_ROW_NAMES = {"总值", "合计", "总计", "全国", "全国合计", "total", "china"}
# Names the reason for an unknown column may suggest: what classify_columns reads, in its usual spellings.
VOCABULARY = (
    *AREA_HEADERS,
    *(f"{window}{measure}{growth}" for window in ("当月", "累计") for measure in ("进出口", "出口", "进口") for growth in ("", "同比±%")),
    *(f"{window} {measure}" for window in ("month", "ytd") for measure in ("total", "exports", "imports", "total yoy%")),
)
_TITLE_PERIOD = re.compile(r"(\d{4})\s*年\s*(?:1\s*[-至～~—–]\s*)?(\d{1,2})\s*月")
_NOISE = re.compile(r"[\s（）()\[\]【】:：]")


def _measure(name: str) -> str | None:
    if "进出口" in name or "total" in name:
        return "total"
    if "出口" in name or "export" in name:
        return "exports"
    if "进口" in name or "import" in name:
        return "imports"
    return None


def _window(name: str) -> str | None:
    if "累计" in name or "1至" in name or "1-" in name or "ytd" in name or "年初" in name:
        return "ytd"
    if "当月" in name or "本月" in name or "month" in name:
        return "month"
    return None


def _is_growth(name: str) -> bool:
    return any(mark in name for mark in ("同比", "增长", "增减", "±", "%", "yoy", "growth"))


def classify_columns(names: list[str]) -> dict[int, tuple[str, str, bool]]:
    """Column position -> (window, measure, is_growth) for every value column the table has."""
    columns: dict[int, tuple[str, str, bool]] = {}
    last: tuple[str, str] | None = None
    for position, raw in enumerate(names):
        name = _NOISE.sub("", raw).casefold()
        if not name or position == 0:
            continue
        growth = _is_growth(name)
        measure, window = _measure(name), _window(name)
        if growth and last and (measure is None or measure == last[1]):
            window, measure = window or last[0], last[1]  # a growth column belongs to the value column before it
        elif growth and measure and window is None:
            window = "ytd"  # customs compare the year to date with the same period a year before
        if measure is None or window is None:
            continue
        columns[position] = (window, measure, growth)
        if not growth:
            last = (window, measure)
    return columns


def _is_area_header(cells: list[str]) -> bool:
    first = _NOISE.sub("", cells[0]).casefold() if cells else ""
    return first in {h.casefold() for h in AREA_HEADERS} or first.endswith("所在地")


def _header(rows: list[tuple[int, list[str]]]) -> tuple[int, int, list[str], list[bool]]:
    """(header row index, first data row index, column names, whether each column has a heading cell of its own),
    folding in a two-row header.

    A two-row header has the measures (进出口, 出口, 进口) in one row, spanning the windows (当月, 累计, 同比)
    in the other; the area heading sits in either row. A spanning heading also names the empty-headed columns
    to its right: those are no columns of the table, and no unknown ones either.
    """
    for index, (_, cells) in enumerate(rows):
        if not _is_area_header(cells):
            continue
        names, data_start, heading_rows = list(cells), index + 1, [cells]
        if not classify_columns(names):
            below = rows[index + 1][1] if index + 1 < len(rows) else []
            above = rows[index - 1][1] if index > 0 else []
            if below and not below[0] and any(below[1:]):
                names, data_start, heading_rows = _combine(names, below), index + 2, [cells, below]
            elif any(above[1:]):
                names, heading_rows = _combine(above, names), [above, cells]
        written = [any(str(row[position]).strip() for row in heading_rows if position < len(row)) for position in range(len(names))]
        return index, data_start, names, written
    raise ReleaseError("no header row found: the first column of the table must be headed 地区, 收发货人所在地 or area")


def _combine(upper: list[str], lower: list[str]) -> list[str]:
    filled, current = [], ""
    for position, cell in enumerate(upper):
        current = cell or current if position else ""  # a merged cell spans the columns to its right
        filled.append(current)
    width = max(len(filled), len(lower))
    filled += [current] * (width - len(filled))
    lower = list(lower) + [""] * (width - len(lower))
    return [lower[0] or filled[0]] + [f"{filled[i]}{lower[i]}" for i in range(1, width)]


def _reporting_period(release: Release, rows: list[tuple[int, list[str]]], header_index: int) -> tuple[int, int]:
    year, month = release.meta.get("year"), release.meta.get("month")
    if year in (None, "") or month in (None, ""):
        for _, cells in rows[:header_index]:
            found = _TITLE_PERIOD.search(" ".join(cells))
            if found:
                year, month = year or found.group(1), month or found.group(2)
                break
    if year in (None, "") or month in (None, ""):
        raise ReleaseError("cannot tell the reporting month: add `year` and `month` to the sidecar (or a title like 2024年11月)")
    try:
        year, month = as_int(str(year), "year"), as_int(str(month), "month")
    except ValueError as exc:
        raise ReleaseError(f"sidecar {exc}") from None
    if not 1 <= month <= 12:
        raise ReleaseError(f"sidecar month {month} is not in 1-12")
    return year, month


def parse(release: Release, resolver: AreaResolver) -> ParsedRelease:
    unit, basis = trade_defaults(release)
    rows = read_rows(release)
    header_index, data_start, names, written = _header(rows)
    columns = classify_columns(names)
    read_as = [_column_label(*columns[position]) if position in columns else None for position in range(len(names))]
    read_as[0] = "area"
    has_values = any(not growth for _, _, growth in columns.values())
    missing = None if has_values else "missing required columns: no 当月 or 累计 value column for 进出口, 出口 or 进口"
    check_columns(release, [name if is_written else "" for name, is_written in zip(names, written)], read_as, VOCABULARY, missing)
    year, month = _reporting_period(release, rows, header_index)
    windows = {"month": (month, month), "ytd": (1, month)}
    parsed = ParsedRelease(kind="trade")
    for number, cells in rows[data_start:]:
        if not any(cells) or is_note_row(cells):
            continue
        try:
            parsed.rows.extend(_row_observations(release, resolver, number, cells, columns, windows, year, unit, basis))
        except (ValueError, UnknownArea) as exc:
            parsed.rejects.append((number, str(exc).strip("'\"")))
    return parsed


def _row_observations(release, resolver, number, cells, columns, windows, year, unit, basis) -> list[dict]:
    area_raw = cells[0].strip()
    if _NOISE.sub("", area_raw).casefold() in TOTAL_ROW_NAMES:
        area_code, row_basis = NATION_CODE, "national"
    else:
        area_code, row_basis = resolver.resolve(area_raw), basis
    found: dict[str, tuple[dict, dict]] = {"month": ({}, {}), "ytd": ({}, {})}
    for position, (window, measure, growth) in columns.items():
        text = cells[position] if position < len(cells) else ""
        try:
            figure = parse_figure(text, allow_negative=growth)
        except BadValue as exc:
            label = _column_label(window, measure, growth)
            raise ValueError(f"{label}: {exc}") from None
        if figure is not None:
            found[window][1 if growth else 0][measure] = figure
    observations = []
    for window in ("ytd", "month"):
        figures, growth = found[window]
        if not figures:
            continue
        month_from, month_to = windows[window]
        if window == "month" and (month_from, month_to) == windows["ytd"] and found["ytd"][0]:
            continue  # January: the month is the year to date
        observations.append(
            trade_row(
                row_number=number, area_raw=area_raw, area_code=area_code, year=year, month_from=month_from,
                month_to=month_to, basis=row_basis, unit=unit, figures=figures, growth=growth,
                source_url=release.meta.get("source_url"),
            )  # fmt: skip
        )
    if not observations:
        raise ValueError(f"none of {', '.join(MEASURES)} is given for the month or the year to date")
    return observations


def _column_label(window: str, measure: str, growth: bool) -> str:
    return f"{'year-to-date' if window == 'ytd' else 'month'} {measure}{' growth' if growth else ''}"
