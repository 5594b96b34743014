{#-
    Views on DuckDB: created again only when their SQL changed (issue #8).

    A DuckDB view is its SQL text, bound when it is read: one whose compiled SQL is what the warehouse already
    holds needs no new DDL, whatever the tables under it now hold. Re-creating the 14 views (create, rename,
    commit, drop: 0.11-0.35 s each) cost every pre-gate build 0.4 s (median of 6 against dbt-core's view, 3.55
    -> 3.17 s). The md5 of each view's compiled SQL is kept in audit.dbt_view_definitions (created by
    citytrade.warehouse; no key, as two threads write it at once), in the transaction that makes the view. A full
    refresh, a missing view, a relation of another type, or a warehouse without that table builds as dbt-core's
    view materialization does. PostgreSQL keeps dbt-core's.
-#}
{%- materialization view, adapter='duckdb' -%}

  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set fingerprint = local_md5(sql) -%}
  {%- set grant_config = config.get('grants') -%}

  {#- created by citytrade.warehouse; a warehouse without it (dbt run on its own) builds every view, as dbt-core does -#}
  {%- set definitions = adapter.get_relation(database=this.database, schema='audit', identifier='dbt_view_definitions') -%}

  {%- if definitions is not none and existing_relation is not none and existing_relation.is_view and not should_full_refresh() and not grant_config -%}
    {%- set held = run_query("select sql_md5 from audit.dbt_view_definitions where relation = '" ~ target_relation ~ "'") -%}
    {%- if held | length == 1 and held[0][0] == fingerprint -%}
      {{ run_hooks(pre_hooks, inside_transaction=False) }}
      {{ run_hooks(pre_hooks, inside_transaction=True) }}
      {% call statement('main') -%}
        select 'unchanged: {{ target_relation }}'
      {%- endcall %}
      {{ run_hooks(post_hooks, inside_transaction=True) }}
      {{ adapter.commit() }}
      {{ run_hooks(post_hooks, inside_transaction=False) }}
      {{ return({'relations': [target_relation]}) }}
    {%- endif -%}
  {%- endif -%}

  {#- dbt-core's view materialization (dbt/include/global_project/macros/materializations/models/view.sql), plus
      the fingerprint row -#}
  {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
  {%- set preexisting_intermediate_relation = load_cached_relation(intermediate_relation) -%}
  {%- set backup_relation_type = 'view' if existing_relation is none else existing_relation.type -%}
  {%- set backup_relation = make_backup_relation(target_relation, backup_relation_type) -%}
  {%- set preexisting_backup_relation = load_cached_relation(backup_relation) -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ drop_relation_if_exists(preexisting_intermediate_relation) }}
  {{ drop_relation_if_exists(preexisting_backup_relation) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% call statement('main') -%}
    {{ get_create_view_as_sql(intermediate_relation, sql) }}
  {%- endcall %}

  {% if existing_relation is not none %}
    {% set existing_relation = load_cached_relation(existing_relation) %}
    {% if existing_relation is not none %}
      {{ adapter.rename_relation(existing_relation, backup_relation) }}
    {% endif %}
  {% endif %}
  {{ adapter.rename_relation(intermediate_relation, target_relation) }}

  {% if definitions is not none %}
    {% call statement('citytrade_view_fingerprint') -%}
      delete from audit.dbt_view_definitions where relation = '{{ target_relation }}';
      insert into audit.dbt_view_definitions values ('{{ target_relation }}', '{{ fingerprint }}', now())
    {%- endcall %}
  {% endif %}

  {% set should_revoke = should_revoke(existing_relation, full_refresh_mode=True) %}
  {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke) %}
  {% do persist_docs(target_relation, model) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ drop_relation_if_exists(backup_relation) }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}

{%- endmaterialization -%}
