"""A landing zone of broken releases: each file or row gets its one-line reason, good rows load once, nothing is touched."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from citytrade import pipeline, warehouse
from citytrade.cli import readers as state
from citytrade.config import Settings
from conftest import run_cli

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "ingest" / "malformed"

# path -> (row number or None for the whole file, what the reason must say)
EXPECTED_REASONS = {
    "no_sidecar.csv": (None, "no sidecar: expected no_sidecar.meta.yaml beside it"),
    "unknown_format.csv": (None, "unknown format 'citytrade-v9' (known: citytrade-v1,"),
    "unknown_unit.csv": (None, "unknown sidecar unit '亿元'; 亿元 is written 100m_yuan"),
    "unknown_basis.csv": (None, "unknown basis 'customs_district' (known: firm_location,"),
    "missing_column.csv": (None, "missing required column(s) 'month_to'; found: 'area', 'year', 'month_from', 'total'"),
    "month_13.csv": (3, "months 1-13 are not in 1-12"),
    "month_order.csv": (3, "month_to 3 is before month_from 5"),
    "negative.csv": (3, "total: '-12700' is negative"),
    "non_numeric.csv": (3, "total: 'about 9000' is not a number"),
    "unknown_area.csv": (3, "unknown area 'Shenzen'; did you mean Shenzhen (深圳市, 440300)"),
    "empty.csv": (None, "the file is empty"),
    "garbage.csv": (None, "cannot decode the file as utf-8-sig or gb18030 text"),
    "text_named.xlsx": (None, "not a valid .xlsx workbook (is it a text file with the wrong extension?)"),
    "python_tag.csv": (None, "sidecar python_tag.meta.yaml is not plain YAML"),
    "resent/good.csv": (None, "duplicate: same bytes as good.csv, already loaded"),
    "no_published_on.csv": (None, "sidecar lacks required field(s): published_on"),
    "bad_date.csv": (None, "sidecar field published_on 'last Tuesday' is not a date"),
    "unknown_encoding.csv": (None, "unknown encoding 'klingon' in the sidecar"),
    "gacc_no_month.csv": (None, "cannot tell the reporting month: add `year` and `month` to the sidecar"),
    "zip_not_workbook.xlsx": (None, "cannot open the workbook (KeyError"),
    "repeated.csv": (3, "无锡市 2023 months 1-12 is already given on row 2"),
}
# rows that must load, once each: path -> area codes
GOOD_ROWS = {
    "good.csv": ["310000", "440300"],
    "month_13.csv": ["110000"],
    "month_order.csv": ["120000"],
    "negative.csv": ["330100"],
    "non_numeric.csv": ["350200"],
    "unknown_area.csv": ["210200"],
    "repeated.csv": ["320200"],
}


def _fingerprints(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def corpus_settings(tmp_path) -> Settings:
    settings = Settings.from_args(CORPUS, tmp_path / "home")
    settings.apply_environment()
    settings.ensure_dirs()
    return settings


def test_corpus_has_at_least_fifteen_malformed_releases():
    assert len(EXPECTED_REASONS) >= 15
    assert all((CORPUS / path).is_file() for path in EXPECTED_REASONS)


def test_every_bad_file_and_row_gets_its_reason_and_good_rows_load_once(corpus_settings):
    before = _fingerprints(CORPUS)

    first = pipeline.ingest_stage(corpus_settings, "first-run")
    second = pipeline.ingest_stage(corpus_settings, "second-run")

    # every problem is one line naming the file (and row), with the expected reason
    problems = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in first.problems}
    expected_keys = {f"{path}:{row}" if row else path: reason for path, (row, reason) in EXPECTED_REASONS.items()}
    assert set(problems) == set(expected_keys)
    for key, reason in expected_keys.items():
        assert reason in problems[key], f"{key}: {problems[key]}"
        assert "\n" not in problems[key]
    assert sorted(first.loaded) == sorted(GOOD_ROWS)
    assert first.rows_loaded == sum(len(codes) for codes in GOOD_ROWS.values())

    # the second run loads nothing again and still reports the standing problems
    assert second.loaded == [] and second.rows_loaded == 0
    assert sorted(second.problems + second.standing_problems) == sorted(first.problems)

    with warehouse.connect(corpus_settings.warehouse_path) as con:
        loaded = con.execute(
            """select releases.path, observations.area_code
               from raw.trade_observations as observations
               inner join raw.releases as releases using (release_id)
               order by releases.path, observations.row_number"""
        ).fetchall()
        quarantine = con.execute("select path, row_number, reason from raw.quarantine").fetchall()
        statuses = dict(con.execute("select path, status from raw.releases").fetchall())
        alerts = con.execute("select count(*) from audit.alerts where check_name = 'ingest_quarantine'").fetchone()[0]
    assert [(path, code) for path, codes in sorted(GOOD_ROWS.items()) for code in codes] == loaded
    assert len(quarantine) == len(EXPECTED_REASONS)  # recorded once, not once per run
    assert {(path, row) for path, row, _ in quarantine} == {(path, row) for path, (row, _) in EXPECTED_REASONS.items()}
    assert statuses["good.csv"] == "loaded" and statuses["negative.csv"] == "partial"
    assert statuses["garbage.csv"] == "rejected"
    assert "resent/good.csv" not in statuses  # the copy is the same release: quarantined, never a second load
    assert alerts == len(EXPECTED_REASONS)

    # the landing zone is byte-for-byte what it was
    assert _fingerprints(CORPUS) == before


def test_status_lists_the_quarantine_from_the_ingest_and_never_opens_the_warehouse(corpus_settings):
    result = run_cli("ingest", "--raw-dir", str(corpus_settings.raw_dir), "--home", str(corpus_settings.home))
    assert result.returncode == 0, result.stderr
    aside = corpus_settings.warehouse_path.with_name("moved-aside.duckdb")
    corpus_settings.warehouse_path.rename(aside)  # what status shows must not come from the build warehouse
    try:
        text = state.status_text(corpus_settings)
    finally:
        aside.rename(corpus_settings.warehouse_path)
    quarantine = text.split("quarantined (as the latest run found the landing zone):")[1]
    assert re.search(r"garbage\.csv\S*: cannot decode the file", quarantine), quarantine
    assert re.search(r"unknown_area\.csv\S*: unknown area 'Shenzen'", quarantine), quarantine


def test_fixing_a_file_elsewhere_loads_it(corpus_settings, tmp_path):
    """The reason is actionable: the corrected copy of a quarantined row loads on the next run."""
    import shutil

    raw = tmp_path / "raw"
    shutil.copytree(CORPUS, raw)
    settings = Settings.from_args(raw, tmp_path / "home2")
    pipeline.ingest_stage(settings, "before-fix")
    fixed = raw / "unknown_area.csv"
    fixed.write_text(fixed.read_text(encoding="utf-8").replace("Shenzen", "Shenzhen"), encoding="utf-8")
    summary = pipeline.ingest_stage(settings, "after-fix")
    assert summary.loaded == ["unknown_area.csv"] and summary.rows_loaded == 2


def test_status_lists_a_quarantined_file_until_it_is_fixed(tmp_path):
    import shutil

    raw = tmp_path / "raw"
    shutil.copytree(CORPUS, raw)
    settings = Settings.from_args(raw, tmp_path / "home")
    ingest = ("ingest", "--raw-dir", str(raw), "--home", str(settings.home))
    assert run_cli(*ingest).returncode == 0
    assert "unknown_area.csv" in state.status_text(settings).split("quarantined (as the latest run found the landing zone):")[1]
    fixed = raw / "unknown_area.csv"
    fixed.write_text(fixed.read_text(encoding="utf-8").replace("Shenzen", "Shenzhen"), encoding="utf-8")
    assert run_cli(*ingest).returncode == 0
    quarantine = state.status_text(settings).split("quarantined (as the latest run found the landing zone):")[1]
    assert "unknown_area.csv" not in quarantine and "garbage.csv" in quarantine, quarantine
