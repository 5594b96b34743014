{#-
    Conflict and revision measures (SPEC 5, check 7), one row per competing figure. GX decides; this model
    only measures. Two releases giving different totals for the same area, period and basis (their half-open
    rounding intervals are disjoint: macros/intervals.sql): published the same day it is a conflict, on a
    later day a revision. Each pair is counted once, on the figure of the newer one (by the figure's own
    publication date, then publisher precedence, then release id: the order that picks the current figure),
    with a message naming both releases.
      conflicting_releases > 0: releases of the same day that disagree with this figure
      revised_releases     > 0: earlier releases this figure revises
    A message names the area and gives both figures in the unit the newer one was published in.
-#}

with

placed as (

    select * from {{ ref('int_trade_observations_placed') }}
    where total_cny is not null

),

pair_figures as (

    select
        newer.observation_id,
        newer.published_on = older.published_on as is_conflict,
        newer.area_label,
        newer.period_label,
        newer.basis,
        newer.source_file,
        newer.published_on,
        newer.total_text,
        {{ unit_name('newer.source_unit') }} as unit_name,
        older.source_file as older_source_file,
        older.published_on as older_published_on,
        {{ figure_in_unit_of('older', 'newer', 'older') }}

    from placed as newer
    inner join placed as older
        on newer.area_code = older.area_code
        and newer.year = older.year
        and newer.month_from = older.month_from
        and newer.month_to = older.month_to
        and newer.basis = older.basis
        and (newer.published_on > older.published_on
            or (newer.published_on = older.published_on and newer.publisher_rank < older.publisher_rank)
            or (newer.published_on = older.published_on and newer.publisher_rank = older.publisher_rank
                and newer.release_id > older.release_id))
    {# figures converted from another currency may differ by the rate used, not by the source #}
    where {{ intervals_disjoint('newer.total_cny', 'newer.total_tolerance_cny', 'older.total_cny',
        'older.total_tolerance_cny + case when newer.source_currency <> older.source_currency then '
        ~ var('cross_currency_slack', 0.02) ~ ' * greatest(newer.total_cny, older.total_cny) else 0 end') }}

),

pairs as (

    select
        observation_id,
        is_conflict,
        area_label || ' ' || period_label || ' (' || basis || '): '
            || case when is_conflict
                then 'releases published the same day disagree: '
                else 'revised: ' end
            || older_source_file || ' (published ' || cast(older_published_on as {{ dbt.type_string() }}) || ') gives '
            || {{ figure_text('older') }} || ' ' || unit_name || ', '
            || source_file || ' (published ' || cast(published_on as {{ dbt.type_string() }}) || ') gives '
            || total_text || ' ' || unit_name as message,
        {{ figure_text('older') }} || ' ' || unit_name || ' (' || older_source_file || ')' as other_figure

    from pair_figures

),

counted as (

    select
        observation_id,
        -- counts, not sums: a sum is a HUGEINT in DuckDB, which pandas holds as Python objects, so GX would
        -- compare it row by row in Python (0.36 s of the row gate on 7 years)
        count(*) filter (where is_conflict) as conflicting_releases,
        count(*) filter (where not is_conflict) as revised_releases,
        min(case when is_conflict then message end) as conflict_message,
        min(case when not is_conflict then message end) as revision_message,
        min(case when is_conflict then other_figure end) as conflict_other_figure

    from pairs
    group by observation_id

),

final as (

    select
        placed.observation_id,
        placed.release_id,
        placed.source_file,
        placed.area_code,
        placed.area_name,
        placed.year,
        placed.month_from,
        placed.month_to,
        placed.basis,
        placed.period_label,
        placed.published_on,
        coalesce(counted.conflicting_releases, 0) as conflicting_releases,
        coalesce(counted.revised_releases, 0) as revised_releases,
        counted.conflict_message,
        counted.revision_message,
        placed.total_text || ' ' || {{ unit_name('placed.source_unit') }} as figure_observed,
        counted.conflict_other_figure

    from placed
    left join counted
        on placed.observation_id = counted.observation_id

)

select * from final
