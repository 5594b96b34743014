"""Parser for `top100-v1`: the annual Top 100 foreign-trade cities ranking, complete or partial."""

from __future__ import annotations
from citytrade.ingest.areas import AreaResolver, UnknownArea
from citytrade.ingest.parsers.base import ParsedRelease, as_int, check_columns, missing_columns, read_table
from citytrade.ingest.releases import Release, ReleaseError
from citytrade.ingest.units import BadValue, parse_figure

REQUIRED = ("year", "rank", "area")
# cities_in_list: the publisher's count per region (SPEC), on rows without a rank: each is quarantined with its reason.
KNOWN = (*REQUIRED, "score", "cities_in_list")
SUBINDEX_PREFIX = "subindex_"
SUBINDICES = ("level", "structure", "efficiency", "development", "innovation", "potential")
VOCABULARY = (*KNOWN, *(f"{SUBINDEX_PREFIX}{name}" for name in SUBINDICES))


def _column(name: str) -> str | None:
    """The column a header cell names (case-insensitive), or None if this format does not read it."""
    name = name.casefold()
    return name if name in KNOWN or (name.startswith(SUBINDEX_PREFIX) and name != SUBINDEX_PREFIX) else None


def _is_header(names: list[str]) -> bool:
    lowered = [n.casefold() for n in names]
    return "rank" in lowered and "area" in lowered


def _count_known(names: list[str]) -> int:
    return sum(_column(name) is not None for name in names)


def parse(release: Release, resolver: AreaResolver) -> ParsedRelease:
    complete = release.meta.get("complete")
    if not isinstance(complete, bool):
        raise ReleaseError("sidecar field complete must be true or false for top100-v1")
    table = read_table(release, _is_header, _count_known, REQUIRED)
    header = [n.casefold() for n in table.header]
    read_as = [_column(name) for name in table.header]
    check_columns(release, table.header, read_as, VOCABULARY, missing_columns(read_as, REQUIRED))
    parsed = ParsedRelease(kind="top100")
    seen_ranks: dict[tuple[int, int], int] = {}
    for number, row in table.records(header):
        try:
            year, rank = as_int(row["year"], "year"), as_int(row["rank"], "rank")
            if rank < 1:
                raise ValueError(f"rank {rank} is not positive")
            if (year, rank) in seen_ranks:
                raise ValueError(f"rank {rank} of {year} already given on row {seen_ranks[(year, rank)]}")
            area_code = resolver.resolve(row["area"])
            try:
                score = parse_figure(row.get("score"))
                subindices = {
                    name[len(SUBINDEX_PREFIX) :]: parse_figure(value)
                    for name, value in row.items()
                    if name.startswith(SUBINDEX_PREFIX)
                }
            except BadValue as exc:
                raise ValueError(f"score: {exc}") from None
        except (ValueError, UnknownArea) as exc:
            parsed.rejects.append((number, str(exc)))
            continue
        seen_ranks[(year, rank)] = number
        parsed.rows.append(
            {
                "row_number": number,
                "year": year,
                "rank": rank,
                "area_raw": row["area"],
                "area_code": area_code,
                "score": float(score.value) if score else None,
                "is_complete_list": complete,
            }
        )
        for name, figure in subindices.items():
            if figure is not None:
                parsed.subindex_scores.append({"row_number": number, "subindex": name, "score": float(figure.value)})
    return parsed
