"""dbt docs for the publish: `dbt docs generate --static` into `<home>/published/docs/`, one self-contained page."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from citytrade.config import DBT_PROJECT_DIR, Settings, dbt_project_files


class DocsError(RuntimeError):
    """dbt could not generate the docs; the message says why."""


FINGERPRINT_NAME = ".fingerprint"


def publish_docs(settings: Settings) -> Path:
    """Generate the docs against the build warehouse and copy them beside the published marts; returns index.html.

    The docs say what the project and the relations' columns are, not how many rows they hold (dbt-duckdb's catalog
    has no statistics): when neither changed since the published docs were made, they are kept as they are,
    which saves a `dbt docs generate` per run.
    """
    settings.apply_environment()
    docs_dir = settings.published_dir / "docs"
    fingerprint = docs_fingerprint(settings)
    if (docs_dir / "index.html").is_file() and _read(docs_dir / FINGERPRINT_NAME) == fingerprint:
        return docs_dir / "index.html"
    from citytrade.transform.build import dbt_args, invoke_dbt, parsed_manifest

    target = settings.dbt_target_dir
    result = invoke_dbt(["docs", "generate", "--static", *dbt_args(settings)], manifest=parsed_manifest(settings))
    if not result.success:
        detail = str(result.exception).strip().splitlines()[0] if result.exception else f"see {settings.dbt_log_dir}"
        raise DocsError(f"dbt docs generate failed: {detail}")

    # ---- copy: the static page (manifest and catalog inside it) plus the two JSON files for tools that read them
    staging = settings.published_dir / f".docs-{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copyfile(target / "static_index.html", staging / "index.html")
    for name in ("manifest.json", "catalog.json"):
        shutil.copyfile(target / name, staging / name)
    _check_offline(staging / "manifest.json")
    (staging / FINGERPRINT_NAME).write_text(fingerprint + "\n", encoding="utf-8")
    old = settings.published_dir / f".docs-old-{os.getpid()}.tmp"
    if docs_dir.exists():
        docs_dir.rename(old)
    staging.rename(docs_dir)
    shutil.rmtree(old, ignore_errors=True)
    return docs_dir / "index.html"


def docs_fingerprint(settings: Settings) -> str:
    """What the docs depend on: the dbt project's files, dbt's version, and every relation's columns and types."""
    from importlib.metadata import version
    from citytrade import warehouse

    digest = hashlib.sha256(version("dbt-core").encode())
    for path in dbt_project_files():
        digest.update(str(path.relative_to(DBT_PROJECT_DIR)).encode() + b"\0" + path.read_bytes())
    con = warehouse.connect(settings.warehouse_path)  # read-write: the same configuration as the run's own connections
    try:
        columns = con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall()
    finally:
        con.close()
    digest.update(json.dumps(columns).encode())
    return digest.hexdigest()


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _check_offline(manifest: Path) -> None:
    """The docs page sends usage events only when the manifest allows it; it must not."""
    metadata = json.loads(manifest.read_text(encoding="utf-8")).get("metadata", {})
    if metadata.get("send_anonymous_usage_stats"):
        raise DocsError("dbt docs would send usage statistics: set DBT_SEND_ANONYMOUS_USAGE_STATS=false")
