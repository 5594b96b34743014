{#-
    Each Top 100 city beside its trade-value rank of the same year: the full-year city ranking on the basis of
    var `top100_trade_basis` (default firm_location, the basis of customs' city releases), and per year how many
    cities are in both top 10s and both top 20s. Only figures of the same kind are paired (a synthetic list with
    synthetic trade figures, a real list with real ones). A trade rank is among the cities with figures for that
    year (`trade_cities_ranked`), so with few cities loaded the overlap_counts are a lower bound.
-#}
with

competitiveness as (

    select * from {{ ref('top100_competitiveness') }}

),

trade_ranking as (

    select * from {{ ref('city_trade_ranking') }}
    where month_from = 1
        and month_to = 12
        and basis = '{{ var("top100_trade_basis", "firm_location") }}'

),

paired as (

    select
        competitiveness.year,
        competitiveness.area_code,
        competitiveness.name_en,
        competitiveness.name_zh,
        competitiveness.region,
        competitiveness.rank as competitiveness_rank,
        competitiveness.score,
        trade_ranking.rank_total as trade_rank,
        trade_ranking.rank_total - competitiveness.rank as trade_rank_minus_competitiveness_rank,
        trade_ranking.total_cny,
        trade_ranking.total_yoy_pct,
        trade_ranking.share_of_national_pct,
        trade_ranking.national_total_yoy_pct,
        trade_ranking.cities_ranked as trade_cities_ranked,
        competitiveness.rank <= 10 and trade_ranking.rank_total <= 10 as is_top10_in_both,
        competitiveness.rank <= 20 and trade_ranking.rank_total <= 20 as is_top20_in_both,
        competitiveness.entries_published as list_size,
        competitiveness.is_complete_list,
        competitiveness.is_synthetic

    from competitiveness
    left join trade_ranking
        on competitiveness.year = trade_ranking.year
        and competitiveness.area_code = trade_ranking.area_code
        and competitiveness.is_synthetic = trade_ranking.is_synthetic

),

overlap_counts as (

    select
        year,
        count(case when is_top10_in_both then 1 end) as top10_overlap,
        count(case when is_top20_in_both then 1 end) as top20_overlap,
        count(trade_rank) as listed_cities_with_trade_rank

    from paired
    group by year

),

final as (

    select
        paired.year,
        paired.area_code,
        paired.name_en,
        paired.name_zh,
        paired.region,
        paired.competitiveness_rank,
        paired.score,
        paired.trade_rank,
        paired.trade_rank_minus_competitiveness_rank,
        '{{ var("top100_trade_basis", "firm_location") }}' as trade_basis,
        paired.total_cny,
        paired.total_yoy_pct,
        paired.share_of_national_pct,
        paired.national_total_yoy_pct,
        paired.trade_cities_ranked,
        coalesce(paired.is_top10_in_both, false) as is_top10_in_both,
        coalesce(paired.is_top20_in_both, false) as is_top20_in_both,
        overlap_counts.top10_overlap,
        overlap_counts.top20_overlap,
        overlap_counts.listed_cities_with_trade_rank,
        paired.list_size,
        paired.is_complete_list,
        paired.is_synthetic,
        {{ surrogate_key(['paired.year', 'paired.area_code']) }} as list_entry_id

    from paired
    inner join overlap_counts
        on paired.year = overlap_counts.year

)

select * from final
