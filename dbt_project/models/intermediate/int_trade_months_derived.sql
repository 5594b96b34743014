{#-
    Single months from the figures in force (post-gate, current version): a month published on its own
    (6-6) as it is; otherwise the difference of two consecutive year-to-date figures (1-6 minus 1-5 is June).
    January is the 1-1 figure; when January and February were only published together (1-2 and no 1-1),
    the two months stay one window 1-2. A month between two missing year-to-date figures is not derived.
    Differences are kept as computed, with their tolerance (the rounding of both figures): a negative one
    is flagged here and never reaches fct_trade_monthly. USD figures are converted before the difference,
    so a derived month of a USD series mixes the rates of two windows (see stg_raw__trade_observations).
-#}
{%- set measures = ['total', 'exports', 'imports'] %}
with

current_figures as (

    select * from {{ ref('int_trade_observations_validated') }}
    where is_current

),

filled as (

    select
        observation_id,
        release_id,
        published_on,
        is_synthetic,
        area_code,
        year,
        month_from,
        month_to,
        basis,
        coalesce(total_cny, exports_cny + imports_cny) as total_cny,
        exports_cny,
        imports_cny,
        coalesce(total_tolerance_cny, exports_tolerance_cny + imports_tolerance_cny) as total_tolerance_cny,
        exports_tolerance_cny,
        imports_tolerance_cny

    from current_figures

),

year_to_date as (

    select * from filled
    where month_from = 1

),

published_months as (

    select * from filled
    where month_from = month_to and month_from > 1

),

differences as (

    select
        later.area_code,
        later.year,
        later.month_to as month_from,
        later.month_to,
        later.basis,
        'difference_of_year_to_date' as derivation,
        {%- for measure in measures %}
        later.{{ measure }}_cny - earlier.{{ measure }}_cny as {{ measure }}_cny,
        later.{{ measure }}_tolerance_cny + earlier.{{ measure }}_tolerance_cny as {{ measure }}_tolerance_cny,
        {%- endfor %}
        later.observation_id,
        earlier.observation_id as previous_observation_id,
        later.release_id,
        earlier.release_id as previous_release_id,
        later.published_on,
        later.is_synthetic or earlier.is_synthetic as is_synthetic

    from year_to_date as later
    inner join year_to_date as earlier
        on later.area_code = earlier.area_code
        and later.year = earlier.year
        and later.basis = earlier.basis
        and earlier.month_to = later.month_to - 1
    left join published_months
        on later.area_code = published_months.area_code
        and later.year = published_months.year
        and later.basis = published_months.basis
        and later.month_to = published_months.month_to
    where published_months.observation_id is null

),

as_published as (

    select
        filled.area_code,
        filled.year,
        filled.month_from,
        filled.month_to,
        filled.basis,
        case
            when filled.month_from = filled.month_to and filled.month_from > 1 then 'published_single_month'
            when filled.month_to = 1 then 'published_january'
            else 'published_january_february'
        end as derivation,
        {%- for measure in measures %}
        filled.{{ measure }}_cny,
        filled.{{ measure }}_tolerance_cny,
        {%- endfor %}
        filled.observation_id,
        cast(null as {{ dbt.type_string() }}) as previous_observation_id,
        filled.release_id,
        cast(null as {{ dbt.type_string() }}) as previous_release_id,
        filled.published_on,
        filled.is_synthetic

    from filled
    left join year_to_date as january
        on filled.area_code = january.area_code
        and filled.year = january.year
        and filled.basis = january.basis
        and january.month_to = 1
    left join published_months as february
        on filled.area_code = february.area_code
        and filled.year = february.year
        and filled.basis = february.basis
        and february.month_to = 2
    where (filled.month_from = filled.month_to and filled.month_from > 1)
        or (filled.month_from = 1 and filled.month_to = 1)
        or (filled.month_from = 1 and filled.month_to = 2 and january.observation_id is null and february.observation_id is null)

),

unioned as (

    select * from as_published
    union all
    select * from differences

),

final as (

    select
        {{ surrogate_key(['area_code', 'year', 'month_from', 'month_to', 'basis']) }} as figure_id,
        *,
        {{ period_label('year', 'month_from', 'month_to') }} as period_label,
        month_to - month_from + 1 as months_covered,
        {%- for measure in measures %}
        coalesce({{ measure }}_cny < -{{ measure }}_tolerance_cny, false) as is_{{ measure }}_negative{{ ',' if not loop.last }}
        {%- endfor %}

    from unioned

)

select * from final
