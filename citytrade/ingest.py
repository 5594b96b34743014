"""Ingest: new or changed release files into the raw schema, bad files and rows into quarantine."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd

from citytrade.areas import AreaResolver, default_resolver
from citytrade.parsers import PARSERS
from citytrade.parsers.base import ParsedRelease
from citytrade.releases import Release, ReleaseError, discover_releases, require_common_fields
from citytrade.warehouse import open_warehouse

log = logging.getLogger(__name__)

TRADE_COLUMNS = [
    "release_id", "row_number", "area_raw", "area_code", "year", "month_from", "month_to", "basis", "unit",
    "currency", "total_text", "total_value", "total_resolution", "exports_text", "exports_value",
    "exports_resolution", "imports_text", "imports_value", "imports_resolution", "total_yoy_pct",
    "total_yoy_pct_resolution", "exports_yoy_pct", "exports_yoy_pct_resolution", "imports_yoy_pct",
    "imports_yoy_pct_resolution", "source_url",
]  # fmt: skip
TOP100_COLUMNS = ["release_id", "row_number", "year", "rank", "area_raw", "area_code", "score", "is_complete_list"]
SUBINDEX_COLUMNS = ["release_id", "row_number", "subindex", "score"]


@dataclass
class IngestSummary:
    """What one ingest did, for the run report and the exit code."""

    loaded: list[str] = field(default_factory=list)
    unchanged: int = 0
    rejected: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line each: "path:row: reason"
    standing_problems: list[str] = field(default_factory=list)  # quarantined in earlier runs, still in the landing zone
    rows_loaded: int = 0
    rows_quarantined: int = 0
    landing_zone: dict[str, str] = field(default_factory=dict)  # what this ingest saw: path -> release_id (the watch's fingerprint)


def ingest_releases(
    raw_dir: Path,
    warehouse_path: Path,
    run_id: str,
    resolver: AreaResolver | None = None,
    progress: Callable[[int, int, str, str], None] | None = None,
) -> IngestSummary:
    """Load every release not loaded before; one transaction per release, so a crash never half-loads one.

    progress(done, total, path, outcome) is called after each release is committed (or found unchanged).
    """
    resolver = resolver or default_resolver()
    summary = IngestSummary()
    releases = discover_releases(raw_dir)
    summary.landing_zone = {release.rel_path: release.release_id for release in releases}
    with open_warehouse(warehouse_path) as con:
        known = dict(con.execute("select release_id, path from raw.releases").fetchall())
        loaded_by_sha = dict(con.execute("select sha256, path from raw.releases where status in ('loaded', 'partial')").fetchall())
        for done, release in enumerate(releases, start=1):
            outcome = _ingest_one(con, release, known, loaded_by_sha, resolver, run_id, summary)
            if progress:
                progress(done, len(releases), release.rel_path, outcome)
    for line in summary.problems:
        log.warning("quarantined %s", line)
    return summary


def _ingest_one(con, release: Release, known: dict, loaded_by_sha: dict, resolver: AreaResolver, run_id: str, summary: IngestSummary) -> str:
    if release.release_id in known:
        first_path = known[release.release_id]
        if first_path != release.rel_path and not _quarantined_at(con, release):
            # the same data file and sidecar copied elsewhere: its release is already in the warehouse
            reason = f"duplicate: same bytes as {first_path}, already loaded"
            _quarantine_copy(con, release, reason, run_id)
            summary.rejected.append(release.rel_path)
            summary.problems.append(f"{release.rel_path}: {reason}")
            return "duplicate"
        summary.unchanged += 1
        summary.standing_problems.extend(_standing_problems(con, release))
        return "unchanged"
    parsed, reason = _parse(release, resolver)
    duplicate_of = loaded_by_sha.get(release.sha256)
    if reason is None and duplicate_of and duplicate_of != release.rel_path:
        parsed, reason = None, f"duplicate: same bytes as {duplicate_of}, already loaded"
    _store_release(con, release, parsed, reason, run_id)
    known[release.release_id] = release.rel_path
    if parsed is None:
        summary.rejected.append(release.rel_path)
        summary.problems.append(f"{release.rel_path}: {reason}")
        return "duplicate" if reason.startswith("duplicate") else "rejected"
    loaded_by_sha.setdefault(release.sha256, release.rel_path)
    summary.loaded.append(release.rel_path)
    summary.rows_loaded += len(parsed.rows)
    summary.rows_quarantined += len(parsed.rejects)
    summary.problems.extend(f"{release.rel_path}:{number}: {why}" for number, why in parsed.rejects)
    return "partial" if parsed.rejects else "loaded"


def _quarantined_at(con: duckdb.DuckDBPyConnection, release: Release) -> bool:
    found = con.execute("select count(*) from raw.quarantine where release_id = ? and path = ?", [release.release_id, release.rel_path])
    return found.fetchone()[0] > 0


def _quarantine_copy(con: duckdb.DuckDBPyConnection, release: Release, reason: str, run_id: str) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    con.execute("insert into raw.quarantine values (?, ?, null, ?, ?, ?)", [release.release_id, release.rel_path, reason, run_id, now])


def _standing_problems(con: duckdb.DuckDBPyConnection, release: Release) -> list[str]:
    rows = con.execute(
        "select row_number, reason from raw.quarantine where release_id = ? and path = ? order by row_number nulls first",
        [release.release_id, release.rel_path],
    ).fetchall()
    return [f"{release.rel_path}:{number}: {why}" if number is not None else f"{release.rel_path}: {why}" for number, why in rows]


def _parse(release: Release, resolver: AreaResolver) -> tuple[ParsedRelease | None, str | None]:
    if release.meta_error:
        return None, release.meta_error
    try:
        require_common_fields(release.meta)
        parser = PARSERS.get(str(release.meta["format"]))
        if parser is None:
            raise ReleaseError(f"unknown format '{release.meta['format']}' (known: {', '.join(PARSERS)})")
        return _reject_repeated_figures(parser(release, resolver)), None
    except ReleaseError as exc:
        return None, str(exc)
    except ValueError as exc:  # a sidecar value the parser refused, e.g. an unknown unit
        return None, str(exc)


def _reject_repeated_figures(parsed: ParsedRelease) -> ParsedRelease:
    """One release gives one figure per area, period and basis: a repeat is quarantined, naming the first row."""
    if parsed.kind != "trade" or not isinstance(parsed.rows, list):
        return parsed
    first_rows: dict[tuple, int] = {}
    kept = []
    for row in parsed.rows:
        key = (row["area_code"], row["year"], row["month_from"], row["month_to"], row["basis"])
        if key in first_rows:
            parsed.rejects.append((row["row_number"], f"{row['area_raw']} {row['year']} months {row['month_from']}-{row['month_to']} "
                                                     f"is already given on row {first_rows[key]}"))  # fmt: skip
            continue
        first_rows[key] = row["row_number"]
        kept.append(row)
    parsed.rows = kept
    parsed.rejects.sort(key=lambda reject: reject[0])
    return parsed


def _store_release(con: duckdb.DuckDBPyConnection, release: Release, parsed: ParsedRelease | None, reason: str | None, run_id: str) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    meta = release.meta
    rows = parsed.rows if parsed else []
    rejects = parsed.rejects if parsed else []
    if parsed is None:
        status = "duplicate" if reason and reason.startswith("duplicate") else "rejected"
    else:
        status = "partial" if rejects else "loaded"
    con.execute("begin transaction")
    try:
        con.execute(
            """insert into raw.releases values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                release.release_id, release.rel_path, release.sha256, release.sidecar_sha256,
                _text(meta.get("format")), _text(meta.get("publisher")), _text(meta.get("title")),
                _text(meta.get("source_url")), _date(meta.get("published_on")), _date(meta.get("retrieved_on")),
                _text(meta.get("unit")), _text(meta.get("basis")), _text(meta.get("encoding")),
                meta.get("complete") if isinstance(meta.get("complete"), bool) else None,
                meta.get("synthetic") is True, _text(meta.get("notes")), now, run_id,
                len(rows), len(rejects), status, reason,
            ],
        )  # fmt: skip
        if parsed is None:
            con.execute(
                "insert into raw.quarantine values (?, ?, null, ?, ?, ?)",
                [release.release_id, release.rel_path, reason, run_id, now],
            )
        elif hasattr(parsed.rows, "load_into"):  # set-based bulk load (citytrade/parsers/citytrade_detail_v1.py)
            parsed.rows.load_into(con, release.release_id)
            rejects = parsed.rejects
            if rejects:
                con.executemany(
                    "insert into raw.quarantine values (?, ?, ?, ?, ?, ?)",
                    [[release.release_id, release.rel_path, number, why, run_id, now] for number, why in rejects],
                )
        else:
            _insert_frame(con, "raw.trade_observations" if parsed.kind == "trade" else "raw.top100_entries",
                          rows, TRADE_COLUMNS if parsed.kind == "trade" else TOP100_COLUMNS, release.release_id)
            _insert_frame(con, "raw.top100_subindex_scores", parsed.subindex_scores, SUBINDEX_COLUMNS, release.release_id)
            if rejects:
                con.executemany(
                    "insert into raw.quarantine values (?, ?, ?, ?, ?, ?)",
                    [[release.release_id, release.rel_path, number, why, run_id, now] for number, why in rejects],
                )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def _insert_frame(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict], columns: list[str], release_id: str) -> None:
    if not rows:
        return
    frame = pd.DataFrame([{**row, "release_id": release_id} for row in rows])
    frame = frame.reindex(columns=columns)
    con.register("incoming_rows", frame)
    try:
        con.execute(f"insert into {table} by name select * from incoming_rows")
    finally:
        con.unregister("incoming_rows")


def _text(value: object) -> str | None:
    return None if value in (None, "") else str(value).strip()


def _date(value: object) -> dt.date | None:
    return value if isinstance(value, dt.date) else None
