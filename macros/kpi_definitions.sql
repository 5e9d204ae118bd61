{#-
  Where each KPI ratio is defined. The choice: the ADDITIVE
  PARTS live in dbt and the RATIO over any slice is a Cube measure, so rollups stay additive.
    * dbt (the marts) owns the parts: counts and sums such as valid_orders, complaint_tickets,
      rated_tickets + satisfaction_sum, scored_mentions + sentiment_score_sum, repeat_customers +
      active_customers. Every grain and every Cube rollup adds these up.
    * Cube owns the ratio of those parts for whatever the query groups by: kpi_periods,
      service_rates_daily, service_quality_daily and opinion_daily define each ratio measure
      (type: number) as "scale * {numerator} / NULLIF({denominator}, 0)" over their sum measures,
      never as a mean of stored ratios. Change a ratio's definition there.
    * The ratio columns the marts also carry (fct_kpi_periods.complaint_rate_per_1000_orders,
      fct_service_rates_daily.*_rate_per_1000_orders, ...) are the same ratio for the row's own
      period only: they are contracted outputs that the API, the prev_* / *_change columns and the
      dbt tests read, and the Cube measures on a single row give the same figure. dbt writes them
      only through the macros below, one per ratio, so dbt has no second copy of any formula.
  The macros take additive parts, so a rate over a longer period is the ratio of the summed parts,
  never a mean of daily ratios. A zero or null denominator gives null (no figure), never 0, like
  Cube's NULLIF.
-#}

{#- numerator / denominator as a double; null when the denominator is 0 or null. -#}
{% macro kpi_ratio(numerator, denominator) -%}
    case when {{ denominator }} > 0 then 1.0 * {{ numerator }} / {{ denominator }} end
{%- endmacro %}

{#- Events per thousand valid orders (complaint, return and dispute rates). -#}
{% macro kpi_rate_per_thousand(events, valid_orders) -%}
    case when {{ valid_orders }} > 0 then 1000.0 * {{ events }} / {{ valid_orders }} end
{%- endmacro %}

{#- Satisfaction: mean 1-5 score of the rated tickets (satisfaction_sum / rated_tickets). -#}
{% macro kpi_satisfaction(satisfaction_sum, rated_tickets) -%}
    {{ kpi_ratio(satisfaction_sum, rated_tickets) }}
{%- endmacro %}

{#- Sentiment index: mean sentiment_score (-1..1) of the scored mentions (score_sum / scored). -#}
{% macro kpi_sentiment_index(sentiment_score_sum, scored_mentions) -%}
    {{ kpi_ratio(sentiment_score_sum, scored_mentions) }}
{%- endmacro %}

{#-
  Start of the period of grain grain_column ('day', 'week' or 'month', a column or literal) that
  contains the date date_expr, and the start of the period before a period start. Cross-database:
  dbt.date_trunc / dbt.dateadd, one branch per grain. Weeks follow the adapter's date_trunc('week')
  (ISO weeks from Monday on DuckDB, PostgreSQL and Spark).
-#}
{% macro kpi_period_start(grain_column, date_expr) -%}
    case {{ grain_column }}
        when 'day' then cast({{ date_expr }} as date)
        when 'week' then cast({{ dbt.date_trunc('week', date_expr) }} as date)
        when 'month' then cast({{ dbt.date_trunc('month', date_expr) }} as date)
    end
{%- endmacro %}

{% macro kpi_previous_period_start(grain_column, period_start_expr) -%}
    case {{ grain_column }}
        when 'day' then cast({{ dbt.dateadd('day', -1, period_start_expr) }} as date)
        when 'week' then cast({{ dbt.dateadd('day', -7, period_start_expr) }} as date)
        when 'month' then cast({{ dbt.dateadd('month', -1, period_start_expr) }} as date)
    end
{%- endmacro %}

{#- Last day of the period that starts at period_start_expr. -#}
{% macro kpi_period_end(grain_column, period_start_expr) -%}
    case {{ grain_column }}
        when 'day' then cast({{ period_start_expr }} as date)
        when 'week' then cast({{ dbt.dateadd('day', 6, period_start_expr) }} as date)
        when 'month' then cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, period_start_expr)) }} as date)
    end
{%- endmacro %}

{#- A value as text for human-readable reasons ('?' when null), portable across adapters. -#}
{% macro reason_text(expr) -%}
    coalesce(cast({{ expr }} as {{ api.Column.translate_type('string') }}), '?')
{%- endmacro %}
