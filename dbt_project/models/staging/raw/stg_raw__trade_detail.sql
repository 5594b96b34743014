{#- Detail rows (citytrade-detail-v1: area x window x partner region x HS section) in yuan. -#}
with

detail as (

    select * from {{ source('raw', 'trade_detail') }}

),

units as (

    select * from {{ ref('units') }}

),

converted as (

    select
        detail.release_id || '-' || cast(detail.row_number as {{ dbt.type_string() }}) as detail_id,
        detail.release_id,
        detail.row_number,
        detail.area_code,
        detail.year,
        detail.month_from,
        detail.month_to,
        detail.basis,
        detail.partner_region,
        detail.hs_section,
        detail.unit as source_unit,
        detail.exports_value * units.factor as exports_cny,
        detail.imports_value * units.factor as imports_cny

    from detail
    inner join units
        on detail.unit = units.unit

)

select * from converted
