{#- Trade by partner region (summed over HS sections), the latest published version of each figure. -#}
with

aggregated as (

    select * from {{ ref('int_trade_detail_aggregated') }}

),

areas as (

    select * from {{ ref('areas') }}

),

versioned as (

    select
        *,
        row_number() over (
            partition by area_code, year, month_from, month_to, basis, partner_region
            order by published_on desc, loaded_at desc, release_id desc
        ) as version_rank

    from aggregated

),

latest as (

    select * from versioned
    where version_rank = 1

),

final as (

    select
        latest.area_code,
        areas.name_en,
        areas.level,
        latest.year,
        latest.month_from,
        latest.month_to,
        latest.basis,
        latest.partner_region,
        latest.exports_cny,
        latest.imports_cny,
        coalesce(latest.exports_cny, 0) + coalesce(latest.imports_cny, 0) as total_cny,
        100.0 * (coalesce(latest.exports_cny, 0) + coalesce(latest.imports_cny, 0)) / nullif(sum(coalesce(latest.exports_cny, 0) + coalesce(latest.imports_cny, 0)) over (
            partition by latest.area_code, latest.year, latest.month_from, latest.month_to, latest.basis
        ), 0) as share_of_area_total_pct,
        latest.detail_rows,
        latest.release_id,
        latest.published_on,
        {{ surrogate_key(['latest.area_code', 'latest.year', 'latest.month_from', 'latest.month_to', 'latest.basis',
            'latest.partner_region']) }} as partner_figure_id

    from latest
    left join areas
        on latest.area_code = areas.area_code

)

select * from final
