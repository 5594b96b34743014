with

source as (

    select * from {{ source('audit', 'row_verdicts') }}

),

renamed as (

    select
        {{ surrogate_key(['observation_id', 'check_name']) }} as row_verdict_id,
        observation_id,
        check_name,
        severity,
        run_id

    from source

)

select * from renamed
