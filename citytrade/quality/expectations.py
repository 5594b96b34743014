"""citytrade's own GX expectation: every listed column is non-null, one expectation for many columns.

GX's cost is mostly per expectation, not per row (benchmarks/RESULTS.md, round 11): the mart gate's 33
`expect_column_values_to_not_be_null`, one per column, were 0.85 s of its 1.7 s on a (b) run. One
`expect_multicolumn_values_to_not_be_null` per mart makes the same verdict on the same columns: a row fails when any
listed column is null, and the failure's partial unexpected list shows each failing row's values of those columns.

Importing this module registers the expectation and its metric with GX (their classes register themselves): the
suites that use it are read only after quality._context has imported it.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Optional

from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import MulticolumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import MulticolumnMapMetricProvider
from great_expectations.expectations.metrics.map_metric_provider.multicolumn_condition_partial import (
    multicolumn_condition_partial,
)
from great_expectations.render import LegacyRendererType, RenderedStringTemplateContent
from great_expectations.render.renderer.renderer import renderer


class MulticolumnValuesNonNull(MulticolumnMapMetricProvider):
    """Per row: true when none of the listed columns is null (NaN and NaT count as null, as GX's own not-null).
    Pandas only: citytrade's gates validate extracts read from DuckDB (quality.extract_datasets)."""

    condition_metric_name = "multicolumn_values.nonnull"
    condition_domain_keys = ("batch_id", "table", "column_list", "row_condition", "condition_parser", "ignore_row_if")

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list, **kwargs):
        return column_list.notna().all(axis=1)


class ExpectMulticolumnValuesToNotBeNull(MulticolumnMapExpectation):
    """Expect every row to have a value in each of the listed columns (at least two; one column: GX's
    expect_column_values_to_not_be_null). Every row is judged: ignore_row_if is "never"."""

    ignore_row_if: Literal["never"] = "never"  # a row whose columns are all null is the worst case, not one to skip
    map_metric: ClassVar[Optional[str]] = "multicolumn_values.nonnull"
    args_keys: ClassVar[tuple[str, ...]] = ("column_list",)
    library_metadata: ClassVar[dict] = {"maturity": "experimental", "tags": ["citytrade"], "contributors": ["citytrade"]}

    @classmethod
    @renderer(renderer_type=LegacyRendererType.PRESCRIPTIVE)
    def _prescriptive_renderer(cls, configuration=None, result=None, runtime_configuration=None, **kwargs):
        columns = list((configuration.kwargs if configuration else {}).get("column_list") or [])
        params = {f"column_list_{index}": name for index, name in enumerate(columns)}
        template = "Values must never be null in any of these columns: " + ", ".join(f"${key}" for key in params)
        styling = (runtime_configuration or {}).get("styling")
        return [
            RenderedStringTemplateContent(
                content_block_type="string_template",
                string_template={"template": template, "params": params, "styling": styling},
            )
        ]
