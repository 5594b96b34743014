{#- Sub-index scores of Top 100 rows, one row per list row and sub-index (level, structure, ...). -#}
with

source as (

    select * from {{ source('raw', 'top100_subindex_scores') }}

),

renamed as (

    select
        release_id || '-' || cast(row_number as {{ dbt.type_string() }}) || '-' || subindex as subindex_score_id,
        release_id || '-' || cast(row_number as {{ dbt.type_string() }}) as entry_id,
        release_id,
        row_number,
        subindex,
        score

    from source

)

select * from renamed
