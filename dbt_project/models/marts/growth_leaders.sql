{#-
    The fastest growing and fastest shrinking cities of each period and basis, among cities whose total reaches
    the size threshold (dbt var `growth_leaders_min_total_cny`, yuan), so that small traders' swings do not crowd
    out the large ones. Growth is the published year-on-year % where there is one, else the computed one.
-#}
with

ranking as (

    select * from {{ ref('city_trade_ranking') }}

),

eligible as (

    select * from ranking
    where total_cny >= {{ var('growth_leaders_min_total_cny') }}
        and total_yoy_pct is not null

),

ranked as (

    select
        *,
        row_number() over (
            partition by year, month_from, month_to, basis
            order by total_yoy_pct desc, area_code
        ) as growth_rank,
        row_number() over (
            partition by year, month_from, month_to, basis
            order by total_yoy_pct asc, area_code
        ) as decline_rank,
        count(*) over (partition by year, month_from, month_to, basis) as cities_eligible

    from eligible

),

final as (

    select
        year,
        month_from,
        month_to,
        period_label,
        basis,
        area_code,
        name_en,
        name_zh,
        province_name_en,
        region,
        total_cny,
        total_yoy_pct,
        total_yoy_pct_published,
        total_yoy_pct_computed,
        case when total_yoy_pct_published is not null then 'published' else 'computed' end as growth_source,
        case
            when total_yoy_pct > 0 then 'growing'
            when total_yoy_pct < 0 then 'shrinking'
            else 'flat'
        end as direction,
        growth_rank,
        decline_rank,
        cities_eligible,
        rank_total,
        {{ var('growth_leaders_min_total_cny') }} as min_total_cny,
        is_synthetic,
        figure_id

    from ranked

)

select * from final
