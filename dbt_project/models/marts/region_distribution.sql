{#-
    How many listed cities lie in each NBS region, and the change against the previous year's list. The change is
    given only when both lists are complete and of the same kind (real or synthetic): a count from a partial list
    says nothing about a region's gain or loss.
-#}
with

competitiveness as (

    select * from {{ ref('top100_competitiveness') }}

),

regions as (

    select distinct region from {{ ref('dim_area') }}
    where region is not null

),

lists as (

    select
        year,
        max(entries_published) as list_size,
        {{ all_true('is_complete_list') }} as is_complete_list,
        {{ any_true('is_synthetic') }} as is_synthetic

    from competitiveness
    group by year

),

counts as (

    select
        lists.year,
        regions.region,
        lists.list_size,
        lists.is_complete_list,
        lists.is_synthetic,
        count(competitiveness.area_code) as cities_in_list

    from lists
    cross join regions
    left join competitiveness
        on lists.year = competitiveness.year
        and regions.region = competitiveness.region
    group by lists.year, regions.region, lists.list_size, lists.is_complete_list, lists.is_synthetic

),

final as (

    select
        counts.year,
        counts.region,
        counts.cities_in_list,
        previous.cities_in_list as cities_in_list_prev,
        case when counts.is_complete_list and previous.is_complete_list
            then counts.cities_in_list - previous.cities_in_list end as change_vs_prev_year,
        100.0 * counts.cities_in_list / counts.list_size as share_of_list_pct,
        counts.list_size,
        counts.is_complete_list,
        counts.is_synthetic,
        {{ surrogate_key(['counts.year', 'counts.region']) }} as region_year_id

    from counts
    left join counts as previous
        on counts.region = previous.region
        and counts.year = previous.year + 1
        and counts.is_synthetic = previous.is_synthetic

)

select * from final
