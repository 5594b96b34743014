with

source as (

    select * from {{ source('raw', 'quarantine') }}

),

renamed as (

    select
        release_id,
        path,
        row_number,
        reason,
        run_id,
        detected_at

    from source

)

select * from renamed
