/**
 * Scores every customer with the CLV model and writes ml.clv_predictions (+ one ml.clv_model_fits
 * row) into a warehouse: the pipeline's clv:score step, between the dbt build of everything
 * upstream of the predictions and the build of customer_value and its descendants.
 *
 * - Reads credited valid sales (marts.fct_orders: is_valid_sale, credited_customer_key not null;
 *   the same definition as transactions.ts) and summarises them per person inside DuckDB, with the
 *   rules of summary-data.ts (purchase days in shop time, first day not counted, ...): at a million
 *   customers that keeps tens of millions of orders out of Node's heap. summaryFromWarehouse() is
 *   checked against summarize() in tests/unit/clv-score.test.ts.
 * - Fits BG/NBD + Gamma-Gamma on ALL history up to the as-of moment (the dbt var as_of_date, or the
 *   latest order, as customer_value measures recency) and predicts every customer (predict.ts).
 * - Writes through the DuckDB appender into a temp table, then replaces ml.clv_predictions and
 *   appends the fit in ONE transaction: a reader sees the old or the new scores, never a mix, and
 *   re-running never duplicates.
 * - Too few repeat buyers, a failed or non-converged fit: the customers are still written with
 *   their summary but null predictions, the fit row says 'not_fitted' and why, and the result
 *   carries the reason (the step logs it as a warning). A shop with a handful of customers must
 *   still build its marts; a prediction from an unidentified model would be worse than none.
 *   A non-finite prediction from a fitted model is a bug, not data: it throws, naming the customer.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { CLV_MODEL_VERSION, clvModelName, fitClv, type ClvFit } from './fit.ts';
import { runBacktest, type BacktestReport } from './backtest.ts';
import { readWarehouseTransactions } from './transactions.ts';
import { REPEAT_MODEL_NAMES, REPEAT_MODELS, type RepeatModelKind } from './repeat-models.ts';
import { predictCustomer, type ClvPrediction } from './predict.ts';
import { DAY_MS, dayIndex, utcOffsetMinutes, type CustomerSummary } from './summary-data.ts';
import { DEFAULT_SHOP_TIMEZONE } from '../../../shared/config.ts';

/** Fewer customers with a repeat purchase day than this: no fit (BG/NBD's drop-out is not identified). */
export const MIN_REPEAT_BUYERS = 20;

/**
 * The fit uses at most this many customers (an every-k-th sample of the key-ordered summary, so the
 * same data always gives the same sample); predictions cover everyone. Maximum likelihood on 100,000
 * customers pins 4 + 3 parameters far below any difference that matters, and the fit's cost grows
 * with the customers it reads (about 30 s for 100,000 on one core), the rest of scoring stays linear.
 */
export const MAX_FIT_CUSTOMERS = 100_000;

export interface ScoreOptions {
  /** As-of moment: an ISO date/time (dbt's as_of_date var) or epoch ms; default the latest order. */
  asOf?: string | number | null;
  /** The shop's IANA zone (config shop.timezone): purchase days are its days. Default Asia/Shanghai. */
  timezone?: string;
  /** A fixed UTC offset instead of the zone's at the calibration end (tests). */
  offsetMinutes?: number;
  minRepeatBuyers?: number;
  maxFitCustomers?: number;
  runId?: string | null;
  /**
   * Reuse the latest fit of this model (ml.clv_model_fits, status fitted, not itself a reuse) when
   * its calibration end is at most this many days before this scoring's and not after it; 0 or
   * absent: always fit. Predictions still cover every customer with today's summary.
   */
  reuseFitWithinDays?: number;
  /**
   * The repeat-purchase model: 'auto' (default) backtests every model on the shop's own history
   * (the last quarter of it, 28 to 180 days, held out) and fits the one it favours; or a pinned one.
   */
  model?: 'auto' | RepeatModelKind;
  /** Progress callback (the pipeline's task list / structured log). */
  onProgress?: (message: string) => void;
  now?: () => Date;
}

export interface ScoreResult {
  status: 'fitted' | 'not_fitted' | 'no_sales';
  reason: string | null;
  customers: number;
  repeatBuyers: number;
  /** Customers the model was fitted on (all of them, or a sample of MAX_FIT_CUSTOMERS). */
  fitCustomers: number;
  calibrationEnd: string | null;
  fittedAt: string;
  modelName: string;
  modelVersion: string;
  fit: ClvFit | null;
  /** The earlier fit these predictions used (reuseFitWithinDays), or null when this run fitted. */
  reusedFit: { runId: string | null; calibrationEnd: string; ageDays: number } | null;
  /** Columns of ml.clv_predictions that differed from this module's before it replaced the table (null: none). */
  columnDrift: string | null;
  seconds: { read: number; fit: number; predict: number; write: number; total: number };
}

/** ml.clv_predictions, in order; must equal macros/ml_clv_tables.sql (the scorer reports drift). */
export const CLV_PREDICTION_COLUMNS: readonly (readonly [name: string, type: string])[] = [
  ['customer_key', 'VARCHAR'],
  ['model_name', 'VARCHAR'],
  ['model_version', 'VARCHAR'],
  ['fitted_at', 'TIMESTAMP'],
  ['calibration_end', 'TIMESTAMP'],
  ['frequency', 'INTEGER'],
  ['recency_days', 'INTEGER'],
  ['tenure_days', 'INTEGER'],
  ['avg_order_value', 'DOUBLE'],
  ['predicted_orders_90d', 'DOUBLE'],
  ['predicted_orders_365d', 'DOUBLE'],
  ['predicted_value_90d', 'DOUBLE'],
  ['predicted_value_365d', 'DOUBLE'],
  ['probability_alive', 'DOUBLE'],
  ['probability_purchase_90d', 'DOUBLE'],
  ['expected_next_order_at', 'TIMESTAMP'],
];

/** ml.clv_model_fits, in order; must equal macros/ml_clv_tables.sql. */
export const CLV_MODEL_FIT_COLUMNS: readonly (readonly [name: string, type: string])[] = [
  ['run_id', 'VARCHAR'],
  ['model_name', 'VARCHAR'],
  ['model_version', 'VARCHAR'],
  ['fitted_at', 'TIMESTAMP'],
  ['calibration_end', 'TIMESTAMP'],
  ['status', 'VARCHAR'],
  ['reason', 'VARCHAR'],
  ['customers', 'INTEGER'],
  ['repeat_buyers', 'INTEGER'],
  ['fit_customers', 'INTEGER'],
  ['bgnbd_r', 'DOUBLE'],
  ['bgnbd_alpha', 'DOUBLE'],
  ['bgnbd_a', 'DOUBLE'],
  ['bgnbd_b', 'DOUBLE'],
  ['gamma_gamma_p', 'DOUBLE'],
  ['gamma_gamma_q', 'DOUBLE'],
  ['gamma_gamma_gamma', 'DOUBLE'],
  ['fit_json', 'VARCHAR'],
  ['seconds', 'DOUBLE'],
];

const ddl = (table: string, columns: typeof CLV_PREDICTION_COLUMNS) =>
  `${table} (${columns.map(([name, type]) => `${name} ${type}${name === 'customer_key' ? ' NOT NULL' : ''}`).join(', ')})`;

/** The as-of moment in epoch ms: the given date (midnight UTC, as dbt casts as_of_date) or the latest order. */
export async function resolveCalibrationEnd(connection: DuckDBConnection, asOf: ScoreOptions['asOf']): Promise<number | null> {
  if (typeof asOf === 'number') return asOf;
  if (typeof asOf === 'string' && asOf.trim() !== '') {
    const text = asOf.trim();
    const ms = Date.parse(
      /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : /[zZ]|[+-]\d{2}:?\d{2}$/.test(text) ? text : `${text.replace(' ', 'T')}Z`,
    );
    if (!Number.isFinite(ms)) throw new Error(`CLV scoring: as_of_date "${asOf}" is not a date`);
    return ms;
  }
  const latest = await connection.runAndReadAll('select epoch_ms(max(ordered_at)) from marts.fct_orders');
  const value = latest.getRows()[0]?.[0];
  return value === null || value === undefined ? null : Number(value);
}

/**
 * Per-person summary of credited valid sales up to calibrationEnd, computed in DuckDB with the rules
 * of summary-data.ts's summarize() (which stays the reference: the unit test compares them).
 */
export async function summaryFromWarehouse(
  connection: DuckDBConnection,
  calibrationEnd: number,
  offsetMinutes = utcOffsetMinutes(DEFAULT_SHOP_TIMEZONE, calibrationEnd),
): Promise<CustomerSummary[]> {
  const offsetMs = Math.round(offsetMinutes * 60_000);
  const endDay = dayIndex(calibrationEnd, offsetMinutes);
  const reader = await connection.runAndReadAll(`
    with sales as (
      select credited_customer_key as customer_key,
             cast(floor((epoch_ms(ordered_at) + ${offsetMs}) / ${DAY_MS}.0) as bigint) as day,
             cast(net_revenue_reporting as double) as value
        from marts.fct_orders
       where is_valid_sale and credited_customer_key is not null and epoch_ms(ordered_at) <= ${Math.floor(calibrationEnd)}
    ),
    days as (
      select customer_key, day, sum(value) as value,
             row_number() over (partition by customer_key order by day) as day_number
        from sales group by customer_key, day
    )
    select customer_key,
           cast(count(*) - 1 as integer) as frequency,
           cast(max(day) - min(day) as integer) as recency_days,
           cast(${endDay} - min(day) as integer) as tenure_days,
           coalesce(avg(value) filter (where day_number > 1), 0) as monetary,
           avg(value) as average_value,
           min(day) as first_day
      from days group by customer_key order by customer_key`);
  const columns = reader.getColumns();
  const [keys, frequency, recency, tenure, monetary, average, firstDay] = columns as unknown[][];
  const out: CustomerSummary[] = new Array(keys!.length);
  for (let i = 0; i < keys!.length; i++) {
    out[i] = {
      customerKey: String(keys![i]),
      frequency: Number(frequency![i]),
      recencyDays: Number(recency![i]),
      tenureDays: Number(tenure![i]),
      monetary: Number(monetary![i]),
      averageValue: Number(average![i]),
      firstPurchaseAt: Number(firstDay![i]) * DAY_MS - offsetMinutes * 60_000,
    };
  }
  return out;
}

/** Every k-th customer (key order), at most `limit`: a deterministic, evenly spread sample. */
function everyKth<T>(items: readonly T[], limit: number): readonly T[] {
  if (items.length <= limit) return items;
  const out: T[] = new Array(limit);
  for (let i = 0; i < limit; i++) out[i] = items[Math.floor((i * items.length) / limit)]!;
  return out;
}

/** Why the model cannot be fitted on this summary, or null when it can be tried. */
function notFittableReason(summary: readonly CustomerSummary[], minRepeatBuyers: number): string | null {
  const repeat = summary.filter((c) => c.frequency > 0).length;
  if (repeat < minRepeatBuyers)
    return `only ${repeat} of ${summary.length} customers have a repeat purchase day (at least ${minRepeatBuyers} needed to fit BG/NBD)`;
  if (!summary.some((c) => c.frequency > 0 && c.monetary > 0))
    return 'no repeat purchase day has a positive value (Gamma-Gamma cannot be fitted)';
  return null;
}

interface StoredFit {
  fit: ClvFit;
  runId: string | null;
  calibrationEnd: number;
  fitCustomers: number;
}

/** The latest real fit of this model and version (a reuse row is never reused again), or null. */
async function latestFit(connection: DuckDBConnection): Promise<StoredFit | null> {
  const exists = await connection.runAndReadAll(
    "select count(*) from information_schema.tables where table_catalog = current_database() and table_schema = 'ml' and table_name = 'clv_model_fits'",
  );
  if (Number(exists.getRows()[0]![0]) === 0) return null;
  const reader = await connection.runAndReadAll(`
    select fit_json, run_id, epoch_ms(calibration_end), fit_customers from ml.clv_model_fits
     where status = 'fitted' and reason is null and fit_json is not null and calibration_end is not null
       and model_name in (${REPEAT_MODEL_NAMES.map((m) => sqlText(clvModelName(m))).join(', ')}) and model_version = ${sqlText(CLV_MODEL_VERSION)}
     order by fitted_at desc limit 1`);
  const row = reader.getRows()[0];
  if (!row) return null;
  const stored = JSON.parse(String(row[0])) as { model?: RepeatModelKind; bgnbd?: ClvFit['purchases']; gammaGamma?: ClvFit['spend'] };
  if (!stored.bgnbd?.params || !stored.gammaGamma?.params) return null;
  return {
    // (fits stored before the model family existed are BG/NBD)
    fit: {
      model: stored.model && stored.model in REPEAT_MODELS ? stored.model : 'bgnbd',
      purchases: stored.bgnbd,
      spend: stored.gammaGamma,
    },
    runId: row[1] === null ? null : String(row[1]),
    calibrationEnd: Number(row[2]),
    fitCustomers: Number(row[3] ?? 0),
  };
}

/**
 * The model the shop's own history favours: every model is fitted on the history before a holdout
 * (the last quarter of the history, 28 to 180 days) and the backtest's choice is kept (backtest.ts:
 * the lowest holdout purchase MAE among the models that beat the naive baseline). A history too
 * short for a holdout keeps BG/NBD, and says so.
 */
/** What a fit row keeps of the backtest that chose its model (fit_json.backtest; dim_clv_model reads it). */
export interface StoredBacktest {
  holdoutDays: number;
  chosen: RepeatModelKind;
  model: { purchases: { mae: number } };
  baseline: { purchases: { mae: number } };
  candidates: { model: RepeatModelKind; purchases: { mae: number }; beatsBaseline: boolean }[];
  churnBands: BacktestReport['churnBands'];
}

async function chooseModel(
  connection: DuckDBConnection,
  calibrationEnd: number,
  offsetMinutes: number,
  progress: (m: string) => void,
): Promise<{ model: RepeatModelKind; backtest: StoredBacktest | null }> {
  const transactions = await readWarehouseTransactions(connection);
  const first = transactions.reduce((m, t) => Math.min(m, t.at), Number.POSITIVE_INFINITY);
  const historyDays = (calibrationEnd - first) / DAY_MS;
  const holdoutDays = Math.min(180, Math.max(28, Math.round(historyDays / 4)));
  if (!(historyDays >= holdoutDays * 2)) {
    progress(`history of ${Math.floor(historyDays)} days is too short to backtest the models: BG/NBD`);
    return { model: 'bgnbd', backtest: null };
  }
  // The holdout starts at a shop-day boundary, so no purchase day is split between the two windows.
  const holdoutStart = (dayIndex(calibrationEnd, offsetMinutes) - holdoutDays + 1) * DAY_MS - Math.round(offsetMinutes * 60_000) - 1;
  try {
    const report = runBacktest(transactions, holdoutStart, holdoutDays, offsetMinutes);
    progress(
      `model choice by a ${holdoutDays}-day holdout: ${report.candidates.map((c) => `${c.model} MAE ${c.purchases.mae.toFixed(3)}`).join(', ')}, baseline ${report.baseline.purchases.mae.toFixed(3)}: ${report.chosen}`,
    );
    return {
      model: report.chosen,
      backtest: {
        holdoutDays,
        chosen: report.chosen,
        model: { purchases: { mae: report.model.purchases.mae } },
        baseline: { purchases: { mae: report.baseline.purchases.mae } },
        candidates: report.candidates.map((c) => ({ model: c.model, purchases: { mae: c.purchases.mae }, beatsBaseline: c.beatsBaseline })),
        churnBands: report.churnBands,
      },
    };
  } catch (error) {
    progress(`the model backtest failed (${(error as Error).message}): BG/NBD`);
    return { model: 'bgnbd', backtest: null };
  }
}

export async function scoreCustomers(connection: DuckDBConnection, options: ScoreOptions = {}): Promise<ScoreResult> {
  const started = performance.now();
  const now = options.now?.() ?? new Date();
  const minRepeatBuyers = options.minRepeatBuyers ?? MIN_REPEAT_BUYERS;
  const maxFitCustomers = Math.max(1, options.maxFitCustomers ?? MAX_FIT_CUSTOMERS);
  const progress = options.onProgress ?? (() => {});
  const seconds = { read: 0, fit: 0, predict: 0, write: 0, total: 0 };
  const lap = (since: number) => (performance.now() - since) / 1000;

  let t = performance.now();
  const calibrationEnd = await resolveCalibrationEnd(connection, options.asOf);
  const offsetMinutes =
    options.offsetMinutes ?? utcOffsetMinutes(options.timezone ?? DEFAULT_SHOP_TIMEZONE, calibrationEnd ?? now.getTime());
  const summary = calibrationEnd === null ? [] : await summaryFromWarehouse(connection, calibrationEnd, offsetMinutes);
  seconds.read = lap(t);
  const repeatBuyers = summary.filter((c) => c.frequency > 0).length;
  progress(`${summary.length.toLocaleString('en-US')} customers summarised (${repeatBuyers.toLocaleString('en-US')} repeat buyers)`);

  let status: ScoreResult['status'] = 'fitted';
  let reason: string | null = null;
  let fit: ClvFit | null = null;
  let reusedFit: ScoreResult['reusedFit'] = null;
  let fitCustomers = 0;
  let backtest: StoredBacktest | null = null;
  const fitSample = everyKth(summary, maxFitCustomers);
  const reuseWithinDays = options.reuseFitWithinDays ?? 0;
  t = performance.now();
  const stored = summary.length > 0 && reuseWithinDays > 0 ? await latestFit(connection) : null;
  const storedAgeDays = stored ? (calibrationEnd! - stored.calibrationEnd) / DAY_MS : NaN;
  if (summary.length === 0) {
    status = 'no_sales';
    reason = 'no credited valid sale in marts.fct_orders up to the as-of moment: nothing to score';
  } else if (
    stored &&
    storedAgeDays >= 0 &&
    storedAgeDays <= reuseWithinDays &&
    (options.model === undefined || options.model === 'auto' || options.model === stored.fit.model)
  ) {
    // Parameters move slowly with a few days more history; scoring with them is the cheap part.
    fit = stored.fit;
    fitCustomers = stored.fitCustomers;
    reusedFit = {
      runId: stored.runId,
      calibrationEnd: new Date(stored.calibrationEnd).toISOString(),
      ageDays: Math.round(storedAgeDays * 100) / 100,
    };
    progress(
      `reusing the CLV fit of run ${stored.runId ?? '(unknown)'} (${reusedFit.ageDays} days of history older; refit after ${reuseWithinDays})`,
    );
  } else {
    reason = notFittableReason(fitSample, minRepeatBuyers);
    if (reason === null) {
      try {
        let model: RepeatModelKind;
        if (options.model && options.model !== 'auto') model = options.model;
        else ({ model, backtest } = await chooseModel(connection, calibrationEnd!, offsetMinutes, progress));
        progress(
          `fitting ${REPEAT_MODELS[model].title} + Gamma-Gamma on ${fitSample.length.toLocaleString('en-US')} customers${fitSample.length < summary.length ? ` (a sample of ${summary.length.toLocaleString('en-US')})` : ''}`,
        );
        fit = fitClv(fitSample, model);
        const unconverged = [
          !fit.purchases.converged ? `${fit.model} (${fit.purchases.iterations} iterations)` : '',
          !fit.spend.converged ? `Gamma-Gamma (${fit.spend.iterations} iterations)` : '',
        ].filter(Boolean);
        if (unconverged.length > 0) reason = `the fit did not converge: ${unconverged.join(', ')}`;
        else if (![...Object.values(fit.purchases.params), ...Object.values(fit.spend.params)].every((v) => Number.isFinite(v) && v > 0))
          reason = `the fit gave invalid parameters: ${JSON.stringify({ ...fit.purchases.params, ...fit.spend.params })}`;
      } catch (error) {
        reason = `the fit failed: ${(error as Error).message}`;
      }
    }
    if (reason !== null) status = 'not_fitted';
    else fitCustomers = fitSample.length;
  }
  seconds.fit = lap(t);

  t = performance.now();
  const predictions: (ClvPrediction | null)[] = new Array(summary.length);
  if (status === 'fitted') {
    progress(`predicting ${summary.length.toLocaleString('en-US')} customers`);
    for (let i = 0; i < summary.length; i++) {
      const p = predictCustomer(fit!, summary[i]!, calibrationEnd!);
      const numbers = [
        p.avgOrderValue,
        p.predictedOrders90d,
        p.predictedOrders365d,
        p.predictedValue90d,
        p.predictedValue365d,
        p.probabilityAlive,
      ];
      if (!numbers.every(Number.isFinite) || (p.expectedNextOrderAt !== null && !Number.isFinite(p.expectedNextOrderAt.getTime()))) {
        throw new Error(
          `CLV scoring: non-finite prediction for customer ${p.customerKey} (x=${summary[i]!.frequency}, t_x=${summary[i]!.recencyDays}, T=${summary[i]!.tenureDays}, m=${summary[i]!.monetary}): ${JSON.stringify(p)}`,
        );
      }
      predictions[i] = p;
    }
  } else {
    predictions.fill(null);
  }
  seconds.predict = lap(t);

  t = performance.now();
  progress(`writing ${summary.length.toLocaleString('en-US')} predictions to ml.clv_predictions`);
  // A reuse row says whose fit it used (reason), so it is never taken for a fit itself.
  const fitReason = reusedFit
    ? `reused the fit of run ${reusedFit.runId ?? '(unknown)'} (calibration end ${reusedFit.calibrationEnd}, ${reusedFit.ageDays} days earlier)`
    : reason;
  const columnDrift = await writePredictions(connection, {
    summary,
    predictions,
    fit,
    backtest,
    fitCustomers: fit ? fitCustomers : 0,
    status,
    reason: fitReason,
    calibrationEnd,
    fittedAt: now,
    runId: options.runId ?? null,
    elapsedSeconds: lap(started),
  });
  seconds.write = lap(t);
  seconds.total = lap(started);
  return {
    status,
    reason,
    customers: summary.length,
    repeatBuyers,
    fitCustomers: fit ? fitCustomers : 0,
    reusedFit,
    calibrationEnd: calibrationEnd === null ? null : new Date(calibrationEnd).toISOString(),
    fittedAt: now.toISOString(),
    modelName: clvModelName(fit?.model ?? 'bgnbd'),
    modelVersion: CLV_MODEL_VERSION,
    fit,
    columnDrift,
    seconds,
  };
}

interface WriteInput {
  summary: CustomerSummary[];
  predictions: (ClvPrediction | null)[];
  fit: ClvFit | null;
  /** The backtest that chose the model (auto), kept in fit_json; null when pinned, reused or too short. */
  backtest: StoredBacktest | null;
  fitCustomers: number;
  status: ScoreResult['status'];
  reason: string | null;
  calibrationEnd: number | null;
  fittedAt: Date;
  runId: string | null;
  elapsedSeconds: number;
}

const sqlText = (value: string | null) => (value === null ? 'NULL' : `'${value.replace(/'/g, "''")}'`);
const sqlNumber = (value: number | null | undefined) =>
  value === null || value === undefined || !Number.isFinite(value) ? 'NULL' : String(value);
const sqlTimestamp = (ms: number | null) => (ms === null ? 'NULL' : `make_timestamp(${Math.round(ms * 1000)})`);

async function describeColumns(connection: DuckDBConnection, table: string): Promise<string[]> {
  const reader = await connection.runAndReadAll(
    `select column_name, data_type from information_schema.columns where table_catalog = current_database() and table_schema = 'ml' and table_name = '${table}' order by ordinal_position`,
  );
  return reader.getRows().map(([name, type]) => `${String(name)} ${String(type)}`);
}

/** The columns differ from ours (e.g. the dbt hook's DDL drifted, or an older version made the table): a description, else null. */
async function driftOf(connection: DuckDBConnection, table: string, columns: typeof CLV_PREDICTION_COLUMNS): Promise<string | null> {
  const actual = await describeColumns(connection, table);
  if (actual.length === 0) return null;
  const expected = columns.map(([name, type]) => `${name} ${type}`);
  return actual.join(', ') === expected.join(', ') ? null : `ml.${table} had (${actual.join(', ')}); expected (${expected.join(', ')})`;
}

async function writePredictions(connection: DuckDBConnection, input: WriteInput): Promise<string | null> {
  await connection.run(`create or replace temp table _clv_scores (customer_key VARCHAR, frequency INTEGER, recency_days INTEGER, tenure_days INTEGER,
    avg_order_value DOUBLE, predicted_orders_90d DOUBLE, predicted_orders_365d DOUBLE, predicted_value_90d DOUBLE, predicted_value_365d DOUBLE,
    probability_alive DOUBLE, probability_purchase_90d DOUBLE, expected_next_order_ms BIGINT)`);
  const appender = await connection.createAppender('_clv_scores', 'main', 'temp');
  try {
    for (let i = 0; i < input.summary.length; i++) {
      const c = input.summary[i]!;
      const p = input.predictions[i];
      appender.appendVarchar(c.customerKey);
      appender.appendInteger(c.frequency);
      appender.appendInteger(c.recencyDays);
      appender.appendInteger(c.tenureDays);
      if (p) {
        appender.appendDouble(p.avgOrderValue);
        appender.appendDouble(p.predictedOrders90d);
        appender.appendDouble(p.predictedOrders365d);
        appender.appendDouble(p.predictedValue90d);
        appender.appendDouble(p.predictedValue365d);
        appender.appendDouble(p.probabilityAlive);
        appender.appendDouble(p.probabilityPurchase90d);
        if (p.expectedNextOrderAt === null) appender.appendNull();
        else appender.appendBigInt(BigInt(p.expectedNextOrderAt.getTime()));
      } else {
        for (let k = 0; k < 8; k++) appender.appendNull();
      }
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }

  const fittedAt = input.fittedAt.getTime();
  const modelName = clvModelName(input.fit?.model ?? 'bgnbd');
  const bg = input.fit?.purchases.params;
  const gg = input.fit?.spend.params;
  await connection.run('BEGIN TRANSACTION');
  try {
    await connection.run('create schema if not exists ml');
    const predictionsDrift = await driftOf(connection, 'clv_predictions', CLV_PREDICTION_COLUMNS);
    const fitsDrift = await driftOf(connection, 'clv_model_fits', CLV_MODEL_FIT_COLUMNS);
    // Replace, not truncate: the table then always has exactly the columns above.
    await connection.run(`create or replace table ${ddl('ml.clv_predictions', CLV_PREDICTION_COLUMNS)}`);
    await connection.run(`insert into ml.clv_predictions
      select customer_key, ${sqlText(modelName)}, ${sqlText(CLV_MODEL_VERSION)}, ${sqlTimestamp(fittedAt)}, ${sqlTimestamp(input.calibrationEnd)},
             frequency, recency_days, tenure_days, avg_order_value, predicted_orders_90d, predicted_orders_365d,
             predicted_value_90d, predicted_value_365d, probability_alive, probability_purchase_90d,
             case when expected_next_order_ms is null then null else make_timestamp(expected_next_order_ms * 1000) end
        from temp.main._clv_scores order by customer_key`);
    if (fitsDrift !== null) {
      // Keep the history of fits: carry the old rows into the new shape by column name.
      const old = (await describeColumns(connection, 'clv_model_fits')).map((c) => c.split(' ')[0]!);
      const shared = CLV_MODEL_FIT_COLUMNS.map(([name]) => name).filter((name) => old.includes(name));
      await connection.run('alter table ml.clv_model_fits rename to clv_model_fits_old');
      await connection.run(`create table ${ddl('ml.clv_model_fits', CLV_MODEL_FIT_COLUMNS)}`);
      if (shared.length > 0)
        await connection.run(`insert into ml.clv_model_fits (${shared.join(', ')}) select ${shared.join(', ')} from ml.clv_model_fits_old`);
      await connection.run('drop table ml.clv_model_fits_old');
    }
    await connection.run(`create table if not exists ${ddl('ml.clv_model_fits', CLV_MODEL_FIT_COLUMNS)}`);
    await connection.run(`insert into ml.clv_model_fits values (
      ${sqlText(input.runId)}, ${sqlText(modelName)}, ${sqlText(CLV_MODEL_VERSION)}, ${sqlTimestamp(fittedAt)}, ${sqlTimestamp(input.calibrationEnd)},
      ${sqlText(input.status)}, ${sqlText(input.reason)}, ${input.summary.length}, ${input.summary.filter((c) => c.frequency > 0).length}, ${input.fitCustomers},
      ${sqlNumber(bg?.r)}, ${sqlNumber(bg?.alpha)}, ${sqlNumber(bg && 'a' in bg ? bg.a : null)}, ${sqlNumber(bg && 'b' in bg ? bg.b : null)},
      ${sqlNumber(gg?.p)}, ${sqlNumber(gg?.q)}, ${sqlNumber(gg?.gamma)},
      ${sqlText(input.fit ? JSON.stringify({ model: input.fit.model, bgnbd: input.fit.purchases, gammaGamma: input.fit.spend, ...(input.backtest ? { backtest: input.backtest } : {}) }) : null)}, ${sqlNumber(input.elapsedSeconds)})`);
    await connection.run('COMMIT');
    return [predictionsDrift, fitsDrift].filter(Boolean).join('; ') || null;
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await connection.run('drop table if exists temp.main._clv_scores').catch(() => {});
  }
}
