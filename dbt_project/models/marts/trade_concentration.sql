{#-
    How concentrated a period's trade is among cities, per basis: the share of the national total held by the
    top 1, 2, 5 and 10 cities of city_trade_ranking, and the Herfindahl-Hirschman index over the ranked cities,
    each only where the coverage supports it. No period has every city, so:
      - a top-N share is given only when ranks 1..N are certain (rank_best = rank_worst = r for r = 1..N): an
        unreported city could otherwise be among the top N;
      - the HHI (over each city's share of the reported cities' combined total) is given only when the reported
        cities cover at least 95 % of the national total.
    Otherwise they are null, and `coverage_of_national_pct`, `areas_reported` and `areas_in_universe` say why.
    Sums of doubles run in area order: a parallel sum's order, and so its last bits, differs from run to run, and
    the same data must publish the same rows.
-#}
{%- set top_n = [1, 2, 5, 10] %}
with

ranking as (

    select * from {{ ref('city_trade_ranking') }}

),

with_market_share as (

    select
        *,
        total_cny / sum(total_cny) over (
            partition by year, month_from, month_to, basis order by area_code
            rows between unbounded preceding and unbounded following
        ) as share_of_ranked

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
        max(areas_in_universe) as areas_in_universe,
        max(coverage_of_national_pct) as coverage_of_national_pct,
        max(national_total_cny) as national_total_cny,
        {{ ordered_sum('total_cny', 'area_code') }} as ranked_total_cny,
        {%- for n in top_n %}
        {{ ordered_sum('case when rank_total <= ' ~ n ~ ' then total_cny end', 'area_code') }} as top{{ n }}_total_cny,
        count(case when rank_total <= {{ n }} and rank_best = rank_total and rank_worst = rank_total then 1 end)
            as top{{ n }}_certain_ranks,
        {%- endfor %}
        10000 * {{ ordered_sum('share_of_ranked * share_of_ranked', 'area_code') }} as hhi_of_ranked

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
        cities_ranked as areas_reported,
        areas_in_universe,
        coverage_of_national_pct,
        national_total_cny,
        ranked_total_cny,
        100 * ranked_total_cny / national_total_cny as ranked_share_of_national_pct,
        {%- for n in top_n if n > 1 %}
        case when top{{ n }}_certain_ranks = {{ n }} then top{{ n }}_total_cny end as top{{ n }}_total_cny,
        {%- endfor %}
        {%- for n in top_n %}
        case when top{{ n }}_certain_ranks = {{ n }}
            then 100 * top{{ n }}_total_cny / national_total_cny end as top{{ n }}_share_pct,
        {%- endfor %}
        case when coverage_of_national_pct >= 95 then hhi_of_ranked end as hhi,
        is_synthetic,
        {{ surrogate_key(['year', 'month_from', 'month_to', 'basis']) }} as period_basis_id

    from summed

)

select * from final
