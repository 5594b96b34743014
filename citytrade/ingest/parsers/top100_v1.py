"""Parser for `top100-v1`: the annual Top 100 foreign-trade cities ranking, complete or partial."""

from __future__ import annotations
from citytrade.ingest.areas import AreaResolver, UnknownArea
from citytrade.ingest.parsers.base import ParsedRelease, as_int, read_table
from citytrade.ingest.releases import Release, ReleaseError
from citytrade.ingest.units import BadValue, parse_figure

REQUIRED = ("year", "rank", "area")
SUBINDEX_PREFIX = "subindex_"


def _is_header(names: list[str]) -> bool:
    lowered = [n.casefold() for n in names]
    return "rank" in lowered and "area" in lowered


def parse(release: Release, resolver: AreaResolver) -> ParsedRelease:
    complete = release.meta.get("complete")
    if not isinstance(complete, bool):
        raise ReleaseError("sidecar field complete must be true or false for top100-v1")
    table = read_table(release, _is_header)
    header = [n.casefold() for n in table.header]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ReleaseError(f"missing required column(s): {', '.join(missing)}")
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
