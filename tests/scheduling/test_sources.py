"""Pulling releases from remote sources into the landing zone, against a real HTTP server on loopback."""

from __future__ import annotations

import hashlib
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from citytrade.config import Settings
from citytrade.ingest.releases import discover_releases
from citytrade.ingest.sources import SourceError, pull_sources

CSV = "area,year,month_from,month_to,total\nShenzhen,2025,1,12,4.5\n"
META = "format: citytrade-v1\npublisher: test publisher\npublished_on: 2026-01-20\nunit: trillion_yuan\nbasis: firm_location\n"


class Remote:
    """A folder served over HTTP on 127.0.0.1; `fail_next` makes the next N requests answer with that status."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.requests: list[str] = []
        self.failures: list[int] = []
        remote = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):
                remote.requests.append(self.path)
                if remote.failures:
                    self.send_error(remote.failures.pop(0))
                    return
                super().do_GET()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def remote(tmp_path):
    folder = tmp_path / "remote"
    (folder / "gacc").mkdir(parents=True)
    (folder / "gacc" / "shenzhen_2025.csv").write_text(CSV, encoding="utf-8")
    (folder / "gacc" / "shenzhen_2025.meta.yaml").write_text(META, encoding="utf-8")
    with Remote(folder) as server:
        yield server


def sources_file(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n" + "".join(f"  - {entry}\n" for entry in entries), encoding="utf-8")
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pull_fetches_release_and_sidecar_records_sha256_and_skips_unchanged(tmp_path, raw_dir, home, remote):
    settings = Settings.from_args(raw_dir, home)
    listing = sources_file(tmp_path, f"{{url: {remote.url}/gacc/shenzhen_2025.csv, target: press/shenzhen_2025.csv}}")

    first = pull_sources(settings, listing)

    landed = raw_dir / "press" / "shenzhen_2025.csv"
    assert landed.read_text(encoding="utf-8") == CSV
    assert (raw_dir / "press" / "shenzhen_2025.meta.yaml").read_text(encoding="utf-8") == META
    assert [(f.path, f.status) for f in first] == [("press/shenzhen_2025.csv", "new"), ("press/shenzhen_2025.meta.yaml", "new")]
    assert first[0].sha256 == sha(landed) == hashlib.sha256(CSV.encode()).hexdigest()
    recorded = [json.loads(line) for line in (home / "logs" / "sources.jsonl").read_text().splitlines()]
    assert {(r["url"], r["sha256"]) for r in recorded} == {(f.url, f.sha256) for f in first}
    assert [r.rel_path for r in discover_releases(raw_dir)] == ["press/shenzhen_2025.csv"]  # nothing half-fetched visible

    mtime = landed.stat().st_mtime_ns
    second = pull_sources(settings, listing)
    assert [f.status for f in second] == ["unchanged", "unchanged"]
    assert landed.stat().st_mtime_ns == mtime

    (remote.folder / "gacc" / "shenzhen_2025.csv").write_text(CSV.replace("4.5", "4.6"), encoding="utf-8")
    third = pull_sources(settings, listing)
    assert [f.status for f in third] == ["changed", "unchanged"]
    assert "4.6" in landed.read_text(encoding="utf-8")


def test_transient_http_errors_are_retried(tmp_path, raw_dir, home, remote):
    settings = Settings.from_args(raw_dir, home)
    remote.failures = [503, 502]
    fetched = pull_sources(settings, sources_file(tmp_path, f"{remote.url}/gacc/shenzhen_2025.csv"), backoff_seconds=0.01)
    assert remote.requests.count("/gacc/shenzhen_2025.csv") == 3
    assert (raw_dir / "shenzhen_2025.csv").read_text(encoding="utf-8") == CSV
    assert fetched[0].status == "new"


def test_a_missing_file_fails_at_once_naming_the_url_and_leaves_the_landing_zone_alone(tmp_path, raw_dir, home, remote):
    settings = Settings.from_args(raw_dir, home)
    with pytest.raises(SourceError, match=r"/gacc/missing\.csv: HTTPError: HTTP Error 404.*attempt 1 of 3"):
        pull_sources(settings, sources_file(tmp_path, f"{remote.url}/gacc/missing.csv"), backoff_seconds=0.01)
    assert remote.requests == ["/gacc/missing.csv"]
    assert discover_releases(raw_dir) == []


def test_a_filesystem_url_is_read_through_fsspec(tmp_path, raw_dir, home, remote):
    settings = Settings.from_args(raw_dir, home)
    url = (remote.folder / "gacc" / "shenzhen_2025.csv").as_uri()
    fetched = pull_sources(settings, sources_file(tmp_path, url))
    assert [f.path for f in fetched] == ["shenzhen_2025.csv", "shenzhen_2025.meta.yaml"]
    assert (raw_dir / "shenzhen_2025.meta.yaml").read_text(encoding="utf-8") == META
    assert remote.requests == []


def test_a_target_outside_the_landing_zone_is_refused(tmp_path, raw_dir, home, remote):
    listing = sources_file(tmp_path, f"{{url: {remote.url}/gacc/shenzhen_2025.csv, target: ../escape.csv}}")
    with pytest.raises(SourceError, match=r"sources.yaml: source 1 target \.\./escape\.csv must stay inside the landing zone"):
        pull_sources(Settings.from_args(raw_dir, home), listing)
