"""Fetch the CSS/JS the GX Data Docs load from CDNs, from the npm registry (`npm pack`), into citytrade/quality/data_docs_assets/.

Run once when GX's templates change (citytrade/data_docs.py lists each asset); the files are committed so
the docs open styled with no network at all.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from citytrade.quality.data_docs import ASSETS, ASSETS_DIR, EXTRA_FILES  # noqa: E402


def main() -> int:
    wanted = [*ASSETS.values(), *EXTRA_FILES]
    with tempfile.TemporaryDirectory() as tmp:
        tarballs = {}
        for package in sorted({package for package, _, _ in wanted}):
            name = subprocess.run(["npm", "pack", "--silent", package], cwd=tmp, check=True, capture_output=True, text=True)
            tarballs[package] = Path(tmp) / name.stdout.strip().splitlines()[-1]
        for package, inner, local in wanted:
            with tarfile.open(tarballs[package]) as archive:
                member = archive.extractfile(f"package/{inner}")
                target = ASSETS_DIR / local
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "wb") as handle:
                    shutil.copyfileobj(member, handle)
            print(f"{package} {inner} -> {target.relative_to(ASSETS_DIR.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
