/**
 * Per-customer predictions from a fitted model. Predicted value over a horizon =
 * E[purchases in the horizon] (the fit's repeat-purchase model) × E[value per purchase] (Gamma-Gamma): the two models are
 * independent by assumption (Fader-Hardie-Lee 2005, JMR), so the expectation factorises.
 * Undiscounted; the purchase counted is a purchase day (see summary-data.ts).
 */
import { expectedSpend } from './gamma-gamma.ts';
import { REPEAT_MODELS } from './repeat-models.ts';
import type { ClvFit } from './fit.ts';
import { DAY_MS, type CustomerSummary } from './summary-data.ts';

export interface ClvPrediction {
  customerKey: string;
  frequency: number;
  recencyDays: number;
  tenureDays: number;
  avgOrderValue: number;
  predictedOrders90d: number;
  predictedOrders365d: number;
  probabilityAlive: number;
  predictedValue90d: number;
  predictedValue365d: number;
  /** Median date of the next purchase (null when P(alive) ≤ 0.5). */
  expectedNextOrderAt: Date | null;
}

export function predictCustomer(
  fit: ClvFit,
  c: CustomerSummary,
  calibrationEnd: number,
  horizonsDays: readonly [number, number] = [90, 365],
): ClvPrediction {
  const bg = fit.purchases.params;
  const model = REPEAT_MODELS[fit.model];
  const spend = expectedSpend(fit.spend.params, c);
  const orders90 = model.expectedPurchases(bg, c, horizonsDays[0]);
  const orders365 = model.expectedPurchases(bg, c, horizonsDays[1]);
  const next = model.medianDaysToNextPurchase(bg, c);
  return {
    customerKey: c.customerKey,
    frequency: c.frequency,
    recencyDays: c.recencyDays,
    tenureDays: c.tenureDays,
    avgOrderValue: spend,
    predictedOrders90d: orders90,
    predictedOrders365d: orders365,
    probabilityAlive: model.probabilityAlive(bg, c),
    predictedValue90d: orders90 * spend,
    predictedValue365d: orders365 * spend,
    expectedNextOrderAt: next === null ? null : new Date(calibrationEnd + Math.round(next * DAY_MS)),
  };
}
