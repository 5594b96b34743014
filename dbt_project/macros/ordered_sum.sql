{#-
    sum(expression) adding the values in the order of `order_by`: the same bits on every run and engine, where a
    parallel sum's last bits vary. DuckDB and PostgreSQL take an ordered aggregate; Spark has none, so the values
    are collected, sorted by the key and folded left to right. Null when every value is null, as sum() is.
-#}
{% macro ordered_sum(expression, order_by) -%}
    {{ return(adapter.dispatch('ordered_sum')(expression, order_by)) }}
{%- endmacro %}

{% macro default__ordered_sum(expression, order_by) -%}
    sum({{ expression }} order by {{ order_by }})
{%- endmacro %}

{% macro spark__ordered_sum(expression, order_by) -%}
    aggregate(
        filter(
            transform(array_sort(collect_list(named_struct('k', {{ order_by }}, 'v', cast({{ expression }} as double)))), s -> s.v),
            v -> v is not null
        ),
        cast(null as double),
        (total, v) -> coalesce(total, cast(0 as double)) + v
    )
{%- endmacro %}
