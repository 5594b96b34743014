{#-
    Every loaded trade figure with its release's provenance, one row per figure of each release: the history of
    every version that the later models rank. `figure_id` names the figure (area, year, month window, basis)
    whatever its version. `published_on` is the row's own date where a compilation gives one (citytrade-v1,
    SPEC 3), else its release's: the date that orders the versions of a figure.

    Incremental: a release's rows never change (release_id is the hash of its data file and sidecar), so a build
    adds the releases loaded since the last one, and a release loaded again (a new loaded_at) replaces exactly its
    own rows (delete+insert on release_id; on Spark, whose Parquet tables cannot delete, the
    release's partition is overwritten). What depends on the seeds (the yuan values) is computed downstream,
    in tables, so a changed seed needs no full refresh here.
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

with

observations as (

    select * from {{ ref('stg_raw__trade_observations') }}

),

releases as (

    select * from {{ ref('stg_raw__releases') }} as loaded
    {% if is_incremental() %}
    where not exists (
        select 1 from {{ this }} as built
        where built.release_id = loaded.release_id
            and built.loaded_at = loaded.loaded_at
    )
    {% endif %}

),

final as (

    select
        observations.*,
        {{ surrogate_key(['observations.area_code', 'observations.year', 'observations.month_from',
            'observations.month_to', 'observations.basis']) }} as figure_id,
        {{ period_label('observations.year', 'observations.month_from', 'observations.month_to') }} as period_label,
        releases.path as source_file,
        releases.publisher,
        coalesce(observations.row_published_on, releases.published_on) as published_on,
        releases.published_on as release_published_on,
        releases.loaded_at,
        releases.is_synthetic

    from observations
    inner join releases
        on observations.release_id = releases.release_id

)

select * from final
