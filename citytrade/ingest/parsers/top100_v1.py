"""Parser for `top100-v1`: the annual Top 100 foreign-trade cities ranking, complete or partial."""

from __future__ import annotations
from citytrade.ingest.areas import AreaResolver, UnknownArea
from citytrade.ingest.parsers.base import ParsedRelease, as_int, check_columns, missing_columns, read_table
from citytrade.ingest.releases import Release, ReleaseError
from citytrade.ingest.units import BadValue, parse_figure

REQUIRED = ("year", "rank", "area")
# cities_in_list: the publisher's count of listed cities per region (SPEC 3), on rows with `rank` and `score` empty
# and the region in `area`.
KNOWN = (*REQUIRED, "score", "cities_in_list")
REGIONS = {
    "east": "east", "eastern": "east", "东部": "east", "central": "central", "中部": "central", "west": "west",
    "western": "west", "西部": "west", "northeast": "northeast", "northeastern": "northeast", "东北": "northeast",
}  # fmt: skip
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
    seen_regions: dict[tuple[int, str], int] = {}
    for number, row in table.records(header):
        if not row["rank"].strip() and (row.get("cities_in_list") or "").strip():
            try:
                parsed.region_counts.append(_region_count(number, row, seen_regions))
            except ValueError as exc:
                parsed.rejects.append((number, str(exc)))
            continue
        try:
            if (row.get("cities_in_list") or "").strip():
                raise ValueError("cities_in_list belongs on a region row, with rank and score empty")
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


def _region_count(number: int, row: dict, seen: dict[tuple[int, str], int]) -> dict:
    """A row stating how many listed cities lie in a region: `area` the region, `rank` and `score` empty."""
    year = as_int(row["year"], "year")
    region = REGIONS.get(row["area"].strip().casefold())
    if region is None:
        raise ValueError(f"'{row['area']}' is not a region (east, central, west, northeast) for cities_in_list")
    if (row.get("score") or "").strip():
        raise ValueError(f"a region row ({region}) has no score")
    count = as_int(row["cities_in_list"], "cities_in_list")
    if not 0 <= count <= 100:
        raise ValueError(f"cities_in_list {count} is not between 0 and 100")
    if (year, region) in seen:
        raise ValueError(f"{region} {year} already given on row {seen[(year, region)]}")
    seen[(year, region)] = number
    return {"row_number": number, "year": year, "region": region, "cities_in_list": count}
