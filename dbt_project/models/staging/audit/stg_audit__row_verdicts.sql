with

source as (

    select * from {{ source('audit', 'row_verdicts') }}

),

renamed as (

    select
        observation_id,
        check_name,
        severity,
        run_id

    from source

)

select * from renamed
