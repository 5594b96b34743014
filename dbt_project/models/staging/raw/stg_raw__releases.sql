with

source as (

    select * from {{ source('raw', 'releases') }}

),

renamed as (

    select
        release_id,
        path,
        sha256,
        sidecar_sha256,
        format,
        publisher,
        title,
        source_url,
        published_on,
        retrieved_on,
        unit,
        basis,
        is_complete_list,
        is_synthetic,
        notes,
        loaded_at,
        run_id,
        rows_loaded,
        rows_quarantined,
        status,
        status_reason

    from source

)

select * from renamed
