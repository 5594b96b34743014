"""Remote release sources: fetch the files listed in a sources file into the landing zone, with retries and sha256."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import yaml
from citytrade.config import Settings
from citytrade.ingest.releases import SIDECAR_SUFFIX, file_sha256
from citytrade.scheduling import is_transient

log = logging.getLogger(__name__)

INCOMING = ".incoming"  # hidden folder of the landing zone: discovery skips it, so half-fetched files are never read


class SourceError(RuntimeError):
    """A source cannot be fetched; the message names the source and the reason."""


@dataclass
class Source:
    """One release on a remote location: the data file, its sidecar, where it goes in the landing zone."""

    url: str
    target: str  # path relative to the landing zone
    sidecar_url: str


@dataclass
class Fetched:
    url: str
    path: str  # relative to the landing zone
    sha256: str
    bytes: int
    status: str  # new | changed | unchanged
    fetched_at: str


def read_sources(path: Path) -> list[Source]:
    """Read a sources file: `sources: [{url, target?, sidecar_url?}, ...]`; one clear line on a bad entry."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SourceError(f"{path}: cannot read the sources file ({str(exc).splitlines()[0]})") from None
    entries = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise SourceError(f"{path}: expected a mapping with a list `sources:`")
    sources = []
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, str):
            entry = {"url": entry}
        if not isinstance(entry, dict) or not entry.get("url"):
            raise SourceError(f"{path}: source {number} needs a `url`")
        url = str(entry["url"])
        name = PurePosixPath(urlsplit(url).path).name
        if not name:
            raise SourceError(f"{path}: source {number} ({url}) does not name a file")
        target = PurePosixPath(str(entry.get("target") or name))
        if target.is_absolute() or ".." in target.parts:
            raise SourceError(f"{path}: source {number} target {target} must stay inside the landing zone")
        sidecar_url = str(entry.get("sidecar_url") or _sibling(url, PurePosixPath(name).stem + SIDECAR_SUFFIX))
        sources.append(Source(url=url, target=target.as_posix(), sidecar_url=sidecar_url))
    return sources


def pull_sources(settings: Settings, sources_file: Path, attempts: int = 3, backoff_seconds: float = 1.0) -> list[Fetched]:
    """Fetch every source (data file and sidecar) into the landing zone; records each file's sha256 under home.

    A file whose bytes are unchanged is left alone (its mtime too). Transient failures (connection refused,
    timeouts, HTTP 5xx/429) are retried `attempts` times with a growing pause; anything else fails at once.
    """
    fetched: list[Fetched] = []
    for source in read_sources(sources_file):
        target = settings.raw_dir / source.target
        for url, path in ((source.url, target), (source.sidecar_url, target.with_name(target.stem + SIDECAR_SUFFIX))):
            fetched.append(_fetch_into(settings.raw_dir, url, path, attempts, backoff_seconds))
    _record(settings, fetched)
    return fetched


def _fetch_into(raw_dir: Path, url: str, path: Path, attempts: int, backoff_seconds: float) -> Fetched:
    incoming = raw_dir / INCOMING
    incoming.mkdir(parents=True, exist_ok=True)
    partial = incoming / (path.name + ".part")
    for attempt in range(1, attempts + 1):
        try:
            digest, size = _download(url, partial)
            break
        except Exception as exc:
            partial.unlink(missing_ok=True)
            if attempt == attempts or not is_transient(exc):
                raise SourceError(f"{url}: {_reason(exc)} (attempt {attempt} of {attempts})") from exc
            log.warning("%s: %s; retrying (attempt %d of %d)", url, _reason(exc), attempt, attempts)
            time.sleep(backoff_seconds * attempt)
    status = "new"
    if path.exists():
        status = "unchanged" if file_sha256(path) == digest else "changed"
    if status == "unchanged":
        partial.unlink()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, path)  # readers see the old file or the whole new one
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return Fetched(url=url, path=path.relative_to(raw_dir).as_posix(), sha256=digest, bytes=size, status=status, fetched_at=now)


def _download(url: str, destination: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with _open(url) as response, open(destination, "wb") as handle:
        for block in iter(lambda: response.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
            handle.write(block)
        handle.flush()
        os.fsync(handle.fileno())
    return digest.hexdigest(), size


def _open(url: str):
    scheme = urlsplit(url).scheme
    if scheme in ("http", "https"):
        request = urllib.request.Request(url, headers={"User-Agent": "citytrade"})
        return urllib.request.urlopen(request, timeout=60)  # raises HTTPError on 4xx/5xx
    import fsspec  # file://, s3://, ... whatever fsspec has a driver installed for

    return fsspec.open(url, "rb").open()


def _record(settings: Settings, fetched: list[Fetched]) -> None:
    log_path = settings.log_dir / "sources.jsonl"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as handle:
        for item in fetched:
            handle.write(json.dumps(asdict(item)) + "\n")


def _sibling(url: str, name: str) -> str:
    parts = urlsplit(url)
    path = str(PurePosixPath(parts.path).with_name(name))
    return parts._replace(path=path).geturl()


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
