{#-
    Generic data test: the column is a key, unique and never null. One test node instead of dbt's `unique` and
    `not_null` on the same column: every dbt node costs a run 50-100 ms of dbt's own Python (issue #8), and the 10
    key columns of the project ran 20 such nodes. It returns one row per duplicated value and one for the nulls.
-#}
{% test primary_key(model, column_name) %}

select
    {{ column_name }} as key_value,
    count(*) as rows_with_this_key

from {{ model }}
group by {{ column_name }}
having {{ column_name }} is null or count(*) > 1

{% endtest %}
