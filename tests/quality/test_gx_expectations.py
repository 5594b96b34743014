"""citytrade's multicolumn not-null expectation (citytrade/gx_expectations.py) judges as GX's one-column one does,
for every listed column at once: a row fails when any listed column is null, a row with all of them null included."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from citytrade.quality import expectations as gx_expectations
from citytrade.quality import gates as quality


@pytest.fixture(scope="module")
def batch():
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    definition = context.data_sources.add_pandas("frames").add_dataframe_asset("frame").add_batch_definition_whole_dataframe("whole")
    return lambda frame: definition.get_batch(batch_parameters={"dataframe": frame})


def test_a_row_fails_when_any_listed_column_is_null_and_a_full_row_passes(batch):
    frame = pd.DataFrame({
        "area_code": ["440300", None, "310000", "110000", None],
        "total_cny": [1.0, 2.0, math.nan, 4.0, math.nan],
        "year": pd.array([2024, 2024, 2024, 2024, None], dtype="Int64"),
        "note": [None] * 5,  # not listed: never judged
    })  # fmt: skip
    expectation = gx_expectations.ExpectMulticolumnValuesToNotBeNull(column_list=["area_code", "total_cny", "year"])
    result = batch(frame).validate(expectation, result_format="COMPLETE")
    assert result.success is False and quality._raised(result.exception_info) is None
    assert result.result["unexpected_count"] == 3  # rows 1, 2 and 4 (all three null): once each
    assert result.result["unexpected_index_list"] == [1, 2, 4]
    assert result.result["element_count"] == 5

    full = batch(frame.iloc[[0, 3]]).validate(expectation)
    assert full.success is True and full.result["unexpected_count"] == 0


def test_a_listed_column_the_batch_lacks_is_an_error_not_a_pass(batch):
    expectation = gx_expectations.ExpectMulticolumnValuesToNotBeNull(column_list=["area_code", "rank_total"])
    result = batch(pd.DataFrame({"area_code": ["440300"]})).validate(expectation)
    assert result.success is False
    assert "rank_total" in quality._raised(result.exception_info)  # what the gate reports: could not run, an error
