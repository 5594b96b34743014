"""GX Data Docs readable offline: ship the CSS/JS GX loads from CDNs and point the built pages at local copies."""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).resolve().parent / "data_docs_assets"  # filled by scripts/vendor_data_docs_assets.py
VENDOR_FOLDER = "static/vendor"  # inside the Data Docs site

# What GX 1.24's templates load from the network -> (npm package, file inside the package, local file under vendor/).
ASSETS: dict[str, tuple[str, str, str]] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        ("bootstrap@4.3.1", "dist/css/bootstrap.min.css", "bootstrap/bootstrap.min.css"),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js":
        ("bootstrap@4.3.1", "dist/js/bootstrap.min.js", "bootstrap/bootstrap.min.js"),
    "https://code.jquery.com/jquery-3.7.1.min.js":
        ("jquery@3.7.1", "dist/jquery.min.js", "jquery/jquery.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        ("popper.js@1.12.9", "dist/umd/popper.min.js", "popper/popper.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        ("bootstrap-table@1.19.1", "dist/bootstrap-table.min.css", "bootstrap-table/bootstrap-table.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        ("bootstrap-table@1.19.1", "dist/bootstrap-table.min.js", "bootstrap-table/bootstrap-table.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        ("bootstrap-table@1.19.1", "dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
         "bootstrap-table/bootstrap-table-filter-control.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        ("bootstrap-table@1.19.0", "dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
         "bootstrap-table/bootstrap-table-filter-control.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        ("bootstrap-table@1.19.0", "dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
         "bootstrap-table/bootstrap-table-filter-control.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        ("@fortawesome/fontawesome-free@6.6.0", "css/all.min.css", "fontawesome/css/all.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        ("bootstrap-datepicker@1.9.0", "dist/css/bootstrap-datepicker.min.css", "bootstrap-datepicker/bootstrap-datepicker.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        ("bootstrap-datepicker@1.9.0", "dist/js/bootstrap-datepicker.min.js", "bootstrap-datepicker/bootstrap-datepicker.min.js"),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        ("@forevolve/bootstrap-dark@1.1.0", "dist/css/bootstrap-prefers-dark.min.css", "bootstrap-dark/bootstrap-prefers-dark.min.css"),
    "https://cdn.jsdelivr.net/npm/vega@5":
        ("vega@5.33.1", "build/vega.min.js", "vega/vega.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-lite@5":
        ("vega-lite@5.23.0", "build/vega-lite.min.js", "vega/vega-lite.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-embed@6":
        ("vega-embed@6.29.0", "build/vega-embed.min.js", "vega/vega-embed.min.js"),
}  # fmt: skip
# Font Awesome's CSS loads its fonts from ../webfonts/, relative to itself.
EXTRA_FILES = [("@fortawesome/fontawesome-free@6.6.0", f"webfonts/{name}", f"fontawesome/webfonts/{name}")
               for name in ("fa-brands-400.woff2", "fa-regular-400.woff2", "fa-solid-900.woff2", "fa-v4compatibility.woff2")]  # fmt: skip
GX_LOGO_PREFIX = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"

_EXTERNAL_ASSET = re.compile(r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)=["'](https?://[^"']+)["'][^>]*>(?:\s*</script>)?""", re.I)


class AssetsMissing(RuntimeError):
    """The vendored CSS/JS are not in the package: run scripts/vendor_data_docs_assets.py."""


def data_docs_site(gx_dir: Path) -> Path:
    return gx_dir / "gx" / "uncommitted" / "data_docs" / "local_site"


def localise_data_docs(site: Path, assets_dir: Path = ASSETS_DIR) -> int:
    """Copy the vendored assets into the site and rewrite every page to use them; returns the pages rewritten."""
    missing = [local for _, _, local in [*ASSETS.values(), *EXTRA_FILES] if not (assets_dir / local).is_file()]
    if missing:
        raise AssetsMissing(f"Data Docs assets missing under {assets_dir}: {', '.join(missing[:3])} (run scripts/vendor_data_docs_assets.py)")
    vendor = site / VENDOR_FOLDER
    shutil.copytree(assets_dir, vendor, dirs_exist_ok=True)
    rewritten = 0
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = _rewrite(text, os.path.relpath(site, page.parent))
        if new != text:
            page.write_text(new, encoding="utf-8")
            rewritten += 1
    return rewritten


def _rewrite(text: str, to_site: str) -> str:
    def local(match: re.Match) -> str:
        tag, url = match.group(0), match.group(1)
        if url in ASSETS:
            return tag.replace(url, f"{to_site}/{VENDOR_FOLDER}/{ASSETS[url][2]}")
        if url.startswith(GX_LOGO_PREFIX):  # the same logo ships with GX's own static files
            return tag.replace(url, f"{to_site}/static/images/logo-long.png")
        log.warning("Data Docs: dropped an external asset with no local copy: %s", url)
        return ""

    return _EXTERNAL_ASSET.sub(local, text)
