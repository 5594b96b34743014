{#-
    Every competing trade figure (latest version of its file) placed in the area hierarchy and in release
    order, the common ground of the quality measures: level and parent of the area, whether it is the
    current figure (newest release) for its area, period and basis, and the release's rank in publication
    order (a contradiction is blamed on the newer release of the pair).
-#}
with

versioned as (

    select * from {{ ref('int_trade_observations_versioned') }}
    where is_latest_file_version

),

areas as (

    select * from {{ ref('areas') }}

),

release_order as (

    select * from {{ ref('int_releases_ordered') }}

),

final as (

    select
        versioned.observation_id,
        versioned.release_id,
        versioned.source_file,
        versioned.published_on,
        versioned.publisher_rank,
        release_order.release_order,
        versioned.area_code,
        coalesce(areas.name_en, versioned.area_raw) as area_name,
        {{ area_label('areas', 'versioned.area_raw') }} as area_label,
        areas.level,
        case
            when areas.level = 'city' then areas.province_code
            when areas.level in ('province', 'municipality') then '000000'
        end as parent_code,
        versioned.year,
        versioned.month_from,
        versioned.month_to,
        versioned.basis,
        versioned.period_label,
        versioned.source_unit,
        versioned.source_currency,
        versioned.unit_factor,
        versioned.cny_per_unit_currency,
        versioned.total_text,
        versioned.total_cny,
        versioned.total_tolerance_cny,
        versioned.total_yoy_pct,
        versioned.version_rank = 1 as is_current

    from versioned
    inner join release_order
        on versioned.release_id = release_order.release_id
    left join areas
        on versioned.area_code = areas.area_code

)

select * from final
