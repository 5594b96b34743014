with

alerts as (

    select * from {{ ref('stg_audit__alerts') }}

),

final as (

    select
        alert_id,
        run_id,
        detected_at,
        severity,
        check_name,
        area_code,
        period_label,
        observed,
        expected,
        message,
        release_id,
        source_file

    from alerts

)

select * from final
