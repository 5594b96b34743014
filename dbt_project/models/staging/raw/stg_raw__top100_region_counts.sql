{#- A Top 100 list's counts of cities per NBS region, as its publisher states them (top100-v1 rows without a rank). -#}
with

source as (

    select * from {{ source('raw', 'top100_region_counts') }}

),

renamed as (

    select
        release_id || '-' || cast(row_number as {{ dbt.type_string() }}) as region_count_id,
        release_id,
        row_number,
        year,
        region,
        cities_in_list

    from source

)

select * from renamed
