#!/usr/bin/env python3
"""Generate the dbt seeds ``areas.csv`` and ``area_aliases.csv``.

Source: modood/Administrative-divisions-of-China, 2024 edition (WTFPL),
``provinces.csv`` and ``cities.csv``.

Usage (from the repo root)::

    python scripts/build_area_seeds.py [REFERENCE_DIR] [--out SEEDS_DIR]

REFERENCE_DIR defaults to ``../shared/reference/admin-divisions`` relative to
the repo root; SEEDS_DIR defaults to ``dbt_project/seeds``.

``pypinyin`` is a dev-only dependency (``pip install pypinyin``); it is only
used to derive English names, and every derived name is pinned or checked by
the tables below, so re-running must reproduce the committed files exactly.
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REF = REPO_ROOT.parent / "shared" / "reference" / "admin-divisions"
DEFAULT_OUT = REPO_ROOT / "dbt_project" / "seeds"

# Placeholder rows of cities.csv that are not prefecture-level divisions.
PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}

MUNICIPALITIES = {"11", "12", "31", "50"}

PROVINCES = {  # code: (name_en, region)
    "11": ("Beijing", "east"),
    "12": ("Tianjin", "east"),
    "13": ("Hebei", "east"),
    "14": ("Shanxi", "central"),
    "15": ("Inner Mongolia", "west"),
    "21": ("Liaoning", "northeast"),
    "22": ("Jilin", "northeast"),
    "23": ("Heilongjiang", "northeast"),
    "31": ("Shanghai", "east"),
    "32": ("Jiangsu", "east"),
    "33": ("Zhejiang", "east"),
    "34": ("Anhui", "central"),
    "35": ("Fujian", "east"),
    "36": ("Jiangxi", "central"),
    "37": ("Shandong", "east"),
    "41": ("Henan", "central"),
    "42": ("Hubei", "central"),
    "43": ("Hunan", "central"),
    "44": ("Guangdong", "east"),
    "45": ("Guangxi", "west"),
    "46": ("Hainan", "east"),
    "50": ("Chongqing", "west"),
    "51": ("Sichuan", "west"),
    "52": ("Guizhou", "west"),
    "53": ("Yunnan", "west"),
    "54": ("Tibet", "west"),
    "61": ("Shaanxi", "west"),
    "62": ("Gansu", "west"),
    "63": ("Qinghai", "west"),
    "64": ("Ningxia", "west"),
    "65": ("Xinjiang", "west"),
}

# Suffixes stripped from province names, longest first.
PROVINCE_SUFFIXES = ["维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市"]
CITY_SUFFIXES = ["地区", "盟", "市"]
# Ethnic-group words that precede 自治州 (stripped repeatedly from the end).
ETHNIC_WORDS = [
    "朝鲜族", "土家族", "苗族", "藏族", "羌族", "彝族", "布依族", "侗族", "哈尼族",
    "壮族", "傣族", "白族", "景颇族", "傈僳族", "回族", "蒙古族", "蒙古",
    "柯尔克孜", "哈萨克",
]

# Pinyin fixes where pypinyin picks the wrong reading (short Chinese name -> syllables).
PINYIN_FIXES = {
    "长治": ["chang", "zhi"],
    "朝阳": ["chao", "yang"],
    "漯河": ["luo", "he"],
    "吕梁": ["lü", "liang"],
    "锡林郭勒": ["xi", "lin", "guo", "le"],
    "阿勒泰": ["a", "le", "tai"],
    "克孜勒苏": ["ke", "zi", "le", "su"],
}

# English names that are not the plain pinyin of the short name.
# Keyed by 4-digit city code to be unambiguous.
EN_EXCEPTIONS = {
    "1501": "Hohhot",
    "1502": "Baotou",
    "1506": "Ordos",
    "1507": "Hulunbuir",
    "1508": "Bayannur",
    "1509": "Ulanqab",
    "1522": "Hinggan",
    "1525": "Xilingol",
    "1529": "Alxa",
    "2202": "Jilin",
    "2224": "Yanbian",
    "2301": "Harbin",
    "2302": "Qiqihar",
    "2327": "Daxing'anling",
    "5132": "Ngawa",
    "5133": "Garze",
    "5401": "Lhasa",
    "5402": "Shigatse",
    "5403": "Qamdo",
    "5404": "Nyingchi",
    "5406": "Nagqu",
    "5425": "Ngari",
    "6326": "Golog",
    "6501": "Urumqi",
    "6502": "Karamay",
    "6504": "Turpan",
    "6527": "Bortala",
    "6528": "Bayingolin",
    "6529": "Aksu",
    "6530": "Kizilsu",
    "6531": "Kashgar",
    "6532": "Hotan",
    "6540": "Ili",
    "6543": "Altay",
}

# Pinyin collisions between cities: code -> disambiguated name_en.
# The bigger city keeps the bare name; listed ones do not get it.
EN_DISAMBIGUATED = {
    "3413": "Suzhou (Anhui)",          # 宿州; bare Suzhou = 苏州 320500
    "3610": "Fuzhou (Jiangxi)",        # 抚州; bare Fuzhou = 福州 350100
    "2307": "Yichun (Heilongjiang)",   # 伊春; bare Yichun = 宜春 360900
    "3212": "Taizhou (Jiangsu)",       # 泰州; bare Taizhou dropped
    "3310": "Taizhou (Zhejiang)",      # 台州; bare Taizhou dropped
    "4509": "Yulin (Guangxi)",         # 玉林; bare Yulin dropped
    "6108": "Yulin (Shaanxi)",         # 榆林; bare Yulin dropped
}

# name_en that differs from the base English name without being a pinyin
# collision: the prefecture keeps its suffix forms ('Hainan Prefecture',
# '海南州') but the bare 'Hainan'/'海南' go to the province.
EN_DISPLAY = {
    "6325": "Hainan Prefecture",       # 海南藏族自治州 vs 海南省
}

# Extra aliases: area_code -> list.
EXTRA_ALIASES = {
    "000000": ["全国", "PRC", "People's Republic of China", "中华人民共和国",
               "Nationwide", "National"],
    "110000": ["Peking"],
    "150000": ["Inner Mongolia Autonomous Region", "Nei Mongol", "Neimenggu",
               "Nei Menggu"],
    "450000": ["Guangxi Zhuang Autonomous Region"],
    "540000": ["Tibet Autonomous Region", "Xizang", "Xizang Autonomous Region"],
    "640000": ["Ningxia Hui Autonomous Region"],
    "650000": ["Xinjiang Uygur Autonomous Region",
               "Xinjiang Uyghur Autonomous Region"],
    "141100": ["Lvliang", "Luliang", "Lyuliang"],
    "232700": ["Da Hinggan Ling"],
}

VOWEL_START = re.compile(r"^[aoe]")


def short_province(name: str) -> str:
    for suf in PROVINCE_SUFFIXES:
        if name.endswith(suf):
            return name[: -len(suf)]
    raise ValueError(f"unexpected province name {name}")


def short_city(name: str) -> str:
    if name.endswith("自治州"):
        s = name[: -len("自治州")]
        changed = True
        while changed:
            changed = False
            for w in ETHNIC_WORDS:
                if s.endswith(w) and len(s) > len(w):
                    s = s[: -len(w)]
                    changed = True
        return s
    for suf in CITY_SUFFIXES:
        if name.endswith(suf):
            return name[: -len(suf)]
    raise ValueError(f"unexpected city name {name}")


def pinyin_name(short_zh: str) -> str:
    if short_zh in PINYIN_FIXES:
        syl = PINYIN_FIXES[short_zh]
    else:
        from pypinyin import Style, lazy_pinyin  # dev-only dependency

        syl = lazy_pinyin(short_zh, style=Style.NORMAL, v_to_u=True)
    out = syl[0]
    for s in syl[1:]:
        out += ("'" if VOWEL_START.match(s) else "") + s
    return out[0].upper() + out[1:]


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def build(ref: Path):
    provinces = read_csv(ref / "provinces.csv")
    cities = read_csv(ref / "cities.csv")
    assert len(provinces) == 31, len(provinces)

    areas = [dict(area_code="000000", name_zh="中国", name_zh_short="中国",
                  name_en="China", level="nation", province_code="",
                  province_name_zh="", province_name_en="", region="")]
    aux = {"000000": {"kind": "nation", "pinyin": None, "disamb": False}}
    prov_by_code = {}
    for p in provinces:
        code = p["code"]
        en, region = PROVINCES[code]
        ac = code + "0000"
        row = dict(area_code=ac, name_zh=p["name"],
                   name_zh_short=short_province(p["name"]), name_en=en,
                   level="municipality" if code in MUNICIPALITIES else "province",
                   province_code=ac, province_name_zh=p["name"],
                   province_name_en=en, region=region)
        areas.append(row)
        prov_by_code[code] = row
        aux[ac] = {"kind": row["level"], "suffix": p["name"][len(row["name_zh_short"]):],
                   "pinyin": pinyin_name(row["name_zh_short"]), "disamb": False}

    excluded = []
    for c in cities:
        if c["name"] in PLACEHOLDERS:
            excluded.append(c)
            continue
        prov = prov_by_code[c["provinceCode"]]
        assert c["code"][:2] == c["provinceCode"]
        short = short_city(c["name"])
        py = pinyin_name(short)
        en = (EN_DISAMBIGUATED.get(c["code"]) or EN_DISPLAY.get(c["code"])
              or EN_EXCEPTIONS.get(c["code"]) or py)
        ac = c["code"] + "00"
        areas.append(dict(area_code=ac, name_zh=c["name"], name_zh_short=short,
                          name_en=en, level="city",
                          province_code=prov["area_code"],
                          province_name_zh=prov["name_zh"],
                          province_name_en=prov["name_en"], region=prov["region"]))
        aux[ac] = {"kind": "city", "suffix": c["name"][len(short):], "pinyin": py,
                   "base_en": EN_EXCEPTIONS.get(c["code"], py),
                   "disamb": c["code"] in EN_DISAMBIGUATED}
    areas.sort(key=lambda r: r["area_code"])
    return areas, aux, excluded


def alias_candidates(a: dict, x: dict):
    """Yield (alias, tier). Tier 0 = canonical names, 1 = derived variants."""
    yield a["name_zh"], 0
    yield a["name_zh_short"], 0
    yield a["name_en"], 0
    for e in EXTRA_ALIASES.get(a["area_code"], []):
        yield e, 0
    if x["kind"] == "nation":
        return
    en = a["name_en"]
    if x["kind"] == "municipality":
        yield en + " City", 0
        yield en + " Municipality", 0
    elif x["kind"] == "province":
        yield en + " Province", 0
    elif not x["disamb"]:
        base = x["base_en"]
        suffix = x["suffix"]
        if suffix == "市":
            yield base + " City", 0
        elif suffix == "地区":
            yield base + " Prefecture", 0
        elif suffix == "盟":
            yield base + " League", 0
        elif suffix.endswith("自治州"):
            yield base + " Prefecture", 0
            yield base + " Autonomous Prefecture", 0
            yield a["name_zh_short"] + "州", 0
        # plain pinyin where the English name is an exonym (Hohhot/Huhehaote)
        if x["pinyin"] and x["pinyin"] != base:
            yield x["pinyin"], 1
    if x["kind"] in ("municipality", "province") and x["pinyin"] != en:
        yield x["pinyin"], 1  # only differs for Shaanxi (-> Shanxi, dropped)


def norm(s: str) -> str:
    return " ".join(s.split()).casefold()


def build_aliases(areas, aux):
    level = {a["area_code"]: a["level"] for a in areas}
    cand = defaultdict(dict)  # norm -> {code: (alias, tier)}
    for a in areas:
        for alias, tier in alias_candidates(a, aux[a["area_code"]]):
            variants = [alias]
            if "'" in alias:
                variants.append(alias.replace("'", ""))
            for v in variants:
                v = " ".join(v.split())
                k = norm(v)
                prev = cand[k].get(a["area_code"])
                if prev is None or tier < prev[1]:
                    cand[k][a["area_code"]] = (v, tier)

    rows, report = [], []
    for k, by_code in cand.items():
        if len(by_code) == 1:
            code, (alias, _) = next(iter(by_code.items()))
            rows.append((code, alias))
            continue
        best = min(t for _, t in by_code.values())
        top = {c: v for c, v in by_code.items() if v[1] == best}
        if len(top) > 1:
            provs = {c: v for c, v in top.items()
                     if level[c] in ("province", "municipality")}
            if len(provs) == 1:
                top = provs
        if len(top) == 1:
            code, (alias, _) = next(iter(top.items()))
            rows.append((code, alias))
            report.append(f"{alias!r}: kept {code}, dropped "
                          f"{sorted(set(by_code) - {code})}")
        else:
            report.append(f"{k!r}: ambiguous between {sorted(top)}, dropped")
    rows = sorted(set(rows))
    return rows, report


AREA_FIELDS = ["area_code", "name_zh", "name_zh_short", "name_en", "level",
               "province_code", "province_name_zh", "province_name_en", "region"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reference", nargs="?", type=Path, default=DEFAULT_REF)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print excluded rows and alias collisions")
    args = ap.parse_args(argv)

    areas, aux, excluded = build(args.reference)
    aliases, report = build_aliases(areas, aux)

    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "areas.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=AREA_FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(areas)
    with (args.out / "area_aliases.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["alias", "area_code"])
        w.writerows((alias, code) for code, alias in aliases)

    if args.verbose:
        for c in excluded:
            print("excluded:", c["code"], c["name"], file=sys.stderr)
        for line in sorted(report):
            print("collision:", line, file=sys.stderr)
    print(f"{len(areas)} areas, {len(aliases)} aliases -> {args.out}")


if __name__ == "__main__":
    main()
