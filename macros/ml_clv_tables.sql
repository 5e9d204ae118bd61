{#-
  The tables the CLV scoring step (pipelines/transform/clv/score-customers.ts) writes between the two
  dbt builds of a run. dbt_project.yml's on-run-start hook creates them empty when absent, so a plain
  `dbt build` (no scoring yet) still builds customer_value, with null predictions. The scorer checks
  that the columns created here equal its own (same names, same order, same types) and refuses to
  write otherwise, so the two definitions cannot drift apart silently.
  Portable DDL only: `create schema/table if not exists`, types via api.Column.translate_type.
-#}
{% macro ml_clv_schema() -%}
    create schema if not exists ml
{%- endmacro %}

{% macro ml_clv_predictions_ddl() -%}
    {%- set text = api.Column.translate_type('string') -%}
    create table if not exists ml.clv_predictions (
        customer_key {{ text }} not null,
        model_name {{ text }},
        model_version {{ text }},
        fitted_at timestamp,
        calibration_end timestamp,
        frequency integer,
        recency_days integer,
        tenure_days integer,
        avg_order_value double,
        predicted_orders_90d double,
        predicted_orders_365d double,
        predicted_value_90d double,
        predicted_value_365d double,
        probability_alive double,
        probability_purchase_90d double,
        expected_next_order_at timestamp
    )
{%- endmacro %}

{% macro ml_clv_model_fits_ddl() -%}
    {%- set text = api.Column.translate_type('string') -%}
    create table if not exists ml.clv_model_fits (
        run_id {{ text }},
        model_name {{ text }},
        model_version {{ text }},
        fitted_at timestamp,
        calibration_end timestamp,
        status {{ text }},
        reason {{ text }},
        customers integer,
        repeat_buyers integer,
        fit_customers integer,
        bgnbd_r double,
        bgnbd_alpha double,
        bgnbd_a double,
        bgnbd_b double,
        gamma_gamma_p double,
        gamma_gamma_q double,
        gamma_gamma_gamma double,
        fit_json {{ text }},
        seconds double
    )
{%- endmacro %}
