"""The GX row gate through the real checkpoint: parts must add up to totals within the published rounding."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from citytrade import warehouse
from citytrade.quality import gates as quality
from citytrade.config import EXPECTATIONS_DIR
from checks_helpers import expectations_with_a_broken_check, prepare, run_row_gate
from conftest import SAMPLE_RAW, run_flow, write_release

PARTS = """\
area,year,month_from,month_to,total,exports,imports
Shanghai,2023,1,11,3.86,1.59,2.27
Shenzhen,2023,1,11,3.90,1.59,2.27
Suzhou,2023,1,11,2.239,1.4,0.84
"""


def test_row_whose_parts_miss_the_total_beyond_rounding_fails_exactly_that_row(raw_dir, home):
    write_release(raw_dir, "parts.csv", PARTS)
    settings = prepare(raw_dir, home)
    gate = run_row_gate(settings)
    parts = [f for f in gate.findings if f.check_name == "parts_and_totals"]
    assert len(parts) == 1 and parts[0].severity == "error"
    with warehouse.connect(settings.warehouse_path) as con:  # dbt in this process holds the file open read-write
        shenzhen = con.execute(
            "select observation_id from checks.int_trade_checks where area_code = '440300'"
        ).fetchone()[0]
    # Shenzhen: 1.59 + 2.27 = 3.86 against 3.90, 0.04 off where rounding allows 0.015.
    # Suzhou: 1.4 + 0.84 = 2.24 against 2.239 is within rounding (exports carry one decimal only).
    assert parts[0].unexpected_ids == [shenzhen]
    assert not gate.passed
    assert parts[0].details[0]["message"] == (
        "Shenzhen 深圳市 (440300) 2023 M1-M11 (firm_location): exports 1.59 + imports 2.27 do not add up to the "
        "published total 3.90 trillion yuan (off by 0.04; rounding allows 0.015)"
    )


def test_sample_releases_pass_therun_row_gate(tmp_path):
    settings = prepare(SAMPLE_RAW, tmp_path / "home")
    gate = run_row_gate(settings)
    assert gate.passed, gate.summary()
    assert gate.expectations_run >= 5


def test_failing_row_is_kept_out_of_the_marts_and_alerted(prefect_harness, raw_dir, home):
    write_release(raw_dir, "parts.csv", PARTS)
    report = run_flow(raw_dir, home)
    assert report.status == "published" and report.rows_kept_out == 1
    con = duckdb.connect(str(home / "published" / "citytrade.duckdb"), read_only=True)
    cities = {r[0] for r in con.execute("select name_en from marts.fct_trade join marts.dim_area using (area_code)").fetchall()}
    assert cities == {"Shanghai", "Suzhou"}
    alert = con.execute("select severity, area_code, message from marts.quality_alerts where check_name = 'parts_and_totals'").fetchall()
    assert len(alert) == 1 and alert[0][:2] == ("error", "440300")


def published_cities(home) -> set[str]:
    with duckdb.connect(str(home / "published" / "citytrade.duckdb"), read_only=True) as con:
        return {r[0] for r in con.execute("select name_en from marts.fct_trade join marts.dim_area using (area_code)").fetchall()}


def test_each_run_publishes_marts_built_on_its_own_verdicts(prefect_harness, raw_dir, home):
    """The marts are built after the row gate recorded this run's verdicts: a row it keeps out is never published,
    and its alerts are in the published quality_alerts."""
    write_release(raw_dir, "parts.csv", PARTS)
    first = run_flow(raw_dir, home)  # no verdicts stored yet; this run's keep Shenzhen out
    assert first.status == "published" and first.rows_kept_out == 1
    assert published_cities(home) == {"Shanghai", "Suzhou"}

    again = run_flow(raw_dir, home)  # the same verdicts, no new alert
    assert again.status == "published" and again.rows_kept_out == 1 and not again.new_alerts
    assert published_cities(home) == {"Shanghai", "Suzhou"}

    # Shanghai a year on, its published growth far from its levels' (4.00 / 3.86 is +3.6 %): a warning, an alert,
    # no row kept out; the published alerts' mart lists the new alert.
    write_release(raw_dir, "growth-2024.csv", "area,year,month_from,month_to,total,exports,imports,total_yoy_pct\n"
                                              "Shanghai,2024,1,11,4.00,1.70,2.30,50.0\n")  # fmt: skip
    warned = run_flow(raw_dir, home)
    assert warned.status == "published" and warned.rows_kept_out == 1
    assert warned.new_alerts and {alert["severity"] for alert in warned.new_alerts} == {"warning"}
    with duckdb.connect(str(home / "published" / "citytrade.duckdb"), read_only=True) as con:
        published_alerts = {r[0] for r in con.execute("select alert_id from marts.quality_alerts").fetchall()}
        years = {r[0] for r in con.execute("select distinct year from marts.fct_trade where area_code = '310000'").fetchall()}
    assert {alert["alert_id"] for alert in warned.new_alerts} <= published_alerts
    assert years == {2023, 2024}

    # Guangzhou: 0.50 + 0.60 = 1.10 against 1.00: a row the stored verdicts do not keep out yet
    write_release(raw_dir, "parts-2022.csv", "area,year,month_from,month_to,total,exports,imports\nGuangzhou,2022,1,11,1.00,0.50,0.60\n")
    third = run_flow(raw_dir, home)
    assert third.status == "published" and third.rows_kept_out == 2
    assert published_cities(home) == {"Shanghai", "Suzhou"}


def test_an_expectation_that_cannot_run_fails_the_gate(raw_dir, home, tmp_path):
    write_release(raw_dir, "parts.csv", PARTS.splitlines()[0] + "\n" + PARTS.splitlines()[1] + "\n")
    settings = prepare(raw_dir, home)
    broken = expectations_with_a_broken_check(tmp_path / "expectations")
    gate = run_row_gate(settings, broken)
    broken_findings = [f for f in gate.findings if f.check_name == "broken_check"]
    assert len(broken_findings) == 1
    assert broken_findings[0].could_not_run and broken_findings[0].severity == "error"
    assert not gate.passed


def test_duplicated_row_ids_mean_the_gate_cannot_run(raw_dir, home, tmp_path):
    """Verdicts are tied to rows by id: the check views' ids must be unique (checked at extract, issue #8)."""
    import yaml

    write_release(raw_dir, "parts.csv", PARTS)
    settings = prepare(raw_dir, home)
    doubled = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, doubled)
    spec_path = doubled / "checkpoints" / "row_gate.yml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["validations"][0]["relation"] = (
        "(select * from checks.int_trade_checks"
        " union all select * from checks.int_trade_checks where area_code = '440300')"
    )
    spec_path.write_text(yaml.safe_dump(spec))
    with pytest.raises(quality.CheckCouldNotRun, match=r"observation_id has 0 null\(s\) and 1 duplicated value"):
        run_row_gate(settings, doubled)
