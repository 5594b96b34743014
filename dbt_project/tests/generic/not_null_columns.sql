{#-
    Generic data test, on a model: none of these columns holds a null. One test node for the model's columns
    instead of one `not_null` node per column: every dbt node costs a run 30-100 ms of dbt's own Python (issue #8),
    and the models a run tests held 23 such nodes. It returns one row per column with nulls: the column and how
    many rows hold one.
-#}
{% test not_null_columns(model, columns) %}

{%- for column in columns %}
select
    '{{ column }}' as column_with_nulls,
    count(*) as null_rows

from {{ model }}
where {{ column }} is null
having count(*) > 0
{% if not loop.last %}
union all
{% endif %}
{%- endfor %}

{% endtest %}
