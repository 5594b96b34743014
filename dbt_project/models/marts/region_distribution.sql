{#-
    How many listed cities lie in each NBS region, and the change against the previous year's list.

    `cities_in_list` is a count the data can support: the publisher's own count per region where a release
    states it (top100-v1 region rows), else the count over a complete list's entries. From a partial list of
    entries it is null: those entries give only `cities_in_list_min`, a lower bound, never the count. The change
    is given only when both years have a count and are of the same kind (real or synthetic).
-#}
with

competitiveness as (

    select * from {{ ref('top100_competitiveness') }}

),

published_counts as (

    select * from {{ ref('int_top100_region_counts_deduplicated') }}

),

regions as (

    select distinct region from {{ ref('dim_area') }}
    where region is not null

),

entry_lists as (

    select
        year,
        max(entries_published) as entries_published,
        {{ all_true('is_complete_list') }} as is_complete_list,
        {{ any_true('is_synthetic') }} as is_synthetic

    from competitiveness
    group by year

),

count_lists as (

    select
        year,
        max(list_size) as published_list_size,
        {{ any_true('is_synthetic') }} as is_synthetic

    from published_counts
    group by year

),

lists as (

    -- a year with a list of entries, stated counts or both; counts count only when of the list's kind
    select
        coalesce(entry_lists.year, count_lists.year) as year,
        coalesce(entry_lists.is_synthetic, count_lists.is_synthetic) as is_synthetic,
        coalesce(entry_lists.is_complete_list, false) as is_complete_list,
        coalesce(entry_lists.entries_published, 0) as entries_published,
        case when count_lists.is_synthetic = coalesce(entry_lists.is_synthetic, count_lists.is_synthetic)
            then count_lists.published_list_size end as published_list_size

    from entry_lists
    full outer join count_lists
        on entry_lists.year = count_lists.year

),

entry_counts as (

    select
        lists.year,
        regions.region,
        count(competitiveness.area_code) as cities_in_entries

    from lists
    cross join regions
    left join competitiveness
        on lists.year = competitiveness.year
        and regions.region = competitiveness.region
    group by lists.year, regions.region

),

counts as (

    select
        lists.year,
        entry_counts.region,
        lists.is_synthetic,
        lists.is_complete_list,
        lists.published_list_size is not null as is_count_published,
        case
            when lists.published_list_size is not null then published_counts.cities_in_list
            when lists.is_complete_list then entry_counts.cities_in_entries
        end as cities_in_list,
        entry_counts.cities_in_entries as cities_in_list_min,
        coalesce(
            lists.published_list_size,
            case when lists.is_complete_list then lists.entries_published end
        ) as list_size,
        lists.entries_published

    from lists
    inner join entry_counts
        on lists.year = entry_counts.year
    left join published_counts
        on lists.published_list_size is not null
        and entry_counts.year = published_counts.year
        and entry_counts.region = published_counts.region

),

final as (

    select
        counts.year,
        counts.region,
        counts.cities_in_list,
        counts.cities_in_list_min,
        previous.cities_in_list as cities_in_list_prev,
        counts.cities_in_list - previous.cities_in_list as change_vs_prev_year,
        100.0 * cast(counts.cities_in_list as {{ type_double() }}) / counts.list_size as share_of_list_pct,
        counts.list_size,
        counts.entries_published,
        counts.is_complete_list,
        counts.is_count_published,
        counts.is_synthetic,
        {{ surrogate_key(['counts.year', 'counts.region']) }} as region_year_id

    from counts
    left join counts as previous
        on counts.region = previous.region
        and counts.year = previous.year + 1
        and counts.is_synthetic = previous.is_synthetic

)

select * from final
