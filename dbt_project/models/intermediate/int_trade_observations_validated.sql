{#-
    Post-gate: the figures no row check found in error, newest first. Where the newest version of a figure
    failed, the last good version takes its place.
-#}
with

versioned as (

    select * from {{ ref('int_trade_observations_versioned') }}
    where is_latest_file_version

),

row_errors as (

    select distinct observation_id
    from {{ ref('stg_audit__row_verdicts') }}
    where severity = 'error'

),

passing as (

    select versioned.*
    from versioned
    left join row_errors
        on versioned.observation_id = row_errors.observation_id
    where row_errors.observation_id is null

),

final as (

    select
        *,
        row_number() over (
            partition by area_code, year, month_from, month_to, basis
            order by published_on desc, loaded_at desc, release_id desc
        ) = 1 as is_current

    from passing

)

select * from final
