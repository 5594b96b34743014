{#-
    The wording of the check models' messages: an area by its names, and every figure of a comparison in one unit,
    the unit the flagged figure was published in. Portable (DuckDB, PostgreSQL).
      area_label(areas, fallback)   Shenzhen 深圳市 (440300): the areas seed joined as `areas`, else `fallback`
      unit_name(unit)               a unit of seeds/units.csv as a reader says it: 100m yuan, trillion yuan, 1k USD
      figure_in_unit_of(figure, unit_of, name)
                                    columns <name>_in_unit, <name>_decimals, <name>_as_written: the total (or another
                                    measure) of relation `figure` in the unit `unit_of` was published in; then
      figure_text(name)             that figure as text: as written when both share the unit, else converted
      format_number(value, decimals)  the value rounded to `decimals` (negative: tens, hundreds, ...), as text; the
                                    same text on both engines, where cast(round(cast(x as numeric), n) as varchar) is not
                                    (DuckDB's numeric is decimal(18, 3): it rounds twice)
    Both relations carry the columns of int_trade_observations_placed: source_unit, source_currency, unit_factor,
    cny_per_unit_currency, <measure>_text, <measure>_cny and <measure>_tolerance_cny (half the written step, in yuan).
    Conversions use the factors of seeds/units.csv and the CNY/USD rate each figure was converted at.
-#}

{% macro area_label(areas, fallback) -%}
    coalesce({{ areas }}.name_en || ' ' || {{ areas }}.name_zh || ' (' || {{ areas }}.area_code || ')', {{ fallback }})
{%- endmacro %}

{% macro unit_name(unit) -%}
    replace(replace({{ unit }}, '_', ' '), 'usd', 'USD')
{%- endmacro %}

{#- a yuan amount of `figure` in `unit_of`'s unit: within the currency when both share it, so no rate moves it -#}
{% macro in_unit_of(figure, unit_of, amount='total_cny') -%}
    case
        when {{ figure }}.source_currency = {{ unit_of }}.source_currency
            then {{ figure }}.{{ amount }} / {{ figure }}.cny_per_unit_currency / {{ unit_of }}.unit_factor
        else {{ figure }}.{{ amount }} / ({{ unit_of }}.cny_per_unit_currency * {{ unit_of }}.unit_factor)
    end
{%- endmacro %}

{#- the decimals a resolution (the step of the last written digit, 0.01 for 3.65) stands for: 2 -#}
{% macro decimals_of(resolution) -%}
    case when {{ resolution }} > 0 then cast(round(-log10({{ resolution }})) as integer) end
{%- endmacro %}

{#- the decimals that leave `digits` significant digits: 3 for 0.5, -6 for 521428571 -#}
{% macro significant_decimals(value, digits=3) -%}
    case when {{ value }} <> 0 then {{ digits - 1 }} - cast(floor(log10(abs({{ value }}))) as integer) else 0 end
{%- endmacro %}

{#-
    A figure shown in another's unit: 3 significant digits. When only the scale changed (438467.9 100m yuan read as
    trillion yuan) the conversion is exact, so it may keep as many decimals as the figure it is compared with
    (43.85 next to 45.47), as far as its own published precision (`resolution`, in the new unit) goes.
-#}
{% macro converted_decimals(value, resolution, compared_decimals, same_currency) -%}
    case
        when {{ same_currency }} then greatest(
            {{ significant_decimals(value) }},
            coalesce(least({{ compared_decimals }}, {{ decimals_of(resolution) }}), {{ significant_decimals(value) }})
        )
        else {{ significant_decimals(value) }}
    end
{%- endmacro %}

{#-
    A float as a decimal of 12 places first: PostgreSQL reads a float as its 15 significant digits, DuckDB as its
    binary value, so 4.185 (4.18499999... in binary) would round to 4.19 on one and 4.18 on the other.
-#}
{% macro exact(value) -%}
    cast({{ value }} as decimal(38, 12))
{%- endmacro %}

{% macro format_number(value, decimals) -%}
    {%- if decimals is number and decimals >= 0 -%}
    cast(cast({{ exact(value) }} as decimal(38, {{ decimals }})) as {{ dbt.type_string() }})
    {%- else -%}
    case
        when {{ value }} is null then null
        when {{ decimals }} is null then cast({{ value }} as {{ dbt.type_string() }})
        {%- for places in range(9, 0, -1) %}
        when {{ decimals }} >= {{ places }} then cast(cast({{ exact(value) }} as decimal(38, {{ places }})) as {{ dbt.type_string() }})
        {%- endfor %}
        when {{ decimals }} >= 0 then cast(cast({{ exact(value) }} as decimal(38, 0)) as {{ dbt.type_string() }})
        {%- for places in range(1, 13) %}
        {% if not loop.last %}when {{ decimals }} >= -{{ places }} then{% else %}else{% endif %}
            cast(cast(round({{ value }} / 1e{{ places }}) * 1e{{ places }} as decimal(38, 0)) as {{ dbt.type_string() }})
        {%- endfor %}
    end
    {%- endif -%}
{%- endmacro %}

{% macro figure_in_unit_of(figure, unit_of, name, measure='total') -%}
    {%- set value = in_unit_of(figure, unit_of, measure ~ '_cny') -%}
    {%- set resolution = '2 * ' ~ in_unit_of(figure, unit_of, measure ~ '_tolerance_cny') -%}
    {%- set compared_resolution = '2 * ' ~ unit_of ~ '.' ~ measure ~ '_tolerance_cny / (' ~ unit_of
        ~ '.cny_per_unit_currency * ' ~ unit_of ~ '.unit_factor)' -%}
    {{ value }} as {{ name }}_in_unit,
    {{ converted_decimals(value, resolution, decimals_of(compared_resolution),
        figure ~ '.source_currency = ' ~ unit_of ~ '.source_currency') }} as {{ name }}_decimals,
    case when {{ figure }}.source_unit = {{ unit_of }}.source_unit then {{ figure }}.{{ measure }}_text end as {{ name }}_as_written
{%- endmacro %}

{% macro figure_text(name) -%}
    coalesce({{ name }}_as_written, {{ format_number(name ~ '_in_unit', name ~ '_decimals') }})
{%- endmacro %}
