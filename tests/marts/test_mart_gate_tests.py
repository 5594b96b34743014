"""The marts tagged `mart_gate` are the ones the GX mart gate judges, and it makes every check their dbt data tests
make: a scheduled run (selector post_gate) leaves those dbt tests to CI (issue #8) without judging less. Their key
tests (tag primary_key) stay in the run."""

from __future__ import annotations

import yaml
from citytrade.quality import gates as quality
from citytrade.config import DBT_PROJECT_DIR


def mart_models() -> dict[str, dict]:
    models = {}
    for path in (DBT_PROJECT_DIR / "models" / "marts").glob("*.yml"):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models") or []:
            models[model["name"]] = model
    return models


def dbt_checks(model: dict) -> list[tuple]:
    """(test, column or columns, values) for every data test of the model and its columns that a run leaves out:
    all but those of a key column (config tag primary_key), which post_gate keeps."""
    checks = []
    entries = [(None, test) for test in model.get("data_tests") or []]
    entries += [
        (column["name"], test) for column in model.get("columns") or []
        if "primary_key" not in ((column.get("config") or {}).get("tags") or [])
        for test in column.get("data_tests") or []
    ]  # fmt: skip
    for column, test in entries:
        name, config = (test, {}) if isinstance(test, str) else next(iter(test.items()))
        arguments = (config or {}).get("arguments") or {}
        if name == "unique_within":  # dbt_project/tests/generic/unique_within.sql: unique within each group
            checks.append(("unique_combination", frozenset([*arguments["group_by"], column]), None))
        elif name == "accepted_values":
            checks.append((name, column, frozenset(arguments["values"])))
        else:
            checks.append((name, column, None))
    return checks


def gx_checks(suite: dict) -> set[tuple]:
    made = set()
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        if kwargs.get("row_condition") or kwargs.get("mostly", 1) != 1 or expectation.get("severity", "critical") != "critical":
            continue  # partial or non-blocking: not the same check
        kind = expectation["type"]
        if kind == "expect_column_values_to_not_be_null":
            made.add(("not_null", kwargs["column"], None))
        elif kind == "expect_multicolumn_values_to_not_be_null":  # citytrade/gx_expectations.py: one per column
            made |= {("not_null", column, None) for column in kwargs["column_list"]}
        elif kind == "expect_compound_columns_to_be_unique":
            made.add(("unique_combination", frozenset(kwargs["column_list"]), None))
        elif kind == "expect_column_values_to_be_unique":
            made.add(("unique", kwargs["column"], None))
        elif kind == "expect_column_values_to_be_in_set":
            made.add(("accepted_values", kwargs["column"], frozenset(kwargs["value_set"])))
    return made


def test_the_mart_gate_makes_every_check_of_the_dbt_tests_a_run_leaves_out():
    spec = quality.load_checkpoint_spec("mart_gate")
    gated = {validation["relation"].split(".")[-1]: validation["suite"] for validation in spec["validations"]}
    models = mart_models()
    tagged = {name for name, model in models.items() if "mart_gate" in ((model.get("config") or {}).get("tags") or [])}
    assert tagged == set(gated)  # tagged exactly when the mart gate validates it

    for mart, suite_name in gated.items():
        wanted = dbt_checks(models[mart])
        assert wanted, f"{mart} has no dbt data tests"
        missing = [check for check in wanted if check not in gx_checks(quality.load_suite(suite_name))]
        assert missing == [], f"suite {suite_name} does not make these checks of {mart}'s dbt tests: {missing}"


def test_the_coverage_check_notices_a_dbt_test_the_suite_lacks():
    model = {"columns": [{"name": "rank_total", "data_tests": ["not_null", {"accepted_values": {"arguments": {"values": [1, 2]}}}]}]}
    suite = {"expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "rank_total"}, "severity": "critical"}]}
    assert [check for check in dbt_checks(model) if check not in gx_checks(suite)] == [("accepted_values", "rank_total", frozenset({1, 2}))]
    suite["expectations"][0]["severity"] = "warning"  # a warning does not block the publish: not the same check
    assert ("not_null", "rank_total", None) not in gx_checks(suite)
    ranked = {"columns": [{"name": "rank", "data_tests": [{"unique_within": {"arguments": {"group_by": ["year"]}}}]}]}
    suite = {"expectations": [{"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["year", "area_code"]}}]}
    assert [check for check in dbt_checks(ranked) if check not in gx_checks(suite)] == [("unique_combination", frozenset({"year", "rank"}), None)]
    suite["expectations"][0]["kwargs"]["column_list"] = ["rank", "year"]
    assert [check for check in dbt_checks(ranked) if check not in gx_checks(suite)] == []
    keyed = {"columns": [{"name": "figure_id", "config": {"tags": ["primary_key"]}, "data_tests": ["unique", "not_null"]}]}
    assert dbt_checks(keyed) == []  # the run keeps a key's tests: GX need not make them


def test_post_gate_leaves_the_gated_marts_tests_to_ci_but_keeps_their_key_tests(tmp_path):
    from dbt.cli.main import dbtRunner

    target = tmp_path / "target"
    listed = {}
    for selector in ("post_gate", "pre_gate"):
        result = dbtRunner().invoke([
            "ls", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target),
            "--log-path", str(tmp_path / "logs"), "--selector", selector, "--output", "name", "--quiet",
        ])  # fmt: skip
        assert result.success, result.exception
        listed[selector] = set(result.result)
    post_gate, pre_gate = listed["post_gate"], listed["pre_gate"]
    assert {"int_trade_observations_validated", "fct_trade", "city_trade_ranking", "dim_area"} <= post_gate
    assert "not_null_city_trade_ranking_rank_total" not in post_gate  # the mart gate checks it in the run
    assert {"unique_city_trade_ranking_figure_id", "not_null_city_trade_ranking_figure_id"} <= post_gate  # its key
    assert {"unique_dim_area_area_code", "not_null_dim_area_name_en"} <= post_gate  # marts the mart gate does not judge
    assert not any(name.startswith("int_trade_months_derived_from") for name in post_gate)  # no unit test
    assert {"int_trade_checks", "int_trade_observations_versioned", "stg_raw__trade_observations", "areas"} <= pre_gate
    # the check models' keys: the row gate checks them on every extract (tests/quality/test_row_gate.py), CI here
    assert not any(name.startswith(("unique_int_trade_checks", "not_null_int_trade_checks")) for name in pre_gate | post_gate)
    assert {"unique_int_trade_observations_versioned_observation_id", "unique_stg_raw__trade_observations_observation_id"} <= pre_gate
    # every detail row ever loaded: left to CI, the key is unique by construction
    assert "unique_stg_raw__trade_detail_detail_id" not in pre_gate and "stg_raw__trade_detail" in pre_gate
    assert {"int_trade_detail_aggregated", "unique_int_trade_detail_aggregated_aggregate_id"} <= pre_gate
    assert not pre_gate & {"int_trade_observations_validated", "int_trade_months_derived", "fct_trade"}
