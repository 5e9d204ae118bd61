{#-
  The as-of moment of the customer scores and triggers: the body of a one-row `as_of` CTE with
  as_of_at (a timestamp) and as_of_date (its day, a date).
    * var('as_of_date') set (an ISO date, e.g. --vars '{as_of_date: "2025-12-31"}'): midnight at
      the start of that day on the shop's clock (var shop_timezone), as UTC wall time;
    * unset (the default): the latest ordered_at in `orders`, so a sample scores deterministically
      as of its own last order.
  as_of_date is the shop's day of as_of_at (macros/shop_time.sql).
  `orders` is a relation or CTE name with an ordered_at column (fct_orders or a CTE over it).
  Use:  as_of as ( {{ as_of('orders') }} )   then cross join as_of.
-#}
{% macro as_of(orders) -%}
    {%- set as_of_date = var('as_of_date', none) %}
    select
        as_of_at,
        {{ shop_date('as_of_at') }} as as_of_date
    from (
        {%- if as_of_date %}
        select {{ shop_day_start("cast('" ~ as_of_date ~ "' as date)") }} as as_of_at
        {%- else %}
        select max(ordered_at) as as_of_at from {{ orders }}
        {%- endif %}
    ) as as_of_moment
{%- endmacro %}
