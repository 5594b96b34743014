{#- Rows of Top 100 competitiveness lists, one per city (or region count) of a list as published. -#}
with

source as (

    select * from {{ source('raw', 'top100_entries') }}

),

renamed as (

    select
        release_id || '-' || cast(row_number as {{ dbt.type_string() }}) as entry_id,
        release_id,
        row_number,
        year,
        rank,
        area_raw,
        area_code,
        score,
        is_complete_list

    from source

)

select * from renamed
