{#-
    Detail rows summed over HS sections, per release: area x window x basis x partner region.
    Incremental by release: a release's rows never change (its id is the hash of its bytes), so each run
    aggregates only the releases loaded since, not the tens of millions of rows already summed.
-#}
{{ config(materialized='incremental') }}

with

detail as (

    select * from {{ ref('stg_raw__trade_detail') }}
    {% if is_incremental() %}
    where release_id not in (select distinct release_id from {{ this }})
    {% endif %}

),

aggregated as (

    select
        release_id,
        area_code,
        year,
        month_from,
        month_to,
        basis,
        partner_region,
        sum(exports_cny) as exports_cny,
        sum(imports_cny) as imports_cny,
        count(*) as detail_rows

    from detail
    group by release_id, area_code, year, month_from, month_to, basis, partner_region

)

select * from aggregated
