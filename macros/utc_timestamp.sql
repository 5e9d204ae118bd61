{#-
  A source instant (TIMESTAMP WITH TIME ZONE) as UTC wall time (TIMESTAMP), the staging convention.
  Portable default: a cast, which means UTC because the profile pins the session TimeZone to UTC.
  DuckDB: the cast goes through ICU's calendar (about 0.3 s per million values, paid by every query
  that filters or joins on a staging timestamp, e.g. the incremental models' watermark checks);
  the instant's epoch microseconds taken as a TIMESTAMP are the same value, independent of the
  session time zone, at a tenth of the cost.
-#}
{% macro utc_timestamp(expr) -%}
    {{ return(adapter.dispatch('utc_timestamp')(expr)) }}
{%- endmacro %}

{% macro default__utc_timestamp(expr) -%}
    cast({{ expr }} as timestamp)
{%- endmacro %}

{% macro duckdb__utc_timestamp(expr) -%}
    make_timestamp(epoch_us({{ expr }}))
{%- endmacro %}
