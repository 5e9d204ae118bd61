-- The CLV scorer's per-person predictions (see _ml__sources.yml), typed and renamed for the marts.
with source as (
    select * from {{ source('ml', 'clv_predictions') }}
)

select
    customer_key,
    model_name,
    model_version,
    fitted_at,
    calibration_end,
    frequency as repeat_purchase_days,
    recency_days as repeat_recency_days,
    tenure_days,
    avg_order_value as expected_value_per_purchase,
    predicted_orders_90d,
    predicted_orders_365d,
    predicted_value_90d,
    predicted_value_365d,
    probability_alive,
    probability_purchase_90d,
    expected_next_order_at
from source
