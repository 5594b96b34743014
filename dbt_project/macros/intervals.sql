{#-
    Whether two published figures contradict each other: a figure v written with precision p stands for the
    half-open interval [v - p/2, v + p/2) (tolerance = p/2), so 1.57 and 1.58 at two decimals are disjoint
    ([1.565, 1.575) and [1.575, 1.585)) and contradict, while 1.58 and 1.575 do not. The intervals are disjoint
    when the figures lie at least the sum of their tolerances apart; a relative 1e-9 absorbs the binary
    rounding of values converted to yuan (1.58 x 1e12), which is far below any published precision.
-#}
{% macro intervals_disjoint(value_a, tolerance_a, value_b, tolerance_b) -%}
    (abs({{ value_a }} - {{ value_b }}) > 0
        and abs({{ value_a }} - {{ value_b }}) >= ({{ tolerance_a }} + {{ tolerance_b }}) * (1 - 1e-9))
{%- endmacro %}
