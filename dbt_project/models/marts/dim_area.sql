with

areas as (

    select * from {{ ref('areas') }}

),

final as (

    select
        area_code,
        name_zh,
        name_zh_short,
        name_en,
        level,
        province_code,
        province_name_zh,
        province_name_en,
        region,
        level in ('city', 'municipality') as is_city,
        level in ('province', 'municipality') as is_province

    from areas

)

select * from final
