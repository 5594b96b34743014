{#-
    Cumulative-window measures (SPEC 5, check 5), one row per competing year-to-date figure. GX decides;
    this model only measures.
      ytd_decrease_cny > 0: this year-to-date total is smaller, beyond rounding, than the current figure of
      an earlier window of the same year, area and basis, i.e. the single months derived between the two
      would be negative.
    The message names the area and gives both figures in the unit the later one was published in.
-#}

with

placed as (

    select * from {{ ref('int_trade_observations_placed') }}
    where total_cny is not null and month_from = 1

),

earlier_figures as (

    select
        later.observation_id,
        earlier.total_cny - later.total_cny - (earlier.total_tolerance_cny + later.total_tolerance_cny) as decrease_cny,
        later.area_label,
        later.period_label,
        later.basis,
        later.total_text,
        {{ unit_name('later.source_unit') }} as unit_name,
        later.source_file,
        earlier.period_label as earlier_period_label,
        earlier.source_file as earlier_source_file,
        {{ figure_in_unit_of('earlier', 'later', 'earlier') }}

    from placed as later
    inner join placed as earlier
        on later.area_code = earlier.area_code
        and later.year = earlier.year
        and later.basis = earlier.basis
        and earlier.month_to < later.month_to
    where earlier.is_current

),

decreases as (

    select
        observation_id,
        decrease_cny,
        area_label || ' ' || period_label || ' (' || basis || '): year-to-date total '
            || total_text || ' ' || unit_name || ' (' || source_file
            || ') is below the ' || earlier_period_label || ' figure ' || {{ figure_text('earlier') }} || ' '
            || unit_name || ' (' || earlier_source_file
            || '): the months in between would be negative' as message,
        {{ figure_text('earlier') }} || ' ' || unit_name || ' by ' || earlier_period_label as earlier_figure,
        row_number() over (partition by observation_id order by decrease_cny desc) as decrease_rank

    from earlier_figures

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
        decreases.decrease_cny as ytd_decrease_cny,
        decreases.message as ytd_message,
        placed.total_text || ' ' || {{ unit_name('placed.source_unit') }} as ytd_observed,
        'at least ' || decreases.earlier_figure as ytd_expected

    from placed
    left join decreases
        on placed.observation_id = decreases.observation_id
        and decreases.decrease_rank = 1

)

select * from final
