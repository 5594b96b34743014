"""Synthetic releases for tests and benchmarks: monthly year-to-date customs releases, deterministic by seed.

Every release says `synthetic: true` in its sidecar. The figures are built top-down so the hierarchy holds
(provinces sum to the nation, the cities of a province to at most the province), with yearly growth, a Spring
Festival dip in January-February and the rounding customs use. Optional detail by partner and HS section
(`citytrade-detail-v1`, both bases) scales a landing zone to exactly the rows asked for, a hundred million and more,
each area's window adding up to its totals; optional faults come with a ground-truth file saying which file and row
carry which fault.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from citytrade.config import SEEDS_DIR

FORMAT = "citytrade-v1"
DETAIL_FORMAT = "citytrade-detail-v1"
BASES = ("firm_location", "destination_source")
FAULTS_FILE = "FAULTS.json"  # not a .csv/.xlsx: discovery never takes it for a release
PUBLISHER = "citytrade synthetic generator"

# Monthly weight of a year's trade; the Spring Festival month gets a further dip (factories close for ~2 weeks).
SEASON = np.array([0.083, 0.074, 0.083, 0.083, 0.085, 0.085, 0.088, 0.088, 0.086, 0.081, 0.086, 0.098])
SPRING_FESTIVAL_MONTH = {2016: 2, 2017: 1, 2018: 2, 2019: 2, 2020: 1, 2021: 2, 2022: 2, 2023: 1, 2024: 2, 2025: 1, 2026: 2}
SPRING_FESTIVAL_DIP = 0.82
NATION_BASE_YUAN = 27.8e12  # about China's goods trade in 2017
# Rough relative size of the biggest trading provinces; the others draw a smaller lognormal weight.
BIG_PROVINCES = {"440000": 26.0, "320000": 16.0, "330000": 12.0, "310000": 12.0, "110000": 9.0, "370000": 9.0, "350000": 5.0}
# Firm-location vs destination/source: head offices in Beijing book far more than is produced or consumed there.
DESTINATION_TILT = {"110000": 1 / 3.7, "310000": 0.8}
# (unit, decimals) a release writes its figures in, with the share of releases using it.
UNITS = (("100m_yuan", 2, 0.6), ("100m_yuan", 1, 0.15), ("10k_yuan", 0, 0.15), ("billion_yuan", 3, 0.1))
NATION_UNITS = (("100m_yuan", 1, 0.7), ("trillion_yuan", 2, 0.3))
LABEL_STYLES = ("zh", "en", "code")

# Partner countries and regions, roughly by their trade with China: a detail window lists the first ones.
PARTNERS = (
    "United States", "Hong Kong", "Japan", "South Korea", "Taiwan", "Vietnam", "Germany", "Australia", "Russia", "Malaysia",
    "Brazil", "India", "Indonesia", "Thailand", "Netherlands", "Singapore", "Mexico", "Saudi Arabia", "United Kingdom",
    "Philippines", "France", "Canada", "Italy", "United Arab Emirates", "Chile", "Switzerland", "Iraq", "Kazakhstan",
    "Turkey", "Spain", "Poland", "Bangladesh", "Peru", "South Africa", "Belgium", "Pakistan", "Oman", "Kuwait", "Qatar",
    "Iran", "Angola", "Nigeria", "Argentina", "Colombia", "Israel", "Egypt", "Sweden", "Czech Republic", "Cambodia",
    "Myanmar", "Ireland", "Denmark", "Austria", "Hungary", "Kyrgyzstan", "Mongolia", "New Zealand", "Finland", "Norway",
    "Ukraine", "Sri Lanka", "Laos", "Algeria", "Ghana", "Kenya", "Morocco", "Ecuador", "Panama", "Venezuela",
    "Uzbekistan", "Romania", "Portugal", "Greece", "Slovakia", "Tanzania", "Ethiopia", "DR Congo", "Congo", "Zambia",
    "Guinea", "Liberia", "Mozambique", "Cote d'Ivoire", "Cameroon", "Senegal", "Gabon", "Nepal", "Jordan", "Lebanon",
    "Bahrain", "Azerbaijan", "Turkmenistan", "Tajikistan", "Georgia", "Belarus", "Serbia", "Slovenia", "Croatia",
    "Bulgaria", "Lithuania", "Latvia", "Estonia", "Luxembourg", "Malta", "Cyprus", "Iceland", "Uruguay", "Paraguay",
    "Bolivia", "Costa Rica", "Guatemala", "Dominican Republic", "Honduras", "Cuba", "Jamaica", "Trinidad and Tobago",
    "Papua New Guinea", "Fiji", "Brunei", "Macao", "Mauritania", "Sudan", "Libya", "Tunisia", "Madagascar", "Zimbabwe",
    "Uganda", "Benin", "Togo", "Sierra Leone",
)  # fmt: skip
HS_SECTIONS = tuple(f"S{number:02d}" for number in range(1, 22))  # HS sections I-XXI

FAULT_KINDS = (
    # kind, what the gate should do with it
    ("parts_total_mismatch", "row error: parts_total (exports + imports != total beyond rounding)"),
    ("magnitude_x100", "row error: magnitude (value 100 times its neighbours: wrong unit)"),
    ("ytd_decrease", "row error: cumulative window decreases"),
    ("growth_mismatch", "warning: growth (published % disagrees with the levels)"),
    ("negative_value", "quarantine at ingest: negative value"),
    ("unknown_area", "quarantine at ingest: unknown area"),
    ("bad_period", "quarantine at ingest: month 13"),
    ("non_numeric", "quarantine at ingest: value is not a number"),
)


@dataclass
class Areas:
    """The areas of seeds/areas.csv as arrays: provinces (incl. municipalities) and cities under them."""

    nation: dict
    provinces: list[dict]
    cities: list[dict]
    city_province_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))


@dataclass
class GenerateSummary:
    files: int = 0
    rows: int = 0
    detail_files: int = 0
    detail_rows: int = 0
    faults: list[dict] = field(default_factory=list)


def load_areas(seeds_dir: Path = SEEDS_DIR) -> Areas:
    with open(seeds_dir / "areas.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    nation = next(row for row in rows if row["level"] == "nation")
    provinces = [row for row in rows if row["level"] in ("province", "municipality")]
    cities = [row for row in rows if row["level"] == "city"]
    index = {row["area_code"]: i for i, row in enumerate(provinces)}
    areas = Areas(nation=nation, provinces=provinces, cities=cities)
    areas.city_province_index = np.array([index[row["province_code"]] for row in cities], dtype=int)
    return areas


# ---- the latent series: exact monthly values in yuan, per year


class Model:
    """Exact single-month values (yuan) by area, month and basis; year y depends only on the seed and years <= y."""

    def __init__(self, seed: int, start_year: int, areas: Areas):
        self.seed, self.start_year, self.areas = seed, start_year, areas
        n_prov, n_city = len(areas.provinces), len(areas.cities)
        base = np.random.default_rng([seed, 0])
        prov_weight = base.lognormal(0.0, 0.8, n_prov)
        for i, row in enumerate(areas.provinces):
            prov_weight[i] = BIG_PROVINCES.get(row["area_code"], prov_weight[i])
        dest_weight = prov_weight * base.lognormal(0.0, 0.25, n_prov)
        for i, row in enumerate(areas.provinces):
            dest_weight[i] *= DESTINATION_TILT.get(row["area_code"], 1.0)
        self.prov_weight = {"firm_location": prov_weight, "destination_source": dest_weight}
        city_weight = base.lognormal(0.0, 1.1, n_city)
        self.city_weight = {"firm_location": city_weight, "destination_source": city_weight * base.lognormal(0.0, 0.3, n_city)}
        # The cities of a province cover most, not all, of it (counties, development zones outside city figures).
        self.coverage = base.uniform(0.82, 0.97, n_prov)
        self.export_share = {"nation": 0.58, "prov": base.uniform(0.45, 0.72, n_prov), "city": base.uniform(0.35, 0.8, n_city)}
        self._years: dict[int, dict] = {}
        self._level = NATION_BASE_YUAN

    def year(self, year: int) -> dict:
        """{'nation': (2, 12), basis: {'prov': (2, P, 12), 'city': (2, C, 12)}}: exports/imports by month."""
        if year in self._years:
            return self._years[year]
        first = self.start_year - 1
        for y in range(first, year + 1):
            if y not in self._years:
                self._years[y] = self._build_year(y)
        return self._years[year]

    def _build_year(self, year: int) -> dict:
        areas = self.areas
        n_prov, n_city = len(areas.provinces), len(areas.cities)
        rng = np.random.default_rng([self.seed, year])
        growth = rng.normal(0.055, 0.045) if year >= self.start_year else 0.0
        self._level *= 1.0 + growth
        season = SEASON * rng.lognormal(0.0, 0.03, 12)
        season[SPRING_FESTIVAL_MONTH.get(year, 2) - 1] *= SPRING_FESTIVAL_DIP
        nation_month = self._level * season / season.sum()
        nation_export_share = self.export_share["nation"] + rng.normal(0.0, 0.015, 12)
        nation = np.stack([nation_month * nation_export_share, nation_month * (1 - nation_export_share)])
        result = {"nation": nation}
        prov_drift = rng.lognormal(0.0, 0.04, n_prov)  # shares move a little from year to year
        city_drift = rng.lognormal(0.0, 0.06, n_city)
        for basis in BASES:
            weight = self.prov_weight[basis] * prov_drift
            month_weight = weight[:, None] * rng.lognormal(0.0, 0.05, (n_prov, 12))
            prov_total = nation_month[None, :] * month_weight / month_weight.sum(axis=0, keepdims=True)
            prov_export_share = np.clip(self.export_share["prov"][:, None] + rng.normal(0, 0.02, (n_prov, 12)), 0.2, 0.9)
            prov = np.stack([prov_total * prov_export_share, prov_total * (1 - prov_export_share)])
            # Split each province's total (not its parts) among its cities: sums stay below the province.
            city_w = self.city_weight[basis] * city_drift
            city_month_w = city_w[:, None] * rng.lognormal(0.0, 0.08, (n_city, 12))
            index = areas.city_province_index
            per_province = np.zeros((n_prov, 12))
            np.add.at(per_province, index, city_month_w)
            city_total = prov_total[index] * self.coverage[index, None] * city_month_w / per_province[index]
            city_export_share = np.clip(self.export_share["city"][:, None] + rng.normal(0, 0.03, (n_city, 12)), 0.1, 0.95)
            # A city cannot export more than its province: cap its parts by the province's parts times coverage.
            city_exports = np.minimum(city_total * city_export_share, prov[0][index] * self.coverage[index, None] * city_month_w / per_province[index])
            city_imports = np.minimum(city_total - city_exports, prov[1][index] * self.coverage[index, None] * city_month_w / per_province[index])
            city = np.stack([city_exports, city_imports])
            result[basis] = {"prov": prov, "city": city}
        return result


# ---- writing releases


def _fmt(values: np.ndarray, factor: float, decimals: int) -> list[str]:
    scaled = np.round(values / factor, decimals)
    return [f"{value:.{decimals}f}" for value in scaled]


def _growth(current: np.ndarray, prior: np.ndarray) -> list[str]:
    pct = np.round((current / prior - 1.0) * 100.0, 1)
    return [f"{value:.1f}" for value in pct]


UNIT_FACTOR = {"10k_yuan": 1e4, "100m_yuan": 1e8, "billion_yuan": 1e9, "trillion_yuan": 1e12}


def _pick(rng: np.random.Generator, choices: tuple) -> tuple:
    shares = np.array([choice[-1] for choice in choices])
    return choices[int(rng.choice(len(choices), p=shares / shares.sum()))]


def _label(row: dict, style: str, duplicate_en: set[str]) -> str:
    if style == "code":
        return row["area_code"]
    if style == "en" and row["name_en"] not in duplicate_en:
        return row["name_en"]
    return row["name_zh"]


def _published_on(year: int, month_to: int) -> dt.date:
    return dt.date(year + (month_to == 12), month_to % 12 + 1, 20)


def _write_sidecar(path: Path, meta: dict) -> None:
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else value}" for key, value in meta.items()]
    path.with_name(path.stem + ".meta.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def release_months(year_index: int, years: int, last_year_months: int | None) -> list[int]:
    """The month_to of each release of a year: Jan-Feb come together, so 2..12 (or up to the partial last year's)."""
    last = 12 if (last_year_months is None or year_index < years - 1) else last_year_months
    return list(range(2, last + 1))


def generate(
    out: Path,
    *,
    years: int,
    seed: int,
    start_year: int = 2018,
    last_year_months: int | None = None,
    detail_rows: int = 0,
    faults: int = 0,
) -> GenerateSummary:
    """Write the releases under `out` (which must not be the sample landing zone); returns what was written."""
    if years < 1:
        raise ValueError("--years must be at least 1")
    if last_year_months is not None and not 2 <= last_year_months <= 12:
        raise ValueError("--months must be 2..12 (January and February are published together)")
    if detail_rows < 0:
        raise ValueError("--detail-rows cannot be negative")
    areas = load_areas()
    if detail_rows > detail_capacity(areas, years, last_year_months):  # before anything is written
        raise ValueError(_too_many_detail_rows(detail_rows, areas, years, last_year_months))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = Model(seed, start_year, areas)
    duplicate_en = _duplicates([row["name_en"] for row in [areas.nation, *areas.provinces, *areas.cities]])
    summary = GenerateSummary()
    written: list[tuple[Path, str]] = []  # (file, basis) of the city/province releases, for faults

    # ---- monthly year-to-date releases
    for year_index in range(years):
        year = start_year + year_index
        current, prior = model.year(year), model.year(year - 1)
        for month_to in release_months(year_index, years, last_year_months):
            rng = np.random.default_rng([seed, year, month_to])
            nation_path = out / "national" / str(year) / f"national_{year}_{month_to:02d}.csv"
            summary.rows += _write_release(
                nation_path, rng, NATION_UNITS, [areas.nation], "national", year, month_to,
                current["nation"][:, None, :], prior["nation"][:, None, :], seed, duplicate_en,
            )  # fmt: skip
            summary.files += 1
            for basis in BASES:
                path = out / basis / str(year) / f"{basis}_{year}_{month_to:02d}.csv"
                parts = np.concatenate([current[basis]["prov"], current[basis]["city"]], axis=1)
                prior_parts = np.concatenate([prior[basis]["prov"], prior[basis]["city"]], axis=1)
                summary.rows += _write_release(
                    path, rng, UNITS, [*areas.provinces, *areas.cities], basis, year, month_to, parts, prior_parts, seed, duplicate_en,
                )  # fmt: skip
                summary.files += 1
                written.append((path, basis))

    # ---- detail by partner and HS section
    if detail_rows > 0:
        summary.detail_rows, summary.detail_files = _write_detail(out, model, areas, seed, start_year, years, last_year_months, detail_rows)

    # ---- faults, with the ground truth
    if faults > 0:
        summary.faults = _inject_faults(out, written, seed, faults)
        (out / FAULTS_FILE).write_text(json.dumps(summary.faults, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


def _duplicates(names: list[str]) -> set[str]:
    seen, duplicates = set(), set()
    for name in names:
        (duplicates if name in seen else seen).add(name)
    return duplicates


def _write_release(
    path: Path, rng, unit_choices, rows: list[dict], basis: str, year: int, month_to: int,
    months: np.ndarray, prior_months: np.ndarray, seed: int, duplicate_en: set[str],
) -> int:  # fmt: skip
    """One citytrade-v1 release: window 1..month_to for every area, with growth against the prior year."""
    unit, decimals, _ = _pick(rng, unit_choices)
    style = LABEL_STYLES[int(rng.integers(len(LABEL_STYLES)))]
    factor = UNIT_FACTOR[unit]
    ytd = months[:, :, :month_to].sum(axis=2)  # (2, areas): exports, imports
    prior_ytd = prior_months[:, :, :month_to].sum(axis=2)
    exports, imports = ytd
    total = exports + imports
    columns = {
        "total": _fmt(total, factor, decimals),
        "exports": _fmt(exports, factor, decimals),
        "imports": _fmt(imports, factor, decimals),
        "total_yoy_pct": _growth(total, prior_ytd.sum(axis=0)),
        "exports_yoy_pct": _growth(exports, prior_ytd[0]),
        "imports_yoy_pct": _growth(imports, prior_ytd[1]),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["area", "year", "month_from", "month_to", *columns])
        for i, row in enumerate(rows):
            writer.writerow([_label(row, style, duplicate_en), year, 1, month_to, *(values[i] for values in columns.values())])
    _write_sidecar(path, {
        "format": FORMAT,
        "publisher": PUBLISHER,
        "title": f"Synthetic {basis.replace('_', ' ')} trade, January-{dt.date(year, month_to, 1):%B} {year}",
        "published_on": _published_on(year, month_to).isoformat(),
        "unit": unit,
        "basis": basis,
        "synthetic": True,
        "notes": f"generated by `citytrade generate --seed {seed}`; not real figures",
    })  # fmt: skip
    return len(rows)


def detail_capacity(areas: Areas, years: int, last_year_months: int | None) -> int:
    """The most detail rows a landing zone of these years can hold: one row per area, window, basis, partner and
    HS section."""
    windows = sum(len(release_months(i, years, last_year_months)) for i in range(years))
    return windows * (len(areas.provinces) + len(areas.cities)) * len(BASES) * len(PARTNERS) * len(HS_SECTIONS)


def _too_many_detail_rows(target: int, areas: Areas, years: int, last_year_months: int | None) -> str:
    windows = sum(len(release_months(i, years, last_year_months)) for i in range(years))
    return (f"--detail-rows {target} is more than {years} year(s) of releases can hold: at most {detail_capacity(areas, years, last_year_months)} "
            f"({len(areas.provinces) + len(areas.cities)} areas x {windows} windows x {len(BASES)} bases x {len(PARTNERS)} partners "
            f"x {len(HS_SECTIONS)} HS sections); add --years or ask for fewer")  # fmt: skip


def _combinations() -> tuple[np.ndarray, np.ndarray]:
    """(partner index, section index) of every detail combination, in the order a release lists them: square shells
    (the first k combinations are k**2 = the first k partners by the first k sections), then one partner at a time.
    A window of n rows gives the first n, so a small request covers the biggest partners and sections evenly."""
    partner, section = np.meshgrid(np.arange(len(PARTNERS)), np.arange(len(HS_SECTIONS)), indexing="ij")
    partner, section = partner.ravel(), section.ravel()
    order = np.lexsort((section, partner, np.maximum(partner, section)))
    return partner[order], section[order]


def _rows_per_window(windows: list[tuple[int, int, list[int]]], n_areas: int, target: int) -> dict[tuple[int, int], np.ndarray]:
    """How many rows each (year, basis) file gives each area and window so that they add up to `target` exactly:
    the same count everywhere, one more in the windows that come first in (windows before the year's last,
    year, basis, area) order. Within an area's year a window never has fewer rows than the one before it, so
    that every row's year-to-date figure grows through the year as the totals do."""
    keys, shapes = [], []
    for year_index, basis_index, months in windows:
        count = len(months)
        from_end = np.repeat((count - 1 - np.arange(count))[None, :], n_areas, axis=0)
        keys.append(np.stack([from_end.ravel(), np.full(from_end.size, year_index), np.full(from_end.size, basis_index),
                              np.repeat(np.arange(n_areas), count)]))  # fmt: skip
        shapes.append((n_areas, count))
    key = np.concatenate(keys, axis=1)
    base, extra = divmod(target, key.shape[1])
    rank = np.empty(key.shape[1], dtype=np.int64)
    rank[np.lexsort(key[::-1])] = np.arange(key.shape[1])
    counts = base + (rank < extra)
    result, start = {}, 0
    for (year_index, basis_index, _), shape in zip(windows, shapes):
        size = shape[0] * shape[1]
        result[(year_index, basis_index)] = counts[start : start + size].reshape(shape)
        start += size
    return result


# Areas per block of a detail file held in memory at once: a few hundred thousand rows whatever the request.
DETAIL_AREAS_PER_BLOCK = 16


def _write_detail(out: Path, model: Model, areas: Areas, seed: int, start_year: int, years: int, last_year_months: int | None, target: int) -> tuple[int, int]:
    """One detail file per year and basis: area x ytd window x partner x HS section, in 10k yuan, exactly `target`
    rows. Each area's window is split among its first n partner x section combinations by fixed weights, month by
    month, so a window's rows add up to the area's year-to-date exports and imports (before rounding to 10k yuan).
    Written a block of areas at a time: memory stays bounded at any size."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    rows = [*areas.provinces, *areas.cities]
    codes = pa.array([row["area_code"] for row in rows])
    partner_names, section_names = pa.array(PARTNERS), pa.array(HS_SECTIONS)
    partner_of, section_of = _combinations()
    windows = [(i, b, release_months(i, years, last_year_months)) for i in range(years) for b in range(len(BASES))]
    counts = _rows_per_window(windows, len(rows), target)
    # Fixed weights per basis and area: partners fall off with their rank (as trade does), sections vary.
    base = np.random.default_rng([seed, 3])
    rank_weight = 1.0 / np.arange(1, len(PARTNERS) + 1) ** 1.1
    weights = {
        basis: (rank_weight[None, :] * base.lognormal(0.0, 0.6, (len(rows), len(PARTNERS))))[:, partner_of]
        * base.dirichlet(np.full(len(HS_SECTIONS), 1.0), len(rows))[:, section_of]
        for basis in BASES
    }  # (areas, combinations) in listing order
    cumulative = {basis: np.cumsum(weight, axis=1) for basis, weight in weights.items()}
    schema = pa.schema([("area", pa.string()), ("year", pa.int32()), ("month_from", pa.int8()), ("month_to", pa.int8()),
                        ("partner_region", pa.string()), ("hs_section", pa.string()), ("exports", pa.int64()), ("imports", pa.int64())])  # fmt: skip
    options = pa_csv.WriteOptions(quoting_style="none", quoting_header="none")
    total_rows = files = 0
    for year_index, basis_index, months_to in windows:
        year, basis = start_year + year_index, BASES[basis_index]
        current = model.year(year)[basis]
        months = np.concatenate([current["prov"], current["city"]], axis=1)  # (2, areas, 12): exports, imports by month
        file_counts = counts[(year_index, basis_index)]  # (areas, windows)
        path = out / "detail" / str(year) / f"detail_{basis}_{year}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with pa_csv.CSVWriter(str(path), schema, write_options=options) as writer:
            for first in range(0, len(rows), DETAIL_AREAS_PER_BLOCK):
                block = _detail_block(months, file_counts, months_to, weights[basis], cumulative[basis], range(first, min(first + DETAIL_AREAS_PER_BLOCK, len(rows))))
                if block is None:
                    continue
                area, month_to, combination, exports, imports = block
                n = len(area)
                writer.write_table(pa.table({
                    "area": codes.take(area), "year": pa.array(np.full(n, year, dtype=np.int32)),
                    "month_from": pa.array(np.ones(n, dtype=np.int8)), "month_to": pa.array(month_to.astype(np.int8)),
                    "partner_region": partner_names.take(partner_of[combination]), "hs_section": section_names.take(section_of[combination]),
                    "exports": pa.array(exports), "imports": pa.array(imports),
                }, schema=schema))  # fmt: skip
                total_rows += n
        _write_sidecar(path, {
            "format": DETAIL_FORMAT,
            "publisher": PUBLISHER,
            "title": f"Synthetic trade by partner and HS section, {basis.replace('_', ' ')}, {year}",
            "published_on": _published_on(year, 12).isoformat(),
            "unit": "10k_yuan",
            "basis": basis,
            "synthetic": True,
            "notes": f"generated by `citytrade generate --seed {seed}`; not real figures",
        })  # fmt: skip
        files += 1
    return total_rows, files


def _detail_block(months: np.ndarray, counts: np.ndarray, months_to: list[int], weight: np.ndarray, cumulative: np.ndarray, block: range):
    """The rows of some areas' windows: (area index, month_to, combination index, exports, imports), or None.

    A month's value is split among the combinations listed in the window ending with it (January with February's),
    so a row's year-to-date value is the sum over the months since January of its share of each."""
    pieces = []
    window_of_month = np.array([max(month, 2) for month in range(1, max(months_to) + 1)])  # month_to of each month's window
    for area in block:
        listed = np.maximum(counts[area], 1)  # a month in a window with no rows is still counted in the later ones
        per_month = listed[np.searchsorted(months_to, window_of_month)]  # combinations listed in each month's window, January first
        for window, month_to in enumerate(months_to):
            n = int(counts[area, window])
            if n == 0:
                continue
            # Month t reached the first per_month[t] combinations (<= n: counts never fall through a year).
            share_sum = np.zeros((2, n))
            for reach in np.unique(per_month[:month_to]):  # one or two: a year's windows list n or n + 1 rows
                reached = months[:, area, :month_to][:, per_month[:month_to] == reach].sum(axis=1)
                share_sum[:, :reach] += reached[:, None] / cumulative[area, reach - 1]
            values = weight[area, :n][None, :] * share_sum / 1e4  # 10k yuan
            pieces.append((np.full(n, area), np.full(n, month_to), np.arange(n), np.round(values[0]).astype(np.int64), np.round(values[1]).astype(np.int64)))
    if not pieces:
        return None
    return tuple(np.concatenate(column) for column in zip(*pieces))


def _inject_faults(out: Path, written: list[tuple[Path, str]], seed: int, count: int) -> list[dict]:
    """Rewrite `count` rows of the generated releases with a known fault each; returns the ground truth."""
    rng = np.random.default_rng([seed, 2])
    # Not in the first year: its growth has no prior year in the landing zone to be checked against.
    first_year = min(path.parent.name for path, _ in written)
    candidates = [i for i, (path, _) in enumerate(written) if path.parent.name != first_year] or list(range(len(written)))
    chosen = rng.choice(candidates, size=min(count, len(candidates)), replace=False)
    truth = []
    for number, file_index in enumerate(sorted(int(i) for i in chosen)):
        path, basis = written[file_index]
        kind, expect = FAULT_KINDS[number % len(FAULT_KINDS)]
        with open(path, encoding="utf-8", newline="") as handle:
            table = list(csv.reader(handle))
        header = table[0]
        col = {name: i for i, name in enumerate(header)}
        # Only cities (rows after the provinces, which come first) and only with a sizeable total, so the fault is visible.
        data_index = int(rng.integers(40, len(table)))
        row = table[data_index]
        before = list(row)
        if kind == "parts_total_mismatch":
            row[col["total"]] = _scaled_text(row[col["total"]], 1.3)
        elif kind == "magnitude_x100":
            for name in ("total", "exports", "imports"):
                row[col[name]] = _scaled_text(row[col[name]], 100)
        elif kind == "ytd_decrease":
            for name in ("total", "exports", "imports"):
                row[col[name]] = _scaled_text(row[col[name]], 0.05)
        elif kind == "growth_mismatch":
            row[col["total_yoy_pct"]] = f"{float(row[col['total_yoy_pct']]) + 25:.1f}"
        elif kind == "negative_value":
            row[col["exports"]] = "-" + row[col["exports"]]
        elif kind == "unknown_area":
            row[col["area"]] = "Atlantis City"
        elif kind == "bad_period":
            row[col["month_to"]] = "13"
        elif kind == "non_numeric":
            row[col["imports"]] = "n/a"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(table)
        truth.append({
            "file": path.relative_to(out).as_posix(),
            "row": data_index + 1,  # line number in the file, header = 1, as quarantine and alerts count
            "area": before[col["area"]],
            "basis": basis,
            "fault": kind,
            "expected": expect,
            "before": dict(zip(header, before)),
            "after": dict(zip(header, row)),
        })  # fmt: skip
    return truth


def _scaled_text(text: str, factor: float) -> str:
    decimals = len(text.split(".")[1]) if "." in text else 0
    return f"{float(text) * factor:.{decimals}f}"
