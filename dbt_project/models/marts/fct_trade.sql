{#-
    One figure per area, year, month window and basis: the version in force of int_trade_observations_validated
    (the newest that passed the row checks; a real figure always wins over a synthetic one for the same area,
    period and basis); `is_synthetic` says which kind each row is.
-#}
with

validated as (

    select * from {{ ref('int_trade_observations_validated') }}

),

current_figures as (

    select * from validated
    where is_current

),

with_totals as (

    select
        *,
        coalesce(total_cny, exports_cny + imports_cny) as total_cny_filled,
        total_cny is null and exports_cny is not null and imports_cny is not null as is_total_derived

    from current_figures

),

prior_year as (

    select area_code, year + 1 as year, month_from, month_to, basis, total_cny_filled as prior_total_cny,
        exports_cny as prior_exports_cny, imports_cny as prior_imports_cny, is_synthetic
    from with_totals

),

final as (

    select
        with_totals.area_code,
        with_totals.year,
        with_totals.month_from,
        with_totals.month_to,
        with_totals.period_label,
        with_totals.basis,
        with_totals.total_cny_filled as total_cny,
        with_totals.exports_cny,
        with_totals.imports_cny,
        with_totals.is_total_derived,
        with_totals.total_yoy_pct as total_yoy_pct_published,
        case when prior_year.prior_total_cny > 0
            then 100 * (with_totals.total_cny_filled / prior_year.prior_total_cny - 1) end as total_yoy_pct_computed,
        with_totals.exports_yoy_pct as exports_yoy_pct_published,
        case when prior_year.prior_exports_cny > 0
            then 100 * (with_totals.exports_cny / prior_year.prior_exports_cny - 1) end as exports_yoy_pct_computed,
        with_totals.imports_yoy_pct as imports_yoy_pct_published,
        case when prior_year.prior_imports_cny > 0
            then 100 * (with_totals.imports_cny / prior_year.prior_imports_cny - 1) end as imports_yoy_pct_computed,
        with_totals.total_text as total_as_published,
        with_totals.exports_text as exports_as_published,
        with_totals.imports_text as imports_as_published,
        with_totals.source_unit,
        with_totals.source_currency,
        with_totals.cny_per_unit_currency as cny_per_source_currency,
        coalesce(with_totals.total_tolerance_cny, with_totals.exports_tolerance_cny + with_totals.imports_tolerance_cny)
            as total_tolerance_cny,
        with_totals.release_id,
        with_totals.observation_id,
        with_totals.source_file,
        with_totals.publisher,
        with_totals.published_on,
        with_totals.source_url,
        with_totals.is_synthetic,
        with_totals.figure_id

    from with_totals
    left join prior_year
        on with_totals.area_code = prior_year.area_code
        and with_totals.year = prior_year.year
        and with_totals.month_from = prior_year.month_from
        and with_totals.month_to = prior_year.month_to
        and with_totals.basis = prior_year.basis
        and with_totals.is_synthetic = prior_year.is_synthetic

)

select * from final
