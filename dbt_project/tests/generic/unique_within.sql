{#-
    Generic data test on a column: its value is unique within each group of the given columns, for example a rank
    within its period and basis. Returns one row per duplicated value of a group; nulls are left to `not_null`.
-#}
{% test unique_within(model, column_name, group_by) %}

select
    {{ group_by | join(', ') }},
    {{ column_name }},
    count(*) as rows_with_this_value

from {{ model }}
where {{ column_name }} is not null
group by {{ group_by | join(', ') }}, {{ column_name }}
having count(*) > 1

{% endtest %}
