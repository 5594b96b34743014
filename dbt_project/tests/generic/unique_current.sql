{#- At most one current row per key: a figure must never be counted twice in the marts. -#}
{% test unique_current(model, columns) %}
select {{ columns | join(', ') }}, count(*) as current_rows
from {{ model }}
where is_current
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
