-- Executive KPIs beyond revenue, one row per period_grain ('day', 'week', 'month') x period_start
-- (calendar periods of the shop's days, var shop_timezone; weeks start on Monday): the ADDITIVE PARTS of each KPI for the period, and
-- beside each the same part of the previous period of the same grain (prev_*).
--
-- No ratio and no change is computed here: the repeat rate, retention rate, satisfaction, complaint,
-- return and dispute rates per 1,000 orders, negative share and sentiment index, their previous-period
-- values and every change (this period - previous) are measures of the kpi_periods cube
-- (cube/model/cubes/kpi_periods.yml), each defined there once over the sums of these columns
-- (macros/kpi_definitions.sql says why).
--
-- Every part is the one defined elsewhere in the marts, re-aggregated:
--   gross_sales, orders        fct_orders valid sales PLACED in the period (by order date), accidental
--                              orders included (they are sales, just nobody's customer value), as the
--                              orders cube counts them: items gross - order discount (never below 0)
--                              per order, in the reporting currency at the order's rate; an order
--                              without an fx rate counts as an order but adds no money, and is counted
--                              in orders_without_fx_rate; orders is also the denominator of the
--                              per-1,000-orders rates
--   refunds, credit_notes      fct_order_refunds that count in sales (effective refunds of valid sales
--                              and credit notes naming no order) PAID in the period (by refund date,
--                              when the money moved), in the reporting currency; credit_notes is the
--                              part naming no order; refunds_without_fx_rate those left out unconverted
--   revenue                    gross_sales - refunds: net of what was sold and what was paid back in
--                              the period; no floor, a period with more refunds than sales is negative
--                              (fct_orders.net_revenue, by order date and floored at 0 per order, is
--                              the per-order view; summed over all periods the two differ only by
--                              those floors; DECISIONLOG.md, docs/dbt-models.md)
--   guest_orders, guest_revenue guest checkouts (fct_orders.is_guest_order) among those orders and
--                              their part of revenue (guest sales - refunds of guest orders and credit
--                              notes naming no customer): never in a customer count
--   active/new/returning/      persons (credited_customer_key) with a credited valid sale, as
--   repeat customers           fct_customer_activity_monthly (the monthly rows are equal, tested)
--   retained_customers,        persons active in the period and in the previous one; the previous
--   retention_base_customers   period's active persons (null when that period has no row)
--   tickets, rated_tickets,    fct_service_quality_daily's sums
--   satisfaction_sum
--   median reply/resolution    percentile over fct_service_tickets opened in the period (medians do
--                              not re-aggregate from daily medians: not parts, they stay per row)
--   complaint/return/dispute   fct_service_rates_daily's sums
--   mentions, negative_,       fct_opinion_daily's sums
--   scored_mentions, score sum
-- A period exists when it has an order, a refund, a ticket or a mention. prev_* is null when the previous
-- period has no row (before the data starts, or a period with no activity at all).
--
-- Average predicted value and customers at risk come from customer_value, which is scored once, as
-- of the as-of date: there is no history of predictions, so these two are a snapshot carried only
-- on the rows of the periods that contain the as-of date (is_current_period) and null elsewhere,
-- with no previous value. The current period is usually incomplete (is_complete = false).
{%- set grains = ['day', 'week', 'month'] %}
{%- set as_of_date = var('as_of_date', none) %}
{%- set compared = [
    ('revenue', 'decimal(18, 2)'),
    ('gross_sales', 'decimal(18, 2)'),
    ('refunds', 'decimal(18, 2)'),
    ('orders', 'integer'),
    ('active_customers', 'integer'),
    ('new_customers', 'integer'),
    ('returning_customers', 'integer'),
    ('repeat_customers', 'integer'),
    ('retained_customers', 'integer'),
    ('tickets', 'integer'),
    ('rated_tickets', 'integer'),
    ('satisfaction_sum', 'bigint'),
    ('first_reply_minutes_median', 'double'),
    ('resolution_minutes_median', 'double'),
    ('complaint_tickets', 'integer'),
    ('return_tickets', 'integer'),
    ('dispute_tickets', 'integer'),
    ('mentions', 'integer'),
    ('negative_mentions', 'integer'),
    ('scored_mentions', 'integer'),
    ('sentiment_score_sum', 'double'),
] %}

with grains as (
    {%- for grain in grains %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select '{{ grain }}' as period_grain
    {%- endfor %}
),

orders as (
    select
        order_id, order_date, credited_customer_key, ordered_at, has_fx_rate, is_guest_order,
        -- What the order sold after its checkout discount, in the reporting currency (null without a rate).
        round(greatest(gross_amount - discount_amount, 0) * fx_rate, 2) as sales_reporting
    from {{ ref('fct_orders') }}
    where is_valid_sale and order_date is not null
),

refunds as (
    select refund_date, is_credit_note, is_guest_refund, has_fx_rate, amount_reporting
    from {{ ref('fct_order_refunds') }}
    where counts_in_sales and refund_date is not null
),

as_of as (
    {%- if as_of_date %}
    select cast('{{ as_of_date }}' as date) as as_of_date
    {%- else %}
    select {{ shop_date('max(ordered_at)') }} as as_of_date from orders
    {%- endif %}
),

-- Credited sales with the person's running order number and first purchase date.
credited as (
    select
        credited_customer_key as customer_key,
        order_date,
        row_number() over (partition by credited_customer_key order by ordered_at, order_id) as order_number,
        min(order_date) over (partition by credited_customer_key) as first_order_date
    from orders
    where credited_customer_key is not null
),

sales_by_period as (
    select
        grains.period_grain,
        {{ kpi_period_start('grains.period_grain', 'orders.order_date') }} as period_start,
        coalesce(sum(orders.sales_reporting), 0) as gross_sales,
        count(*) as orders,
        sum(case when orders.has_fx_rate then 0 else 1 end) as orders_without_fx_rate,
        sum(case when orders.is_guest_order then 1 else 0 end) as guest_orders,
        coalesce(sum(case when orders.is_guest_order then orders.sales_reporting end), 0) as guest_sales
    from orders
    cross join grains
    group by grains.period_grain, {{ kpi_period_start('grains.period_grain', 'orders.order_date') }}
),

refunds_by_period as (
    select
        grains.period_grain,
        {{ kpi_period_start('grains.period_grain', 'refunds.refund_date') }} as period_start,
        coalesce(sum(refunds.amount_reporting), 0) as refunds,
        coalesce(sum(case when refunds.is_credit_note then refunds.amount_reporting end), 0) as credit_notes,
        sum(case when refunds.has_fx_rate then 0 else 1 end) as refunds_without_fx_rate,
        coalesce(sum(case when refunds.is_guest_refund then refunds.amount_reporting end), 0) as guest_refunds
    from refunds
    cross join grains
    group by grains.period_grain, {{ kpi_period_start('grains.period_grain', 'refunds.refund_date') }}
),

person_periods as (
    select
        grains.period_grain,
        {{ kpi_period_start('grains.period_grain', 'credited.order_date') }} as period_start,
        credited.customer_key,
        max(case
            when {{ kpi_period_start('grains.period_grain', 'credited.first_order_date') }}
                = {{ kpi_period_start('grains.period_grain', 'credited.order_date') }}
                then 1
            else 0
        end) as is_new,
        max(credited.order_number) as orders_to_date
    from credited
    cross join grains
    group by grains.period_grain, {{ kpi_period_start('grains.period_grain', 'credited.order_date') }}, credited.customer_key
),

customers_by_period as (
    select
        this_period.period_grain,
        this_period.period_start,
        count(*) as active_customers,
        sum(this_period.is_new) as new_customers,
        sum(case when this_period.orders_to_date >= 2 then 1 else 0 end) as repeat_customers,
        sum(case when previous_period.customer_key is not null then 1 else 0 end) as retained_customers
    from person_periods as this_period
    left join person_periods as previous_period
        on this_period.period_grain = previous_period.period_grain
        and this_period.customer_key = previous_period.customer_key
        and {{ kpi_previous_period_start('this_period.period_grain', 'this_period.period_start') }} = previous_period.period_start
    group by this_period.period_grain, this_period.period_start
),

service_by_period as (
    select
        grains.period_grain,
        {{ kpi_period_start('grains.period_grain', 'quality.day') }} as period_start,
        sum(quality.tickets) as tickets,
        sum(quality.rated_tickets) as rated_tickets,
        sum(quality.satisfaction_sum) as satisfaction_sum
    from {{ ref('fct_service_quality_daily') }} as quality
    cross join grains
    group by grains.period_grain, {{ kpi_period_start('grains.period_grain', 'quality.day') }}
),

service_times_by_period as (
    select
        grains.period_grain,
        {{ kpi_period_start('grains.period_grain', 'tickets.opened_date') }} as period_start,
        {{ percentile('tickets.first_reply_minutes', 0.5) }} as first_reply_minutes_median,
        {{ percentile('tickets.resolution_minutes', 0.5) }} as resolution_minutes_median
    from {{ ref('fct_service_tickets') }} as tickets
    cross join grains
    where tickets.opened_date is not null
    group by grains.period_grain, {{ kpi_period_start('grains.period_grain', 'tickets.opened_date') }}
),

rates_by_period as (
    select
        grains.period_grain,
        {{ kpi_period_start('grains.period_grain', 'rates.day') }} as period_start,
        sum(rates.complaint_tickets) as complaint_tickets,
        sum(rates.return_tickets) as return_tickets,
        sum(rates.dispute_tickets) as dispute_tickets
    from {{ ref('fct_service_rates_daily') }} as rates
    cross join grains
    group by grains.period_grain, {{ kpi_period_start('grains.period_grain', 'rates.day') }}
),

opinion_by_period as (
    select
        grains.period_grain,
        {{ kpi_period_start('grains.period_grain', 'opinion.day') }} as period_start,
        sum(opinion.mentions) as mentions,
        sum(opinion.negative_mentions) as negative_mentions,
        sum(opinion.scored_mentions) as scored_mentions,
        -- Rounded: a parallel floating-point sum is not associative, so the unrounded sum can differ in
        -- the last bits between two builds of the same data (the index divides this rounded sum).
        round(sum(opinion.sentiment_score_sum), 6) as sentiment_score_sum
    from {{ ref('fct_opinion_daily') }} as opinion
    cross join grains
    group by grains.period_grain, {{ kpi_period_start('grains.period_grain', 'opinion.day') }}
),

periods as (
    select period_grain, period_start from sales_by_period
    union
    select period_grain, period_start from refunds_by_period
    union
    select period_grain, period_start from service_by_period
    union
    select period_grain, period_start from opinion_by_period
),

-- Snapshot of customer_value as of the as-of date (see the header).
value_snapshot as (
    select
        avg(predicted_value_365d) as avg_predicted_value_365d,
        count(predicted_value_365d) as predicted_customers,
        sum(case when churn_risk_band = 'high' then 1 else 0 end) as customers_at_risk
    from {{ ref('customer_value') }}
),

kpis as (
    select
        periods.period_grain,
        periods.period_start,
        coalesce(sales.gross_sales, 0) - coalesce(refunds.refunds, 0) as revenue,
        coalesce(sales.gross_sales, 0) as gross_sales,
        coalesce(refunds.refunds, 0) as refunds,
        coalesce(refunds.credit_notes, 0) as credit_notes,
        coalesce(refunds.refunds_without_fx_rate, 0) as refunds_without_fx_rate,
        coalesce(sales.orders, 0) as orders,
        coalesce(sales.orders_without_fx_rate, 0) as orders_without_fx_rate,
        coalesce(sales.guest_orders, 0) as guest_orders,
        coalesce(sales.guest_sales, 0) - coalesce(refunds.guest_refunds, 0) as guest_revenue,
        coalesce(customers.active_customers, 0) as active_customers,
        coalesce(customers.new_customers, 0) as new_customers,
        coalesce(customers.active_customers, 0) - coalesce(customers.new_customers, 0) as returning_customers,
        coalesce(customers.repeat_customers, 0) as repeat_customers,
        coalesce(customers.retained_customers, 0) as retained_customers,
        coalesce(service.tickets, 0) as tickets,
        coalesce(service.rated_tickets, 0) as rated_tickets,
        coalesce(service.satisfaction_sum, 0) as satisfaction_sum,
        service_times.first_reply_minutes_median,
        service_times.resolution_minutes_median,
        coalesce(rates.complaint_tickets, 0) as complaint_tickets,
        coalesce(rates.return_tickets, 0) as return_tickets,
        coalesce(rates.dispute_tickets, 0) as dispute_tickets,
        coalesce(opinion.mentions, 0) as mentions,
        coalesce(opinion.negative_mentions, 0) as negative_mentions,
        coalesce(opinion.scored_mentions, 0) as scored_mentions,
        coalesce(opinion.sentiment_score_sum, 0) as sentiment_score_sum
    from periods
    left join sales_by_period as sales
        on periods.period_grain = sales.period_grain and periods.period_start = sales.period_start
    left join refunds_by_period as refunds
        on periods.period_grain = refunds.period_grain and periods.period_start = refunds.period_start
    left join customers_by_period as customers
        on periods.period_grain = customers.period_grain and periods.period_start = customers.period_start
    left join service_by_period as service
        on periods.period_grain = service.period_grain and periods.period_start = service.period_start
    left join service_times_by_period as service_times
        on periods.period_grain = service_times.period_grain and periods.period_start = service_times.period_start
    left join rates_by_period as rates
        on periods.period_grain = rates.period_grain and periods.period_start = rates.period_start
    left join opinion_by_period as opinion
        on periods.period_grain = opinion.period_grain and periods.period_start = opinion.period_start
),

-- Each part beside the same part of the previous period; retention_base_customers is the previous
-- period's active persons (null when that period has no row).
compared as (
    select
        this_period.*,
        previous_period.period_start as prev_period_start,
        {%- for kpi, _ in compared %}
        previous_period.{{ kpi }} as prev_{{ kpi }},
        {%- endfor %}
        previous_period.active_customers as retention_base_customers
    from kpis as this_period
    left join kpis as previous_period
        on this_period.period_grain = previous_period.period_grain
        and {{ kpi_previous_period_start('this_period.period_grain', 'this_period.period_start') }} = previous_period.period_start
),

-- The previous period's retention base (the persons active two periods back).
with_prev_retention as (
    select
        compared.*,
        earlier.retention_base_customers as prev_retention_base_customers
    from compared
    left join compared as earlier
        on compared.period_grain = earlier.period_grain
        and compared.prev_period_start = earlier.period_start
)

select
    with_prev_retention.period_grain,
    cast(with_prev_retention.period_start as date) as period_start,
    cast({{ kpi_period_end('with_prev_retention.period_grain', 'with_prev_retention.period_start') }} as date) as period_end,
    cast(with_prev_retention.prev_period_start as date) as prev_period_start,
    coalesce(
        as_of.as_of_date >= with_prev_retention.period_start
        and as_of.as_of_date <= {{ kpi_period_end('with_prev_retention.period_grain', 'with_prev_retention.period_start') }},
        false
    ) as is_current_period,
    coalesce(
        as_of.as_of_date > {{ kpi_period_end('with_prev_retention.period_grain', 'with_prev_retention.period_start') }}, false
    ) as is_complete,
    as_of.as_of_date,
    {%- for kpi, data_type in compared %}
    cast(with_prev_retention.{{ kpi }} as {{ data_type }}) as {{ kpi }},
    cast(with_prev_retention.prev_{{ kpi }} as {{ data_type }}) as prev_{{ kpi }},
    {%- endfor %}
    cast(with_prev_retention.orders_without_fx_rate as integer) as orders_without_fx_rate,
    cast(with_prev_retention.credit_notes as decimal(18, 2)) as credit_notes,
    cast(with_prev_retention.refunds_without_fx_rate as integer) as refunds_without_fx_rate,
    cast(with_prev_retention.guest_orders as integer) as guest_orders,
    cast(with_prev_retention.guest_revenue as decimal(18, 2)) as guest_revenue,
    cast(with_prev_retention.retention_base_customers as integer) as retention_base_customers,
    cast(with_prev_retention.prev_retention_base_customers as integer) as prev_retention_base_customers,
    cast(
        case
            when with_prev_retention.period_start <= as_of.as_of_date
                and as_of.as_of_date <= {{ kpi_period_end('with_prev_retention.period_grain', 'with_prev_retention.period_start') }}
                then round(value_snapshot.avg_predicted_value_365d, 2)
        end as decimal(18, 2)
    ) as avg_predicted_value_365d,
    cast(
        case
            when with_prev_retention.period_start <= as_of.as_of_date
                and as_of.as_of_date <= {{ kpi_period_end('with_prev_retention.period_grain', 'with_prev_retention.period_start') }}
                and value_snapshot.predicted_customers > 0
                then value_snapshot.customers_at_risk
        end as integer
    ) as customers_at_risk
from with_prev_retention
cross join as_of
cross join value_snapshot
