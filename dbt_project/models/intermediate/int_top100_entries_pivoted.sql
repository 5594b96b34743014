{#- Rows of Top 100 competitiveness lists with their sub-index scores pivoted to one column each. -#}
with

entries as (

    select * from {{ ref('stg_raw__top100_entries') }}

),

subindex_scores as (

    select * from {{ ref('stg_raw__top100_subindex_scores') }}

),

pivoted as (

    select
        entry_id,
        max(case when subindex = 'level' then score end) as subindex_level,
        max(case when subindex = 'structure' then score end) as subindex_structure,
        max(case when subindex = 'efficiency' then score end) as subindex_efficiency,
        max(case when subindex = 'development' then score end) as subindex_development,
        max(case when subindex = 'innovation' then score end) as subindex_innovation,
        max(case when subindex = 'potential' then score end) as subindex_potential

    from subindex_scores
    group by entry_id

),

final as (

    select
        entries.entry_id,
        entries.release_id,
        entries.row_number,
        entries.year,
        entries.rank,
        entries.area_raw,
        entries.area_code,
        entries.score,
        entries.is_complete_list,
        pivoted.subindex_level,
        pivoted.subindex_structure,
        pivoted.subindex_efficiency,
        pivoted.subindex_development,
        pivoted.subindex_innovation,
        pivoted.subindex_potential

    from entries
    left join pivoted
        on entries.entry_id = pivoted.entry_id

)

select * from final
