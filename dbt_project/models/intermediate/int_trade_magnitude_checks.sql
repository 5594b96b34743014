{#-
    Unit and magnitude measures (SPEC 5, check 4), one row per competing figure with a total. GX decides;
    this model only measures.
    A figure is compared with the median of the same area's current figures for the same month window and
    basis in the neighbouring years (up to two either side). When it is off by at least
    var('magnitude_min_factor') and the ratio lies within var('magnitude_match_factor') of a power of ten
    (10 to 10000) or of the CNY/USD rate, unit_mistake_factor holds that factor and unit_mistake_message
    names the likely mistake ("looks like 亿美元 labelled as 亿元"); otherwise both are null.
-#}
with

placed as (

    select * from {{ ref('int_trade_observations_placed') }}
    where total_cny is not null and total_cny > 0

),

units as (

    select * from {{ ref('units') }}

),

rates as (

    select year, avg(cny_per_usd) as cny_per_usd
    from {{ ref('cny_usd_rates') }}
    group by year

),

neighbours as (

    select
        figure.observation_id,
        count(*) as neighbours_count,
        percentile_cont(0.5) within group (order by neighbour.total_cny) as neighbours_median_cny,
        min(neighbour.year) as first_neighbour_year,
        max(neighbour.year) as last_neighbour_year

    from placed as figure
    inner join placed as neighbour
        on figure.area_code = neighbour.area_code
        and figure.month_from = neighbour.month_from
        and figure.month_to = neighbour.month_to
        and figure.basis = neighbour.basis
        and neighbour.year <> figure.year
        and neighbour.year between figure.year - 2 and figure.year + 2
    where neighbour.is_current
    group by figure.observation_id

),

ratios as (

    select
        placed.*,
        neighbours.neighbours_count,
        neighbours.neighbours_median_cny,
        neighbours.first_neighbour_year,
        neighbours.last_neighbour_year,
        coalesce(rates.cny_per_usd, placed.cny_per_unit_currency) as cny_per_usd,
        placed.total_cny / neighbours.neighbours_median_cny as ratio_to_neighbours

    from placed
    inner join neighbours
        on placed.observation_id = neighbours.observation_id
    left join rates
        on placed.year = rates.year

),

{# the mistakes a factor stands for: a unit step too big or too small, or one currency labelled as the other #}
candidates as (

    {%- for power in [1, 2, 3, 4] %}
    select {{ 10 ** power }}.0 as factor, 'scale' as kind
    union all
    {%- endfor %}
    select null, 'rate'

),

matches as (

    select
        ratios.observation_id,
        candidates.kind,
        sign(ln(ratios.ratio_to_neighbours)) as direction,
        coalesce(candidates.factor, ratios.cny_per_usd) as factor,
        abs(abs(ln(ratios.ratio_to_neighbours)) - ln(coalesce(candidates.factor, ratios.cny_per_usd))) as distance

    from ratios
    cross join candidates
    where abs(ln(ratios.ratio_to_neighbours)) >= ln({{ var('magnitude_min_factor', 3) }})
        and ratios.cny_per_usd is not null

),

best_match as (

    select
        *,
        row_number() over (partition by observation_id order by distance) as match_rank

    from matches

),

named as (

    select
        ratios.*,
        best_match.kind,
        best_match.direction,
        best_match.factor as unit_mistake_factor,
        own_unit.label_zh as unit_label,
        {# a figure too small by 10 was written in a unit 10 times bigger; too big, in one 10 times smaller #}
        case
            when best_match.kind = 'scale' then
                (select label_zh from units as other
                 where other.currency = ratios.source_currency
                     and abs(other.factor - own_unit.factor * case when best_match.direction < 0 then best_match.factor
                         else 1.0 / best_match.factor end) < 1e-9 * own_unit.factor)
            when ratios.source_currency = 'USD' and best_match.direction > 0 then replace(own_unit.label_zh, '美元', '元')
            when ratios.source_currency = 'CNY' and best_match.direction < 0 then replace(own_unit.label_zh, '元', '美元')
        end as likely_unit_label

    from ratios
    inner join best_match
        on ratios.observation_id = best_match.observation_id
        and best_match.match_rank = 1
        and best_match.distance <= ln({{ var('magnitude_match_factor', 1.5) }})
    inner join units as own_unit
        on ratios.source_unit = own_unit.unit

),

final as (

    select
        ratios.observation_id,
        ratios.release_id,
        ratios.source_file,
        ratios.area_code,
        ratios.area_name,
        ratios.year,
        ratios.month_from,
        ratios.month_to,
        ratios.basis,
        ratios.period_label,
        ratios.total_cny,
        ratios.neighbours_count,
        ratios.neighbours_median_cny,
        ratios.ratio_to_neighbours,
        named.unit_mistake_factor,
        case when named.observation_id is not null then
            ratios.area_name || ' ' || ratios.period_label || ' (' || ratios.basis || ', ' || ratios.source_file || '): '
            || ratios.total_text || ' ' || named.unit_label || ' is '
            || case when named.direction > 0 then cast(round(cast(ratios.ratio_to_neighbours as numeric), 1) as varchar) || ' times'
                else '1/' || cast(round(cast(1 / ratios.ratio_to_neighbours as numeric), 1) as varchar) || ' of' end
            || ' the same area''s figures of ' || cast(ratios.first_neighbour_year as varchar) || '-'
            || cast(ratios.last_neighbour_year as varchar) || ': '
            || case
                when named.likely_unit_label is not null then 'looks like ' || named.likely_unit_label || ' labelled as ' || named.unit_label
                when named.kind = 'rate' then 'looks like a figure converted at the CNY/USD rate twice or not at all'
                else 'looks like a unit off by a factor of ' || cast(cast(named.unit_mistake_factor as bigint) as varchar)
            end
        end as unit_mistake_message,
        ratios.total_text || ' ' || ratios.source_unit as unit_mistake_observed,
        'about ' || cast(round(cast(ratios.neighbours_median_cny / 1e8 as numeric), 0) as varchar) || ' 100m yuan' as unit_mistake_expected

    from ratios
    left join named
        on ratios.observation_id = named.observation_id

)

select * from final
