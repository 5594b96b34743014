"""`citytrade extract` (issue #30, acceptance 5): a readable table of what a release would load and refuse, JSON
that validates against the committed schema, nothing loaded, and one-line errors with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from conftest import REPO, run_cli

RELEASE = REPO / "tests" / "fixtures" / "press_text" / "shanghai_2023_m11_zht.txt"
SCHEMA = json.loads((REPO / "docs" / "schemas" / "extract.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """The Shanghai release (real figures of January-November 2023) as Big5 bytes, its sidecar beside it."""
    folder = tmp_path_factory.mktemp("extract")
    path = folder / "shanghai-2023-m11.txt"
    path.write_bytes(RELEASE.read_text(encoding="utf-8").encode("big5"))
    path.with_name("shanghai-2023-m11.meta.yaml").write_text(
        "format: press-text-v1\npublisher: Shanghai Customs\nsource_url: https://example.org/sh\npublished_on: 2023-12-19\n",
        encoding="utf-8",
    )
    return path


def test_the_table_lists_figures_and_refusals_with_their_quotes(release, tmp_path):
    result = run_cli("extract", str(release), "--home", str(tmp_path / "home"), timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{release} (big5): 3 figure(s) would be loaded, 3 refused"
    rows = [line for line in lines if line.startswith("│ Shanghai (310000)")]
    assert len(rows) == 3
    assert "│ 2023 M1-M11 │ firm_location │ total   │" in rows[0] and "3.86 萬億元" in rows[0] and "38600.0" in rows[0]
    assert "+1.2" in rows[0] and "上海市貨物貿易進出口3.86萬億元，同比增長1.2%" in rows[0]
    assert "exports" in rows[1] and "1.59 萬億元" in rows[1] and "imports" in rows[2] and "-" not in rows[2].split("│")[7]
    assert any("trade-partner figure (歐盟)" in line and "上海市對歐盟進出口7051.3億元" in line for line in lines)
    assert not (tmp_path / "home").exists()  # a preview loads nothing, writes no state


def test_json_validates_against_the_committed_schema(release, tmp_path):
    result = run_cli("extract", str(release), "--json", "--home", str(tmp_path / "home"), timeout=120)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    assert [(f["measure"], f["value"], f["unit"], f["value_cny"], f["yoy_pct"]) for f in document["figures"]] == [
        ("total", "3.86", "萬億元", 3.86e12, 1.2), ("exports", "1.59", "萬億元", 1.59e12, 1.7), ("imports", "2.27", "萬億元", 2.27e12, 0.8),
    ]  # fmt: skip
    text = release.read_bytes().decode("big5")
    for item in document["figures"] + document["refused"]:
        assert text[item["span_start"] : item["span_end"]] == item["quote"]
    with pytest.raises(jsonschema.ValidationError):  # the schema can fail: a figure without its quote
        jsonschema.validate({"figures": [{k: v for k, v in document["figures"][0].items() if k != "quote"}], "refused": []}, SCHEMA)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.txt", "citytrade: {path}: no such file"),
        (lambda d: (d / "alone.txt").write_text("前11个月，我市进出口1亿元。", encoding="utf-8") and d / "alone.txt",
         "citytrade: {path}: no sidecar: expected alone.meta.yaml beside it"),
    ],
    ids=["missing file", "no sidecar"],
)
def test_a_bad_path_is_one_line_and_exit_2(tmp_path, make, message):
    path = make(tmp_path)
    result = run_cli("extract", str(path), "--home", str(tmp_path / "home"), timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == message.format(path=path)
