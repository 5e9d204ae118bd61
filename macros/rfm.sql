{#-
  The body of a CTE giving one RFM score (1-5) per buyer for one metric, by the method the seed
  rfm_scoring sets for it (docs/concepts.md#rfm-scores-and-segments):
    * bins: the score of the row whose half-open range [lower_bound, upper_bound) holds the value
      (an empty bound is open); a value outside every bin gets a null score;
    * distinct_quantile: the metric's distinct values are ranked worst first (dense_rank, so equal
      values share a rank); value k of d gets ceil(5 x (k - 0.5) / d), the quintile its midpoint
      falls in. Every score 1-5 occurs when d >= 5; d = 1 gives everyone 3. 5 x (2k - 1) / (2d) is
      never a whole number, so floating-point rounding cannot move a value across a score.
  buyers:     relation or CTE with customer_key and the value column, one row per scored customer.
  scoring:    relation or CTE with the rfm_scoring seed's columns (metric, method, score, bounds).
  metric:     'recency', 'frequency' or 'monetary' (the seed's metric).
  value:      the value column of `buyers`.
  higher_is_better: true when a larger value deserves a higher score (false for recency days).
  Output columns: customer_key, score. Portable SQL: dense_rank and max() over () instead of a
  count(distinct) window, which PostgreSQL and others lack; 2.0 keeps the division fractional.
-#}
{% macro rfm_metric_score(buyers, scoring, metric, value, higher_is_better=true) -%}
    select
        ranked.customer_key,
        case methods.method
            when 'bins' then bins.score
            when 'distinct_quantile' then ceiling(5 * (2 * ranked.value_rank - 1) / (2.0 * ranked.value_ranks))
        end as score
    from (
        select
            customer_key,
            metric_value,
            value_rank,
            max(value_rank) over () as value_ranks
        from (
            select
                customer_key,
                {{ value }} as metric_value,
                dense_rank() over (order by {{ value }} {{ 'asc' if higher_is_better else 'desc' }}) as value_rank
            from {{ buyers }}
        ) as ranked_values
    ) as ranked
    left join (
        select min(method) as method from {{ scoring }} where metric = '{{ metric }}'
    ) as methods on 1 = 1
    left join {{ scoring }} as bins
        on bins.metric = '{{ metric }}'
        and bins.method = 'bins'
        and methods.method = 'bins'
        and (bins.lower_bound is null or ranked.metric_value >= bins.lower_bound)
        and (bins.upper_bound is null or ranked.metric_value < bins.upper_bound)
{%- endmacro %}
