"""Area resolution: any published spelling or division code to the 6-digit area code of the seeds."""

from __future__ import annotations

import csv
import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from citytrade.config import SEEDS_DIR

NATION_CODE = "000000"
_SPACES = re.compile(r"\s+")


# Suffixes a published name may carry beyond what the aliases list: pinyin (Shenzhen Shi, Guangdong Sheng)
# and English forms; tried only when the name as written is not known.
_SUFFIXES = (" shi", " sheng", " city", " province", " municipality", " prefecture", " league", " region")


def normalise_alias(name: str) -> str:
    """Compare names case-insensitively, with full-width characters (４４０３００, Ｓｈｅｎｚｈｅｎ) and spaces folded."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", str(name))).strip().casefold()


@dataclass(frozen=True)
class Area:
    area_code: str
    name_zh: str
    name_en: str
    level: str
    province_code: str


class UnknownArea(LookupError):
    """A name no alias or code matches; the message suggests the closest known names."""


class AreaResolver:
    """Looks names up in seeds/areas.csv and seeds/area_aliases.csv (users extend the latter)."""

    def __init__(self, seeds_dir: Path = SEEDS_DIR):
        with open(seeds_dir / "areas.csv", encoding="utf-8") as handle:
            self.areas = {
                row["area_code"]: Area(row["area_code"], row["name_zh"], row["name_en"], row["level"], row["province_code"])
                for row in csv.DictReader(handle)
            }
        self.aliases: dict[str, str] = {}
        with open(seeds_dir / "area_aliases.csv", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                self.aliases[normalise_alias(row["alias"])] = row["area_code"]
        for area in self.areas.values():
            self.aliases.setdefault(normalise_alias(area.name_zh), area.area_code)
            self.aliases.setdefault(normalise_alias(area.name_en), area.area_code)
        self._resolved: dict[str, str] = {}  # name as written -> area code, for names resolved before

    def resolve(self, name: object) -> str:
        code = self._resolved.get(name) if isinstance(name, str) else None
        if code is None:
            code = self._resolve(name)
            if isinstance(name, str):
                self._resolved[name] = code  # releases repeat the same few hundred names (issue #8)
        return code

    def _resolve(self, name: object) -> str:
        text = "" if name is None else str(name).strip()
        if not text:
            raise UnknownArea("area is empty")
        code = self._by_code(text)
        if code:
            return code
        key = normalise_alias(text)
        if key in self.aliases:
            return self.aliases[key]
        code = self._by_code(key)
        if code:
            return code
        for suffix in _SUFFIXES:
            if key.endswith(suffix) and key[: -len(suffix)].strip() in self.aliases:
                return self.aliases[key[: -len(suffix)].strip()]
        suggestions = self._closest(key)
        hint = ""
        if suggestions:
            names = list(dict.fromkeys(self._display(self.aliases[s]) for s in suggestions))  # closest first
            hint = f"; did you mean {' or '.join(names)}?"
        raise UnknownArea(f"unknown area '{text}'{hint} (add it to dbt_project/seeds/area_aliases.csv if it is right)")

    def _closest(self, key: str) -> list[str]:
        """Up to three known names nearly as close as the closest one (Shenzen: Shenzhen, not also Heze)."""
        shared = [name for name in self.aliases if name.startswith(key + " (")]  # Taizhou: (Jiangsu) or (Zhejiang)
        if shared:
            return shared[:3]
        cutoff = 0.5 if re.search(r"[\u4e00-\u9fff]", key) else 0.6  # two-character Chinese names differ by one in two
        candidates = difflib.get_close_matches(key, list(self.aliases), n=6, cutoff=cutoff)
        scores = {name: difflib.SequenceMatcher(None, key, name).ratio() for name in candidates}
        best = max(scores.values(), default=0)
        return [name for name in candidates if scores[name] >= best - 0.1][:3]

    def _by_code(self, text: str) -> str | None:
        digits = text.split(".")[0] if re.fullmatch(r"\d+(\.0+)?", text) else ""
        if not digits:
            return None
        if len(digits) == 2:
            digits += "0000"
        elif len(digits) == 4:
            digits += "00"
        elif len(digits) == 12:  # statistical division codes carry six trailing zeros
            digits = digits[:6]
        return digits if digits in self.areas else None

    def _display(self, code: str) -> str:
        area = self.areas[code]
        return f"{area.name_en} ({area.name_zh}, {area.area_code})"


@lru_cache(maxsize=None)
def default_resolver() -> AreaResolver:
    return AreaResolver()
