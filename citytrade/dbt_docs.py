"""dbt docs for the publish: `dbt docs generate --static` into `<home>/published/docs/`, one self-contained page."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from citytrade.config import DBT_PROJECT_DIR, Settings


class DocsError(RuntimeError):
    """dbt could not generate the docs; the message says why."""


def publish_docs(settings: Settings) -> Path:
    """Generate the docs against the build warehouse and copy them beside the published marts; returns index.html."""
    from dbt.cli.main import dbtRunner

    settings.apply_environment()
    target = settings.dbt_target_dir
    result = dbtRunner().invoke([
        "docs", "generate", "--static",
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target),
        "--log-path", str(settings.dbt_log_dir),
        "--quiet",
    ])  # fmt: skip
    if not result.success:
        detail = str(result.exception).strip().splitlines()[0] if result.exception else f"see {settings.dbt_log_dir}"
        raise DocsError(f"dbt docs generate failed: {detail}")

    # ---- copy: the static page (manifest and catalog inside it) plus the two JSON files for tools that read them
    docs_dir = settings.published_dir / "docs"
    staging = settings.published_dir / f".docs-{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copyfile(target / "static_index.html", staging / "index.html")
    for name in ("manifest.json", "catalog.json"):
        shutil.copyfile(target / name, staging / name)
    _check_offline(staging / "manifest.json")
    old = settings.published_dir / f".docs-old-{os.getpid()}.tmp"
    if docs_dir.exists():
        docs_dir.rename(old)
    staging.rename(docs_dir)
    shutil.rmtree(old, ignore_errors=True)
    return docs_dir / "index.html"


def _check_offline(manifest: Path) -> None:
    """The docs page sends usage events only when the manifest allows it; it must not."""
    metadata = json.loads(manifest.read_text(encoding="utf-8")).get("metadata", {})
    if metadata.get("send_anonymous_usage_stats"):
        raise DocsError("dbt docs would send usage statistics: set DBT_SEND_ANONYMOUS_USAGE_STATS=false")
