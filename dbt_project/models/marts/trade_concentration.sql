{#-
    How concentrated a period's trade is among cities, per basis: the share of the national total held by the
    top 2, 5 and 10 cities of city_trade_ranking, and the Herfindahl-Hirschman index over the ranked cities.
    Shares are of the national total (null when no national figure of the same kind exists for the window); the
    HHI uses each city's share of the ranked cities' combined total, so it covers only the cities with figures
    (`cities_ranked` says how many).
-#}
with

ranking as (

    select * from {{ ref('city_trade_ranking') }}

),

with_market_share as (

    select
        *,
        total_cny / sum(total_cny) over (partition by year, month_from, month_to, basis) as share_of_ranked

    from ranking

),

summed as (

    select
        year,
        month_from,
        month_to,
        period_label,
        basis,
        is_synthetic,
        max(cities_ranked) as cities_ranked,
        max(national_total_cny) as national_total_cny,
        sum(total_cny) as ranked_total_cny,
        sum(case when rank_total = 1 then total_cny end) as top1_total_cny,
        sum(case when rank_total <= 2 then total_cny end) as top2_total_cny,
        sum(case when rank_total <= 5 then total_cny end) as top5_total_cny,
        sum(case when rank_total <= 10 then total_cny end) as top10_total_cny,
        10000 * sum(share_of_ranked * share_of_ranked) as hhi

    from with_market_share
    group by year, month_from, month_to, period_label, basis, is_synthetic

),

final as (

    select
        year,
        month_from,
        month_to,
        period_label,
        basis,
        cities_ranked,
        national_total_cny,
        ranked_total_cny,
        100 * ranked_total_cny / national_total_cny as ranked_share_of_national_pct,
        top2_total_cny,
        top5_total_cny,
        top10_total_cny,
        100 * top1_total_cny / national_total_cny as top1_share_pct,
        100 * top2_total_cny / national_total_cny as top2_share_pct,
        100 * top5_total_cny / national_total_cny as top5_share_pct,
        100 * top10_total_cny / national_total_cny as top10_share_pct,
        hhi,
        is_synthetic,
        {{ surrogate_key(['year', 'month_from', 'month_to', 'basis']) }} as period_basis_id

    from summed

)

select * from final
