with

source as (

    select * from {{ source('audit', 'alerts') }}

),

renamed as (

    select
        alert_id,
        run_id,
        detected_at,
        last_seen_run_id,
        severity,
        check_name,
        area_code,
        period_label,
        observed,
        expected,
        message,
        release_id,
        source_file

    from source

)

select * from renamed
