{#-
    Every loaded trade figure with its release's provenance, ranked newest first among the figures for the
    same area, year, month window and basis. A file replaced at the same path keeps its old rows here as
    history but they no longer compete.
-#}
with

observations as (

    select * from {{ ref('stg_raw__trade_observations') }}

),

releases as (

    select * from {{ ref('stg_raw__releases') }}

),

latest_file_versions as (

    select
        release_id,
        row_number() over (partition by path order by loaded_at desc, release_id desc) = 1 as is_latest_file_version

    from releases
    where status in ('loaded', 'partial')

),

joined as (

    select
        observations.*,
        releases.path as source_file,
        releases.publisher,
        releases.published_on,
        releases.loaded_at,
        releases.is_synthetic,
        latest_file_versions.is_latest_file_version,
        {{ period_label('observations.year', 'observations.month_from', 'observations.month_to') }} as period_label

    from observations
    inner join releases
        on observations.release_id = releases.release_id
    inner join latest_file_versions
        on observations.release_id = latest_file_versions.release_id

),

final as (

    select
        *,
        case when is_latest_file_version then
            row_number() over (
                partition by area_code, year, month_from, month_to, basis, is_latest_file_version
                order by published_on desc, loaded_at desc, release_id desc
            )
        end as version_rank

    from joined

)

select * from final
