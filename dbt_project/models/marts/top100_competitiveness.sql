{#-
    The newest published list of each year (a later edition of the same year replaces the whole list). A real
    list always wins over a synthetic one of the same year, and ranks are compared only with last year's list
    of the same kind, so synthetic and real lists never mix.
-#}
with

entries as (

    select * from {{ ref('int_top100_entries_pivoted') }}

),

releases as (

    select * from {{ ref('stg_raw__releases') }}

),

areas as (

    select * from {{ ref('dim_area') }}

),

release_order as (

    select
        entries.*,
        releases.published_on,
        releases.is_synthetic,
        dense_rank() over (
            partition by entries.year
            order by case when releases.is_synthetic then 1 else 0 end, releases.published_on desc,
                releases.loaded_at desc, releases.release_id desc
        ) as edition_rank

    from entries
    inner join releases
        on entries.release_id = releases.release_id

),

current_lists as (

    select * from release_order
    where edition_rank = 1

),

list_years as (

    select distinct year, is_synthetic, is_complete_list from current_lists

),

final as (

    select
        current_lists.year,
        current_lists.rank,
        current_lists.area_code,
        areas.name_en,
        areas.name_zh,
        areas.province_name_en,
        areas.region,
        current_lists.score,
        current_lists.subindex_level,
        current_lists.subindex_structure,
        current_lists.subindex_efficiency,
        current_lists.subindex_development,
        current_lists.subindex_innovation,
        current_lists.subindex_potential,
        previous.rank as rank_prev,
        previous.rank - current_lists.rank as rank_change,
        current_lists.is_complete_list,
        count(*) over (partition by current_lists.year) as entries_published,
        previous_list.year is not null and previous.rank is null as is_new_entry,
        current_lists.release_id,
        current_lists.published_on,
        current_lists.is_synthetic,
        {{ surrogate_key(['current_lists.year', 'current_lists.area_code']) }} as list_entry_id

    from current_lists
    inner join areas
        on current_lists.area_code = areas.area_code
    left join current_lists as previous
        on current_lists.area_code = previous.area_code
        and current_lists.year = previous.year + 1
        and current_lists.is_synthetic = previous.is_synthetic
    left join list_years as previous_list
        on current_lists.year = previous_list.year + 1
        and current_lists.is_synthetic = previous_list.is_synthetic
        and previous_list.is_complete_list

)

select * from final
