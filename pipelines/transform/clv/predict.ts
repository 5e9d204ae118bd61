/**
 * Per-customer predictions from a fitted model. Predicted value over a horizon =
 * E[purchases in the horizon] (the fit's repeat-purchase model) × E[value per purchase] (Gamma-Gamma): the two models are
 * independent by assumption (Fader-Hardie-Lee 2005, JMR), so the expectation factorises.
 * Undiscounted; the purchase counted is a purchase day (see summary-data.ts). P(a purchase within 90
 * days), what churn risk is 1 minus, is each model's own (repeat-models.ts): it ranks customers by
 * risk better than P(alive) alone: a frequent buyer long absent has a low P(alive) yet often returns;
 * a one-time buyer's P(alive) can stay middling while their purchase rate, and so their chance of
 * buying soon, is low.
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
  /** P(at least one purchase in the next 90 days): what churn risk is 1 minus (docs/concepts.md). */
  probabilityPurchase90d: number;
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
  const params = fit.purchases.params;
  const model = REPEAT_MODELS[fit.model];
  const spend = expectedSpend(fit.spend.params, c);
  const orders90 = model.expectedPurchases(params, c, horizonsDays[0]);
  const orders365 = model.expectedPurchases(params, c, horizonsDays[1]);
  const next = model.medianDaysToNextPurchase(params, c);
  const alive = model.probabilityAlive(params, c);
  return {
    customerKey: c.customerKey,
    frequency: c.frequency,
    recencyDays: c.recencyDays,
    tenureDays: c.tenureDays,
    avgOrderValue: spend,
    predictedOrders90d: orders90,
    predictedOrders365d: orders365,
    probabilityAlive: alive,
    probabilityPurchase90d: model.probabilityPurchaseWithin(params, c, 90),
    predictedValue90d: orders90 * spend,
    predictedValue365d: orders365 * spend,
    expectedNextOrderAt: next === null ? null : new Date(calibrationEnd + Math.round(next * DAY_MS)),
  };
}
