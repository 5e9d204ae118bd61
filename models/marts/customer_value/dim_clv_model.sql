-- The CLV model behind customer_value's predictions, as one row: the latest scoring run of
-- ml.clv_model_fits (the run that wrote ml.clv_predictions) and the fit whose parameters it used.
-- A run that reused an earlier fit (config clv.refitEveryDays) scored with that run's parameters:
-- fitted_at, fit_calibration_end and the holdout figures are that run's. No row before any scoring.
-- fitted_at is null when the latest run has no model (not_fitted, no_sales): its predictions are null.
with fits as (
    select * from {{ ref('stg_ml__clv_model_fits') }}
),

ranked_runs as (
    select
        *,
        row_number() over (order by scored_at desc, run_id desc) as run_rank
    from fits
),

latest_run as (
    select * from ranked_runs
    where run_rank = 1
),

-- A run's own fit (status fitted, no reason) is the one a later reuse took: the latest own fit of the
-- same model and version before it, the run its reason names when it names one (as the scorer picks).
fit_candidates as (
    select
        own.run_id,
        own.scored_at,
        own.calibration_end,
        own.holdout_model_mae,
        own.holdout_baseline_mae,
        own.holdout_days,
        row_number() over (order by own.scored_at desc, own.run_id desc) as fit_rank
    from latest_run
    inner join fits as own
        on latest_run.model_name = own.model_name
        and latest_run.model_version = own.model_version
        and own.status = 'fitted'
        and own.reason is null
        and (
            (not latest_run.is_reused_fit and latest_run.scored_at = own.scored_at)
            or (
                latest_run.is_reused_fit
                and latest_run.scored_at > own.scored_at
                and (latest_run.reused_run_id is null or latest_run.reused_run_id = own.run_id)
            )
        )
),

used_fit as (
    select * from fit_candidates
    where fit_rank = 1
)

select
    latest_run.model_name,
    case latest_run.model_name
        when 'bgnbd' then 'BG/NBD'
        when 'mbgnbd' then 'MBG/NBD'
        when 'paretonbd' then 'Pareto/NBD'
    end as model_label,
    latest_run.model_version,
    latest_run.status,
    latest_run.reason,
    latest_run.run_id,
    cast(latest_run.scored_at as timestamp) as scored_at,
    cast(latest_run.calibration_end as timestamp) as calibration_end,
    coalesce(latest_run.is_reused_fit, false) as is_reused_fit,
    used_fit.run_id as fit_run_id,
    cast(used_fit.scored_at as timestamp) as fitted_at,
    cast(used_fit.calibration_end as timestamp) as fit_calibration_end,
    cast(used_fit.holdout_days as integer) as holdout_days,
    cast(used_fit.holdout_model_mae as double) as holdout_model_mae,
    cast(used_fit.holdout_baseline_mae as double) as holdout_baseline_mae
from latest_run
left join used_fit on true
