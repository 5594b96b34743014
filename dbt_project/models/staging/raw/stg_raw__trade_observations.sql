{#-
    Trade figures as written, in their source currency: each value and its published precision (half a step of
    the last written digit) times the unit's factor (seeds/units.csv). The conversion of USD to yuan, which
    needs the CNY/USD rate of the window, is int_trade_observations_versioned's.
    observation_id is release-row; a row that yields two windows (gacc-province-table: the month and the year
    to date) adds the window to tell them apart.
-#}
with

observations as (

    select * from {{ source('raw', 'trade_observations') }}

),

units as (

    select * from {{ ref('units') }}

),

converted as (

    select
        observations.release_id || '-' || cast(observations.row_number as {{ dbt.type_string() }})
        || case when count(*) over (partition by observations.release_id, observations.row_number) > 1
            then '-' || cast(observations.month_from as {{ dbt.type_string() }}) || '-' || cast(observations.month_to as {{ dbt.type_string() }})
            else '' end as observation_id,
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
        observations.source_url,
        observations.published_on as row_published_on,
        observations.quote,
        observations.span_start,
        observations.span_end

    from observations
    inner join units
        on observations.unit = units.unit

)

select * from converted
