{#-
    Single months (and January-February where only published together) derived in int_trade_months_derived.
    Never negative: a difference below zero by no more than the rounding of its two figures is 0; a measure
    whose year-to-date figure fell by more than that is left empty (a data problem, alerted by the checks).
-#}
{%- set measures = ['total', 'exports', 'imports'] %}
with

derived as (

    select * from {{ ref('int_trade_months_derived') }}

),

clamped as (

    select
        *,
        {%- for measure in measures %}
        case
            when {{ measure }}_cny >= 0 then {{ measure }}_cny
            when {{ measure }}_cny >= -{{ measure }}_tolerance_cny then 0
        end as {{ measure }}_cny_clamped{{ ',' if not loop.last }}
        {%- endfor %}

    from derived

),

final as (

    select
        area_code,
        year,
        month_from,
        month_to,
        period_label,
        months_covered,
        basis,
        total_cny_clamped as total_cny,
        exports_cny_clamped as exports_cny,
        imports_cny_clamped as imports_cny,
        total_tolerance_cny,
        exports_tolerance_cny,
        imports_tolerance_cny,
        derivation,
        release_id,
        previous_release_id,
        observation_id,
        previous_observation_id,
        published_on,
        is_synthetic,
        figure_id

    from clamped
    where total_cny_clamped is not null
        or exports_cny_clamped is not null
        or imports_cny_clamped is not null

)

select * from final
