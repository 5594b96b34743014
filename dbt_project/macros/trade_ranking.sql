{#-
    Ranks areas of the given levels by total, exports and imports within each year, month window and basis,
    with last year's rank for the same window, the gap in yuan to the area ranked just above, and the share of
    the national total (basis `national`, the denominator for every basis). Ties break by area code so ranks
    run 1..N without gaps or duplicates.

    Synthetic and real figures are never ranked together: a period and basis is ranked on its real figures when
    it has any, and on synthetic ones only when it has no real figure at all (`is_synthetic` is then true on
    every row). Last year's rank and the national denominator come from the same kind of data only.
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

    select
        year,
        month_from,
        month_to,
        is_synthetic,
        total_cny as national_total_cny,
        coalesce(total_yoy_pct_published, total_yoy_pct_computed) as national_total_yoy_pct

    from trade
    where area_code = '000000'
        and basis = 'national'

),

candidates as (

    select
        trade.*,
        areas.name_en,
        areas.name_zh,
        areas.province_name_en,
        areas.region,
        min(case when trade.is_synthetic then 1 else 0 end) over (
            partition by trade.year, trade.month_from, trade.month_to, trade.basis
        ) as is_all_synthetic

    from trade
    inner join areas
        on trade.area_code = areas.area_code
    where areas.level in ({% for level in levels %}'{{ level }}'{{ ', ' if not loop.last }}{% endfor %})
        and trade.basis <> 'national'
        and trade.total_cny is not null

),

one_kind as (

    select * from candidates
    where not is_synthetic
        or is_all_synthetic = 1

),

ranked as (

    select
        *,
        row_number() over (
            partition by year, month_from, month_to, basis
            order by total_cny desc, area_code
        ) as rank_total,
        case when exports_cny is not null then row_number() over (
            partition by year, month_from, month_to, basis, case when exports_cny is null then 0 else 1 end
            order by exports_cny desc, area_code
        ) end as rank_exports,
        case when imports_cny is not null then row_number() over (
            partition by year, month_from, month_to, basis, case when imports_cny is null then 0 else 1 end
            order by imports_cny desc, area_code
        ) end as rank_imports,
        lag(area_code) over (
            partition by year, month_from, month_to, basis
            order by total_cny desc, area_code
        ) as area_code_above,
        lag(name_en) over (
            partition by year, month_from, month_to, basis
            order by total_cny desc, area_code
        ) as name_en_above,
        lag(total_cny) over (
            partition by year, month_from, month_to, basis
            order by total_cny desc, area_code
        ) - total_cny as gap_to_above_cny,
        max(total_cny) over (partition by year, month_from, month_to, basis) - total_cny as gap_to_first_cny,
        count(*) over (partition by year, month_from, month_to, basis) as cities_ranked

    from one_kind

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
        ranked.exports_yoy_pct_published,
        ranked.exports_yoy_pct_computed,
        ranked.imports_yoy_pct_published,
        ranked.imports_yoy_pct_computed,
        ranked.rank_total,
        ranked.rank_exports,
        ranked.rank_imports,
        previous.rank_total as rank_total_prev,
        previous.rank_total - ranked.rank_total as rank_change,
        previous.rank_exports as rank_exports_prev,
        previous.rank_exports - ranked.rank_exports as rank_exports_change,
        previous.rank_imports as rank_imports_prev,
        previous.rank_imports - ranked.rank_imports as rank_imports_change,
        previous.total_cny as total_cny_prev,
        ranked.area_code_above,
        ranked.name_en_above,
        ranked.gap_to_above_cny,
        ranked.gap_to_first_cny,
        100 * ranked.total_cny / national.national_total_cny as share_of_national_pct,
        national.national_total_cny,
        national.national_total_yoy_pct,
        ranked.cities_ranked,
        previous.cities_ranked as cities_ranked_prev,
        ranked.release_id,
        ranked.published_on,
        ranked.is_synthetic,
        ranked.figure_id

    from ranked
    left join ranked as previous
        on ranked.area_code = previous.area_code
        and ranked.basis = previous.basis
        and ranked.month_from = previous.month_from
        and ranked.month_to = previous.month_to
        and ranked.year = previous.year + 1
        and ranked.is_synthetic = previous.is_synthetic
    left join national
        on ranked.year = national.year
        and ranked.month_from = national.month_from
        and ranked.month_to = national.month_to
        and ranked.is_synthetic = national.is_synthetic

)

select * from final
{% endmacro %}
