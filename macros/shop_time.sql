{#-
  The shop's calendar. Staging keeps every instant as UTC wall time (TIMESTAMP, see utc_timestamp);
  every date the marts derive from an instant (order, refund, ticket, post and resolution days, the
  months of cohorts and activity, KPI periods, the as-of day) is the day on the shop's clock, in the
  IANA zone var('shop_timezone') (config shop.timezone, default Asia/Shanghai), daylight saving
  included. These two macros are the only place a zone is applied:
    shop_date(ts)        -> DATE: the shop's calendar day of the UTC instant ts;
    shop_day_start(day)  -> TIMESTAMP (UTC wall time): the instant that shop day begins, so
                            `ts >= shop_day_start(d) and ts < shop_day_start(d + 1)` is day d.
  Portable default: Postgres' AT TIME ZONE (timestamp -> timestamptz -> local timestamp).
  DuckDB: the same through ICU's timezone(); Spark: from_utc_timestamp / to_utc_timestamp.
  Zone UTC skips the conversion (a plain cast).
-#}
{% macro shop_timezone() -%}
    {%- set tz = var('shop_timezone', 'Asia/Shanghai') -%}
    {%- if not tz or "'" in tz or '\\' in tz -%}
        {{ exceptions.raise_compiler_error("var shop_timezone must be an IANA time zone name, got: " ~ tz) }}
    {%- endif -%}
    {{ return(tz) }}
{%- endmacro %}

{% macro shop_date(ts) -%}
    {{ return(adapter.dispatch('shop_date')(ts)) }}
{%- endmacro %}

{% macro default__shop_date(ts) -%}
    {%- set tz = shop_timezone() -%}
    {%- if tz == 'UTC' -%}
    cast({{ ts }} as date)
    {%- else -%}
    cast((({{ ts }}) at time zone 'UTC') at time zone '{{ tz }}' as date)
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__shop_date(ts) -%}
    {%- set tz = shop_timezone() -%}
    {%- if tz == 'UTC' -%}
    cast({{ ts }} as date)
    {%- else -%}
    cast(timezone('{{ tz }}', timezone('UTC', {{ ts }})) as date)
    {%- endif -%}
{%- endmacro %}

{% macro spark__shop_date(ts) -%}
    {%- set tz = shop_timezone() -%}
    {%- if tz == 'UTC' -%}
    to_date({{ ts }})
    {%- else -%}
    to_date(from_utc_timestamp({{ ts }}, '{{ tz }}'))
    {%- endif -%}
{%- endmacro %}

{% macro shop_day_start(day) -%}
    {{ return(adapter.dispatch('shop_day_start')(day)) }}
{%- endmacro %}

{% macro default__shop_day_start(day) -%}
    {%- set tz = shop_timezone() -%}
    {%- if tz == 'UTC' -%}
    cast({{ day }} as timestamp)
    {%- else -%}
    ((cast({{ day }} as timestamp) at time zone '{{ tz }}') at time zone 'UTC')
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__shop_day_start(day) -%}
    {%- set tz = shop_timezone() -%}
    {%- if tz == 'UTC' -%}
    cast({{ day }} as timestamp)
    {%- else -%}
    timezone('UTC', timezone('{{ tz }}', cast({{ day }} as timestamp)))
    {%- endif -%}
{%- endmacro %}

{% macro spark__shop_day_start(day) -%}
    {%- set tz = shop_timezone() -%}
    {%- if tz == 'UTC' -%}
    cast({{ day }} as timestamp)
    {%- else -%}
    to_utc_timestamp(cast({{ day }} as timestamp), '{{ tz }}')
    {%- endif -%}
{%- endmacro %}
