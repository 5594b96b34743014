{#- A reader's label for a month window: 2025 (full year), 2025 M1-M11 (year to date), 2020 M6 (one month). Portable (DuckDB, PostgreSQL). -#}
{% macro period_label(year, month_from, month_to) -%}
    {%- set year_text = dbt.cast(year, dbt.type_string()) -%}
    {%- set from_text = dbt.cast(month_from, dbt.type_string()) -%}
    {%- set to_text = dbt.cast(month_to, dbt.type_string()) -%}
    case
        when {{ month_from }} = 1 and {{ month_to }} = 12 then {{ year_text }}
        when {{ month_from }} = {{ month_to }} then {{ dbt.concat([year_text, "' M'", to_text]) }}
        else {{ dbt.concat([year_text, "' M'", from_text, "'-M'", to_text]) }}
    end
{%- endmacro %}
