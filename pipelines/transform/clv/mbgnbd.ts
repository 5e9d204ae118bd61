/**
 * MBG/NBD (Batislam, Denizel & Filiztekin 2007, "Empirical validation and comparison of models for
 * customer base analysis", IJRM 24): BG/NBD in which a customer may also drop out at time zero,
 * right after the first purchase. So a one-time buyer is not alive for sure: P(alive) decays with
 * the time since their purchase, which is what a shop where most buyers never return needs for churn.
 * Formulas as in lifetimes' ModifiedBetaGeoFitter (the reference the tests compare with).
 */
import { hyp2f1 } from './special-functions.ts';
import type { BgNbdParams, RfmPoint } from './model-types.ts';

/** P(alive | x, t_x, T) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x)), for every x including 0. */
export function mbgProbabilityAlive({ r, alpha, a, b }: BgNbdParams, { frequency: x, recencyDays: tx, tenureDays: T }: RfmPoint): number {
  return 1 / (1 + (a / (b + x)) * Math.pow((alpha + T) / (alpha + tx), r + x));
}

/**
 * E[X(T, T + t) | x, t_x, T]:
 *   (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x+1; a+b+x; t/(α+T+t))]
 *   / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x))
 */
export function mbgExpectedPurchases(params: BgNbdParams, point: RfmPoint, t: number): number {
  const { r, alpha, a, b } = params;
  const { frequency: x, recencyDays: tx, tenureDays: T } = point;
  if (t <= 0) return 0;
  const hyper = hyp2f1(r + x, b + x + 1, a + b + x, t / (alpha + T + t));
  const numerator = ((a + b + x) / (a - 1)) * (1 - Math.pow((alpha + T) / (alpha + T + t), r + x) * hyper);
  return numerator / (1 + (a / (b + x)) * Math.pow((alpha + T) / (alpha + tx), r + x));
}

/** Median days after T to the next purchase (null when P(alive) ≤ 0.5): as for BG/NBD, an alive customer buys again. */
export function mbgMedianDaysToNextPurchase(params: BgNbdParams, point: RfmPoint): number | null {
  const alive = mbgProbabilityAlive(params, point);
  if (alive <= 0.5) return null;
  const u = Math.pow(1 - 0.5 / alive, 1 / (params.r + point.frequency));
  return (params.alpha + point.tenureDays) * (1 / u - 1);
}
