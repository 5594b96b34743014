{#-
    Portable boolean aggregates: PostgreSQL and DuckDB both have bool_and/bool_or, but not every adapter does,
    and dbt ships only bool_or; these spell both out with min/max over 0/1.
-#}
{% macro all_true(expression) -%}
    (min(case when {{ expression }} then 1 else 0 end) = 1)
{%- endmacro %}

{% macro any_true(expression) -%}
    (max(case when {{ expression }} then 1 else 0 end) = 1)
{%- endmacro %}
