{#-
    Ranks areas of the given levels by total, exports and imports within each year, month window and basis,
    with last year's rank for the same window, the gap in yuan to the area ranked just above, and the share of
    the national total (basis `national`, the denominator for every basis). Ties break by area code so ranks
    run 1..N without gaps or duplicates.

    `rank_total` is the rank among the areas that reported. Because no period has every area, each row also
    carries the universe (`areas_in_universe`: the areas of these levels in dim_area), `areas_reported`, the
    coverage of the national total, and the bounds `rank_best` .. `rank_worst` of the area's rank among the
    whole universe (docs/rank_bounds.md gives the rules and a worked example):
      - a figure v published with precision p stands for [v - p/2, v + p/2): lo and hi below;
      - a reported Y is certainly above X when Y_lo >= X_hi, possibly above when not and Y_hi > X_lo (two
        figures without rounding that are equal are each possibly above the other);
      - the unreported areas of a province P whose total is known share the remainder
        R_P = P_hi - sum of lo of P's reported areas: at most k_P = min(n_P, ceil(R_P / X_lo) - 1) of them exceed
        X (0 when R_P <= 0);
      - the unreported areas of provinces without a total form one pool, whose remainder is the national hi
        minus the lo of the known provinces and of the pool's reported areas; without a national total, every
        unreported area of the pool counts;
      - rank_best = 1 + certainly above; rank_worst = rank_best + possibly above + sum of k_P + k_pool.
    Areas are grouped by province_code: a municipality is its own province, and a province ranked among
    provinces is its own group, so the same rules serve both rankings. `rank_change` is given only when this
    year's and last year's ranks are both certain.

    Synthetic and real figures are never ranked together: a period and basis is ranked on its real figures when
    it has any, and on synthetic ones only when it has no real figure at all (`is_synthetic` is then true on
    every row). Last year's rank, the province totals and the national total come from the same kind of data only.
-#}

{% macro trade_ranking(levels) %}
{%- set level_list -%}
    ({% for level in levels %}'{{ level }}'{{ ', ' if not loop.last }}{% endfor %})
{%- endset %}
{%- set period_keys = ['year', 'month_from', 'month_to', 'basis', 'is_synthetic'] %}
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
        total_cny + coalesce(total_tolerance_cny, 0) as national_hi_cny,
        coalesce(total_tolerance_cny, 0) as national_tolerance_cny,
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
        areas.province_code,
        areas.province_name_en,
        areas.region,
        min(case when trade.is_synthetic then 1 else 0 end) over (
            partition by trade.year, trade.month_from, trade.month_to, trade.basis
        ) as is_all_synthetic

    from trade
    inner join areas
        on trade.area_code = areas.area_code
    where areas.level in {{ level_list }}
        and trade.basis <> 'national'
        and trade.total_cny is not null

),

one_kind as (

    select
        *,
        total_cny - coalesce(total_tolerance_cny, 0) as total_lo_cny,
        total_cny + coalesce(total_tolerance_cny, 0) as total_hi_cny

    from candidates
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
        count(*) over (partition by year, month_from, month_to, basis) as cities_ranked,
        sum(total_cny) over (  -- in area order: a parallel sum's last bits vary from run to run
            partition by year, month_from, month_to, basis order by area_code
            rows between unbounded preceding and unbounded following
        ) as reported_total_cny

    from one_kind

),

-- the bounds: first the reported areas certainly and possibly above each area, counted from two sorts per period
-- rather than by comparing every pair (a period of 337 cities is 113,000 pairs). For an area X, with Y over the
-- period's reported areas (X among them):
--   certainly above = #{Y: Y_lo >= X_hi} - D
--   possibly above  = #{Y: Y_hi > X_lo} - #{Y: Y_lo >= X_hi} + 2 D - 1
-- where D = #{Y: Y_lo = Y_hi = X_lo = X_hi}, the areas published without rounding at X's figure when X is too
-- (0 otherwise): such a pair is possibly, never certainly, above each other (docs/rank_bounds.md).

-- the areas' lo edges below each area's hi (a hi sorts before the lo edges it ties with), and their hi edges at or
-- below each area's lo (a lo sorts after the hi edges it ties with)
{{ sorted_edge_count('lo_below_hi', counted='total_lo_cny', query='total_hi_cny', tie='is_edge') }}
{{ sorted_edge_count('hi_at_most_lo', counted='total_hi_cny', query='total_lo_cny', tie='is_edge desc') }}
unrounded as (

    select year, month_from, month_to, basis, total_cny, count(*) as areas_unrounded
    from ranked
    where total_lo_cny = total_hi_cny
    group by year, month_from, month_to, basis, total_cny

),

reported_edges as (

    select
        ranked.year,
        ranked.month_from,
        ranked.month_to,
        ranked.basis,
        ranked.area_code,
        ranked.cities_ranked - lo_below_hi.edges_counted as areas_lo_at_least_hi,
        ranked.cities_ranked - hi_at_most_lo.edges_counted as areas_hi_above_lo,
        coalesce(unrounded.areas_unrounded, 0) as areas_unrounded_equal

    from ranked
    inner join lo_below_hi
        on ranked.year = lo_below_hi.year
        and ranked.month_from = lo_below_hi.month_from
        and ranked.month_to = lo_below_hi.month_to
        and ranked.basis = lo_below_hi.basis
        and ranked.area_code = lo_below_hi.area_code
    inner join hi_at_most_lo
        on ranked.year = hi_at_most_lo.year
        and ranked.month_from = hi_at_most_lo.month_from
        and ranked.month_to = hi_at_most_lo.month_to
        and ranked.basis = hi_at_most_lo.basis
        and ranked.area_code = hi_at_most_lo.area_code
    left join unrounded
        on ranked.total_lo_cny = ranked.total_hi_cny
        and ranked.year = unrounded.year
        and ranked.month_from = unrounded.month_from
        and ranked.month_to = unrounded.month_to
        and ranked.basis = unrounded.basis
        and ranked.total_cny = unrounded.total_cny

),

reported_above as (

    select
        year,
        month_from,
        month_to,
        basis,
        area_code,
        areas_lo_at_least_hi - areas_unrounded_equal as areas_certainly_above,
        areas_hi_above_lo - areas_lo_at_least_hi + 2 * areas_unrounded_equal - 1 as areas_possibly_above

    from reported_edges

),

-- then the unreported areas, province by province: the remainder each province leaves for them

periods as (

    select distinct {{ period_keys | join(', ') }} from ranked

),

universe as (

    select area_code, province_code from areas
    where level in {{ level_list }}

),

province_totals as (

    select
        trade.area_code as province_code,
        trade.year,
        trade.month_from,
        trade.month_to,
        trade.basis,
        trade.is_synthetic,
        trade.total_cny - coalesce(trade.total_tolerance_cny, 0) as province_lo_cny,
        trade.total_cny + coalesce(trade.total_tolerance_cny, 0) as province_hi_cny

    from trade
    inner join areas
        on trade.area_code = areas.area_code
    where areas.level in ('province', 'municipality')
        and trade.total_cny is not null

),

universe_by_province as (

    select
        periods.year,
        periods.month_from,
        periods.month_to,
        periods.basis,
        periods.is_synthetic,
        universe.province_code,
        count(*) as areas_in_province,
        count(ranked.area_code) as areas_reported_in_province,
        coalesce({{ ordered_sum('ranked.total_lo_cny', 'ranked.area_code') }}, 0) as reported_lo_cny

    from periods
    cross join universe
    left join ranked
        on periods.year = ranked.year
        and periods.month_from = ranked.month_from
        and periods.month_to = ranked.month_to
        and periods.basis = ranked.basis
        and universe.area_code = ranked.area_code
    group by periods.year, periods.month_from, periods.month_to, periods.basis, periods.is_synthetic,
        universe.province_code

),

remainders as (

    select
        universe_by_province.*,
        province_totals.province_lo_cny is not null as is_province_total_known,
        province_totals.province_lo_cny,
        province_totals.province_hi_cny - universe_by_province.reported_lo_cny as remainder_cny,
        universe_by_province.areas_in_province - universe_by_province.areas_reported_in_province as areas_unreported

    from universe_by_province
    left join province_totals
        on universe_by_province.province_code = province_totals.province_code
        and universe_by_province.year = province_totals.year
        and universe_by_province.month_from = province_totals.month_from
        and universe_by_province.month_to = province_totals.month_to
        and universe_by_province.basis = province_totals.basis
        and universe_by_province.is_synthetic = province_totals.is_synthetic

),

-- the pool: the provinces without a total share what the nation leaves after the known provinces

pools as (

    select
        remainders.year,
        remainders.month_from,
        remainders.month_to,
        remainders.basis,
        remainders.is_synthetic,
        sum(case when not remainders.is_province_total_known then remainders.areas_unreported else 0 end)
            as pool_areas_unreported,
        max(national.national_hi_cny)
            - {{ ordered_sum('case when remainders.is_province_total_known
                then remainders.province_lo_cny else remainders.reported_lo_cny end', 'remainders.province_code') }}
                as pool_remainder_cny

    from remainders
    left join national
        on remainders.year = national.year
        and remainders.month_from = national.month_from
        and remainders.month_to = national.month_to
        and remainders.is_synthetic = national.is_synthetic
    group by remainders.year, remainders.month_from, remainders.month_to, remainders.basis, remainders.is_synthetic

),

bound_groups as (

    select year, month_from, month_to, basis, is_synthetic, areas_unreported, remainder_cny
    from remainders
    where is_province_total_known
        and areas_unreported > 0

    union all

    -- a null remainder (no national total): every unreported area of the pool may exceed
    select year, month_from, month_to, basis, is_synthetic, pool_areas_unreported, pool_remainder_cny
    from pools
    where pool_areas_unreported > 0

),

unreported_above as (

    select
        ranked.year,
        ranked.month_from,
        ranked.month_to,
        ranked.basis,
        ranked.area_code,
        -- least() in double precision first: a tiny X_lo makes the quotient too large for an integer. The quotient
        -- less 1e-9 before ceil(): an exact division (R = m * X_lo) must give m - 1 even when the binary rounding
        -- of yuan values leaves it a hair above m; no two published figures divide that near an integer otherwise
        cast(sum(
            case
                when bound_groups.remainder_cny is null then bound_groups.areas_unreported
                when bound_groups.remainder_cny <= 0 then 0
                when ranked.total_lo_cny <= 0 then bound_groups.areas_unreported
                else cast(least(
                    cast(bound_groups.areas_unreported as {{ type_double() }}),
                    ceil(bound_groups.remainder_cny / ranked.total_lo_cny - 1e-9) - 1
                ) as {{ dbt.type_bigint() }})
            end
        ) as {{ dbt.type_bigint() }}) as unreported_possibly_above

    from ranked
    inner join bound_groups
        on ranked.year = bound_groups.year
        and ranked.month_from = bound_groups.month_from
        and ranked.month_to = bound_groups.month_to
        and ranked.basis = bound_groups.basis
        and ranked.is_synthetic = bound_groups.is_synthetic
    group by ranked.year, ranked.month_from, ranked.month_to, ranked.basis, ranked.area_code

),

universe_size as (

    select count(*) as areas_in_universe from universe

),

bounded as (

    select
        ranked.*,
        universe_size.areas_in_universe,
        cast(1 + reported_above.areas_certainly_above as {{ dbt.type_bigint() }}) as rank_best,
        cast(1 + reported_above.areas_certainly_above + reported_above.areas_possibly_above
            + coalesce(unreported_above.unreported_possibly_above, 0) as {{ dbt.type_bigint() }}) as rank_worst

    from ranked
    cross join universe_size
    inner join reported_above
        on ranked.year = reported_above.year
        and ranked.month_from = reported_above.month_from
        and ranked.month_to = reported_above.month_to
        and ranked.basis = reported_above.basis
        and ranked.area_code = reported_above.area_code
    left join unreported_above
        on ranked.year = unreported_above.year
        and ranked.month_from = unreported_above.month_from
        and ranked.month_to = unreported_above.month_to
        and ranked.basis = unreported_above.basis
        and ranked.area_code = unreported_above.area_code

),

final as (

    select
        bounded.year,
        bounded.month_from,
        bounded.month_to,
        bounded.period_label,
        bounded.basis,
        bounded.area_code,
        bounded.name_en,
        bounded.name_zh,
        bounded.province_name_en,
        bounded.region,
        bounded.total_cny,
        bounded.exports_cny,
        bounded.imports_cny,
        coalesce(bounded.total_yoy_pct_published, bounded.total_yoy_pct_computed) as total_yoy_pct,
        bounded.total_yoy_pct_published,
        bounded.total_yoy_pct_computed,
        bounded.exports_yoy_pct_published,
        bounded.exports_yoy_pct_computed,
        bounded.imports_yoy_pct_published,
        bounded.imports_yoy_pct_computed,
        bounded.rank_total,
        bounded.rank_best,
        bounded.rank_worst,
        bounded.rank_best = bounded.rank_worst as rank_is_certain,
        bounded.rank_exports,
        bounded.rank_imports,
        previous.rank_total as rank_total_prev,
        previous.rank_best as rank_best_prev,
        previous.rank_worst as rank_worst_prev,
        case when bounded.rank_best = bounded.rank_worst and previous.rank_best = previous.rank_worst
            then previous.rank_total - bounded.rank_total end as rank_change,
        previous.rank_exports as rank_exports_prev,
        case when bounded.rank_best = bounded.rank_worst and previous.rank_best = previous.rank_worst
            then previous.rank_exports - bounded.rank_exports end as rank_exports_change,
        previous.rank_imports as rank_imports_prev,
        case when bounded.rank_best = bounded.rank_worst and previous.rank_best = previous.rank_worst
            then previous.rank_imports - bounded.rank_imports end as rank_imports_change,
        previous.total_cny as total_cny_prev,
        bounded.area_code_above,
        bounded.name_en_above,
        bounded.gap_to_above_cny,
        bounded.gap_to_first_cny,
        100 * bounded.total_cny / national.national_total_cny as share_of_national_pct,
        national.national_total_cny,
        national.national_total_yoy_pct,
        bounded.areas_in_universe,
        bounded.cities_ranked as areas_reported,
        bounded.areas_in_universe - bounded.cities_ranked as areas_missing,
        100 * bounded.reported_total_cny / national.national_total_cny as coverage_of_national_pct,
        bounded.cities_ranked,
        previous.cities_ranked as cities_ranked_prev,
        bounded.release_id,
        bounded.published_on,
        bounded.is_synthetic,
        bounded.figure_id

    from bounded
    left join bounded as previous
        on bounded.area_code = previous.area_code
        and bounded.basis = previous.basis
        and bounded.month_from = previous.month_from
        and bounded.month_to = previous.month_to
        and bounded.year = previous.year + 1
        and bounded.is_synthetic = previous.is_synthetic
    left join national
        on bounded.year = national.year
        and bounded.month_from = national.month_from
        and bounded.month_to = national.month_to
        and bounded.is_synthetic = national.is_synthetic

)

select * from final
{% endmacro %}


{#-
    Two CTEs, `<name>_edges` and `<name>`: per period of `ranked`, for each area, how many of the period's `counted`
    edges sort before its `query` edge (column edges_counted): one sort instead of comparing every pair. `tie`
    orders a query edge among the counted edges equal to it (`is_edge`: before them, `is_edge desc`: after them).
-#}
{% macro sorted_edge_count(name, counted, query, tie) %}
{{ name }}_edges as (

    select year, month_from, month_to, basis, cast(null as {{ dbt.type_string() }}) as area_code, {{ counted }} as edge, 1 as is_edge
    from ranked
    union all
    select year, month_from, month_to, basis, area_code, {{ query }} as edge, 0 as is_edge
    from ranked

),

{{ name }} as (

    select
        year,
        month_from,
        month_to,
        basis,
        area_code,
        sum(is_edge) over (
            partition by year, month_from, month_to, basis order by edge, {{ tie }}
            rows between unbounded preceding and current row
        ) as edges_counted

    from {{ name }}_edges

),
{% endmacro %}
