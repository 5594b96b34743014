{#- Generic data test on a column: no value is below zero (trade values, derived single months); nulls pass. -#}
{% test non_negative(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0

{% endtest %}
