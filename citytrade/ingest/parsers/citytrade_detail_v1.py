"""Parser for `citytrade-detail-v1`: trade by area, month window, partner region and HS section, loaded in bulk.

Detail tables run to millions of rows, so nothing here goes row by row in Python: DuckDB reads the CSV into a
staging table, SQL sorts good rows from bad ones (with their line numbers), and the good rows go to
`raw.trade_detail` in one insert, inside the release's transaction. Columns: area, year, month_from, month_to,
partner_region, hs_section, exports, imports; values in the sidecar's unit (yuan units only).

A file is first read typed (numbers parsed by the CSV reader, as the plain-DuckDB floor does) and its good rows are
inserted. Only when that read rejects a cell or some row fails a check are they taken out again and the file read
as text, where every bad row gets its reason (ROW_CHECKS): a clean file never pays for the text read and its
casts, about half of its load (issue #8).
"""

from __future__ import annotations

import duckdb
from citytrade.ingest.areas import AreaResolver, UnknownArea
from citytrade.ingest.parsers.base import ParsedRelease, check_columns, missing_columns, trade_defaults
from citytrade.ingest.releases import Release, ReleaseError
from citytrade.ingest.units import known_units

COLUMNS = ("area", "year", "month_from", "month_to", "partner_region", "hs_section", "exports", "imports")


# Each check: the reason a person reads (with the offending cell), and the SQL that is true for a bad row.
ROW_CHECKS = (
    ("'unknown area ''' || coalesce(area, '') || ''''", "area_code is null"),
    ("'year ''' || coalesce(year, '') || ''' is not a plausible year'", "try_cast(year as integer) is null or try_cast(year as integer) not between 1950 and 2100"),
    ("'months ' || coalesce(month_from, '') || '-' || coalesce(month_to, '') || ' are not a window within 1-12'",
     "try_cast(month_from as integer) is null or try_cast(month_to as integer) is null "
     "or try_cast(month_from as integer) not between 1 and 12 or try_cast(month_to as integer) not between 1 and 12 "
     "or try_cast(month_to as integer) < try_cast(month_from as integer)"),
    ("'partner_region or hs_section is empty'", "coalesce(trim(partner_region), '') = '' or coalesce(trim(hs_section), '') = ''"),
    ("'exports ''' || exports || ''' is not a number'", "nullif(trim(exports), '') is not null and try_cast(exports as double) is null"),
    ("'imports ''' || imports || ''' is not a number'", "nullif(trim(imports), '') is not null and try_cast(imports as double) is null"),
    ("'exports ''' || exports || ''' is negative; trade values cannot be'", "try_cast(exports as double) < 0"),
    ("'imports ''' || imports || ''' is negative; trade values cannot be'", "try_cast(imports as double) < 0"),
    ("'none of exports, imports is given'", "nullif(trim(exports), '') is null and nullif(trim(imports), '') is null"),
)  # fmt: skip


# The same checks on a typed read whose every cell was cast (a cell that was not a number is in the read's rejects
# instead): true for a bad row. DuckDB's CSV reader accepts exactly the numbers try_cast accepts.
TYPED_ROW_CHECKS = (
    "area_code is null",
    "year is null or year not between 1950 and 2100",
    "month_from is null or month_to is null or month_from not between 1 and 12 or month_to not between 1 and 12 "
    "or month_to < month_from",
    "coalesce(trim(partner_region), '') = '' or coalesce(trim(hs_section), '') = ''",
    "exports < 0 or imports < 0",
    "exports is null and imports is null",
)
TYPES = {"year": "integer", "month_from": "integer", "month_to": "integer", "exports": "double", "imports": "double"}
TEMPORARY_TABLES = ("detail_stage", "detail_areas", "detail_shifts", "detail_csv_rejects", "detail_csv_scans")


class DetailRows:
    """Stands for the rows of a detail release: DuckDB loads them (load_into); len() is what was loaded."""

    def __init__(self, release: Release, resolver: AreaResolver, unit: str, basis: str, rejects: list, header: list[str]):
        self.release, self.resolver, self.unit, self.basis, self.rejects = release, resolver, unit, basis, rejects
        self.header = header
        self.loaded = 0

    def __len__(self) -> int:
        return self.loaded

    def __bool__(self) -> bool:
        return True

    def __iter__(self):
        return iter(())

    def load_into(self, con: duckdb.DuckDBPyConnection, release_id: str) -> None:
        """Load the good rows; bad rows join the release's rejects. Typed first, as text only if that finds a bad row."""
        try:
            if not self._load_typed(con, release_id):
                self._load_checked(con, release_id)
        finally:
            for table in TEMPORARY_TABLES:
                con.execute(f"drop table if exists {table}")
        # The release row was written before the rows were counted: complete it in the same transaction.
        con.execute(
            "update raw.releases set rows_loaded = ?, rows_quarantined = ?, status = ? where release_id = ?",
            [self.loaded, len(self.rejects), "partial" if self.rejects else "loaded", release_id],
        )

    def _read(self, con: duckdb.DuckDBPyConnection, types: dict[str, str], text: bool) -> None:
        """The file into detail_stage. Rows the reader cannot take (a cell of the wrong type, too many columns, a
        stray quote) are skipped and listed in detail_csv_rejects: a read never fails, so the release's transaction
        goes on."""
        path = str(self.release.data_path).replace("'", "''")
        columns = ", ".join(f"'{name}': '{types.get(name, 'varchar')}'" for name in self.header)
        for table in ("detail_csv_rejects", "detail_csv_scans"):  # the reader appends to them: only this read's
            con.execute(f"drop table if exists {table}")
        con.execute(
            f"""create or replace temp table detail_stage as
                select * from read_csv('{path}', header = true, all_varchar = {str(text).lower()}, auto_detect = false,
                    columns = {{{columns}}}, null_padding = true, ignore_errors = true,
                    store_rejects = true, rejects_table = 'detail_csv_rejects', rejects_scan = 'detail_csv_scans')"""
        )

    def _load_typed(self, con: duckdb.DuckDBPyConnection, release_id: str) -> bool:
        """Insert every row of a clean file from a typed read; False, with nothing inserted, when some row is bad."""
        self._read(con, TYPES, text=False)
        if con.execute("select count(*) from detail_csv_rejects").fetchone()[0]:
            return False
        self._resolve_areas(con)
        # No row was skipped: a row's line is its position plus the header (rowids count from the first one).
        first, staged = con.execute("select coalesce(min(rowid), 0), count(*) from detail_stage").fetchone()
        good = " and ".join(f"not coalesce(({condition}), false)" for condition in TYPED_ROW_CHECKS)
        inserted = con.execute(
            f"""insert into raw.trade_detail
                select ?, stage.rowid - {int(first)} + 2, areas.area_code, year, month_from, month_to, ?,
                    trim(partner_region), trim(hs_section), ?, exports, imports
                from detail_stage as stage left join detail_areas as areas on stage.area = areas.area
                where {good}""",
            [release_id, self.basis, self.unit],
        ).fetchone()[0]
        if inserted < staged:  # some row is bad: the text read gives every bad row its reason
            con.execute("delete from raw.trade_detail where release_id = ?", [release_id])
            return False
        self.loaded = inserted
        return True

    def _load_checked(self, con: duckdb.DuckDBPyConnection, release_id: str) -> None:
        """Read as text, sort good rows from bad ones with each bad row's reason, insert the good ones."""
        self._read(con, {}, text=True)
        broken = con.execute("select line, error_type from detail_csv_rejects order by line").fetchall()
        self._resolve_areas(con)
        # The line of a staged row: its position, plus the header, plus the broken lines before it. Inside a
        # transaction rowids do not start at 0, so positions count from the first one.
        first = con.execute("select coalesce(min(rowid), 0) from detail_stage").fetchone()[0]
        position = f"(stage.rowid - {int(first)})"
        con.execute("create or replace temp table detail_shifts (first_position bigint)")
        if broken:
            con.executemany("insert into detail_shifts values (?)", [[line - 2 - i] for i, (line, _) in enumerate(broken)])
            line_of = f"{position} + 2 + (select count(*) from detail_shifts where first_position <= {position})"
        else:
            line_of = f"{position} + 2"
        staged = f"""
            select {line_of} as row_number, stage.*, areas.area_code
            from detail_stage as stage
            left join detail_areas as areas on stage.area = areas.area
        """
        # coalesce(..., false): a check on an empty cell is null, and a null must neither drop nor pass a row.
        bad = " or ".join(f"coalesce(({condition}), false)" for _, condition in ROW_CHECKS)
        reason = "coalesce(" + ", ".join(f"case when coalesce(({condition}), false) then {text} end" for text, condition in ROW_CHECKS) + ")"
        inserted = con.execute(
            f"""insert into raw.trade_detail
                select ?, row_number, area_code, cast(year as integer), cast(month_from as integer),
                    cast(month_to as integer), ?, trim(partner_region), trim(hs_section), ?,
                    try_cast(exports as double), try_cast(imports as double)
                from ({staged}) where not ({bad})""",
            [release_id, self.basis, self.unit],
        ).fetchone()[0]
        staged_count = con.execute("select count(*) from detail_stage").fetchone()[0]
        # Reasons are worked out only when some row failed.
        rejects = con.execute(f"select row_number, {reason} from ({staged}) where {bad}").fetchall() if inserted < staged_count else []
        rejects += [(line, f"not a CSV row ({error_type.lower()})") for line, error_type in broken]
        self.rejects.extend(sorted((int(number), str(why)) for number, why in rejects))
        self.loaded = staged_count - (len(rejects) - len(broken))

    def _resolve_areas(self, con: duckdb.DuckDBPyConnection) -> None:
        # Only the distinct spellings go through the resolver: a few hundred lookups, not millions.
        names = [row[0] for row in con.execute("select distinct area from detail_stage where area is not null").fetchall()]
        resolved = []
        for name in names:
            try:
                resolved.append((name, self.resolver.resolve(name)))
            except UnknownArea:
                resolved.append((name, None))
        con.execute("create or replace temp table detail_areas (area varchar, area_code varchar)")
        if resolved:
            con.executemany("insert into detail_areas values (?, ?)", resolved)


def parse(release: Release, resolver: AreaResolver) -> ParsedRelease:
    unit, basis = trade_defaults(release)
    if known_units()[unit].currency != "CNY":
        raise ReleaseError(f"citytrade-detail-v1 takes yuan units only, not '{unit}'")
    if release.data_path.suffix.lower() != ".csv":
        raise ReleaseError("citytrade-detail-v1 files are CSV")
    if release.meta.get("encoding") not in (None, "", "utf-8", "UTF-8"):
        raise ReleaseError("citytrade-detail-v1 files are UTF-8")
    header = _header(release)
    read_as = [name.casefold() if name.casefold() in COLUMNS else None for name in header]
    check_columns(release, header, read_as, COLUMNS, missing_columns(read_as, COLUMNS))
    parsed = ParsedRelease(kind="detail")
    parsed.rows = DetailRows(release, resolver, unit, basis, parsed.rejects, [name.casefold() for name in header])  # type: ignore[assignment]
    return parsed


def _header(release: Release) -> list[str]:
    """The first line's column names as written."""
    with open(release.data_path, encoding="utf-8-sig", errors="replace") as handle:
        first = handle.readline()
    if not first.strip():
        raise ReleaseError("the file is empty")
    return [name.strip().strip('"') for name in first.rstrip("\r\n").split(",")]
