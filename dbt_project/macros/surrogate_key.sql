{#-
    A one-column key for a model whose grain is several columns: the md5 of their values as text, joined by '|'.
    Null when any of them is null, so `not_null` on the key tests every part and `unique` tests the grain.
    Portable (DuckDB, PostgreSQL); meant for keys of text, integers, dates and booleans, not floats.
-#}
{% macro surrogate_key(columns) -%}
    md5(
        {%- for column in columns %}
        cast({{ column }} as {{ dbt.type_string() }}){{ " || '|' ||" if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}
