"""Parser for `citytrade-v1`: one row per area and month window, English or Chinese headers."""

from __future__ import annotations
from citytrade.ingest.areas import AreaResolver, UnknownArea
from citytrade.ingest.parsers.base import (
    MEASURES, ParsedRelease, as_int, check_columns, check_unit, missing_columns, read_table, trade_defaults, trade_row,
)  # fmt: skip
from citytrade.ingest.releases import Release, ReleaseError, as_date
from citytrade.ingest.units import BadValue, parse_figure

ALIASES = {
    "area": ("area", "地区", "城市", "省份", "region"),
    "year": ("year", "年份", "年"),
    "month_from": ("month_from", "起始月", "开始月份", "月份起"),
    "month_to": ("month_to", "截止月", "结束月份", "月份止"),
    "total": ("total", "进出口", "进出口总额", "进出口总值"),
    "exports": ("exports", "出口", "出口额"),
    "imports": ("imports", "进口", "进口额"),
    "total_yoy_pct": ("total_yoy_pct", "进出口同比%", "进出口同比", "进出口同比(%)", "进出口增长%"),
    "exports_yoy_pct": ("exports_yoy_pct", "出口同比%", "出口同比", "出口同比(%)", "出口增长%"),
    "imports_yoy_pct": ("imports_yoy_pct", "进口同比%", "进口同比", "进口同比(%)", "进口增长%"),
    "unit": ("unit", "单位"),
    "source_url": ("source_url", "来源", "source"),
    "published_on": ("published_on", "发布日期"),  # a compilation's per-row date of publication (SPEC 3)
}
# A bare growth header after a value column is that value's growth (the usual layout of customs tables).
BARE_GROWTH = {"同比", "同比%", "同比(%)", "同比（%）", "同比±%", "增长%", "yoy_pct", "yoy%"}
REQUIRED = ("area", "year", "month_from", "month_to")

_LOOKUP = {alias.casefold(): canonical for canonical, names in ALIASES.items() for alias in names}
VOCABULARY = [alias for names in ALIASES.values() for alias in names]


def canonical_header(names: list[str]) -> list[str]:
    canonical, last_measure = [], None
    for name in names:
        key = name.strip().casefold().replace(" ", "")
        if key in _LOOKUP:
            column = _LOOKUP[key]
            last_measure = column if column in MEASURES else last_measure
        elif key in BARE_GROWTH and last_measure:
            column = f"{last_measure}_yoy_pct"
        else:
            column = name
        canonical.append(column)
    return canonical


def _is_header(names: list[str]) -> bool:
    columns = set(canonical_header(names))
    return "area" in columns and "year" in columns


def _count_known(names: list[str]) -> int:
    return sum(column in ALIASES for column in canonical_header(names))


def parse(release: Release, resolver: AreaResolver) -> ParsedRelease:
    default_unit, basis = trade_defaults(release)
    table = read_table(release, _is_header, _count_known, REQUIRED)
    header = canonical_header(table.header)
    read_as = [column if column in ALIASES else None for column in header]
    check_columns(release, table.header, read_as, VOCABULARY, missing_columns(read_as, REQUIRED, one_of=MEASURES))
    parsed = ParsedRelease(kind="trade")
    for number, row in table.records(header):
        try:
            unit = row.get("unit") or default_unit
            check_unit(unit, "unit")
            parsed.rows.append(
                trade_row(
                    row_number=number,
                    area_raw=row["area"],
                    area_code=resolver.resolve(row["area"]),
                    year=as_int(row["year"], "year"),
                    month_from=as_int(row["month_from"], "month_from"),
                    month_to=as_int(row["month_to"], "month_to"),
                    basis=basis,
                    unit=unit,
                    figures={m: _figure(row, m) for m in MEASURES},
                    growth={m: _growth(row, m) for m in MEASURES},
                    source_url=row.get("source_url") or release.meta.get("source_url"),
                    published_on=_published_on(row),
                )
            )
        except (ValueError, UnknownArea) as exc:
            parsed.rejects.append((number, str(exc).strip("'\"")))
    return parsed


def _figure(row: dict, measure: str):
    try:
        return parse_figure(row.get(measure))
    except BadValue as exc:
        raise ValueError(f"{measure}: {exc}") from None


def _growth(row: dict, measure: str):
    try:
        return parse_figure(row.get(f"{measure}_yoy_pct"), allow_negative=True)
    except BadValue as exc:
        raise ValueError(f"{measure}_yoy_pct: {exc}") from None


def _published_on(row: dict):
    """The row's own publication date, overriding the sidecar's (None: the sidecar's holds)."""
    text = (row.get("published_on") or "").strip()
    if not text:
        return None
    try:
        return as_date(text, "published_on")
    except ReleaseError:
        raise ValueError(f"published_on '{text}' is not a date (YYYY-MM-DD)") from None
