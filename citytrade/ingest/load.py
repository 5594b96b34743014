"""Ingest: new or changed release files into the raw schema, bad files and rows into quarantine."""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Protocol

import duckdb
from citytrade.ingest.areas import AreaResolver, default_resolver
from citytrade.ingest.parsers import PARSERS
from citytrade.ingest.parsers.base import ParsedRelease
from citytrade.ingest.releases import Release, ReleaseError, discover_releases, require_common_fields
from citytrade.warehouse import open_warehouse, utc_now

log = logging.getLogger(__name__)

TRADE_COLUMNS = [
    "release_id", "row_number", "area_raw", "area_code", "year", "month_from", "month_to", "basis", "unit",
    "currency", "total_text", "total_value", "total_resolution", "exports_text", "exports_value",
    "exports_resolution", "imports_text", "imports_value", "imports_resolution", "total_yoy_pct",
    "total_yoy_pct_resolution", "exports_yoy_pct", "exports_yoy_pct_resolution", "imports_yoy_pct",
    "imports_yoy_pct_resolution", "source_url", "published_on", "quote", "span_start", "span_end",
]  # fmt: skip
TOP100_COLUMNS = ["release_id", "row_number", "year", "rank", "area_raw", "area_code", "score", "is_complete_list"]
SUBINDEX_COLUMNS = ["release_id", "row_number", "subindex", "score"]
REGION_COUNT_COLUMNS = ["release_id", "row_number", "year", "region", "cities_in_list"]
RELEASE_COLUMNS = [
    "release_id", "path", "sha256", "sidecar_sha256", "format", "publisher", "title", "source_url", "published_on",
    "retrieved_on", "unit", "basis", "encoding", "is_complete_list", "is_synthetic", "notes", "loaded_at", "run_id",
    "rows_loaded", "rows_quarantined", "status", "status_reason",
]  # fmt: skip
QUARANTINE_COLUMNS = ["release_id", "path", "row_number", "reason", "run_id", "detected_at"]
REFUSED_COLUMNS = ["release_id", "quote", "span_start", "span_end", "reason"]
COLUMNS = {
    "raw.press_refused_figures": REFUSED_COLUMNS,
    "raw.releases": RELEASE_COLUMNS, "raw.trade_observations": TRADE_COLUMNS, "raw.top100_entries": TOP100_COLUMNS,
    "raw.top100_subindex_scores": SUBINDEX_COLUMNS, "raw.top100_region_counts": REGION_COUNT_COLUMNS,
    "raw.quarantine": QUARANTINE_COLUMNS,
}  # fmt: skip


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
    parse_pool: ParsePool | None = None,
) -> IngestSummary:
    """Load every release not loaded before, whole: a crash never half-loads one.

    Releases are committed a batch at a time, each batch one transaction (_Batch). progress(done, total, path,
    outcome) is called for each release once its batch is committed (or it was found unchanged). With a parse_pool,
    a large landing zone is parsed in parallel while this process loads it, in the same order (parse_in_order).
    """
    summary = IngestSummary()
    releases = discover_releases(raw_dir)
    summary.landing_zone = {release.rel_path: release.release_id for release in releases}
    with open_warehouse(warehouse_path) as con:
        known = dict(con.execute("select release_id, path from raw.releases").fetchall())
        loaded_by_sha = dict(con.execute("select sha256, path from raw.releases where status in ('loaded', 'partial')").fetchall())
        quarantined = _quarantined_before(con)
        batch = _Batch(con, run_id, progress, len(releases))
        with closing(parse_in_order(releases_to_parse(releases, known), resolver, parse_pool)) as parsed:
            for done, release in enumerate(releases, start=1):
                outcome = _ingest_one(batch, release, known, loaded_by_sha, quarantined, parsed, summary)
                batch.reported(done, release.rel_path, outcome)
                if batch.full():
                    batch.commit()
        batch.commit()
    for line in summary.problems:
        log.warning("quarantined %s", line)
    return summary


# A batch is committed once it holds this many rows or releases. One transaction per release cost 15-18 ms of
# DuckDB statements and commit each, 40 % of the ingest of 7 years of monthly releases (231 files; issue #8).
BATCH_ROWS = 5000
BATCH_RELEASES = 50


class _Batch:
    """Releases read but not yet written: written together in one transaction, so each is in whole or not at all."""

    def __init__(self, con: duckdb.DuckDBPyConnection, run_id: str, progress: Callable | None, total: int):
        self.con, self.run_id, self.progress, self.total = con, run_id, progress, total
        self._clear()

    def _clear(self) -> None:
        self.tables: dict[str, list[tuple[str, list[dict]]]] = {}  # table -> (release_id, rows) in order
        self.bulk_loads: list[tuple[object, Release]] = []  # (rows with load_into, their release)
        self.rows = 0
        self.events: list[tuple[int, str, str]] = []  # progress, reported once committed

    def add_rows(self, table: str, release_id: str, rows: list[dict]) -> None:
        if rows:
            self.tables.setdefault(table, []).append((release_id, rows))
            self.rows += len(rows)

    def load_now(self, rows, release: Release, release_row: dict) -> None:
        """A detail release (set-based bulk load, citytrade/parsers/citytrade_detail_v1.py): what is pending first,
        then the release in a transaction of its own, at once, as its loaded and quarantined rows are only counted
        as it loads."""
        self.commit()
        self.add_rows("raw.releases", release.release_id, [release_row])
        self.bulk_loads.append((rows, release))
        self.commit()

    def quarantine_row(self, release: Release, row_number: int | None, reason: str) -> dict:
        return {"path": release.rel_path, "row_number": row_number, "reason": reason, "run_id": self.run_id, "detected_at": utc_now()}

    def reported(self, done: int, path: str, outcome: str) -> None:
        self.events.append((done, path, outcome))

    def full(self) -> bool:
        return self.rows >= BATCH_ROWS or len(self.tables.get("raw.releases", [])) >= BATCH_RELEASES

    def commit(self) -> None:
        if self.tables or self.bulk_loads:
            self.con.execute("begin transaction")
            try:
                for table, parts in self.tables.items():
                    _insert_rows(self.con, table, parts)
                for rows, release in self.bulk_loads:
                    rows.load_into(self.con, release.release_id)  # its release row is in: load_into completes it
                    if rows.rejects:
                        quarantined = [self.quarantine_row(release, number, why) for number, why in rows.rejects]
                        _insert_rows(self.con, "raw.quarantine", [(release.release_id, quarantined)])
                self.con.execute("commit")
            except Exception:
                try:
                    self.con.execute("rollback")
                except duckdb.TransactionException:  # a failed or interrupted commit has ended the transaction itself
                    pass  # what made it fail is raised, not "cannot rollback - no transaction is active"
                raise
        events = self.events
        self._clear()
        if self.progress:
            for done, path, outcome in events:
                self.progress(done, self.total, path, outcome)


def _ingest_one(batch: _Batch, release: Release, known: dict, loaded_by_sha: dict, quarantined: dict[tuple[str, str], list[str]],
                parsed_releases: Iterator[tuple[Release, ParseOutcome]], summary: IngestSummary) -> str:  # fmt: skip
    if release.release_id in known:
        first_path = known[release.release_id]
        if first_path != release.rel_path and (release.release_id, release.rel_path) not in quarantined:
            # the same data file and sidecar copied elsewhere: its release is already in the warehouse
            reason = f"duplicate: same bytes as {first_path}, already loaded"
            _quarantine(batch, release, None, reason)
            summary.rejected.append(release.rel_path)
            summary.problems.append(f"{release.rel_path}: {reason}")
            return "duplicate"
        summary.unchanged += 1
        summary.standing_problems.extend(quarantined.get((release.release_id, release.rel_path), []))
        return "unchanged"
    parsed_release, (parsed, reason) = next(parsed_releases)
    if parsed_release is not release:  # releases_to_parse and this loop disagree on what is new: a bug, never data
        raise RuntimeError(f"parsed {parsed_release.rel_path} where {release.rel_path} was expected")
    duplicate_of = loaded_by_sha.get(release.sha256)
    if reason is None and duplicate_of and duplicate_of != release.rel_path:
        parsed, reason = None, f"duplicate: same bytes as {duplicate_of}, already loaded"
    _store_release(batch, release, parsed, reason)
    known[release.release_id] = release.rel_path
    if parsed is None:
        summary.rejected.append(release.rel_path)
        summary.problems.append(f"{release.rel_path}: {reason}")
        return "duplicate" if reason.startswith("duplicate") else "rejected"
    loaded_by_sha.setdefault(release.sha256, release.rel_path)
    summary.loaded.append(release.rel_path)
    summary.rows_loaded += len(parsed.rows) + len(parsed.region_counts)
    summary.rows_quarantined += len(parsed.rejects)
    summary.problems.extend(f"{release.rel_path}:{number}: {why}" for number, why in parsed.rejects)
    return "partial" if parsed.rejects else "loaded"


def _quarantine(batch: _Batch, release: Release, row_number: int | None, reason: str) -> None:
    batch.add_rows("raw.quarantine", release.release_id, [batch.quarantine_row(release, row_number, reason)])


def _quarantined_before(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[str]]:
    """What earlier runs quarantined, per (release id, path), each as the one line the run reports again.

    One query for the whole landing zone: a query per unchanged release cost 0.35 s of a run adding one month to 7
    years (231 releases; issue #8). Read before this run writes: a path comes once per run, so what it quarantines
    now is never asked for again in it.
    """
    found: dict[tuple[str, str], list[str]] = {}
    rows = con.execute("select release_id, path, row_number, reason from raw.quarantine order by release_id, path, row_number nulls first")
    for release_id, path, number, why in rows.fetchall():
        found.setdefault((release_id, path), []).append(f"{path}:{number}: {why}" if number is not None else f"{path}: {why}")
    return found


# ---- parsing: pure (a file in, its rows or the reason it is refused out), so that it can run in other processes

ParseOutcome = tuple[ParsedRelease | None, str | None]  # (the parsed release, None) or (None, why it is refused)


def parse_release(release: Release, resolver: AreaResolver | None = None) -> ParseOutcome:
    """Parse one release, touching no warehouse: its canonical rows, or the one-line reason it is quarantined whole.

    Its rows' own reasons (ParsedRelease.rejects) come back with it, so a release parsed in a worker process is
    quarantined with the same lines, naming the file and row, as one parsed here. An error that is not about the
    data (a bug) is raised, wherever the parse ran."""
    resolver = resolver or default_resolver()
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


def parse_releases(releases: list[Release], resolver: AreaResolver | None = None,
                   stopped: Callable[[], bool] | None = None) -> list[tuple[dict, ParseOutcome]]:  # fmt: skip
    """Parse several releases, in order: one submission to a worker (the default resolver is built there, once).

    Each comes with its sidecar fields as the parse left them (dates read as dates, require_common_fields), which
    the load records: a worker parses a copy of the release, whose changes would otherwise stay in the worker.
    Once stopped() is true (the run is being interrupted) it returns what it has at once: nobody will read it."""
    parsed = []
    for release in releases:
        if stopped is not None and stopped():
            break
        parsed.append((release.meta, parse_release(release, resolver)))
    return parsed


def releases_to_parse(releases: list[Release], known: dict[str, str]) -> list[Release]:
    """The releases the load will parse, in its order: the first of each release id the warehouse does not hold
    (a later copy of the same bytes is quarantined as a duplicate unparsed, _ingest_one)."""
    seen = set(known)
    new = []
    for release in releases:
        if release.release_id not in seen:
            seen.add(release.release_id)
            new.append(release)
    return new


class ParsePool(Protocol):
    """Somewhere to parse releases in parallel, with `workers` parsers besides the run's own process. Entered for the
    parse of one landing zone (it starts them). submit(releases, resolver) returns a future whose done() says
    whether it has finished, whose wait() waits until it has, and whose result() gives parse_releases(releases,
    resolver) (a list, or an iterator over it), computed wherever the pool runs it. Leaving it stops them, also on
    an error or Ctrl-C. flows/parse_pool.py makes one from a Prefect task runner; this package does not import
    Prefect."""

    workers: int

    def __enter__(self) -> "ParsePool": ...

    def __exit__(self, *exc_info) -> None: ...

    def submit(self, releases: list[Release], resolver: AreaResolver | None): ...

    def finish(self) -> None:
        """Nothing more will be submitted and all that was is done: the workers may start stopping now, while this
        process parses the last pieces. Leaving the pool still waits until they have."""


# A pool parses a landing zone of at least this many new releases; fewer (the monthly run brings a handful, a year's
# backfill 33) are parsed one at a time here, as the pool cannot win on them: its start-up (a spawned worker imports
# Prefect and the parsers) costs 1.5-2.5 s, while a city release of ~240 rows (19 KB) parses in 4-8 ms (issue #31).
PARALLEL_PARSE_MIN_RELEASES = 500
# The landing zone is cut into pieces of at most PARSE_PIECE_BYTES of release files (and PARSE_CHUNK_RELEASES
# releases), as a parse costs by the byte (0.2-0.4 us, national and city releases alike). The run's process parses
# one piece at a time, so that it never takes much that a worker coming free would have had. A worker gets a chunk:
# consecutive pieces, an equal share per parser of what is left beyond the last PARSE_BYTES_KEPT_HERE, between
# PARSE_CHUNK_BYTES_AT_LEAST and PARSE_CHUNK_BYTES, so that the last ones, which one parser may still be parsing when
# the others have nothing left, are short. Each chunk is one Prefect task run, whose own cost (0.1-0.3 s to start,
# engine, API client, events) is shared by many parses. The last PARSE_BYTES_KEPT_HERE are parsed here, not sent: a
# task run would take longer to start than this process takes to parse them, and the workers, their last chunk done,
# exit meanwhile (0.2-0.5 s; ParsePool.finish). Issue #31.
PARSE_PIECE_BYTES = 300_000
PARSE_CHUNK_RELEASES = 200
PARSE_CHUNK_BYTES = 4_000_000
PARSE_CHUNK_BYTES_AT_LEAST = 600_000
PARSE_BYTES_KEPT_HERE = 1_000_000


class ParseQueue:
    """A landing zone's releases, in order, in pieces to take from the front: one for this process, a chunk of
    several for a worker (above)."""

    def __init__(self, releases: list[Release], parsers: int):
        self.parsers, self.pieces = parsers, deque()
        sizes = [_file_size(release.data_path) for release in releases]
        self.left, start = sum(sizes), 0
        while start < len(releases):
            end, taken = start, 0
            while end < len(releases) and end - start < PARSE_CHUNK_RELEASES and (taken < PARSE_PIECE_BYTES or end == start):
                taken, end = taken + sizes[end], end + 1
            self.pieces.append((releases[start:end], taken))
            start = end

    def __bool__(self) -> bool:
        return bool(self.pieces)

    def for_here(self) -> list[Release]:
        releases, taken = self.pieces.popleft()
        self.left -= taken
        return releases

    def for_a_worker(self) -> list[Release] | None:
        """The next chunk for a worker, or None when what is left is better parsed here."""
        target = max(PARSE_CHUNK_BYTES_AT_LEAST, min(PARSE_CHUNK_BYTES, (self.left - PARSE_BYTES_KEPT_HERE) // self.parsers))
        count = taken = releases = 0
        while count < len(self.pieces) and taken < target and releases + len(self.pieces[count][0]) <= PARSE_CHUNK_RELEASES:
            releases, taken, count = releases + len(self.pieces[count][0]), taken + self.pieces[count][1], count + 1
        if taken < PARSE_CHUNK_BYTES_AT_LEAST or self.left - taken < PARSE_BYTES_KEPT_HERE:
            return None
        return [release for _ in range(count) for release in self.for_here()]


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # gone since it was found: its parse says so
        return 0


class ParsedHere:
    """A piece this process parses, one release at a time, with the done() and result() of a pool's run."""

    def __init__(self, releases: list[Release], resolver: AreaResolver):
        self.releases, self.resolver, self.outcomes = releases, resolver, []

    def parse_next(self) -> None:
        release = self.releases[len(self.outcomes)]
        self.outcomes.append((release.meta, parse_release(release, self.resolver)))

    def done(self) -> bool:
        return len(self.outcomes) == len(self.releases)

    def result(self) -> list[tuple[dict, ParseOutcome]]:
        return self.outcomes


def parse_in_order(releases: list[Release], resolver: AreaResolver | None = None,
                   pool: ParsePool | None = None) -> Iterator[tuple[Release, ParseOutcome]]:  # fmt: skip
    """Each release with its parse, in the order given.

    For a large landing zone the pool's workers and this process share the parse. Each worker has one chunk at a
    time; while the chunk due next is still in the pool (the workers are starting, or busy), this process parses
    the next piece not yet sent, one release at a time, so that it sees a worker come free and sends it the next
    chunk; the last pieces are parsed here, while the workers stop (finish). Releases sent or parsed and not yet
    consumed are at most (2 * workers + 2) * PARSE_CHUNK_RELEASES, so memory never holds the landing zone. One at a
    time here without a pool, with no worker, or below PARALLEL_PARSE_MIN_RELEASES. Closing the generator (the load's
    error, Ctrl-C) leaves the pool, which stops its workers and drops what they have not started."""
    if pool is None or pool.workers < 1 or len(releases) < PARALLEL_PARSE_MIN_RELEASES:
        resolver = resolver or default_resolver()
        for release in releases:
            yield release, parse_release(release, resolver)
        return
    shipped = None if resolver is None or resolver is default_resolver() else resolver  # a worker builds the default
    local_resolver = resolver or default_resolver()
    queue = ParseQueue(releases, pool.workers + 1)
    most_held = (2 * pool.workers + 2) * PARSE_CHUNK_RELEASES  # releases sent or parsed, not yet consumed
    pending: deque[tuple[list[Release], object]] = deque()  # in order: a pool's run, or a piece ParsedHere
    here: ParsedHere | None = None  # the piece being parsed here, until it is whole
    sending = finishing = True
    with pool:
        while queue or pending:
            held = sum(len(chunk) for chunk, _ in pending)
            running = sum(1 for _, run in pending if not isinstance(run, ParsedHere) and not run.done())
            while sending and running < pool.workers and held < most_held:
                chunk = queue.for_a_worker()
                if chunk is None:
                    sending = False  # what is left is parsed here
                    break
                pending.append((chunk, pool.submit(chunk, shipped)))
                running, held = running + 1, held + len(chunk)
            if finishing and not sending and all(run.done() for _, run in pending if not isinstance(run, ParsedHere)):
                pool.finish()  # its workers' exit (0.2-0.5 s) overlaps the last parses here
                finishing = False
            if pending and pending[0][1].done():
                due, run = pending.popleft()
                for release, (meta, outcome) in zip(due, run.result(), strict=True):
                    release.meta = meta
                    yield release, outcome
                continue
            if here is None:
                if not queue or held >= most_held:
                    pending[0][1].wait()  # the due chunk is the pool's (one parsed here is `here`): wait for it
                    continue
                here = ParsedHere(queue.for_here(), local_resolver)
                pending.append((here.releases, here))
            here.parse_next()
            if here.done():
                here = None


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


def _store_release(batch: _Batch, release: Release, parsed: ParsedRelease | None, reason: str | None) -> None:
    meta = release.meta
    rows = parsed.rows if parsed else []
    rows_loaded = len(rows) + (len(parsed.region_counts) if parsed else 0)
    rejects = parsed.rejects if parsed else []
    if parsed is None:
        status = "duplicate" if reason and reason.startswith("duplicate") else "rejected"
    else:
        status = "partial" if rejects else "loaded"
    release_row = {
        "path": release.rel_path, "sha256": release.sha256, "sidecar_sha256": release.sidecar_sha256,
        "format": _text(meta.get("format")), "publisher": _text(meta.get("publisher")), "title": _text(meta.get("title")),
        "source_url": _text(meta.get("source_url")), "published_on": _date(meta.get("published_on")),
        "retrieved_on": _date(meta.get("retrieved_on")), "unit": _text(meta.get("unit")), "basis": _text(meta.get("basis")),
        "encoding": _text(meta.get("encoding")),
        "is_complete_list": meta.get("complete") if isinstance(meta.get("complete"), bool) else None,
        "is_synthetic": meta.get("synthetic") is True, "notes": _text(meta.get("notes")),
        "loaded_at": utc_now(),  # each release its own, in the order found: later versions rank by it (dbt)
        "run_id": batch.run_id, "rows_loaded": rows_loaded, "rows_quarantined": len(rejects), "status": status,
        "status_reason": reason,
    }  # fmt: skip
    if parsed is not None and hasattr(parsed.rows, "load_into"):
        batch.load_now(parsed.rows, release, release_row)
        return
    batch.add_rows("raw.releases", release.release_id, [release_row])
    if parsed is None:
        _quarantine(batch, release, None, reason)
        return
    batch.add_rows("raw.trade_observations" if parsed.kind == "trade" else "raw.top100_entries", release.release_id, rows)
    batch.add_rows("raw.top100_subindex_scores", release.release_id, parsed.subindex_scores)
    batch.add_rows("raw.top100_region_counts", release.release_id, parsed.region_counts)
    batch.add_rows("raw.press_refused_figures", release.release_id, parsed.notes)
    for number, why in rejects:
        _quarantine(batch, release, number, why)


def _insert_rows(con: duckdb.DuckDBPyConnection, table: str, parts: list[tuple[str, list[dict]]]) -> None:
    """Insert the rows of several releases into `table` by column name, as one NumPy array of Python values per
    column, which DuckDB scans and types itself (each column's type from all its values, as for a pandas frame).

    Not a pandas frame made from the row dicts (40 % of an ingest of 7 years of monthly releases), nor a pyarrow
    table (2-3 times as fast as these arrays to read, but pyarrow imports pandas the first time it converts a list:
    0.3 CPU s of every run's process, on its way to the first build, for batches of about BATCH_ROWS rows that DuckDB
    reads in 10-20 ms either way; issue #8)."""
    import numpy as np

    def column(values: list) -> np.ndarray:
        return np.fromiter(values, dtype=object, count=len(values))  # each value one element, whatever it holds

    data = {"release_id": column([release_id for release_id, rows in parts for _ in rows])}
    data.update({name: column([row.get(name) for _, rows in parts for row in rows]) for name in COLUMNS[table] if name != "release_id"})
    con.register("incoming_rows", data)
    try:
        con.execute(f"insert into {table} by name select * from incoming_rows")
    finally:
        con.unregister("incoming_rows")


def _text(value: object) -> str | None:
    return None if value in (None, "") else str(value).strip()


def _date(value: object) -> dt.date | None:
    return value if isinstance(value, dt.date) else None
