{#-
    The measures the row checks of expectations/ judge, one row per competing figure, each with the
    tolerance its published precision allows. GX decides; this model only measures.
      parts_total_excess_cny  > 0: exports + imports differ from total by more than rounding (check 1)
      <measure>_yoy_gap_pct   > 0: published growth lies outside what the levels allow (check 3)
    The messages name the area and give every figure in the unit this figure was published in.
-#}

with

versioned as (

    select * from {{ ref('int_trade_observations_versioned') }}
    where is_latest_file_version

),

areas as (

    select * from {{ ref('areas') }}

),

prior_year as (

    select
        area_code,
        year + 1 as year,
        month_from,
        month_to,
        basis,
        source_currency,
        cny_per_unit_currency,
        total_source_currency, total_tolerance_source_currency, total_cny, total_tolerance_cny, total_text,
        exports_source_currency, exports_tolerance_source_currency, exports_cny, exports_tolerance_cny, exports_text,
        imports_source_currency, imports_tolerance_source_currency, imports_cny, imports_tolerance_cny, imports_text,
        source_unit

    from versioned
    where version_rank = 1

),

{%- set measures = ['total', 'exports', 'imports'] %}

levels as (

    select
        versioned.observation_id,
        versioned.release_id,
        versioned.source_file,
        versioned.row_number,
        versioned.area_code,
        coalesce(areas.name_en, versioned.area_raw) as area_name,
        {{ area_label('areas', 'versioned.area_raw') }} as area_label,
        versioned.year,
        versioned.month_from,
        versioned.month_to,
        versioned.basis,
        versioned.period_label,
        versioned.source_unit,
        versioned.cny_per_unit_currency,
        versioned.unit_factor,
        versioned.total_text,
        versioned.exports_text,
        versioned.imports_text,
        versioned.total_cny,
        versioned.exports_cny,
        versioned.imports_cny,
        abs(versioned.exports_cny + versioned.imports_cny - versioned.total_cny) as parts_total_gap_cny,
        versioned.total_tolerance_cny + versioned.exports_tolerance_cny + versioned.imports_tolerance_cny as parts_total_tolerance_cny,
        {%- for measure in measures %}
        versioned.{{ measure }}_yoy_pct,
        versioned.{{ measure }}_yoy_pct_tolerance,
        {{ decimals_of('2 * versioned.' ~ measure ~ '_tolerance_source_currency / versioned.unit_factor') }} as {{ measure }}_decimals,
        {{ decimals_of('2 * versioned.' ~ measure ~ '_yoy_pct_tolerance') }} as {{ measure }}_yoy_decimals,
        {{ figure_in_unit_of('prior_year', 'versioned', measure ~ '_prior', measure) }},
        {#- compare in the source currency when both years are in it, so exchange rates do not move growth -#}
        case when prior_year.source_currency = versioned.source_currency
            then versioned.{{ measure }}_source_currency else versioned.{{ measure }}_cny end as {{ measure }}_current_level,
        case when prior_year.source_currency = versioned.source_currency
            then versioned.{{ measure }}_tolerance_source_currency else versioned.{{ measure }}_tolerance_cny end as {{ measure }}_current_tolerance,
        case when prior_year.source_currency = versioned.source_currency
            then prior_year.{{ measure }}_source_currency else prior_year.{{ measure }}_cny end as {{ measure }}_prior_level,
        case when prior_year.source_currency = versioned.source_currency
            then prior_year.{{ measure }}_tolerance_source_currency else prior_year.{{ measure }}_tolerance_cny end as {{ measure }}_prior_tolerance{{ ',' if not loop.last }}
        {%- endfor %}

    from versioned
    left join prior_year
        on versioned.area_code = prior_year.area_code
        and versioned.year = prior_year.year
        and versioned.month_from = prior_year.month_from
        and versioned.month_to = prior_year.month_to
        and versioned.basis = prior_year.basis
    left join areas
        on versioned.area_code = areas.area_code

),

growth_bounds as (

    select
        *,
        {#- the gap of written figures is exact to the finest of their decimals, their rounding to one more #}
        parts_total_gap_cny / (cny_per_unit_currency * unit_factor) as parts_total_gap_in_unit,
        parts_total_tolerance_cny / (cny_per_unit_currency * unit_factor) as parts_total_tolerance_in_unit,
        greatest(total_decimals, exports_decimals, imports_decimals) as parts_decimals,
        {%- for measure in measures %}
        case when {{ measure }}_prior_level - {{ measure }}_prior_tolerance > 0 then
            100 * (({{ measure }}_current_level - {{ measure }}_current_tolerance) / ({{ measure }}_prior_level + {{ measure }}_prior_tolerance) - 1)
        end as {{ measure }}_yoy_pct_low,
        case when {{ measure }}_prior_level - {{ measure }}_prior_tolerance > 0 then
            100 * (({{ measure }}_current_level + {{ measure }}_current_tolerance) / ({{ measure }}_prior_level - {{ measure }}_prior_tolerance) - 1)
        end as {{ measure }}_yoy_pct_high,
        case when {{ measure }}_prior_level > 0 then
            100 * ({{ measure }}_current_level / {{ measure }}_prior_level - 1)
        end as {{ measure }}_yoy_pct_computed{{ ',' if not loop.last }}
        {%- endfor %}

    from levels

),

final as (

    select
        observation_id,
        release_id,
        source_file,
        row_number,
        area_code,
        area_name,
        year,
        month_from,
        month_to,
        basis,
        period_label,
        total_cny,
        exports_cny,
        imports_cny,
        parts_total_gap_cny,
        parts_total_tolerance_cny,
        parts_total_gap_cny - parts_total_tolerance_cny as parts_total_excess_cny,
        case when parts_total_gap_cny is not null then
            area_label || ' ' || period_label || ' (' || basis || '): exports ' || exports_text || ' + imports ' || imports_text
            || ' do not add up to the published total ' || total_text || ' ' || {{ unit_name('source_unit') }}
            || ' (off by ' || {{ format_number('parts_total_gap_in_unit', 'parts_decimals') }}
            || '; rounding allows ' || {{ format_number('parts_total_tolerance_in_unit', 'parts_decimals + 1') }} || ')'
        end as parts_total_message,
        case when parts_total_gap_cny is not null then
            exports_text || ' + ' || imports_text || ' ' || {{ unit_name('source_unit') }}
        end as parts_total_observed,
        total_text || ' ' || {{ unit_name('source_unit') }} as parts_total_expected,
        {%- for measure in measures %}
        {{ measure }}_yoy_pct,
        {{ measure }}_yoy_pct_computed,
        {{ measure }}_yoy_pct_low,
        {{ measure }}_yoy_pct_high,
        greatest(
            {{ measure }}_yoy_pct_low - ({{ measure }}_yoy_pct + {{ measure }}_yoy_pct_tolerance),
            ({{ measure }}_yoy_pct - {{ measure }}_yoy_pct_tolerance) - {{ measure }}_yoy_pct_high
        ) as {{ measure }}_yoy_gap_pct,
        case when {{ measure }}_yoy_pct is not null and {{ measure }}_yoy_pct_low is not null then
            area_label || ' ' || period_label || ' (' || basis || '): published {{ measure }} growth '
            || {{ format_number(measure ~ '_yoy_pct', measure ~ '_yoy_decimals') }} || '% but the levels (' || {{ measure }}_text || ' vs '
            || {{ figure_text(measure ~ '_prior') }} || ' ' || {{ unit_name('source_unit') }} || ' a year before) give '
            || {{ format_number(measure ~ '_yoy_pct_low', 2) }} || '% to '
            || {{ format_number(measure ~ '_yoy_pct_high', 2) }} || '% (often a revised base)'
        end as {{ measure }}_yoy_message,
        {{ format_number(measure ~ '_yoy_pct', measure ~ '_yoy_decimals') }} || '%' as {{ measure }}_yoy_observed,
        {{ format_number(measure ~ '_yoy_pct_computed', 2) }} || '%' as {{ measure }}_yoy_expected{{ ',' if not loop.last }}
        {%- endfor %}

    from growth_bounds

)

select * from final
