with

releases as (

    select * from {{ ref('stg_raw__releases') }}

),

final as (

    select
        release_id,
        path,
        sha256,
        format,
        publisher,
        title,
        source_url,
        published_on,
        loaded_at,
        rows_loaded,
        rows_quarantined,
        status,
        status_reason,
        is_synthetic

    from releases

)

select * from final
