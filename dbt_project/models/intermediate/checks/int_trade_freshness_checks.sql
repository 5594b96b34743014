{#-
    Freshness measures (SPEC 5, check 9), one row per entry of the release calendar (seed release_calendar).
    GX decides; this model only measures (a warning).
      years_overdue > 0: the newest loaded full year of that level and basis is older than the newest year
      whose figures were due (year end + lag_days) by the as-of date: env CITYTRADE_AS_OF (YYYY-MM-DD) or today.
    observation_id holds the calendar entry ('freshness:<calendar_id>'), the row key the row gate reports.
-#}

with

calendar as (

    select * from {{ ref('release_calendar') }}

),

placed as (

    select * from {{ ref('int_trade_observations_placed') }}
    where is_current and month_from = 1

),

as_of as (

    select
        {%- set as_of = env_var('CITYTRADE_AS_OF', '') %}
        {% if as_of %}cast('{{ as_of }}' as date){% else %}current_date{% endif %} as as_of_date

),

newest as (

    select
        calendar.calendar_id,
        max(placed.year) as newest_year

    from calendar
    left join placed
        on calendar.basis = placed.basis
        and calendar.month_to = placed.month_to
        and (calendar.level = placed.level or (calendar.level = 'province' and placed.level = 'municipality'))
    group by calendar.calendar_id

),

due as (

    select
        calendar.*,
        as_of.as_of_date,
        {#- the newest year whose year end plus the lag lies on or before the as-of date #}
        cast(extract(year from cast(as_of.as_of_date - calendar.lag_days as date)) as integer) - 1 as due_year

    from calendar
    cross join as_of

),

final as (

    select
        'freshness:' || due.calendar_id as observation_id,
        due.calendar_id,
        due.level,
        due.basis,
        due.publisher,
        due.as_of_date,
        due.due_year,
        newest.newest_year,
        case when newest.newest_year is null then null else due.due_year - newest.newest_year end as years_overdue,
        due.level || ' full-year figures (' || due.basis || '): the newest loaded is '
            || cast(newest.newest_year as {{ dbt.type_string() }}) || ' but ' || cast(due.due_year as {{ dbt.type_string() }}) || ' was due by '
            || cast(cast(cast(cast(due.due_year + 1 as {{ dbt.type_string() }}) || '-01-01' as date) + due.lag_days as date) as {{ dbt.type_string() }})
            || ' (' || due.publisher || '; ' || due.note || ')' as freshness_message,
        cast(newest.newest_year as {{ dbt.type_string() }}) as freshness_observed,
        cast(due.due_year as {{ dbt.type_string() }}) as freshness_expected

    from due
    inner join newest
        on due.calendar_id = newest.calendar_id

)

select * from final
