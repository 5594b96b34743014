{#- How many listed cities lie in each NBS region, and the change against the previous year's list. -#}
with

competitiveness as (

    select * from {{ ref('top100_competitiveness') }}

),

regions as (

    select distinct region from {{ ref('dim_area') }}
    where region is not null

),

lists as (

    select year, max(entries_published) as list_size, bool_and(is_complete_list) as is_complete_list,
        bool_or(is_synthetic) as is_synthetic
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
        counts.cities_in_list - previous.cities_in_list as change_vs_prev_year,
        counts.list_size,
        counts.is_complete_list,
        counts.is_synthetic

    from counts
    left join counts as previous
        on counts.region = previous.region
        and counts.year = previous.year + 1

)

select * from final
