{#-
    Plausibility and anomaly measures on growth (SPEC 5, check 6), one row per competing figure with a
    growth rate (published, else computed from the prior year's current figure of the same window). GX
    decides; this model only measures; both checks are warnings.
      growth_band_excess_pct > 0: growth outside var('growth_band_low_pct')..var('growth_band_high_pct')
      anomaly_score > 0: growth is an outlier both against the area's own history (same month window, so
        month-of-year aware) and against its peers (same level, period and basis): the smaller of the two
        robust z-scores (0.6745 (x - median) / MAD) minus var('anomaly_z_threshold'). Requiring both keeps
        common swings (2020's fall, 2021's jump) and an area's habitual volatility quiet.
    Messages name the area as the areas seed does: Shenzhen 深圳市 (440300).
-#}

with

placed as (

    select * from {{ ref('int_trade_observations_placed') }}
    where total_cny is not null

),

growth as (

    select
        placed.*,
        coalesce(placed.total_yoy_pct, 100 * (placed.total_cny / prior_year.total_cny - 1)) as growth_pct

    from placed
    left join placed as prior_year
        on placed.area_code = prior_year.area_code
        and placed.year = prior_year.year + 1
        and placed.month_from = prior_year.month_from
        and placed.month_to = prior_year.month_to
        and placed.basis = prior_year.basis
        and prior_year.is_current
        and prior_year.total_cny > 0
    where placed.total_yoy_pct is not null or prior_year.total_cny is not null

),

current_growth as (

    select * from growth
    where is_current

),

{# the reference set for the area's own history: its other years of the same window (a handful of rows each) #}
own_growth as (

    select growth.observation_id, other.growth_pct
    from growth
    inner join current_growth as other
        on growth.area_code = other.area_code
        and growth.month_from = other.month_from
        and growth.month_to = other.month_to
        and growth.basis = other.basis
        and growth.year <> other.year

),

own_medians as (

    select
        observation_id,
        count(*) as reference_count,
        percentile_cont(0.5) within group (order by growth_pct) as median_pct

    from own_growth
    group by observation_id

),

own_deviations as (

    select
        own_medians.observation_id,
        own_medians.reference_count,
        own_medians.median_pct,
        percentile_cont(0.5) within group (order by abs(own_growth.growth_pct - own_medians.median_pct)) as mad_pct

    from own_medians
    inner join own_growth
        on own_medians.observation_id = own_growth.observation_id
    group by own_medians.observation_id, own_medians.reference_count, own_medians.median_pct

),

{#
    The peers: the current figures of the same level, period and basis. Their median and MAD are computed once
    per group (the area itself included: one figure among the hundreds of a level moves neither visibly), not
    per observation: joining every figure to every peer made this the slowest model of the build (issue #8).
#}
peer_medians as (

    select
        level,
        year,
        month_from,
        month_to,
        basis,
        count(*) as group_count,
        percentile_cont(0.5) within group (order by growth_pct) as median_pct

    from current_growth
    group by level, year, month_from, month_to, basis

),

peer_deviations as (

    select
        peer_medians.level,
        peer_medians.year,
        peer_medians.month_from,
        peer_medians.month_to,
        peer_medians.basis,
        peer_medians.group_count,
        peer_medians.median_pct,
        percentile_cont(0.5) within group (order by abs(current_growth.growth_pct - peer_medians.median_pct)) as mad_pct

    from peer_medians
    inner join current_growth
        on peer_medians.level = current_growth.level
        and peer_medians.year = current_growth.year
        and peer_medians.month_from = current_growth.month_from
        and peer_medians.month_to = current_growth.month_to
        and peer_medians.basis = current_growth.basis
    group by peer_medians.level, peer_medians.year, peer_medians.month_from, peer_medians.month_to,
        peer_medians.basis, peer_medians.group_count, peer_medians.median_pct

),

{# the peers of a figure are the other areas: its own area's current figure, when in the group, does not count #}
peers as (

    select
        growth.observation_id,
        peer_deviations.group_count - case when own_current.observation_id is null then 0 else 1 end as reference_count,
        peer_deviations.median_pct,
        peer_deviations.mad_pct

    from growth
    inner join peer_deviations
        on growth.level = peer_deviations.level
        and growth.year = peer_deviations.year
        and growth.month_from = peer_deviations.month_from
        and growth.month_to = peer_deviations.month_to
        and growth.basis = peer_deviations.basis
    left join current_growth as own_current
        on growth.area_code = own_current.area_code
        and growth.level = own_current.level
        and growth.year = own_current.year
        and growth.month_from = own_current.month_from
        and growth.month_to = own_current.month_to
        and growth.basis = own_current.basis

),

scores as (

    select
        growth.observation_id,
        own.median_pct as own_median_pct,
        peers.median_pct as peers_median_pct,
        {# a MAD under 1 point would make ordinary noise look extreme #}
        0.6745 * (growth.growth_pct - own.median_pct) / greatest(own.mad_pct, 1.0) as own_z,
        0.6745 * (growth.growth_pct - peers.median_pct) / greatest(peers.mad_pct, 1.0) as peers_z

    from growth
    inner join own_deviations as own
        on growth.observation_id = own.observation_id
        and own.reference_count >= {{ var('anomaly_min_references', 4) }}
    inner join peers
        on growth.observation_id = peers.observation_id
        and peers.reference_count >= {{ var('anomaly_min_references', 4) }}

),

final as (

    select
        growth.observation_id,
        growth.release_id,
        growth.source_file,
        growth.area_code,
        growth.area_name,
        growth.year,
        growth.month_from,
        growth.month_to,
        growth.basis,
        growth.period_label,
        growth.growth_pct,
        greatest(
            {{ var('growth_band_low_pct', -60) }} - growth.growth_pct,
            growth.growth_pct - {{ var('growth_band_high_pct', 150) }}
        ) as growth_band_excess_pct,
        growth.area_label || ' ' || growth.period_label || ' (' || growth.basis || ', ' || growth.source_file
            || '): growth of ' || {{ format_number('growth.growth_pct', 1) }}
            || '% is outside the plausible band ' || cast({{ var('growth_band_low_pct', -60) }} as {{ dbt.type_string() }}) || '% to +'
            || cast({{ var('growth_band_high_pct', 150) }} as {{ dbt.type_string() }}) || '%' as growth_band_message,
        scores.own_z,
        scores.peers_z,
        case when scores.own_z * scores.peers_z > 0 then
            least(abs(scores.own_z), abs(scores.peers_z)) - {{ var('anomaly_z_threshold', 5) }}
        else -{{ var('anomaly_z_threshold', 5) }} end as anomaly_score,
        growth.area_label || ' ' || growth.period_label || ' (' || growth.basis || ', ' || growth.source_file
            || '): growth of ' || {{ format_number('growth.growth_pct', 1) }}
            || '% is an outlier against its own history (median '
            || {{ format_number('scores.own_median_pct', 1) }} || '%, z '
            || {{ format_number('scores.own_z', 1) }} || ') and its peers (median '
            || {{ format_number('scores.peers_median_pct', 1) }} || '%, z '
            || {{ format_number('scores.peers_z', 1) }} || ')' as anomaly_message,
        {{ format_number('growth.growth_pct', 1) }} || '%' as growth_observed,
        'near ' || {{ format_number('scores.own_median_pct', 1) }} || '% (own) / '
            || {{ format_number('scores.peers_median_pct', 1) }} || '% (peers)' as anomaly_expected

    from growth
    left join scores
        on growth.observation_id = scores.observation_id

)

select * from final
