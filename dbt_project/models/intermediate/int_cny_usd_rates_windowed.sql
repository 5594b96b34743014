{#-
    The CNY/USD rate of each month window a USD figure was published for (seeds/cny_usd_rates.csv): a single
    month (6-6) uses that month's average; a year-to-date or other window shorter than a year (1-11, 1-2) uses
    the mean of the monthly averages of its months (1-11: January to November), when the seed has every one of
    them; a full year (1-12) uses the annual average (NBS communique). Otherwise the annual average, else the
    monthly mean. `cny_usd_rate_kind` says which was used; both are null when the seed has no rate for it.
-#}
with

observations as (

    select * from {{ ref('stg_raw__trade_observations') }}

),

rates as (

    select * from {{ ref('cny_usd_rates') }}

),

annual_rates as (

    select * from rates
    where month is null

),

monthly_rates as (

    select * from rates
    where month is not null

),

usd_windows as (

    select distinct
        year,
        month_from,
        month_to

    from observations
    where source_currency = 'USD'

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

final as (

    select
        {{ surrogate_key(['usd_windows.year', 'usd_windows.month_from', 'usd_windows.month_to']) }} as rate_window_id,
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

)

select * from final
