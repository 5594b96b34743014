{#- An 8-byte float, spelled as each engine knows it: `double precision` (DuckDB, PostgreSQL), `double` (Spark). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double precision{%- endmacro %}

{% macro spark__type_double() -%}double{%- endmacro %}
