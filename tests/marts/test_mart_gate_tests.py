"""The marts tagged `mart_gate` are the ones the GX mart gate judges, and it makes every check their dbt data tests
make: a scheduled run leaves those dbt tests to CI (issue #8) without judging less."""

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
    """(test, column or columns, values) for every data test of the model and its columns."""
    checks = []
    entries = [(None, test) for test in model.get("data_tests") or []]
    entries += [(column["name"], test) for column in model.get("columns") or [] for test in column.get("data_tests") or []]
    for column, test in entries:
        name, config = (test, {}) if isinstance(test, str) else next(iter(test.items()))
        arguments = (config or {}).get("arguments") or {}
        if name == "unique_combination":
            checks.append((name, frozenset(arguments["columns"]), None))
        elif name == "accepted_values":
            checks.append((name, column, frozenset(arguments["values"])))
        elif name == "primary_key":  # dbt_project/macros/test_primary_key.sql: unique and not null, one node
            checks += [("unique", column, None), ("not_null", column, None)]
        elif name == "not_null_columns":  # dbt_project/tests/generic/not_null_columns.sql: one node, many columns
            checks += [("not_null", listed, None) for listed in arguments["columns"]]
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
    listed = {"data_tests": [{"not_null_columns": {"arguments": {"columns": ["year", "rank_total"]}}}]}  # one check each
    suite = {"expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "year"}}]}
    assert [check for check in dbt_checks(listed) if check not in gx_checks(suite)] == [("not_null", "rank_total", None)]
    suite = {"expectations": [{"type": "expect_multicolumn_values_to_not_be_null", "kwargs": {"column_list": ["year", "month_to"]}}]}
    assert [check for check in dbt_checks(listed) if check not in gx_checks(suite)] == [("not_null", "rank_total", None)]
    keyed = {"columns": [{"name": "area_code", "data_tests": ["primary_key"]}]}  # unique and not null: both wanted
    suite = {"expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "area_code"}}]}
    assert [check for check in dbt_checks(keyed) if check not in gx_checks(suite)] == [("unique", "area_code", None)]


def test_a_run_leaves_the_gated_marts_dbt_tests_to_ci_and_citytrade_build_runs_them(sample_home, tmp_path):
    import shutil
    from citytrade.transform import build as transform
    from citytrade.config import Settings
    from conftest import SAMPLE_RAW

    home = tmp_path / "home"
    shutil.copytree(sample_home, home, ignore=shutil.ignore_patterns("run.lock"))
    settings = Settings.from_args(SAMPLE_RAW, home)
    run = transform.build_models(settings, transform.POST_GATE)
    assert run["city_trade_ranking"] == "success"
    ranking_not_null = "not_null_columns_city_trade_ranking_year__month_from__month_to__basis__area_code__name_en__total_cny__rank_total__cities_ranked"
    assert ranking_not_null not in run  # the mart gate checks it in the run
    assert run["primary_key_dim_area_area_code"] == "pass"  # marts the mart gate does not judge keep their dbt tests
    everything = transform.build_models(settings, transform.POST_GATE, all_tests=True)
    assert everything[ranking_not_null] == "pass"
    assert any(name.startswith("unit test ") for name in everything)
