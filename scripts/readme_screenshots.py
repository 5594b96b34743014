#!/usr/bin/env python3
"""Remake the README's screenshots (docs/img/report.png, docs/img/rankings.png) from a home's publish, with chromium.

    .venv/bin/citytrade run --home /tmp/shots && .venv/bin/python scripts/readme_screenshots.py --home /tmp/shots
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from citytrade.cli import readers as state  # noqa: E402
from citytrade.config import Settings  # noqa: E402

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--hide-scrollbars"]  # fmt: skip


def screenshot(page: Path, png: Path, width: int, height: int) -> None:
    chromium = shutil.which("chromium")
    if not chromium:
        sys.exit("chromium is needed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000",
                        f"--window-size={width},{height}", f"--screenshot={png}", page.as_uri()],
                       check=True, capture_output=True)  # fmt: skip


def _trim(png: Path, margin: int = 8) -> None:
    """Cut the white page around the terminal picture."""
    from PIL import Image, ImageChops

    image = Image.open(png).convert("RGB")
    box = ImageChops.difference(image, Image.new("RGB", image.size, (255, 255, 255))).getbbox()
    if box:
        left, top, right, bottom = box
        image.crop((max(0, left - margin), max(0, top - margin), min(image.width, right + margin),
                    min(image.height, bottom + margin))).save(png)  # fmt: skip


def rankings_svg(settings: Settings, svg: Path, year: int | None) -> None:
    from rich.console import Console

    console = Console(record=True, width=112, force_terminal=True, color_system="truecolor", file=io.StringIO())
    command = "citytrade rankings" + (f" --year {year}" if year else "")
    console.print(f"[bold green]$[/] {command}")
    rows = state.ranking_rows(settings, year=year, month_to=12, basis="firm_location", by="total", level="city", top=20)
    console.print(state.ranking_table(rows, by="total"))
    svg.write_text(console.export_svg(title="citytrade rankings"), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, help="a home with a publish (after `citytrade run`)")
    parser.add_argument("--year", type=int, default=None)
    parser.add_argument("--out", default=str(REPO / "docs" / "img"))
    args = parser.parse_args()
    settings = Settings.from_args(None, args.home)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    screenshot(settings.published_dir / "report.html", out / "report.png", 1200, 2600)
    with tempfile.TemporaryDirectory() as folder:
        svg = Path(folder) / "rankings.svg"
        rankings_svg(settings, svg, args.year)
        screenshot(svg, out / "rankings.png", 1140, 480)
    _trim(out / "rankings.png")
    print(f"wrote {out / 'report.png'} and {out / 'rankings.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
