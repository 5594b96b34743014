"""The GX Data Docs of a run open styled in headless chromium with no network: CSS/JS are local copies."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter

from PIL import Image

from checks_helpers import row_gate, synthetic_release
from citytrade.quality import gates as quality
from citytrade.quality.data_docs import data_docs_site

BOOTSTRAP_TEXT = (33, 37, 41)  # bootstrap 4's body colour #212529; a browser's default is black


def _screenshot(page, png, profile) -> Counter:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is required (python3 scripts/dev.py test installs it: apt-get install chromium)"
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}", "--window-size=1280,900",
         f"--screenshot={png}", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert png.is_file(), result.stderr[-2000:]
    with Image.open(png) as image:
        return Counter(image.convert("RGB").getdata())


def _green(colours: Counter) -> int:
    """Pixels of bootstrap's success green (the passed-validation icons)."""
    return sum(n for (red, green, blue), n in colours.items() if green > 140 and red < 80 and blue < 120)


def test_data_docs_reference_no_network_and_render_styled(raw_dir, home, tmp_path):
    synthetic_release(raw_dir, "trade.csv", "area,year,month_from,month_to,total\nShenzhen,2023,1,12,3.87\nShenzhen,2024,1,12,4.50\n")
    settings, gate = row_gate(raw_dir, home)
    assert quality.build_data_docs(settings, gate) > 0  # a run builds them once, after its mart gate
    site = data_docs_site(settings.gx_dir)
    pages = list(site.rglob("*.html"))
    assert site.joinpath("index.html").is_file() and len(pages) > gate.expectations_run // 10
    external = {m for page in pages for m in re.findall(r"<(?:script|link|img)\b[^>]*?(?:src|href)=\"(https?://[^\"]+)", page.read_text())}
    assert external == set()

    styled = _screenshot(site / "index.html", tmp_path / "styled.png", tmp_path / "profile1")
    bare_site = tmp_path / "bare_site"
    shutil.copytree(site, bare_site)
    shutil.rmtree(bare_site / "static" / "vendor")  # the same pages without the shipped CSS/JS
    bare = _screenshot(bare_site / "index.html", tmp_path / "bare.png", tmp_path / "profile2")

    assert styled[BOOTSTRAP_TEXT] > 1000 and bare[BOOTSTRAP_TEXT] == 0
    assert _green(styled) > 100 and _green(bare) == 0  # Font Awesome icons in bootstrap colours, drawn by bootstrap-table


def test_a_runs_data_docs_have_a_page_per_validation_of_both_gates_and_the_index_links_each(sample_home):
    """The flow asks for both gates' pages and the index right after the mart checkpoint (`with_last_checkpoint`)."""
    site = data_docs_site(sample_home / "gx")
    pages = {page.relative_to(site).as_posix() for page in (site / "validations").rglob("*.html")}
    datasets = {checkpoint: {v["dataset"] for v in quality.load_checkpoint_spec(checkpoint)["validations"]} for checkpoint in ("row_gate", "mart_gate")}
    for checkpoint, wanted in datasets.items():
        made = {re.sub(rf"^.*/{checkpoint}_extracts-(.+)\.html$", r"\1", page) for page in pages if f"/{checkpoint}_extracts-" in page}
        assert made == wanted, checkpoint  # the sample home had one run: one page per dataset
    assert set(re.findall(r'validations/[^"\\]+\.html', (site / "index.html").read_text(encoding="utf-8"))) == pages


def test_the_data_docs_say_in_words_what_citytrades_own_expectation_checks(sample_home):
    """citytrade/gx_expectations.py renders its sentence and columns, not GX's fallback for unknown expectations."""
    site = data_docs_site(sample_home / "gx")
    page = next((site / "validations").rglob("mart_gate_extracts-city_trade_ranking.html")).read_text(encoding="utf-8")
    listed = re.search(r"Values must never be null in any of these columns: ((?:<span[^>]*>[a-z_]+</span>(?:, )?)+)", page)
    assert listed, "no rendered sentence for expect_multicolumn_values_to_not_be_null"
    columns = re.findall(r">([a-z_]+)</span>", listed.group(1))
    suite = quality.load_suite("city_trade_ranking")
    (wanted,) = [e["kwargs"]["column_list"] for e in suite["expectations"] if e["type"] == "expect_multicolumn_values_to_not_be_null"]
    assert columns == wanted
