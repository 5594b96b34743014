{#-
    Hierarchy measures (SPEC 5, check 2), one row per competing figure. GX decides; this model only measures.
      hierarchy_excess_cny > 0: this figure contradicts the hierarchy beyond the published rounding of the
      figures involved, and its release is the newer of the contradicting figures, so it is the one to doubt:
        - a city above its province or the nation, a province above the nation (the national basis is the denominator
          for every basis), or a parent below one of its children;
        - the current cities of a province summing to more than the province (same basis and period);
        - a complete set of provinces not summing to the nation of the same basis and period.
-#}

with

placed as (

    select * from {{ ref('int_trade_observations_placed') }}
    where total_cny is not null

),

current_figures as (

    select * from placed
    where is_current

),

{#
    the figure each child is compared with: its parent area, and the nation for a city. One row per link, so the pairs
    below are an equi-join (an `or` in the join condition made DuckDB fall back to a nested-loop join, issue #8).
#}
child_links as (

    select placed.*, placed.parent_code as join_code
    from placed
    where placed.parent_code is not null

    union all

    select placed.*, '000000' as join_code
    from placed
    where placed.level = 'city'
        and coalesce(placed.parent_code, '') <> '000000'

),

{# the nation of the same basis, or on the national basis, is the parent of every province #}
parent_pairs as (

    select
        child.observation_id as child_id,
        parent.observation_id as parent_id,
        child.release_order as child_order,
        parent.release_order as parent_order,
        child.total_cny - parent.total_cny - (child.total_tolerance_cny + parent.total_tolerance_cny) as excess_cny,
        child.area_name || ' ' || child.period_label || ' (' || child.basis || ') ' || child.total_text || ' '
            || replace(child.source_unit, '_', ' ') || ' (' || child.source_file || ') exceeds '
            || parent.area_name || ' ' || parent.total_text || ' ' || replace(parent.source_unit, '_', ' ')
            || ' (' || parent.basis || ', ' || parent.source_file || ')' as child_message,
        parent.area_name || ' ' || parent.period_label || ' (' || parent.basis || ') ' || parent.total_text || ' '
            || replace(parent.source_unit, '_', ' ') || ' (' || parent.source_file || ') is below '
            || child.area_name || ' ' || child.total_text || ' ' || replace(child.source_unit, '_', ' ')
            || ' (' || child.basis || ', ' || child.source_file || ')' as parent_message,
        child.total_text || ' ' || replace(child.source_unit, '_', ' ') as child_text,
        parent.total_text || ' ' || replace(parent.source_unit, '_', ' ') as parent_text

    from child_links as child
    inner join placed as parent
        on child.join_code = parent.area_code
        and child.year = parent.year
        and child.month_from = parent.month_from
        and child.month_to = parent.month_to
        and (child.basis = parent.basis or parent.basis = 'national')
    where (child.is_current or parent.is_current)
        and child.observation_id <> parent.observation_id

),

pair_issues as (

    {# blame the newer figure of the pair, and only against the other's current figure #}
    select
        child_id as observation_id,
        excess_cny,
        child_message as message,
        child_text as observed,
        'at most ' || parent_text as expected
    from parent_pairs
    inner join current_figures
        on parent_pairs.parent_id = current_figures.observation_id
    where child_order > parent_order

    union all

    select
        parent_id as observation_id,
        excess_cny,
        parent_message as message,
        parent_text as observed,
        'at least ' || child_text as expected
    from parent_pairs
    inner join current_figures
        on parent_pairs.child_id = current_figures.observation_id
    where parent_order > child_order

),

sums_of_children as (

    select
        children.parent_code,
        children.year,
        children.month_from,
        children.month_to,
        children.basis,
        case when children.level = 'city' then 'city' else 'province' end as level,
        count(*) as children_count,
        sum(children.total_cny) as children_total_cny,
        sum(children.total_tolerance_cny) as children_tolerance_cny,
        max(children.release_order) as newest_child_order

    from current_figures as children
    where children.level in ('city', 'province', 'municipality')
    group by children.parent_code, children.year, children.month_from, children.month_to, children.basis,
        case when children.level = 'city' then 'city' else 'province' end

),

provinces_in_seed as (

    select count(*) as provinces_count
    from {{ ref('areas') }}
    where level in ('province', 'municipality')

),

sum_comparisons as (

    select
        parent.observation_id,
        parent.release_order,
        sums.newest_child_order,
        sums.parent_code,
        sums.year,
        sums.month_from,
        sums.month_to,
        sums.basis,
        sums.level as children_level,
        case
            when sums.level = 'city' then
                sums.children_total_cny - parent.total_cny - (sums.children_tolerance_cny + parent.total_tolerance_cny)
            else
                abs(sums.children_total_cny - parent.total_cny) - (sums.children_tolerance_cny + parent.total_tolerance_cny)
        end as excess_cny,
        case
            when sums.level = 'city' then
                'the ' || cast(sums.children_count as varchar) || ' cities of ' || parent.area_name || ' listed for '
                || parent.period_label || ' (' || parent.basis || ') add up to '
                || cast(round(cast(sums.children_total_cny / 1e8 as numeric), 2) as varchar)
                || ' 100m yuan, more than the province''s ' || parent.total_text || ' ' || replace(parent.source_unit, '_', ' ')
            else
                'the provinces of ' || parent.period_label || ' (' || parent.basis || ') add up to '
                || cast(round(cast(sums.children_total_cny / 1e8 as numeric), 2) as varchar)
                || ' 100m yuan, not the national ' || parent.total_text || ' ' || replace(parent.source_unit, '_', ' ')
                || ' (' || parent.source_file || ')'
        end as message,
        cast(round(cast(sums.children_total_cny / 1e8 as numeric), 2) as varchar) || ' 100m yuan' as observed,
        parent.total_text || ' ' || replace(parent.source_unit, '_', ' ') as expected

    from sums_of_children as sums
    inner join current_figures as parent
        on sums.parent_code = parent.area_code
        and sums.year = parent.year
        and sums.month_from = parent.month_from
        and sums.month_to = parent.month_to
        and sums.basis = parent.basis
    cross join provinces_in_seed
    where sums.level = 'city'
        or sums.children_count = provinces_in_seed.provinces_count

),

{# a sum that fails is blamed on the newest figure in it: the parent, or the newest child #}
sum_issues as (

    select observation_id, excess_cny, message, observed, expected
    from sum_comparisons
    where release_order > newest_child_order

    union all

    select children.observation_id, sum_comparisons.excess_cny, sum_comparisons.message,
        sum_comparisons.observed, sum_comparisons.expected
    from sum_comparisons
    inner join current_figures as children
        on sum_comparisons.parent_code = children.parent_code
        and sum_comparisons.year = children.year
        and sum_comparisons.month_from = children.month_from
        and sum_comparisons.month_to = children.month_to
        and sum_comparisons.basis = children.basis
        and sum_comparisons.children_level = case when children.level = 'city' then 'city' else 'province' end
        and sum_comparisons.newest_child_order = children.release_order
    where sum_comparisons.release_order < sum_comparisons.newest_child_order

),

issues as (

    select * from pair_issues
    union all
    select * from sum_issues

),

worst_issue as (

    select
        *,
        row_number() over (partition by observation_id order by excess_cny desc, message) as issue_rank

    from issues

),

final as (

    select
        placed.observation_id,
        placed.release_id,
        placed.source_file,
        placed.area_code,
        placed.area_name,
        placed.level,
        placed.year,
        placed.month_from,
        placed.month_to,
        placed.basis,
        placed.period_label,
        placed.total_cny,
        worst_issue.excess_cny as hierarchy_excess_cny,
        worst_issue.message as hierarchy_message,
        worst_issue.observed as hierarchy_observed,
        worst_issue.expected as hierarchy_expected

    from placed
    left join worst_issue
        on placed.observation_id = worst_issue.observation_id
        and worst_issue.issue_rank = 1

)

select * from final
