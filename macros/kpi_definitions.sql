{#-
  Where each KPI ratio is defined. The choice: the ADDITIVE PARTS live in dbt and the RATIO over any
  slice is a Cube measure, defined once, so rollups stay additive and no formula has two copies.
    * dbt (the marts) owns the parts: counts and sums such as orders / valid_orders,
      complaint_tickets, rated_tickets + satisfaction_sum, scored_mentions + sentiment_score_sum,
      repeat_customers + active_customers, retained_customers + retention_base_customers, and in
      fct_kpi_periods the same parts of the previous period (prev_*). Every grain and every Cube
      rollup adds these up. The marts store no ratio of them and no change between periods.
    * Cube owns every ratio of those parts, for whatever the query groups by: kpi_periods (with the
      previous-period ratios and the changes), service_rates_daily, service_quality_daily and
      opinion_daily define each ratio measure (type: number) as "scale * {numerator} /
      NULLIF({denominator}, 0)" over their sum measures, never as a mean of stored ratios: a zero or
      null denominator gives null (no figure), never 0. Change a ratio's definition there, and read
      it (API, dashboard, tests) through the semantic layer.
  What stays computed in dbt is what cannot be a ratio of sums: medians and percentiles (per row),
  and the negative-spike baseline (mean and standard deviation) the spike flag is decided on.
  DECISIONLOG.md: "KPI ratios are Cube measures over additive mart columns".
-#}

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
