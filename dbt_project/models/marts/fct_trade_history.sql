{#-
    Every version of every trade figure ever loaded, newest release first within a figure (area, year, month
    window, basis). is_current marks the version fct_trade shows; is_conflict marks a version another release
    with the same publication date contradicts (their half-open rounding intervals are disjoint).
-#}
{%- set measures = ['total', 'exports', 'imports'] %}
with

versioned as (

    select * from {{ ref('int_trade_observations_versioned') }}

),

in_force as (

    select observation_id
    from {{ ref('int_trade_observations_validated') }}
    where is_current

),

conflicts as (

    select
        this_version.observation_id,
        bool_or(
            {%- for measure in measures %}
            coalesce({{ intervals_disjoint('this_version.' ~ measure ~ '_cny', 'this_version.' ~ measure ~ '_tolerance_cny',
                'other_version.' ~ measure ~ '_cny', 'other_version.' ~ measure ~ '_tolerance_cny') }}, false)
            {{- ' or' if not loop.last }}
            {%- endfor %}
        ) as is_conflict

    from versioned as this_version
    inner join versioned as other_version
        on this_version.area_code = other_version.area_code
        and this_version.year = other_version.year
        and this_version.month_from = other_version.month_from
        and this_version.month_to = other_version.month_to
        and this_version.basis = other_version.basis
        and this_version.published_on = other_version.published_on
        and this_version.release_id <> other_version.release_id
    where this_version.is_latest_file_version
        and other_version.is_latest_file_version
    group by this_version.observation_id

),

final as (

    select
        versioned.observation_id,
        versioned.area_code,
        versioned.year,
        versioned.month_from,
        versioned.month_to,
        versioned.period_label,
        versioned.basis,
        versioned.total_cny,
        versioned.exports_cny,
        versioned.imports_cny,
        versioned.total_text as total_as_published,
        versioned.exports_text as exports_as_published,
        versioned.imports_text as imports_as_published,
        versioned.total_yoy_pct as total_yoy_pct_published,
        versioned.source_unit,
        versioned.source_currency,
        versioned.release_id,
        versioned.source_file,
        versioned.row_number,
        versioned.quote,
        versioned.span_start,
        versioned.span_end,
        versioned.publisher,
        versioned.published_on,
        versioned.loaded_at,
        row_number() over (
            partition by versioned.area_code, versioned.year, versioned.month_from, versioned.month_to, versioned.basis
            order by versioned.published_on, versioned.publisher_rank desc, versioned.release_id
        ) as version_number,
        versioned.is_latest_file_version,
        in_force.observation_id is not null as is_current,
        coalesce(conflicts.is_conflict, false) as is_conflict,
        versioned.is_synthetic

    from versioned
    left join in_force
        on versioned.observation_id = in_force.observation_id
    left join conflicts
        on versioned.observation_id = conflicts.observation_id

)

select * from final
