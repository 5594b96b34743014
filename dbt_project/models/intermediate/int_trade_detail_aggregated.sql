{#-
    Detail rows summed over HS sections, per release: area x window x basis x partner region.

    Incremental: a release's rows never change (release_id is the hash of its bytes), so each build aggregates
    only the releases loaded since the last one, not the tens of millions of rows already summed; a release
    loaded again (a new loaded_at) replaces exactly its own rows (delete+insert on release_id; on Spark, whose Parquet tables cannot delete, the
    release's partition is overwritten).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite' if target.type == 'spark' else 'delete+insert',
        partition_by=['release_id'] if target.type == 'spark' else none,
        unique_key='release_id',
        on_schema_change='sync_all_columns',
    )
}}

{#- a table built before loaded_at was kept (citytrade <= issue #27) is re-aggregated whole, once -#}
{%- set built_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list
    if is_incremental() else [] %}

with

detail as (

    select * from {{ ref('stg_raw__trade_detail') }}

),

releases as (

    select * from {{ ref('stg_raw__releases') }} as loaded
    {% if is_incremental() and 'loaded_at' in built_columns %}
    where not exists (
        select 1 from {{ this }} as built
        where built.release_id = loaded.release_id
            and built.loaded_at = loaded.loaded_at
    )
    {% endif %}

),

aggregated as (

    select
        detail.release_id,
        releases.published_on,
        releases.loaded_at,
        detail.area_code,
        detail.year,
        detail.month_from,
        detail.month_to,
        detail.basis,
        detail.partner_region,
        sum(detail.exports_cny) as exports_cny,
        sum(detail.imports_cny) as imports_cny,
        count(*) as detail_rows

    from detail
    inner join releases
        on detail.release_id = releases.release_id
    group by detail.release_id, releases.published_on, releases.loaded_at, detail.area_code, detail.year, detail.month_from,
        detail.month_to, detail.basis, detail.partner_region

),

final as (

    select
        {{ surrogate_key(['release_id', 'area_code', 'year', 'month_from', 'month_to', 'basis', 'partner_region']) }}
            as aggregate_id,
        *

    from aggregated

)

select * from final
