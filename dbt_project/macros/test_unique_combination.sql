{#- Generic data test: no two rows share the same values of the given columns (the grain of a mart). -#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as rows_with_this_key

from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
