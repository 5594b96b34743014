{#-
    Ranks areas of the given levels by total, exports and imports within each year, month window and basis,
    with last year's rank for the same window, the gap to the area ranked just above, and the share of the
    national total (basis `national`, the denominator for every basis). Ties break by area code so ranks run
    1..N without gaps or duplicates.
-#}
{% macro trade_ranking(levels) %}
with

trade as (

    select * from {{ ref('fct_trade') }}

),

areas as (

    select * from {{ ref('dim_area') }}

),

national as (

    select year, month_from, month_to, total_cny as national_total_cny
    from trade
    where area_code = '000000' and basis = 'national'

),

candidates as (

    select
        trade.*,
        areas.name_en,
        areas.name_zh,
        areas.province_name_en,
        areas.region

    from trade
    inner join areas
        on trade.area_code = areas.area_code
    where areas.level in ({% for level in levels %}'{{ level }}'{{ ', ' if not loop.last }}{% endfor %})
        and trade.basis <> 'national'
        and trade.total_cny is not null

),

ranked as (

    select
        *,
        row_number() over (partition by year, month_from, month_to, basis order by total_cny desc, area_code) as rank_total,
        case when exports_cny is not null then row_number() over (
            partition by year, month_from, month_to, basis, exports_cny is null order by exports_cny desc, area_code
        ) end as rank_exports,
        case when imports_cny is not null then row_number() over (
            partition by year, month_from, month_to, basis, imports_cny is null order by imports_cny desc, area_code
        ) end as rank_imports,
        lag(total_cny) over (partition by year, month_from, month_to, basis order by total_cny desc, area_code)
            - total_cny as gap_to_above_cny,
        count(*) over (partition by year, month_from, month_to, basis) as cities_ranked

    from candidates

),

final as (

    select
        ranked.year,
        ranked.month_from,
        ranked.month_to,
        ranked.period_label,
        ranked.basis,
        ranked.area_code,
        ranked.name_en,
        ranked.name_zh,
        ranked.province_name_en,
        ranked.region,
        ranked.total_cny,
        ranked.exports_cny,
        ranked.imports_cny,
        coalesce(ranked.total_yoy_pct_published, ranked.total_yoy_pct_computed) as total_yoy_pct,
        ranked.total_yoy_pct_published,
        ranked.total_yoy_pct_computed,
        ranked.rank_total,
        ranked.rank_exports,
        ranked.rank_imports,
        previous.rank_total as rank_total_prev,
        previous.rank_total - ranked.rank_total as rank_change,
        ranked.gap_to_above_cny,
        100 * ranked.total_cny / national.national_total_cny as share_of_national_pct,
        ranked.cities_ranked,
        ranked.release_id,
        ranked.published_on,
        ranked.is_synthetic

    from ranked
    left join ranked as previous
        on ranked.area_code = previous.area_code
        and ranked.basis = previous.basis
        and ranked.month_from = previous.month_from
        and ranked.month_to = previous.month_to
        and ranked.year = previous.year + 1
    left join national
        on ranked.year = national.year
        and ranked.month_from = national.month_from
        and ranked.month_to = national.month_to

)

select * from final
{% endmacro %}
