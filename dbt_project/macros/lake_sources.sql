{#-
    On Spark, the sources (raw.*, audit.*) are the Parquet files citytrade writes under CITYTRADE_LAKE, one folder
    per table (citytrade.transform.spark): each becomes an external table of the metastore, refreshed so that a
    build sees the files added since. DuckDB and PostgreSQL hold their sources as tables: nothing to do there.
-#}
{% macro register_lake_sources() -%}
    {{ return(adapter.dispatch('register_lake_sources')()) }}
{%- endmacro %}

{% macro default__register_lake_sources() -%}
{%- endmacro %}

{% macro spark__register_lake_sources() -%}
    {%- if execute -%}
        {%- set lake = env_var('CITYTRADE_LAKE') -%}
        {%- for source in graph.sources.values() | sort(attribute='unique_id') -%}
            {%- set relation = source.schema ~ '.' ~ source.identifier -%}
            {%- do run_query('create database if not exists ' ~ source.schema) -%}
            {%- do run_query(
                'create table if not exists ' ~ relation ~ " using parquet options (mergeSchema 'true') location '"
                ~ lake ~ '/' ~ source.schema ~ '/' ~ source.identifier ~ "'") -%}
            {%- do run_query('refresh table ' ~ relation) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
