{#- Generic data test: a column never holds a negative number (trade values, derived single months). -#}
{% test non_negative(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0
{% endtest %}
