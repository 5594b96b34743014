"""What every release parser shares: reading a table, and the shape of what it returns."""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable
from citytrade.ingest.releases import BASES, Release, ReleaseError
from citytrade.ingest.units import has_cny_usd_rate, known_units

# A row whose only cell starts like this is a note under or above the table, not data.
NOTE_PREFIXES = ("注", "说明", "资料来源", "数据来源", "备注", "note", "source", "*")


@dataclass
class ParsedRelease:
    """Canonical rows of one release and the rows it rejected, with their reasons."""

    kind: str  # "trade" or "top100"
    rows: list[dict] = field(default_factory=list)
    subindex_scores: list[dict] = field(default_factory=list)
    region_counts: list[dict] = field(default_factory=list)  # a Top 100 list's counts per region, as published
    rejects: list[tuple[int, str]] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)  # press-text-v1: figures refused as not an area's trade (quote, span, reason)


@dataclass
class Table:
    """A data table read from a release: header names and rows, each with its row number in the file."""

    header: list[str]
    rows: list[tuple[int, list[str]]]  # cells by position: headers may repeat (同比 after each value)

    def records(self, names: list[str] | None = None):
        """Rows as dicts under the given column names (default: the header as written)."""
        names = names or self.header
        for number, cells in self.rows:
            yield number, dict(zip(names, cells))


def decode_text(release: Release) -> str:
    """The file as text: the sidecar's `encoding`, else UTF-16 by its BOM, UTF-8 (BOM or not), GB18030 (a superset of GBK)."""
    data = release.data_path.read_bytes()
    if not data.strip():
        raise ReleaseError("the file is empty")
    declared = release.meta.get("encoding")
    if declared:
        encodings = [str(declared)]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ["utf-16"]  # Excel's "Unicode text" export: the byte-order mark says so
    else:
        encodings = ["utf-8-sig", "gb18030"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except LookupError:
            raise ReleaseError(f"unknown encoding '{declared}' in the sidecar (e.g. utf-8, gb18030, gbk)") from None
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            break  # GB18030 decodes almost any bytes: control characters give binary data away
        return text.removeprefix("\ufeff")  # a BOM left by a declared "utf-8"
    tried = " or ".join(encodings)
    raise ReleaseError(f"cannot decode the file as {tried} text (binary or wrongly labelled encoding?)")


_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f]")  # below 32, except tab, line feed, form feed, carriage return


def _looks_binary(text: str) -> bool:
    return _CONTROL.search(text) is not None


def is_note_row(cells: list[str]) -> bool:
    filled = [c for c in cells if c]
    return len(filled) == 1 and filled[0].casefold().startswith(NOTE_PREFIXES)


def read_rows(release: Release) -> list[tuple[int, list[str]]]:
    """Every row of a CSV or the first sheet of an XLSX, as text cells with their row number in the file."""
    if release.data_path.suffix.lower() == ".xlsx":
        return _xlsx_rows(release)
    text = decode_text(release)
    head = text.splitlines()[:20]
    delimiter = "\t" if not any("," in line for line in head) and any("\t" in line for line in head) else ","  # Excel's tab-separated text
    try:
        return list(enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1))
    except csv.Error as exc:
        raise ReleaseError(f"not a readable CSV file ({exc})") from None


def read_table(
    release: Release,
    header_matches: Callable[[list[str]], bool],
    count_known: Callable[[list[str]], int] | None = None,
    required: tuple[str, ...] = (),
) -> Table:
    """Read CSV or XLSX; the header is the first row header_matches accepts (title rows above are skipped).

    Failing that, the header is the row naming the most columns count_known recognises, so that the parser can say
    which required columns it lacks and which it found; `required` names them when no row names any.
    """
    raw_rows = read_rows(release)
    headers = [[_header_text(c) for c in cells] for _, cells in raw_rows]
    index = next((i for i, names in enumerate(headers) if header_matches(names)), None)
    if index is None and count_known is not None:
        counts = [count_known(names) for names in headers]
        index = counts.index(max(counts)) if counts and max(counts) > 0 else None
    if index is None:
        first = next((names for names in headers if any(names)), [])
        wanted = f" {quoted(required)}" if required else ""
        raise ReleaseError(f"no header row with the required columns{wanted} found; first row: {quoted(first, limit=10)}")
    names = headers[index]
    rows = []
    for number, values in raw_rows[index + 1 :]:
        cleaned = ["" if v is None else str(v).strip() for v in values]
        if not any(cleaned) or is_note_row(cleaned):
            continue
        rows.append((number, cleaned + [""] * (len(names) - len(cleaned))))
    return Table(header=names, rows=rows)


def _header_text(cell: object) -> str:
    return str(cell).strip() if cell is not None else ""


# Columns: a release whose header has a column its format does not read is quarantined, never loaded without it
# (issue #28), unless the sidecar's `ignore_columns` lists it.


def quoted(names, limit: int | None = None) -> str:
    """Column names for a one-line reason: 'a', 'b' (whitespace inside a cell, such as an XLSX line break, folded)."""
    shown = [f"'{' '.join(str(name).split())}'" for name in names if str(name).strip()]
    if limit is not None and len(shown) > limit:
        shown = shown[:limit] + ["…"]
    return ", ".join(shown)


def ignored_columns(release: Release) -> set[str]:
    """The sidecar's `ignore_columns` (a YAML list, or one comma-separated string), folded for matching."""
    value = release.meta.get("ignore_columns")
    if value in (None, ""):
        return set()
    if isinstance(value, str):
        names = value.split(",")
    elif isinstance(value, list) and all(isinstance(name, (str, int, float)) for name in value):
        names = [str(name) for name in value]
    else:
        raise ReleaseError("sidecar field ignore_columns must be a list of column names (or one comma-separated string)")
    return {_fold(name) for name in names if name.strip()}


def _fold(name: str) -> str:
    return " ".join(str(name).split()).casefold()


def missing_columns(read_as: list[str | None], required: tuple[str, ...] = (), one_of: tuple[str, ...] = ()) -> str | None:
    """'missing required column(s) ...' for the required columns (and one of one_of) the header lacks, or None."""
    absent = [name for name in required if name not in read_as]
    lacking = [quoted(absent)] if absent else []
    if one_of and not any(name in read_as for name in one_of):
        lacking.append(f"one of {quoted(one_of)}")
    return f"missing required column(s) {' and '.join(lacking)}" if lacking else None


def check_columns(
    release: Release, written: list[str], read_as: list[str | None], vocabulary, missing: str | None = None
) -> None:
    """Refuse the whole release (ReleaseError) if its header lacks a required column or has one the format does not read.

    written: the header as in the file; read_as: for each position, the column the parser reads there, or None;
    missing: what the header lacks, worded for the reason (see missing_columns); vocabulary: the column names the
    format knows, aliases included, to suggest the nearest. Empty header cells are not columns; columns the
    sidecar's `ignore_columns` lists are let through and not read.
    """
    ignored = ignored_columns(release)
    unknown = [name for name, column in zip(written, read_as) if name.strip() and column is None and _fold(name) not in ignored]
    reasons = [f"{missing}; found: {quoted(written)}"] if missing else []
    reasons += [unknown_column(name, vocabulary) for name in unknown]
    if reasons:
        raise ReleaseError("; ".join(reasons))


def unknown_column(name: str, vocabulary) -> str:
    """The reason for one unknown column, suggesting the nearest known name if one is near: "unknown column 'exprots'
    (did you mean 'exports'?)"."""
    shown = " ".join(name.split())
    known = {_fold(known_name): known_name for known_name in vocabulary}
    nearest = difflib.get_close_matches(_fold(name), list(known), n=1, cutoff=0.7)
    return f"unknown column '{shown}' (did you mean '{known[nearest[0]]}'?)" if nearest else f"unknown column '{shown}'"


def _xlsx_rows(release: Release) -> list[tuple[int, list]]:
    import openpyxl

    if not zipfile.is_zipfile(release.data_path):
        raise ReleaseError("not a valid .xlsx workbook (is it a text file with the wrong extension?)")
    try:
        book = openpyxl.load_workbook(release.data_path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken workbooks
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ReleaseError(f"cannot open the workbook ({type(exc).__name__} {detail}); save it again as .xlsx from a spreadsheet program") from None
    try:
        sheet = book.worksheets[0]
        rows = [(number, [_cell_text(cell) for cell in cells]) for number, cells in enumerate(sheet.iter_rows(), start=1)]
    finally:
        book.close()
    if not any(any(cells) for _, cells in rows):
        raise ReleaseError("the workbook's first sheet is empty")
    return rows


_FIXED_DECIMALS = re.compile(r"^[#,]*0(?:\.(0+))?(%?)$")


def _cell_text(cell: object) -> str:
    """A cell as the reader sees it in Excel, so a figure keeps its written precision.

    Excel stores 4.50 as the float 4.5; what the publisher wrote is in the cell's number format. A fixed format
    ("0.00", "#,##0.0", "0.0%") gives the digits shown; "General" shows the shortest form of the number, so its
    precision is that of its last significant digit (4.5 reads as one decimal: publishers who mean 4.50 set a
    format). Percent formats give the percentage as shown ("5.2%").
    """
    value = getattr(cell, "value", cell)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value).strip()
    number_format = str(getattr(cell, "number_format", "General") or "General").split(";")[0].replace("\\", "").strip()
    fixed = _FIXED_DECIMALS.match(number_format)
    if fixed:
        decimals, percent = len(fixed.group(1) or ""), fixed.group(2)
        shown = Decimal(repr(value)) * (100 if percent else 1)
        return f"{shown:.{decimals}f}{percent}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def trade_defaults(release: Release) -> tuple[str, str]:
    """The sidecar's default unit and basis for a trade release, checked."""
    unit = release.meta.get("unit")
    basis = release.meta.get("basis")
    if unit in (None, ""):
        raise ReleaseError("sidecar lacks required field: unit")
    if basis in (None, ""):
        raise ReleaseError("sidecar lacks required field: basis")
    check_unit(str(unit), "sidecar unit")
    if basis not in BASES:
        raise ReleaseError(f"unknown basis '{basis}' (known: {', '.join(BASES)})")
    return str(unit), str(basis)


def check_unit(unit: str, where: str) -> None:
    units = known_units()
    if unit not in units:
        by_label = [u.name for u in units.values() if u.label_zh and u.label_zh == unit.strip()]
        hint = f"; {unit} is written {by_label[0]}" if by_label else ""
        raise ValueError(f"unknown {where} '{unit}'{hint} (known: {', '.join(units)})")


def as_int(text: str, name: str) -> int:
    try:
        number = float(str(text).strip())
    except ValueError:
        raise ValueError(f"{name} '{text}' is not a whole number") from None
    if not number.is_integer():
        raise ValueError(f"{name} '{text}' is not a whole number")
    return int(number)


MEASURES = ("total", "exports", "imports")


def trade_row(
    *,
    row_number: int,
    area_raw: str,
    area_code: str,
    year: int,
    month_from: int,
    month_to: int,
    basis: str,
    unit: str,
    figures: dict,
    growth: dict,
    source_url: str | None,
    published_on: dt.date | None = None,
) -> dict:
    """The canonical trade observation: figures as written, their precision, and growth as published.

    published_on: the row's own date of publication, where it differs from its release's (a compilation)."""
    if not 1 <= month_from <= 12 or not 1 <= month_to <= 12:
        raise ValueError(f"months {month_from}-{month_to} are not in 1-12")
    if month_to < month_from:
        raise ValueError(f"month_to {month_to} is before month_from {month_from}")
    if not 1950 <= year <= 2100:
        raise ValueError(f"year {year} is not plausible")
    if all(figures.get(m) is None for m in MEASURES):
        raise ValueError("none of total, exports, imports is given")
    unit_info = known_units()[unit]
    if unit_info.currency == "USD" and not has_cny_usd_rate(year, month_from, month_to):
        raise ValueError(f"no CNY/USD rate for {year} months {month_from}-{month_to} in dbt_project/seeds/cny_usd_rates.csv")
    row = {
        "row_number": row_number,
        "area_raw": area_raw,
        "area_code": area_code,
        "year": year,
        "month_from": month_from,
        "month_to": month_to,
        "basis": basis,
        "unit": unit,
        "currency": unit_info.currency,
        "source_url": source_url or None,
        "published_on": published_on,
    }
    for measure, text, value, resolution, pct_value, pct_resolution in _MEASURE_COLUMNS:
        figure = figures.get(measure)
        row[text] = figure.text if figure else None
        row[value] = float(figure.value) if figure else None
        row[resolution] = float(figure.resolution) if figure else None
        pct = growth.get(measure)
        row[pct_value] = float(pct.value) if pct else None
        row[pct_resolution] = float(pct.resolution) if pct else None
    return row


_MEASURE_COLUMNS = [
    (m, f"{m}_text", f"{m}_value", f"{m}_resolution", f"{m}_yoy_pct", f"{m}_yoy_pct_resolution") for m in MEASURES
]  # fmt: skip
