{#
  The rows an incremental model rebuilds: those whose watermark moved since the last build (minus
  var('incremental_lookback_days') for late rows) and, during `crm backfill --from --to`, every row
  whose business time falls in that window (vars backfill_from/backfill_to, inclusive shop days, var shop_timezone).
  The models use delete+insert on their unique key, so rebuilding a row twice never duplicates it.
#}
{% macro incremental_window(watermark_column, event_at_column) -%}
    (
        {{ watermark_column }} > {{ incremental_cutoff(watermark_column) }}
        {%- if backfill_active() %}
        or {{ backfill_window(event_at_column) }}
        {%- endif %}
    )
{%- endmacro %}

{#
  Scalar subquery: the business-time cutoff of an incremental model, max(watermark_column) in
  {{ this }} minus var('incremental_lookback_days'). An input row whose business watermark
  (updated_at of the source, identity evidence time, ...) is later than this must be rebuilt.
  An empty target gives an early date, so everything is (re)built.
#}
{% macro incremental_cutoff(watermark_column) -%}
    {{ latest_built_minus(watermark_column, 'day', var('incremental_lookback_days', 3)) }}
{%- endmacro %}

{#
  Scalar subquery: the load-time cutoff of an incremental model, the latest raw load time
  (raw.<table>._loaded_at, stamped by the loader when it inserts or changes a row) among the rows
  already in {{ this }}. Any input row loaded after it is new or changed, whatever its business
  timestamps say: this catches late updates (an order refunded months after it was placed carries
  an old updated_at, beyond the business-time lookback). Load times are stamped when a batch is
  written and a run's extract finishes before its dbt build starts (runs hold the run lock), so they
  never arrive late and need no lookback; var('incremental_load_lookback_hours') (default 0) adds
  one for loaders that commit outside a run.
#}
{% macro incremental_load_cutoff(loaded_at_column) -%}
    {{ latest_built_minus(loaded_at_column, 'hour', var('incremental_load_lookback_hours', 0)) }}
{%- endmacro %}

{# Scalar subquery shared by both cutoffs: max(column) in {{ this }} minus a lookback; an early date when empty. #}
{% macro latest_built_minus(column, datepart, lookback) -%}
    (
        select coalesce(
            {{ dbt.dateadd(datepart, -1 * lookback, 'max(' ~ column ~ ')') }},
            cast('1900-01-01' as timestamp)
        )
        from {{ this }}
    )
{%- endmacro %}

{# True during `crm backfill --from --to` (both vars set). #}
{% macro backfill_active() -%}
    {{ return(var('backfill_from', none) and var('backfill_to', none)) }}
{%- endmacro %}

{# The backfill window on a business-time column (inclusive days on the shop's clock, macros/shop_time.sql); `1 = 0` outside a backfill. #}
{% macro backfill_window(event_at_column) -%}
    {%- set backfill_from = var('backfill_from', none) -%}
    {%- set backfill_to = var('backfill_to', none) -%}
    {%- if backfill_from and backfill_to -%}
    (
        {{ event_at_column }} >= {{ shop_day_start("cast('" ~ backfill_from ~ "' as date)") }}
        and {{ event_at_column }} < {{ shop_day_start(dbt.dateadd('day', 1, "cast('" ~ backfill_to ~ "' as date)")) }}
    )
    {%- else -%}
    1 = 0
    {%- endif -%}
{%- endmacro %}

{#
  Post-hook of an incremental model keyed by a person (or any key that can vanish upstream, as
  identity resolution merges persons): delete the rows of {{ this }} whose key is no longer in
  `upstream`, so an incremental build holds exactly the keys a full refresh would.
  Delta's DELETE takes no subquery, so Spark uses a MERGE that only deletes (as the project's
  delete+insert on Delta does, macros/spark_adapter.sql).
#}
{% macro delete_vanished_keys(key_column, upstream) -%}
    {{ return(adapter.dispatch('delete_vanished_keys')(key_column, upstream)) }}
{%- endmacro %}

{% macro default__delete_vanished_keys(key_column, upstream) -%}
    delete from {{ this }}
    where {{ key_column }} not in (select {{ key_column }} from {{ upstream }} where {{ key_column }} is not null)
{%- endmacro %}

{% macro spark__delete_vanished_keys(key_column, upstream) -%}
    merge into {{ this }} as crm_dest
    using (
        select built.{{ key_column }}
        from {{ this }} as built
        left join (select distinct {{ key_column }} from {{ upstream }}) as current_keys
            on built.{{ key_column }} = current_keys.{{ key_column }}
        where current_keys.{{ key_column }} is null
    ) as crm_vanished
    on crm_dest.{{ key_column }} = crm_vanished.{{ key_column }}
    when matched then delete
{%- endmacro %}
