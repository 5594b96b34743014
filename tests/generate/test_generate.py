"""The synthetic release generator: deterministic, labelled synthetic, consistent, and loadable by the pipeline."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from citytrade.ingest.areas import default_resolver
from citytrade.synthetic import FAULTS_FILE, HS_SECTIONS, PARTNERS, detail_capacity, generate, load_areas
from citytrade.ingest.releases import discover_releases, read_sidecar
from citytrade.ingest.units import known_units
from conftest import run_cli, run_flow


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _yuan(text: str, unit: str) -> Decimal:
    return Decimal(text) * known_units()[unit].factor


def _half_step(text: str, unit: str) -> Decimal:
    decimals = len(text.split(".")[1]) if "." in text else 0
    return Decimal(1).scaleb(-decimals) * known_units()[unit].factor / 2


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "raw"
    generate(out, years=2, seed=7)
    return out


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path, generated):
    again, other = tmp_path / "again", tmp_path / "other"
    generate(again, years=2, seed=7)
    generate(other, years=2, seed=8)
    assert _files(again) == _files(generated)
    assert _files(other).keys() == _files(generated).keys()
    assert _files(other) != _files(generated)


def test_adding_a_month_leaves_earlier_releases_byte_for_byte(tmp_path, generated):
    extended = tmp_path / "extended"
    generate(extended, years=3, seed=7, last_year_months=2)
    before, after = _files(generated), _files(extended)
    assert {name: after[name] for name in before} == before
    assert sorted(set(after) - set(before)) == [
        f"{basis}/2020/{basis}_2020_02.{suffix}"
        for basis in ("destination_source", "firm_location", "national")
        for suffix in ("csv", "meta.yaml")
    ]


def test_every_release_says_it_is_synthetic_and_parses_cleanly(generated):
    releases = discover_releases(generated)
    assert len(releases) == 2 * 11 * 3  # 2 years x windows 1-2..1-12 x (two bases + the nation)
    for release in releases:
        meta = read_sidecar(release.sidecar_path)
        assert meta["synthetic"] is True, release.rel_path
        assert meta["format"] == "citytrade-v1"
    resolver = default_resolver()
    areas = {resolver.resolve(row["area"]) for row in _read(generated / "firm_location/2019/firm_location_2019_12.csv")}
    expected = {code for code, area in resolver.areas.items() if area.level != "nation"}
    assert areas == expected  # every province, municipality and city, each once


def test_hierarchy_holds_within_rounding(generated):
    resolver = default_resolver()
    for basis in ("firm_location", "destination_source"):
        for month in (2, 7, 12):
            path = generated / basis / "2019" / f"{basis}_2019_{month:02d}.csv"
            unit = read_sidecar(path.with_name(path.stem + ".meta.yaml"))["unit"]
            nation_path = generated / "national" / "2019" / f"national_2019_{month:02d}.csv"
            nation_unit = read_sidecar(nation_path.with_name(nation_path.stem + ".meta.yaml"))["unit"]
            (nation_row,) = _read(nation_path)
            totals, slack = {}, {}
            for row in _read(path):
                code = resolver.resolve(row["area"])
                totals[code], slack[code] = _yuan(row["total"], unit), _half_step(row["total"], unit)
            cities_of = defaultdict(list)
            for code in totals:
                area = resolver.areas[code]
                if area.level == "city":
                    cities_of[area.province_code].append(code)
            for province, cities in cities_of.items():
                assert sum(totals[c] for c in cities) <= totals[province] + sum(slack[c] for c in cities) + slack[province], (path, province)
            provinces = [c for c in totals if resolver.areas[c].level in ("province", "municipality")]
            gap = abs(sum(totals[p] for p in provinces) - _yuan(nation_row["total"], nation_unit))
            assert gap <= sum(slack[p] for p in provinces) + _half_step(nation_row["total"], nation_unit), (path, gap)


def test_year_to_date_never_decreases_and_parts_add_up(generated):
    resolver = default_resolver()
    previous: dict[tuple, Decimal] = {}
    for month in range(2, 13):
        for basis in ("firm_location", "destination_source"):
            path = generated / basis / "2019" / f"{basis}_2019_{month:02d}.csv"
            unit = read_sidecar(path.with_name(path.stem + ".meta.yaml"))["unit"]
            for row in _read(path):
                assert (int(row["month_from"]), int(row["month_to"])) == (1, month)
                key = (basis, resolver.resolve(row["area"]))
                total, step = _yuan(row["total"], unit), _half_step(row["total"], unit)
                assert total + step >= previous.get(key, Decimal(0)), (path, row)
                previous[key] = total - step
                parts = _yuan(row["exports"], unit) + _yuan(row["imports"], unit)
                assert abs(parts - total) <= 3 * step, (path, row)


def test_spring_festival_months_are_the_quietest(generated):
    def nation_total(month: int) -> Decimal:
        path = generated / "national" / "2019" / f"national_2019_{month:02d}.csv"
        unit = read_sidecar(path.with_name(path.stem + ".meta.yaml"))["unit"]
        return _yuan(_read(path)[0]["total"], unit)

    jan_feb_monthly = nation_total(2) / 2
    other_months = [nation_total(m) - nation_total(m - 1) for m in range(3, 13)]
    assert jan_feb_monthly < min(other_months)


def test_faults_are_listed_with_file_row_and_kind(tmp_path):
    out = tmp_path / "raw"
    generate(out, years=2, seed=11, faults=8)
    truth = json.loads((out / FAULTS_FILE).read_text(encoding="utf-8"))
    assert len(truth) == 8
    assert len({fault["fault"] for fault in truth}) == 8
    for fault in truth:
        rows = list(csv.reader(open(out / fault["file"], encoding="utf-8", newline="")))
        header, written = rows[0], rows[fault["row"] - 1]
        assert dict(zip(header, written)) == fault["after"] != fault["before"], fault["fault"]
    # Without faults the same seed writes the before values back.
    clean = tmp_path / "clean"
    generate(clean, years=2, seed=11)
    for fault in truth:
        rows = list(csv.reader(open(clean / fault["file"], encoding="utf-8", newline="")))
        assert dict(zip(rows[0], rows[fault["row"] - 1])) == fault["before"]


def test_generate_refuses_the_sample_landing_zone(tmp_path):
    result = run_cli("generate", "--out", "data/raw/synthetic", "--years", "1", "--home", str(tmp_path / "home"))
    assert result.returncode != 0
    assert "sample landing zone" in result.stderr
    assert not Path("data/raw/synthetic").exists()


def test_generated_releases_run_through_the_pipeline_and_the_gate_finds_every_fault(tmp_path, prefect_harness):
    raw, home = tmp_path / "raw", tmp_path / "home"
    result = run_cli("generate", "--out", str(raw), "--years", "2", "--seed", "5", "--faults", "8",
                     "--detail-rows", "50000", "--home", str(home))  # fmt: skip
    assert result.returncode == 0, result.stderr
    truth = json.loads((raw / FAULTS_FILE).read_text(encoding="utf-8"))

    report = run_flow(raw, home)

    assert report.status == "published", report.message
    from citytrade.warehouse import connect

    con = connect(home / "warehouse.duckdb")
    quarantined = {(path, row) for path, row in con.execute("select path, row_number from raw.quarantine").fetchall()}
    judged = set(
        con.execute(
            """select releases.path, cast(split_part(verdicts.observation_id, '-', 2) as integer), verdicts.check_name
               from audit.row_verdicts as verdicts
               inner join raw.releases as releases on releases.release_id = split_part(verdicts.observation_id, '-', 1)"""
        ).fetchall()
    )
    warned = {(path, check) for path, check in con.execute("select source_file, check_name from audit.alerts where severity = 'warning'").fetchall()}
    for fault in truth:
        place = (fault["file"], fault["row"])
        if fault["expected"].startswith("quarantine"):
            assert place in quarantined, fault
        elif fault["expected"].startswith("row error"):
            assert any((path, row) == place for path, row, _ in judged), fault
        else:
            assert (fault["file"], "growth_vs_levels_total") in warned, fault
    # Nothing but the injected faults is quarantined.
    assert quarantined == {(f["file"], f["row"]) for f in truth if f["expected"].startswith("quarantine")}

    detail_rows = con.execute("select count(*), sum(exports_value + imports_value) * 1e4 from raw.trade_detail").fetchone()
    con.close()
    assert detail_rows[0] == 50000
    import duckdb

    published = duckdb.connect(str(home / "published" / "citytrade.duckdb"), read_only=True)
    mart_total = published.execute("select sum(total_cny) from marts.trade_by_partner_region").fetchone()[0]
    synthetic = published.execute("select count(*) from marts.releases").fetchone()[0]
    published.close()
    assert mart_total == pytest.approx(detail_rows[1], rel=1e-9)
    assert synthetic == 2 * 11 * 3 + 2 * 2  # and a detail file per year and basis


# ---- detail rows: exactly as many as asked for, adding up to the totals


def _detail(folder: Path) -> list[dict]:
    return [row for path in sorted(folder.glob("detail/*/*.csv")) for row in _read(path)]


def test_detail_rows_above_the_old_cap_are_written_exactly(tmp_path):
    # One window (January-February of one year): partner regions x HS sections capped this zone at 364 x 21 x 21 =
    # 160,524 rows, and a bigger request got that many without a word.
    out = tmp_path / "raw"
    summary = generate(out, years=1, seed=3, last_year_months=2, detail_rows=200_001)
    rows = _detail(out)
    assert summary.detail_rows == len(rows) == 200_001
    assert summary.detail_files == 2  # one per basis
    for path in out.glob("detail/*/*.csv"):  # each area, window, partner and section once per file (basis)
        keys = [(row["area"], row["month_to"], row["partner_region"], row["hs_section"]) for row in _read(path)]
        assert len(set(keys)) == len(keys) > 99_000
    # 274-275 rows per area and basis: the biggest 17 partners by the first 17 sections, not one partner by all 21.
    assert {row["partner_region"] for row in rows} == set(PARTNERS[:17])
    assert {row["hs_section"] for row in rows} == set(HS_SECTIONS[:17])


def test_a_detail_request_the_years_cannot_hold_fails_with_one_line_and_writes_nothing(tmp_path):
    capacity = detail_capacity(load_areas(), years=1, last_year_months=2)
    out = tmp_path / "raw"
    result = run_cli("generate", "--out", str(out), "--years", "1", "--months", "2", "--detail-rows", str(capacity + 1),
                     "--home", str(tmp_path / "home"))  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"citytrade: --detail-rows {capacity + 1} is more than 1 year(s) of releases can hold: at most {capacity} "
        "(364 areas x 1 windows x 2 bases x 130 partners x 21 HS sections); add --years or ask for fewer"
    ]
    assert not out.exists()
    assert generate(out, years=1, seed=3, last_year_months=2, detail_rows=capacity).detail_rows == capacity


def test_detail_windows_add_up_to_the_area_totals_and_never_decrease(tmp_path):
    out = tmp_path / "raw"
    generate(out, years=1, seed=4, detail_rows=30_001)  # 3 or 4 rows per area, window and basis
    resolver = default_resolver()
    # Year to date, every figure grows (or holds) from one window to the next, within its rounding.
    by_figure: dict[tuple, list[tuple[int, int, int]]] = defaultdict(list)
    for basis in ("firm_location", "destination_source"):
        for row in _read(out / "detail" / "2018" / f"detail_{basis}_2018.csv"):
            by_figure[(basis, row["area"], row["partner_region"], row["hs_section"])].append((int(row["month_to"]), int(row["exports"]), int(row["imports"])))
    for figure, windows in by_figure.items():
        windows.sort()
        for (_, exports, imports), (_, next_exports, next_imports) in zip(windows, windows[1:]):
            assert next_exports >= exports - 1 and next_imports >= imports - 1, figure
    # Each window's rows add up to the area's exports and imports of the citytrade-v1 release of the same basis.
    for basis in ("firm_location", "destination_source"):
        detail: dict[tuple, list] = defaultdict(lambda: [0, 0, 0])
        for row in _read(out / "detail" / "2018" / f"detail_{basis}_2018.csv"):
            entry = detail[(row["area"], int(row["month_to"]))]
            entry[0] += int(row["exports"])
            entry[1] += int(row["imports"])
            entry[2] += 1
        assert sum(entry[2] for entry in detail.values()) > 14_000
        for month in (2, 7, 12):
            path = out / basis / "2018" / f"{basis}_2018_{month:02d}.csv"
            unit = read_sidecar(path.with_name(path.stem + ".meta.yaml"))["unit"]
            for release_row in _read(path):
                exports, imports, count = detail[(resolver.resolve(release_row["area"]), month)]
                slack = count * Decimal(5000)  # each detail row rounded to 10k yuan
                for part, value in (("exports", exports), ("imports", imports)):
                    gap = abs(_yuan(release_row[part], unit) - Decimal(value) * 10_000)
                    assert gap <= _half_step(release_row[part], unit) + slack, (path, release_row["area"], part, gap)
