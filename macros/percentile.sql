{#-
  Continuous percentile (linear interpolation between the two nearest values, as SQL's
  percentile_cont) of a numeric expression, as an aggregate. The ordered-set syntax is standard SQL
  (DuckDB, PostgreSQL, Snowflake, Redshift) but Spark before 3.3 lacks it, so it is dispatched.
  fraction is a literal between 0 and 1, e.g. percentile('first_reply_minutes', 0.9).
-#}
{% macro percentile(expr, fraction) -%}
    {{ return(adapter.dispatch('percentile')(expr, fraction)) }}
{%- endmacro %}

{% macro default__percentile(expr, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expr }})
{%- endmacro %}

{#- Spark's percentile() is exact and interpolates like percentile_cont; percentile_approx is the
    bounded-memory alternative for very large groups (approximate, not interpolated). -#}
{% macro spark__percentile(expr, fraction) -%}
    percentile({{ expr }}, {{ fraction }})
{%- endmacro %}
