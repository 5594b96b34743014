"""Units, currencies and published precision: what a written figure means in yuan."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from citytrade.config import SEEDS_DIR

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # a figure as most releases write it: ASCII digits, no separators
_FULLWIDTH = str.maketrans("０１２３４５６７８９．－＋，", "0123456789.-+,")


class BadValue(ValueError):
    """A figure that cannot be read as a number (the message says why)."""


@dataclass(frozen=True)
class Unit:
    name: str
    currency: str
    factor: Decimal
    label_zh: str = ""


@dataclass(frozen=True)
class Figure:
    """A number as published: its value and the step of its last written digit."""

    text: str
    value: Decimal
    resolution: Decimal


@lru_cache(maxsize=None)
def known_units(seeds_dir: Path = SEEDS_DIR) -> dict[str, Unit]:
    with open(seeds_dir / "units.csv", encoding="utf-8") as handle:
        return {
            row["unit"]: Unit(row["unit"], row["currency"], Decimal(row["factor"]), row.get("label_zh") or "")
            for row in csv.DictReader(handle)
        }


@lru_cache(maxsize=None)
def cny_usd_rate_periods(seeds_dir: Path = SEEDS_DIR) -> frozenset[tuple[int, int | None]]:
    """(year, month) of every CNY/USD rate in the seed; month None for an annual average."""
    with open(seeds_dir / "cny_usd_rates.csv", encoding="utf-8") as handle:
        return frozenset((int(row["year"]), int(row["month"]) if row["month"] else None) for row in csv.DictReader(handle))


def has_cny_usd_rate(year: int, month_from: int = 1, month_to: int = 12, seeds_dir: Path = SEEDS_DIR) -> bool:
    """Whether stg_raw__trade_observations can convert this window: an annual rate, or a monthly rate for each month."""
    periods = cny_usd_rate_periods(seeds_dir)
    return (year, None) in periods or all((year, month) in periods for month in range(month_from, month_to + 1))


def parse_figure(text: object, *, allow_negative: bool = False) -> Figure | None:
    """Read a published figure, keeping its written precision; None when the cell is empty."""
    if text is None:
        return None
    raw = str(text).strip()
    if _PLAIN_NUMBER.fullmatch(raw):  # most cells: nothing to clean (a third of an ingest's time was here; issue #8)
        cleaned = raw
    else:
        if raw == "" or raw.lower() in {"nan", "none", "-", "—", "..."}:
            return None
        cleaned = raw.translate(_FULLWIDTH).replace(",", "").replace(" ", "")
        if cleaned.endswith("%"):
            cleaned = cleaned[:-1]
        if not _NUMBER.match(cleaned):
            raise BadValue(f"'{raw}' is not a number")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise BadValue(f"'{raw}' is not a number") from exc
    if value < 0 and not allow_negative:
        raise BadValue(f"'{raw}' is negative; trade values cannot be")
    point = cleaned.find(".")  # the written decimals: Decimal's exponent, read off the text (no exponent notation here)
    return Figure(text=raw, value=value, resolution=_resolution(len(cleaned) - point - 1 if point >= 0 else 0))


@lru_cache(maxsize=None)
def _resolution(decimals: int) -> Decimal:
    return Decimal(1).scaleb(-decimals)
