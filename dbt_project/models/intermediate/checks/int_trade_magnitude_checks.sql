{#-
    Unit and magnitude measures (SPEC 5, check 4), one row per competing figure with a total. GX decides;
    this model only measures. Each total is compared with what two independent references expect of it:
      - its neighbouring years: the same area's current figures of up to two years either side (same month
        window and basis), each moved by the median growth of the area's peers between the two years, so a
        year everyone fell or jumped is no surprise;
      - its other basis: the same area and period on another basis (firm location vs destination/source),
        times the median ratio between the two bases in the neighbouring years.
    When the total is off by at least var('magnitude_min_factor') from every reference it has, and the ratio
    to their geometric mean lies within var('magnitude_match_factor') of 10, 100, 1000, 10000 or the CNY/USD
    rate, unit_mistake_factor holds that factor and unit_mistake_message names the likely mistake ("looks
    like 亿美元 labelled as 亿元"); otherwise both are null. Requiring every reference to agree keeps a
    figure whose partner is wrong from being blamed for it. The message names the area and gives the figure and
    what its references expect of it in the unit the figure was published in.
-#}

with

placed as (

    select * from {{ ref('int_trade_observations_placed') }}
    where total_cny is not null and total_cny > 0

),

units as (

    select * from {{ ref('units') }}

),

areas as (

    select * from {{ ref('areas') }}

),

rates as (

    select year, avg(cny_per_usd) as cny_per_usd
    from {{ ref('cny_usd_rates') }}
    group by year

),

current_figures as (

    select
        *,
        case when level = 'municipality' then 'province' else level end as tier

    from placed
    where is_current

),

{# how the area's peers moved between two years: the median of their growth factors #}
peer_growth as (

    select
        this_year.tier,
        this_year.basis,
        this_year.month_from,
        this_year.month_to,
        this_year.year,
        other_year.year as neighbour_year,
        count(*) as peers_count,
        percentile_cont(0.5) within group (order by this_year.total_cny / other_year.total_cny) as growth_factor

    from current_figures as this_year
    inner join current_figures as other_year
        on this_year.area_code = other_year.area_code
        and this_year.basis = other_year.basis
        and this_year.month_from = other_year.month_from
        and this_year.month_to = other_year.month_to
        and other_year.year <> this_year.year
        and other_year.year between this_year.year - 2 and this_year.year + 2
    group by this_year.tier, this_year.basis, this_year.month_from, this_year.month_to, this_year.year, other_year.year

),

neighbours as (

    select
        figure.observation_id,
        count(*) as neighbours_count,
        percentile_cont(0.5) within group (
            order by neighbour.total_cny * case when peer_growth.peers_count >= 5 then peer_growth.growth_factor else 1.0 end
        ) as neighbours_median_cny,
        min(neighbour.year) as first_neighbour_year,
        max(neighbour.year) as last_neighbour_year

    from placed as figure
    inner join current_figures as neighbour
        on figure.area_code = neighbour.area_code
        and figure.month_from = neighbour.month_from
        and figure.month_to = neighbour.month_to
        and figure.basis = neighbour.basis
        and neighbour.year <> figure.year
        and neighbour.year between figure.year - 2 and figure.year + 2
    left join peer_growth
        on neighbour.tier = peer_growth.tier
        and neighbour.basis = peer_growth.basis
        and neighbour.month_from = peer_growth.month_from
        and neighbour.month_to = peer_growth.month_to
        and figure.year = peer_growth.year
        and neighbour.year = peer_growth.neighbour_year
    group by figure.observation_id

),

basis_ratios as (

    select
        own.area_code,
        own.basis,
        other.basis as other_basis,
        own.month_from,
        own.month_to,
        own.year,
        own.total_cny / other.total_cny as basis_ratio

    from current_figures as own
    inner join current_figures as other
        on own.area_code = other.area_code
        and own.year = other.year
        and own.month_from = other.month_from
        and own.month_to = other.month_to
        and own.basis <> other.basis
    where own.basis <> 'national' and other.basis <> 'national'

),

other_basis_by_basis as (

    select
        figure.observation_id,
        other.basis as other_basis,
        max(other.total_cny) * percentile_cont(0.5) within group (order by basis_ratios.basis_ratio) as other_basis_expected_cny

    from placed as figure
    inner join current_figures as other
        on figure.area_code = other.area_code
        and figure.year = other.year
        and figure.month_from = other.month_from
        and figure.month_to = other.month_to
        and figure.basis <> other.basis
        and other.basis <> 'national'
    inner join basis_ratios
        on figure.area_code = basis_ratios.area_code
        and figure.basis = basis_ratios.basis
        and other.basis = basis_ratios.other_basis
        and figure.month_from = basis_ratios.month_from
        and figure.month_to = basis_ratios.month_to
        and basis_ratios.year <> figure.year
        and basis_ratios.year between figure.year - 2 and figure.year + 2
    where figure.basis <> 'national'
    group by figure.observation_id, other.basis

),

other_basis as (

    select * from (
        select
            *,
            row_number() over (partition by observation_id order by other_basis) as basis_rank
        from other_basis_by_basis
    ) as ranked
    where basis_rank = 1

),

ratios as (

    select
        placed.*,
        neighbours.neighbours_count,
        neighbours.neighbours_median_cny,
        neighbours.first_neighbour_year,
        neighbours.last_neighbour_year,
        other_basis.other_basis,
        other_basis.other_basis_expected_cny,
        coalesce(rates.cny_per_usd, placed.cny_per_unit_currency) as cny_per_usd,
        placed.total_cny / neighbours.neighbours_median_cny as ratio_to_neighbours,
        placed.total_cny / other_basis.other_basis_expected_cny as ratio_to_other_basis,
        placed.total_cny / case when other_basis.other_basis_expected_cny > 0
            then sqrt(neighbours.neighbours_median_cny * other_basis.other_basis_expected_cny)
            else neighbours.neighbours_median_cny end as ratio_to_expected

    from placed
    inner join neighbours
        on placed.observation_id = neighbours.observation_id
    left join other_basis
        on placed.observation_id = other_basis.observation_id
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
        sign(ln(ratios.ratio_to_expected)) as direction,
        coalesce(candidates.factor, ratios.cny_per_usd) as factor,
        abs(abs(ln(ratios.ratio_to_expected)) - ln(coalesce(candidates.factor, ratios.cny_per_usd))) as distance

    from ratios
    cross join candidates
    where abs(ln(ratios.ratio_to_neighbours)) >= ln({{ var('magnitude_min_factor', 3) }})
        and (ratios.ratio_to_other_basis is null
            or (abs(ln(ratios.ratio_to_other_basis)) >= ln({{ var('magnitude_min_factor', 3) }})
                and sign(ln(ratios.ratio_to_other_basis)) = sign(ln(ratios.ratio_to_neighbours))))
        and ratios.cny_per_usd is not null

),

best_match as (

    select
        matches.*,
        row_number() over (partition by matches.observation_id order by matches.distance) as match_rank,
        own_unit.label_zh as unit_label,
        {# a figure too small by 10 was written in a unit 10 times bigger; too big, in one 10 times smaller #}
        case
            when matches.kind = 'scale' then
                (select label_zh from units as other
                 where other.currency = ratios.source_currency
                     and abs(other.factor - own_unit.factor * case when matches.direction < 0 then matches.factor
                         else 1.0 / matches.factor end) < 1e-9 * own_unit.factor)
            when ratios.source_currency = 'USD' and matches.direction > 0 then replace(own_unit.label_zh, '美元', '元')
            when ratios.source_currency = 'CNY' and matches.direction < 0 then replace(own_unit.label_zh, '元', '美元')
        end as likely_unit_label

    from matches
    inner join ratios
        on matches.observation_id = ratios.observation_id
    inner join units as own_unit
        on ratios.source_unit = own_unit.unit

),

described as (

    select
        *,
        case
            when likely_unit_label is not null then 'looks like ' || likely_unit_label || ' labelled as ' || unit_label
            when kind = 'rate' then 'looks like a figure converted at the CNY/USD rate twice or not at all'
            else 'looks like a unit off by a factor of ' || cast(cast(factor as bigint) as {{ dbt.type_string() }})
        end as mistake

    from best_match
    where distance <= ln({{ var('magnitude_match_factor', 1.5) }})

),

named as (

    select
        best.observation_id,
        best.direction,
        best.factor as unit_mistake_factor,
        {# when the runner-up explains the ratio almost as well (a factor 10 vs a rate near 7), say both #}
        best.mistake || coalesce(' (or ' || runner_up.mistake || ')', '') as mistake

    from described as best
    left join described as runner_up
        on best.observation_id = runner_up.observation_id
        and runner_up.match_rank = 2
        and runner_up.distance - best.distance < {{ var('magnitude_ambiguity', 0.2) }}
    where best.match_rank = 1

),

{# what the references expect, in the figure's own unit and currency (its rate), to 3 significant digits #}
expected_figures as (

    select
        observation_id,
        {%- set expected_in_unit = 'total_cny / ratio_to_expected / (cny_per_unit_currency * unit_factor)' %}
        {{ expected_in_unit }} as expected_in_unit,
        {{ significant_decimals(expected_in_unit) }} as expected_decimals

    from ratios

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
        ratios.other_basis,
        ratios.other_basis_expected_cny,
        ratios.ratio_to_other_basis,
        ratios.ratio_to_expected,
        named.unit_mistake_factor,
        case when named.observation_id is not null then
            {{ area_label('areas', 'ratios.area_name') }} || ' ' || ratios.period_label
            || ' (' || ratios.basis || ', ' || ratios.source_file || '): '
            || ratios.total_text || ' ' || {{ unit_name('ratios.source_unit') }} || ' is '
            || case when named.direction > 0 then {{ format_number('ratios.ratio_to_expected', 1) }} || ' times'
                else '1/' || {{ format_number('1 / ratios.ratio_to_expected', 1) }} || ' of' end
            || ' what the same area''s figures of ' || cast(ratios.first_neighbour_year as {{ dbt.type_string() }}) || '-'
            || cast(ratios.last_neighbour_year as {{ dbt.type_string() }})
            || case when ratios.other_basis is not null then ' and its ' || ratios.other_basis || ' figure' else '' end
            || ' suggest (about ' || {{ format_number('expected_figures.expected_in_unit', 'expected_figures.expected_decimals') }}
            || ' ' || {{ unit_name('ratios.source_unit') }} || '): '
            || named.mistake
        end as unit_mistake_message,
        ratios.total_text || ' ' || {{ unit_name('ratios.source_unit') }} as unit_mistake_observed,
        'about ' || {{ format_number('expected_figures.expected_in_unit', 'expected_figures.expected_decimals') }}
            || ' ' || {{ unit_name('ratios.source_unit') }} as unit_mistake_expected

    from ratios
    inner join expected_figures
        on ratios.observation_id = expected_figures.observation_id
    left join named
        on ratios.observation_id = named.observation_id
    left join areas
        on ratios.area_code = areas.area_code

)

select * from final
