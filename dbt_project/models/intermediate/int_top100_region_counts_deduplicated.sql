{#-
    A Top 100 list's counts of cities per region as its publisher states them, one edition per year: the newest
    release stating counts for that year, a real one always before a synthetic one (as top100_competitiveness
    picks the list), then the release id. `list_size` is the sum of the stated counts: the list they describe.
-#}
with

counts as (

    select * from {{ ref('stg_raw__top100_region_counts') }}

),

releases as (

    select * from {{ ref('int_releases_ordered') }}
    where is_latest_file_version

),

release_dates as (

    select * from {{ ref('stg_raw__releases') }}

),

editions as (

    select
        counts.year,
        counts.region,
        counts.cities_in_list,
        counts.release_id,
        release_dates.is_synthetic,
        dense_rank() over (
            partition by counts.year
            order by case when release_dates.is_synthetic then 1 else 0 end, release_dates.published_on desc,
                counts.release_id desc
        ) as edition_rank

    from counts
    inner join releases
        on counts.release_id = releases.release_id
    inner join release_dates
        on counts.release_id = release_dates.release_id

),

final as (

    select
        {{ surrogate_key(['year', 'region']) }} as region_count_id,
        year,
        region,
        cities_in_list,
        cast(sum(cities_in_list) over (partition by year) as {{ dbt.type_bigint() }}) as list_size,
        release_id,
        is_synthetic

    from editions
    where edition_rank = 1

)

select * from final
