/**
 * Backtest: fit on the calibration window, predict the holdout window, compare with what customers
 * actually did, beside a naive baseline in which each customer keeps their historical rate
 * (repeat purchase days per day of tenure) and their historical mean purchase value.
 * Only customers acquired before the calibration end are scored (the model says nothing about
 * customers it has not met). A purchase is a purchase day, as in the fit.
 */
import { fitClv, type ClvFit } from './fit.ts';
import { REPEAT_MODEL_NAMES, type RepeatModelKind } from './repeat-models.ts';
import { predictCustomer } from './predict.ts';
import { DAY_MS, dayIndex, summarize, type Transaction } from './summary-data.ts';
import { churnBandThresholds, type ChurnBandThresholds } from '../dbt-vars.ts';

export interface ErrorStats {
  mae: number;
  rmse: number;
  totalPredicted: number;
}
/** One candidate model's fit and holdout errors. */
export interface CandidateReport {
  model: RepeatModelKind;
  fit: ClvFit['purchases'];
  purchases: ErrorStats;
  revenue: ErrorStats;
  beatsBaseline: boolean;
}

export interface BacktestReport {
  calibrationEnd: string;
  holdoutEnd: string;
  holdoutDays: number;
  customers: number;
  /** Every candidate model, in the order fitted. */
  candidates: CandidateReport[];
  /**
   * The model the shop's history favours: among the candidates that beat the naive baseline, the
   * lowest per-customer MAE of holdout purchases; when none beats it, the lowest MAE all the same.
   */
  chosen: RepeatModelKind;
  /** The chosen model's fit (bgnbd holds whichever repeat-purchase model was chosen). */
  fit: { model: RepeatModelKind; bgnbd: ClvFit['purchases']; gammaGamma: ClvFit['spend'] };
  actual: { purchases: number; revenue: number };
  model: { purchases: ErrorStats; revenue: ErrorStats };
  baseline: { purchases: ErrorStats; revenue: ErrorStats };
  /**
   * Model beats the baseline: lower per-customer MAE of holdout purchases AND of holdout revenue, AND
   * a total predicted purchase count closer to the actual. RMSE is reported but not required: on
   * heavy-tailed data a handful of extreme buyers decide it (see docs/concepts.md, CLV).
   */
  modelBeatsBaseline: boolean;
  /**
   * The churn bands of customer_value (by the chosen model's P(a purchase in the next 90 days), with
   * dbt's thresholds) held against the holdout: how many customers each band holds, what the model
   * promised and what they did. A band that means something has high-risk customers buying far less.
   */
  churnBands: ChurnBandReport[];
}

export interface ChurnBandReport {
  band: 'high' | 'medium' | 'low';
  customers: number;
  /** Mean predicted P(a purchase in the 90 days after the calibration end). */
  meanProbabilityPurchase90d: number;
  /** Share of the band that bought in the first 90 days of the holdout (null when the holdout is shorter). */
  repeatRate90d: number | null;
  /** Share of the band that bought at all in the holdout. */
  repeatRateHoldout: number;
  /**
   * Median absence relative to the customer's own usual gap: days since the last purchase divided by
   * the mean days between purchases (repeat buyers only; null when the band has none).
   */
  medianAbsenceOverUsualGap: number | null;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function runBacktest(
  transactions: readonly Transaction[],
  calibrationEnd: number,
  holdoutDays: number,
  offsetMinutes = 0,
  models: readonly RepeatModelKind[] = REPEAT_MODEL_NAMES,
  thresholds: ChurnBandThresholds = churnBandThresholds(),
): BacktestReport {
  const holdoutEnd = calibrationEnd + holdoutDays * DAY_MS;
  const summary = summarize(transactions, calibrationEnd, offsetMinutes);
  if (summary.length === 0) throw new Error('backtest: no purchases before the calibration end');
  if (models.length === 0) throw new Error('backtest: no candidate model');
  const calEndDay = dayIndex(calibrationEnd, offsetMinutes);
  const holdout = new Map<string, { days: Set<number>; revenue: number; within90d: boolean }>();
  for (const t of transactions) {
    if (t.at <= calibrationEnd || t.at > holdoutEnd) continue;
    const day = dayIndex(t.at, offsetMinutes);
    if (day <= calEndDay) continue; // same calendar day as the calibration end: already counted there
    const h = holdout.get(t.customerKey) ?? { days: new Set<number>(), revenue: 0, within90d: false };
    h.days.add(day);
    h.revenue += t.value;
    if (day <= calEndDay + 90) h.within90d = true;
    holdout.set(t.customerKey, h);
  }
  const errors = () => ({ abs: 0, sq: 0, total: 0 });
  const fits = models.map((model) => fitClv(summary, model));
  const m = fits.map(() => ({ p: errors(), v: errors() }));
  const base = { p: errors(), v: errors() };
  const add = (e: { abs: number; sq: number; total: number }, predicted: number, actual: number) => {
    e.abs += Math.abs(predicted - actual);
    e.sq += (predicted - actual) ** 2;
    e.total += predicted;
  };
  let actualPurchases = 0;
  let actualRevenue = 0;
  for (const c of summary) {
    const h = holdout.get(c.customerKey);
    const purchases = h?.days.size ?? 0;
    const revenue = h?.revenue ?? 0;
    actualPurchases += purchases;
    actualRevenue += revenue;
    fits.forEach((fit, i) => {
      const prediction = predictCustomer(fit, c, calibrationEnd, [holdoutDays, holdoutDays]);
      add(m[i]!.p, prediction.predictedOrders90d, purchases);
      add(m[i]!.v, prediction.predictedValue90d, revenue);
    });
    const rate = c.tenureDays > 0 ? c.frequency / c.tenureDays : 0;
    add(base.p, rate * holdoutDays, purchases);
    add(base.v, rate * holdoutDays * c.averageValue, revenue);
  }
  const n = summary.length;
  const stats = (e: { abs: number; sq: number; total: number }): ErrorStats => ({
    mae: e.abs / n,
    rmse: Math.sqrt(e.sq / n),
    totalPredicted: e.total,
  });
  const baseline = { purchases: stats(base.p), revenue: stats(base.v) };
  const candidates: CandidateReport[] = fits.map((fit, i) => {
    const purchases = stats(m[i]!.p);
    const revenue = stats(m[i]!.v);
    return {
      model: fit.model,
      fit: fit.purchases,
      purchases,
      revenue,
      beatsBaseline:
        purchases.mae < baseline.purchases.mae &&
        revenue.mae < baseline.revenue.mae &&
        Math.abs(purchases.totalPredicted - actualPurchases) < Math.abs(baseline.purchases.totalPredicted - actualPurchases),
    };
  });
  const pool = candidates.some((c) => c.beatsBaseline) ? candidates.filter((c) => c.beatsBaseline) : candidates;
  const best = pool.reduce((a, b) => (b.purchases.mae < a.purchases.mae ? b : a));
  const chosenFit = fits[candidates.indexOf(best)]!;
  const bands = { high: [] as CustomerOutcome[], medium: [] as CustomerOutcome[], low: [] as CustomerOutcome[] };
  for (const c of summary) {
    const p = predictCustomer(chosenFit, c, calibrationEnd, [holdoutDays, holdoutDays]).probabilityPurchase90d;
    const h = holdout.get(c.customerKey);
    const band = p < thresholds.highBelow ? 'high' : p < thresholds.mediumBelow ? 'medium' : 'low';
    const absence = c.frequency > 0 && c.recencyDays > 0 ? (c.tenureDays - c.recencyDays) / (c.recencyDays / c.frequency) : null;
    bands[band].push({ p, within90d: h?.within90d ?? false, inHoldout: (h?.days.size ?? 0) > 0, absence });
  }
  const churnBands: ChurnBandReport[] = (['high', 'medium', 'low'] as const).map((band) => {
    const members = bands[band];
    const share = (f: (o: CustomerOutcome) => boolean) => (members.length ? members.filter(f).length / members.length : 0);
    return {
      band,
      customers: members.length,
      meanProbabilityPurchase90d: members.length ? members.reduce((sum, o) => sum + o.p, 0) / members.length : 0,
      repeatRate90d: holdoutDays >= 90 ? share((o) => o.within90d) : null,
      repeatRateHoldout: share((o) => o.inHoldout),
      medianAbsenceOverUsualGap: median(members.flatMap((o) => (o.absence === null ? [] : [o.absence]))),
    };
  });
  return {
    calibrationEnd: new Date(calibrationEnd).toISOString(),
    holdoutEnd: new Date(holdoutEnd).toISOString(),
    holdoutDays,
    customers: n,
    candidates,
    chosen: best.model,
    fit: { model: best.model, bgnbd: chosenFit.purchases, gammaGamma: chosenFit.spend },
    actual: { purchases: actualPurchases, revenue: actualRevenue },
    model: { purchases: best.purchases, revenue: best.revenue },
    baseline,
    modelBeatsBaseline: best.beatsBaseline,
    churnBands,
  };
}

interface CustomerOutcome {
  p: number;
  within90d: boolean;
  inHoldout: boolean;
  absence: number | null;
}
