-- The CLV scorer's log of scoring runs (see _ml__sources.yml), one row per run, typed and renamed
-- for the marts. The source's fitted_at is when the run scored; the parameters a run used were
-- fitted by that run, or (a reuse row: status fitted with a reason) by the earlier run its reason names.
with source as (
    select * from {{ source('ml', 'clv_model_fits') }}
)

select
    run_id,
    -- 'mbgnbd_gamma_gamma' -> 'mbgnbd': the repeat-purchase model (spend is always Gamma-Gamma).
    replace(model_name, '_gamma_gamma', '') as model_name,
    model_name as clv_model_name,
    model_version,
    fitted_at as scored_at,
    calibration_end,
    status,
    reason,
    coalesce(status = 'fitted' and reason is not null, false) as is_reused_fit,
    -- pipelines/transform/clv/score-customers.ts writes "reused the fit of run R (calibration end C, ...)".
    case
        when status = 'fitted' and reason is not null
            then nullif(nullif(regexp_extract(reason, '^reused the fit of run (\S+) \(', 1), ''), '(unknown)')
    end as reused_run_id,
    customers,
    repeat_buyers,
    fit_customers,
    bgnbd_r as purchase_r,
    bgnbd_alpha as purchase_alpha,
    bgnbd_a as purchase_a,
    bgnbd_b as purchase_b,
    gamma_gamma_p,
    gamma_gamma_q,
    gamma_gamma_gamma,
    fit_json,
    -- The model-choice backtest, when the scorer stored it beside the fits (backtest.ts's report
    -- shape: model.purchases.mae, baseline.purchases.mae, holdoutDays); null otherwise.
    cast({{ json_text('fit_json', "'$.backtest.model.purchases.mae'") }} as double) as holdout_model_mae,
    cast({{ json_text('fit_json', "'$.backtest.baseline.purchases.mae'") }} as double) as holdout_baseline_mae,
    cast({{ json_text('fit_json', "'$.backtest.holdoutDays'") }} as integer) as holdout_days,
    seconds
from source
