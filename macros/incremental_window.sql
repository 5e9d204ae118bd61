{#
  The rows an incremental model rebuilds: those whose watermark moved since the last build (minus
  var('incremental_lookback_days') for late rows) and, during `crm backfill --from --to`, every row
  whose business time falls in that window (vars backfill_from/backfill_to, inclusive days, UTC).
  The models use delete+insert on their unique key, so rebuilding a row twice never duplicates it.
#}
{% macro incremental_window(watermark_column, event_at_column) -%}
    {%- set backfill_from = var('backfill_from', none) -%}
    {%- set backfill_to = var('backfill_to', none) -%}
    {%- set window_end = dbt.dateadd('day', 1, "cast('" ~ backfill_to ~ "' as timestamp)") -%}
    (
        {{ watermark_column }} > (
            select {{ dbt.dateadd('day', -1 * var('incremental_lookback_days', 3), 'max(' ~ watermark_column ~ ')') }}
            from {{ this }}
        )
        {%- if backfill_from and backfill_to %}
        or (
            {{ event_at_column }} >= cast('{{ backfill_from }}' as timestamp)
            and {{ event_at_column }} < {{ window_end }}
        )
        {%- endif %}
    )
{%- endmacro %}
