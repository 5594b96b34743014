{#-
    Post-gate: the competing figures no row check found in error. `is_current` marks the best-ranked passing
    version of each figure (version_rank of int_trade_observations_versioned): where the newest version failed,
    the last good version takes its place.
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
        version_rank = min(version_rank) over (partition by figure_id) as is_current

    from passing

)

select * from final
