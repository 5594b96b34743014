{#-
    Hierarchy measures (SPEC 5, check 2), one row per competing figure. GX decides; this model only measures.
      hierarchy_excess_cny > 0: this figure contradicts the hierarchy beyond the published rounding of the
      figures involved, and its release is the newer of the contradicting figures, so it is the one to doubt:
        - a city above its province or the nation, a province above the nation (the national basis is the denominator
          for every basis), or a parent below one of its children;
        - the current cities of a province summing to more than the province (same basis and period);
        - a complete set of provinces not summing to the nation of the same basis and period.
    A message names the areas and gives both figures in the unit the flagged figure was published in.
-#}

with

placed as (

    select * from {{ ref('int_trade_observations_placed') }}
    where total_cny is not null

),

areas as (

    select * from {{ ref('areas') }}

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
linked_figures as (

    select
        child.observation_id as child_id,
        parent.observation_id as parent_id,
        child.release_order as child_order,
        parent.release_order as parent_order,
        child.total_cny - parent.total_cny - (child.total_tolerance_cny + parent.total_tolerance_cny) as excess_cny,
        child.period_label,
        child.area_label as child_area_label,
        parent.area_label as parent_area_label,
        child.basis as child_basis,
        parent.basis as parent_basis,
        child.source_file as child_source_file,
        parent.source_file as parent_source_file,
        {{ unit_name('child.source_unit') }} as child_unit_name,
        {{ unit_name('parent.source_unit') }} as parent_unit_name,
        child.total_text as child_total_text,
        parent.total_text as parent_total_text,
        {{ figure_in_unit_of('parent', 'child', 'parent_in_child_unit') }},
        {{ figure_in_unit_of('child', 'parent', 'child_in_parent_unit') }}

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

parent_pairs as (

    select
        child_id,
        parent_id,
        child_order,
        parent_order,
        excess_cny,
        child_area_label || ' ' || period_label || ' (' || child_basis || ') ' || child_total_text || ' ' || child_unit_name
            || ' (' || child_source_file || ') exceeds ' || parent_area_label || ' '
            || {{ figure_text('parent_in_child_unit') }} || ' ' || child_unit_name
            || ' (' || parent_basis || ', ' || parent_source_file || ')' as child_message,
        parent_area_label || ' ' || period_label || ' (' || parent_basis || ') ' || parent_total_text || ' ' || parent_unit_name
            || ' (' || parent_source_file || ') is below ' || child_area_label || ' '
            || {{ figure_text('child_in_parent_unit') }} || ' ' || parent_unit_name
            || ' (' || child_basis || ', ' || child_source_file || ')' as parent_message,
        child_total_text || ' ' || child_unit_name as child_text,
        {{ figure_text('parent_in_child_unit') }} || ' ' || child_unit_name as parent_in_child_unit_text,
        parent_total_text || ' ' || parent_unit_name as parent_text,
        {{ figure_text('child_in_parent_unit') }} || ' ' || parent_unit_name as child_in_parent_unit_text

    from linked_figures

),

pair_issues as (

    {# blame the newer figure of the pair, and only against the other's current figure #}
    select
        child_id as observation_id,
        excess_cny,
        child_message as message,
        child_text as observed,
        'at most ' || parent_in_child_unit_text as expected
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
        'at least ' || child_in_parent_unit_text as expected
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
        min(children.source_currency) as children_min_currency,
        max(children.source_currency) as children_max_currency,
        max(children.release_order) as newest_child_order

    from current_figures as children
    where children.level in ('city', 'province', 'municipality')
    group by children.parent_code, children.year, children.month_from, children.month_to, children.basis,
        case when children.level = 'city' then 'city' else 'province' end

),

provinces_in_seed as (

    select count(*) as provinces_count
    from areas
    where level in ('province', 'municipality')

),

sums_in_unit as (

    select
        sums.*,
        parent.observation_id,
        parent.release_order,
        parent.area_label,
        parent.period_label,
        parent.source_file,
        parent.total_cny,
        parent.total_tolerance_cny,
        parent.total_text || ' ' || {{ unit_name('parent.source_unit') }} as parent_text,
        {{ unit_name('parent.source_unit') }} as unit_name,
        {#- a sum of figures in the parent's currency converts exactly: it may keep the parent's decimals #}
        {%- set sum_in_unit = 'sums.children_total_cny / (parent.cny_per_unit_currency * parent.unit_factor)' %}
        {{ sum_in_unit }} as children_total_in_unit,
        {{ converted_decimals(sum_in_unit,
            '2 * sums.children_tolerance_cny / (parent.cny_per_unit_currency * parent.unit_factor)',
            decimals_of('2 * parent.total_tolerance_cny / (parent.cny_per_unit_currency * parent.unit_factor)'),
            "sums.children_min_currency = parent.source_currency and sums.children_max_currency = parent.source_currency")
        }} as children_total_decimals

    from sums_of_children as sums
    inner join current_figures as parent
        on sums.parent_code = parent.area_code
        and sums.year = parent.year
        and sums.month_from = parent.month_from
        and sums.month_to = parent.month_to
        and sums.basis = parent.basis

),

sum_comparisons as (

    select
        sums.observation_id,
        sums.release_order,
        sums.newest_child_order,
        sums.parent_code,
        sums.year,
        sums.month_from,
        sums.month_to,
        sums.basis,
        sums.level as children_level,
        case
            when sums.level = 'city' then
                sums.children_total_cny - sums.total_cny - (sums.children_tolerance_cny + sums.total_tolerance_cny)
            else
                abs(sums.children_total_cny - sums.total_cny) - (sums.children_tolerance_cny + sums.total_tolerance_cny)
        end as excess_cny,
        case
            when sums.level = 'city' then
                'the ' || cast(sums.children_count as {{ dbt.type_string() }}) || ' cities of ' || sums.area_label || ' listed for '
                || sums.period_label || ' (' || sums.basis || ') add up to '
                || {{ format_number('sums.children_total_in_unit', 'sums.children_total_decimals') }} || ' ' || sums.unit_name
                || ', more than the province''s ' || sums.parent_text
            else
                'the provinces of ' || sums.period_label || ' (' || sums.basis || ') add up to '
                || {{ format_number('sums.children_total_in_unit', 'sums.children_total_decimals') }} || ' ' || sums.unit_name
                || ', not the national ' || sums.parent_text || ' (' || sums.source_file || ')'
        end as message,
        {{ format_number('sums.children_total_in_unit', 'sums.children_total_decimals') }} || ' ' || sums.unit_name as observed,
        sums.parent_text as expected

    from sums_in_unit as sums
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
