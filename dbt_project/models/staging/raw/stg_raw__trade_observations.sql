{#- Converts every figure to yuan, and its published precision (half a step of the last written digit) too. -#}
with

observations as (

    select * from {{ source('raw', 'trade_observations') }}

),

units as (

    select * from {{ ref('units') }}

),

rates as (

    select * from {{ ref('cny_usd_rates') }}
    where month is null

),

converted as (

    select
        observations.release_id || '-' || cast(observations.row_number as varchar) as observation_id,
        observations.release_id,
        observations.row_number,
        observations.area_raw,
        observations.area_code,
        observations.year,
        observations.month_from,
        observations.month_to,
        observations.basis,
        observations.unit as source_unit,
        observations.currency as source_currency,
        case when observations.currency = 'USD' then rates.cny_per_usd else 1.0 end as cny_per_unit_currency,
        units.factor as unit_factor,
        observations.total_text,
        observations.exports_text,
        observations.imports_text,
        observations.total_value * units.factor as total_source_currency,
        observations.exports_value * units.factor as exports_source_currency,
        observations.imports_value * units.factor as imports_source_currency,
        observations.total_yoy_pct,
        observations.exports_yoy_pct,
        observations.imports_yoy_pct,
        observations.total_yoy_pct_resolution / 2 as total_yoy_pct_tolerance,
        observations.exports_yoy_pct_resolution / 2 as exports_yoy_pct_tolerance,
        observations.imports_yoy_pct_resolution / 2 as imports_yoy_pct_tolerance,
        observations.total_resolution * units.factor / 2 as total_tolerance_source_currency,
        observations.exports_resolution * units.factor / 2 as exports_tolerance_source_currency,
        observations.imports_resolution * units.factor / 2 as imports_tolerance_source_currency,
        observations.source_url

    from observations
    inner join units
        on observations.unit = units.unit
    left join rates
        on observations.year = rates.year

),

final as (

    select
        *,
        total_source_currency * cny_per_unit_currency as total_cny,
        exports_source_currency * cny_per_unit_currency as exports_cny,
        imports_source_currency * cny_per_unit_currency as imports_cny,
        total_tolerance_source_currency * cny_per_unit_currency as total_tolerance_cny,
        exports_tolerance_source_currency * cny_per_unit_currency as exports_tolerance_cny,
        imports_tolerance_source_currency * cny_per_unit_currency as imports_tolerance_cny

    from converted

)

select * from final
