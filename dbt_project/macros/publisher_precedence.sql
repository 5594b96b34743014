{#-
    The documented precedence of publishers, which decides between releases of the same day that disagree
    (never the order they were loaded in): 1 customs, 2 statistics bureau, 3 commerce department, 4 the press,
    5 anyone else; then the release id. A publisher is judged by the sidecar's `publisher` text, in this order:
    a figure "as reported in the press" (or by a newspaper, news site, 报/新闻/媒体) is the press's, whoever
    first announced it; then customs (海关), a statistics bureau (统计), a commerce department (商务).
-#}
{% macro publisher_rank(publisher) -%}
    case
        when {{ mentions_any(publisher, ['press', 'reported', 'news', 'media', '新闻', '报道', '媒体', '日报']) }} then 4
        when {{ mentions_any(publisher, ['customs', '海关']) }} then 1
        when {{ mentions_any(publisher, ['statistic', '统计']) }} then 2
        when {{ mentions_any(publisher, ['commerce', '商务']) }} then 3
        else 5
    end
{%- endmacro %}

{% macro publisher_kind(publisher) -%}
    case {{ publisher_rank(publisher) }}
        when 1 then 'customs'
        when 2 then 'statistics bureau'
        when 3 then 'commerce department'
        when 4 then 'press'
        else 'other'
    end
{%- endmacro %}

{% macro mentions_any(text, words) -%}
    ({% for word in words %}lower({{ text }}) like '%{{ word }}%'{{ ' or ' if not loop.last }}{% endfor %})
{%- endmacro %}
