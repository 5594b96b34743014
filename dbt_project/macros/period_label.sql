{#- A reader's label for a month window: 2025 (full year), 2025 M1-M11 (year to date), 2020 M6 (one month). -#}
{% macro period_label(year, month_from, month_to) -%}
    case
        when {{ month_from }} = 1 and {{ month_to }} = 12 then cast({{ year }} as varchar)
        when {{ month_from }} = {{ month_to }} then cast({{ year }} as varchar) || ' M' || cast({{ month_to }} as varchar)
        else cast({{ year }} as varchar) || ' M' || cast({{ month_from }} as varchar) || '-M' || cast({{ month_to }} as varchar)
    end
{%- endmacro %}
