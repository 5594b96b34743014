{#-
    Generic data test, on a model: none of these columns holds a negative number (trade values, derived single
    months). One node for all of them (see not_null_columns.sql); one row per column with negatives.
-#}
{% test non_negative(model, columns) %}

{%- for column in columns %}
select
    '{{ column }}' as column_with_negatives,
    count(*) as negative_rows

from {{ model }}
where {{ column }} < 0
having count(*) > 0
{% if not loop.last %}
union all
{% endif %}
{%- endfor %}

{% endtest %}
