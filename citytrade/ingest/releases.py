"""The landing zone: find release files, read their sidecars safely, fingerprint them."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DATA_SUFFIXES = (".csv", ".xlsx", ".txt", ".html", ".htm")  # text and pages: press-text-v1
SIDECAR_SUFFIX = ".meta.yaml"
BASES = ("firm_location", "destination_source", "port", "national")


class ReleaseError(ValueError):
    """A whole release cannot be loaded; the message is one line a person can act on."""


@dataclass
class Release:
    """One data file of the landing zone with its sidecar and fingerprints."""

    data_path: Path
    rel_path: str
    sha256: str
    sidecar_path: Path | None
    sidecar_sha256: str | None
    meta: dict = field(default_factory=dict)
    meta_error: str | None = None

    @property
    def release_id(self) -> str:
        """Identifies this exact version: data bytes and sidecar bytes together."""
        digest = hashlib.sha256(f"{self.sha256}:{self.sidecar_sha256 or '-'}".encode()).hexdigest()
        return digest[:16]

    @property
    def format(self) -> str | None:
        value = self.meta.get("format")
        return str(value) if value is not None else None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sidecar_for(data_path: Path) -> Path:
    return data_path.with_name(data_path.stem + SIDECAR_SUFFIX)


def discover_releases(raw_dir: Path) -> list[Release]:
    """Every data file under raw_dir, sorted by path; never modifies anything."""
    if not raw_dir.is_dir():
        raise ReleaseError(f"{raw_dir}: the raw folder does not exist")
    releases = []
    for path in sorted(p for p in raw_dir.rglob("*") if p.is_file() and p.suffix.lower() in DATA_SUFFIXES):
        if any(part.startswith(".") for part in path.relative_to(raw_dir).parts):
            continue
        sidecar = sidecar_for(path)
        release = Release(
            data_path=path,
            rel_path=path.relative_to(raw_dir).as_posix(),
            sha256=file_sha256(path),
            sidecar_path=sidecar if sidecar.is_file() else None,
            sidecar_sha256=file_sha256(sidecar) if sidecar.is_file() else None,
        )
        if release.sidecar_path is None:
            release.meta_error = f"no sidecar: expected {sidecar.name} beside it"
        else:
            try:
                release.meta = read_sidecar(release.sidecar_path)
            except ReleaseError as exc:
                release.meta_error = str(exc)
        releases.append(release)
    return releases


def release_for_file(path: Path) -> Release:
    """One data file with the sidecar beside it, read as the landing zone would (for a preview); ReleaseError if the
    file or its sidecar is missing or the sidecar lacks a required field."""
    if not path.is_file():
        raise ReleaseError("no such file" if not path.exists() else "not a file")
    sidecar = sidecar_for(path)
    if not sidecar.is_file():
        raise ReleaseError(f"no sidecar: expected {sidecar.name} beside it")
    release = Release(data_path=path, rel_path=path.name, sha256=file_sha256(path), sidecar_path=sidecar,
                      sidecar_sha256=file_sha256(sidecar), meta=read_sidecar(sidecar))  # fmt: skip
    require_common_fields(release.meta)
    return release


# libyaml's safe loader when PyYAML has it: the same safe subset, ~10x faster over a landing zone of sidecars
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_sidecar(path: Path) -> dict:
    """Parse a sidecar with the safe loader: tags that build Python objects are refused."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ReleaseError(f"sidecar {path.name} is not UTF-8 text") from None
    try:
        meta = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ReleaseError(f"sidecar {path.name} is not plain YAML ({first})") from None
    if not isinstance(meta, dict):
        raise ReleaseError(f"sidecar {path.name} must be a mapping of fields")
    return meta


def require_common_fields(meta: dict) -> None:
    """The fields every sidecar needs, whatever the format."""
    missing = [name for name in ("format", "publisher", "published_on") if meta.get(name) in (None, "")]
    if missing:
        raise ReleaseError(f"sidecar lacks required field(s): {', '.join(missing)}")
    meta["published_on"] = as_date(meta["published_on"], "published_on")
    if meta.get("retrieved_on") not in (None, ""):
        meta["retrieved_on"] = as_date(meta["retrieved_on"], "retrieved_on")


def as_date(value: object, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ReleaseError(f"sidecar field {name} '{value}' is not a date (YYYY-MM-DD)") from None
