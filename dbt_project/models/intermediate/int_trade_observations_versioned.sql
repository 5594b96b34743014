{#-
    Every loaded trade figure in yuan, ranked among the versions of the same figure (area, year, month window,
    basis). This is the one definition of which version of a figure is in force: `version_rank` 1 is the newest
    published version (the row's own date where a compilation gives one), a real figure always before a
    synthetic one (synthetic data never displaces real data); between versions published the same day, the
    publisher's precedence decides (customs, statistics bureau, commerce department, press), then the release
    id, never the order of loading;
    int_trade_observations_validated reads it to pick the best version that passed the row checks. A file
    replaced at the same path keeps its old rows here as history, but they no longer compete (version_rank null).
    USD figures are converted at the rate of their window (int_cny_usd_rates_windowed).
-#}
{%- set measures = ['total', 'exports', 'imports'] %}
with

sourced as (

    select * from {{ ref('int_trade_observations_sourced') }}

),

releases as (

    select * from {{ ref('int_releases_ordered') }}
    where is_latest_file_version is not null

),

window_rates as (

    select * from {{ ref('int_cny_usd_rates_windowed') }}

),

with_rates as (

    select
        sourced.*,
        case when sourced.source_currency = 'USD' then window_rates.cny_per_usd else 1.0 end as cny_per_unit_currency,
        case when sourced.source_currency = 'USD' then window_rates.cny_usd_rate_kind end as cny_usd_rate_kind,
        releases.is_latest_file_version,
        releases.publisher_kind,
        releases.publisher_rank

    from sourced
    inner join releases
        on sourced.release_id = releases.release_id
    left join window_rates
        on sourced.source_currency = 'USD'
        and sourced.year = window_rates.year
        and sourced.month_from = window_rates.month_from
        and sourced.month_to = window_rates.month_to

),

in_yuan as (

    select
        *,
        {%- for measure in measures %}
        {{ measure }}_source_currency * cny_per_unit_currency as {{ measure }}_cny,
        {%- endfor %}
        {%- for measure in measures %}
        {{ measure }}_tolerance_source_currency * cny_per_unit_currency as {{ measure }}_tolerance_cny{{ ',' if not loop.last }}
        {%- endfor %}

    from with_rates

),

final as (

    select
        *,
        case when is_latest_file_version then
            row_number() over (
                partition by area_code, year, month_from, month_to, basis, is_latest_file_version
                order by case when is_synthetic then 1 else 0 end, published_on desc, publisher_rank, release_id desc
            )
        end as version_rank

    from in_yuan

)

select * from final
