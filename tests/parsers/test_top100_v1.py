"""top100-v1: list entries, and the publisher's own counts per region on rows without a rank (SPEC 3)."""

from __future__ import annotations

from pathlib import Path

from citytrade.ingest.areas import default_resolver
from citytrade.ingest.parsers import top100_v1
from citytrade.ingest.releases import discover_releases
from conftest import write_release

TOP100 = {"format": "top100-v1", "complete": "false", "unit": None, "basis": None}


def _parse(raw: Path):
    (release,) = discover_releases(raw)
    return top100_v1.parse(release, default_resolver())


def test_region_rows_give_the_published_counts_beside_the_entries(raw_dir):
    write_release(raw_dir, "top100.csv", """\
        year,rank,area,score,cities_in_list
        2022,1,Shenzhen,88.57,
        2022,,east,,60
        2022,,中部,,26
        2022,,West,,10
        2022,,northeast,,4
    """, **TOP100)  # fmt: skip
    parsed = _parse(raw_dir)
    assert [(row["rank"], row["area_code"]) for row in parsed.rows] == [(1, "440300")]
    assert [(c["year"], c["region"], c["cities_in_list"], c["row_number"]) for c in parsed.region_counts] == [
        (2022, "east", 60, 3), (2022, "central", 26, 4), (2022, "west", 10, 5), (2022, "northeast", 4, 6),
    ]  # fmt: skip
    assert parsed.rejects == []


def test_bad_region_rows_are_rejected_each_with_its_reason(raw_dir):
    write_release(raw_dir, "top100.csv", """\
        year,rank,area,score,cities_in_list
        2022,,east,,60
        2022,,eastern,,61
        2022,,south,,5
        2022,,west,12.5,10
        2022,,central,,many
        2022,2,Shanghai,86.67,3
    """, **TOP100)  # fmt: skip
    parsed = _parse(raw_dir)
    assert [(c["region"], c["cities_in_list"]) for c in parsed.region_counts] == [("east", 60)]
    assert parsed.rows == []
    assert parsed.rejects == [
        (3, "east 2022 already given on row 2"),
        (4, "'south' is not a region (east, central, west, northeast) for cities_in_list"),
        (5, "a region row (west) has no score"),
        (6, "cities_in_list 'many' is not a whole number"),
        (7, "cities_in_list belongs on a region row, with rank and score empty"),
    ]
