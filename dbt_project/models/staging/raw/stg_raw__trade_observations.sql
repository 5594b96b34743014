{#-
    Converts every figure to yuan, and its published precision (half a step of the last written digit) too.
    CNY/USD rate of a window (seeds/cny_usd_rates.csv): a single month (6-6) uses that month's average; a
    year-to-date or other window shorter than a year (1-11, 1-2) uses the mean of the monthly averages of its
    months (1-11: January to November), when the seed has every one of them; a full year (1-12) uses the
    annual average (NBS communique). Otherwise the annual average, else the monthly mean. `cny_usd_rate_kind`
    says which was used.
    observation_id is release-row; a row that yields two windows (gacc-province-table: the month and the year
    to date) adds the window to tell them apart.
-#}
with

observations as (

    select * from {{ source('raw', 'trade_observations') }}

),

units as (

    select * from {{ ref('units') }}

),

annual_rates as (

    select * from {{ ref('cny_usd_rates') }}
    where month is null

),

monthly_rates as (

    select * from {{ ref('cny_usd_rates') }}
    where month is not null

),

usd_windows as (

    select distinct
        year,
        month_from,
        month_to

    from observations
    where currency = 'USD'

),

window_monthly_rates as (

    select
        usd_windows.year,
        usd_windows.month_from,
        usd_windows.month_to,
        avg(monthly_rates.cny_per_usd) as cny_per_usd,
        count(*) = usd_windows.month_to - usd_windows.month_from + 1 as is_complete

    from usd_windows
    inner join monthly_rates
        on usd_windows.year = monthly_rates.year
        and monthly_rates.month between usd_windows.month_from and usd_windows.month_to
    group by usd_windows.year, usd_windows.month_from, usd_windows.month_to

),

window_rates as (

    select
        usd_windows.year,
        usd_windows.month_from,
        usd_windows.month_to,
        case
            when usd_windows.month_to - usd_windows.month_from + 1 < 12 and window_monthly_rates.is_complete
                then window_monthly_rates.cny_per_usd
            when annual_rates.cny_per_usd is not null then annual_rates.cny_per_usd
            when window_monthly_rates.is_complete then window_monthly_rates.cny_per_usd
        end as cny_per_usd,
        case
            when usd_windows.month_to - usd_windows.month_from + 1 < 12 and window_monthly_rates.is_complete
                then 'monthly_average'
            when annual_rates.cny_per_usd is not null then 'annual_average'
            when window_monthly_rates.is_complete then 'monthly_average'
        end as cny_usd_rate_kind

    from usd_windows
    left join window_monthly_rates
        on usd_windows.year = window_monthly_rates.year
        and usd_windows.month_from = window_monthly_rates.month_from
        and usd_windows.month_to = window_monthly_rates.month_to
    left join annual_rates
        on usd_windows.year = annual_rates.year

),

converted as (

    select
        observations.release_id || '-' || cast(observations.row_number as varchar)
        || case when count(*) over (partition by observations.release_id, observations.row_number) > 1
            then '-' || cast(observations.month_from as varchar) || '-' || cast(observations.month_to as varchar)
            else '' end as observation_id,
        observations.release_id,
        observations.row_number,
        observations.area_raw,
        observations.area_code,
        observations.year,
        observations.month_from,
        observations.month_to,
        observations.basis,
        observations.unit as source_unit,
        observations.currency as source_currency,
        case when observations.currency = 'USD' then window_rates.cny_per_usd else 1.0 end as cny_per_unit_currency,
        case when observations.currency = 'USD' then window_rates.cny_usd_rate_kind end as cny_usd_rate_kind,
        units.factor as unit_factor,
        observations.total_text,
        observations.exports_text,
        observations.imports_text,
        observations.total_value * units.factor as total_source_currency,
        observations.exports_value * units.factor as exports_source_currency,
        observations.imports_value * units.factor as imports_source_currency,
        observations.total_yoy_pct,
        observations.exports_yoy_pct,
        observations.imports_yoy_pct,
        observations.total_yoy_pct_resolution / 2 as total_yoy_pct_tolerance,
        observations.exports_yoy_pct_resolution / 2 as exports_yoy_pct_tolerance,
        observations.imports_yoy_pct_resolution / 2 as imports_yoy_pct_tolerance,
        observations.total_resolution * units.factor / 2 as total_tolerance_source_currency,
        observations.exports_resolution * units.factor / 2 as exports_tolerance_source_currency,
        observations.imports_resolution * units.factor / 2 as imports_tolerance_source_currency,
        observations.source_url

    from observations
    inner join units
        on observations.unit = units.unit
    left join window_rates
        on observations.currency = 'USD'
        and observations.year = window_rates.year
        and observations.month_from = window_rates.month_from
        and observations.month_to = window_rates.month_to

),

final as (

    select
        *,
        total_source_currency * cny_per_unit_currency as total_cny,
        exports_source_currency * cny_per_unit_currency as exports_cny,
        imports_source_currency * cny_per_unit_currency as imports_cny,
        total_tolerance_source_currency * cny_per_unit_currency as total_tolerance_cny,
        exports_tolerance_source_currency * cny_per_unit_currency as exports_tolerance_cny,
        imports_tolerance_source_currency * cny_per_unit_currency as imports_tolerance_cny

    from converted

)

select * from final
