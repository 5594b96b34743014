{#-
    Every release in the two orders the versions of a figure are judged by: `is_latest_file_version`, false for a
    file since replaced at the same path (its rows stay as history but no longer compete; only loaded and partial
    releases compete), `publisher_rank`, the publisher's precedence (macros/publisher_precedence.sql: customs,
    statistics bureau, commerce department, press), and `release_order`, the rank in publication order
    (published_on, then the higher precedence counts as the later, then release_id; never the load order), by
    which a contradiction between two figures is blamed on the newer release.
-#}
with

releases as (

    select * from {{ ref('stg_raw__releases') }}

),

file_versions as (

    select
        release_id,
        row_number() over (partition by path order by loaded_at desc, release_id desc) = 1 as is_latest_file_version

    from releases
    where status in ('loaded', 'partial')

),

final as (

    select
        releases.release_id,
        releases.path,
        releases.status,
        file_versions.is_latest_file_version,
        {{ publisher_kind('releases.publisher') }} as publisher_kind,
        {{ publisher_rank('releases.publisher') }} as publisher_rank,
        dense_rank() over (
            order by releases.published_on, {{ publisher_rank('releases.publisher') }} desc, releases.release_id
        ) as release_order

    from releases
    left join file_versions
        on releases.release_id = file_versions.release_id

)

select * from final
