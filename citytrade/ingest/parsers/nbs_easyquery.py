"""Parser for `nbs-easyquery`: the long export of the National Bureau of Statistics data portal."""

from __future__ import annotations
from citytrade.ingest.areas import AreaResolver, UnknownArea
from citytrade.ingest.parsers.base import ParsedRelease, as_int, check_columns, missing_columns, read_table, trade_defaults, trade_row
from citytrade.ingest.releases import Release
from citytrade.ingest.units import BadValue, parse_figure

# Indicator codes and the attribution basis each measures (all are total imports + exports).
INDICATOR_BASIS = {
    "A060101": "firm_location",
    "A060201": "destination_source",
}
REQUIRED = ("indicator_code", "region_code", "region_name", "year", "value")
# has_data is read; the names and the displayed value repeat what the codes and `value` say.
KNOWN = (*REQUIRED, "indicator_name", "requested_code", "display_value", "has_data")


def _is_header(names: list[str]) -> bool:
    return "indicator_code" in names and "region_code" in names


def _count_known(names: list[str]) -> int:
    return sum(name in KNOWN for name in names)


def parse(release: Release, resolver: AreaResolver) -> ParsedRelease:
    unit, basis = trade_defaults(release)
    table = read_table(release, _is_header, _count_known, REQUIRED)
    read_as = [name if name in KNOWN else None for name in table.header]
    check_columns(release, table.header, read_as, KNOWN, missing_columns(read_as, REQUIRED))
    parsed = ParsedRelease(kind="trade")
    for number, row in table.records():
        if str(row.get("has_data", "True")).strip().lower() in {"false", "0", "no"}:
            continue  # the portal lists region-years it has no figure for
        try:
            indicator = row["indicator_code"]
            if indicator not in INDICATOR_BASIS:
                raise ValueError(f"indicator {indicator} is not a trade total this parser knows ({', '.join(INDICATOR_BASIS)})")
            if INDICATOR_BASIS[indicator] != basis:
                raise ValueError(f"indicator {indicator} is on the {INDICATOR_BASIS[indicator]} basis but the sidecar says {basis}")
            try:
                total = parse_figure(row["value"])
            except BadValue as exc:
                raise ValueError(f"value: {exc}") from None
            if total is None:
                continue
            try:
                area_code = resolver.resolve(row["region_code"])
            except UnknownArea:
                area_code = resolver.resolve(row["region_name"])
            parsed.rows.append(
                trade_row(
                    row_number=number,
                    area_raw=row["region_name"],
                    area_code=area_code,
                    year=as_int(row["year"], "year"),
                    month_from=1,
                    month_to=12,
                    basis=basis,
                    unit=unit,
                    figures={"total": total},
                    growth={},
                    source_url=release.meta.get("source_url"),
                )
            )
        except (ValueError, UnknownArea) as exc:
            parsed.rejects.append((number, str(exc)))
    return parsed
