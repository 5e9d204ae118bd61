/**
 * BG/NBD ("beta-geometric / negative binomial distribution") repeat-purchase model of
 * Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", Marketing Science 24(2).
 *
 * While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after every purchase
 * they drop out with probability p ~ Beta(a, b). Time unit here: days.
 */
import { hyp2f1, lnGamma } from './special-functions.ts';
import { nelderMead } from './nelder-mead.ts';
import { bfgs } from './bfgs.ts';
import { groupSummary, repeatLogLikelihood, type BetaGeometricKind } from './repeat-likelihood.ts';
import type { BgNbdParams, RfmPoint } from './model-types.ts';

export type { BgNbdParams, RfmPoint } from './model-types.ts';

/** Individual log-likelihood, FHL (2005) eq. 6, in the numerically stable form of their note. */
export function bgnbdLogLikelihood({ r, alpha, a, b }: BgNbdParams, { frequency: x, recencyDays: tx, tenureDays: T }: RfmPoint): number {
  const a1 = lnGamma(r + x) - lnGamma(r) + r * Math.log(alpha);
  const a2 = lnGamma(a + b) + lnGamma(b + x) - lnGamma(b) - lnGamma(a + b + x);
  const a3 = -(r + x) * Math.log(alpha + T);
  if (x === 0) return a1 + a2 + a3;
  const a4 = Math.log(a) - Math.log(b + x - 1) - (r + x) * Math.log(alpha + tx);
  const m = Math.max(a3, a4);
  return a1 + a2 + m + Math.log(Math.exp(a3 - m) + Math.exp(a4 - m));
}

export interface BgNbdFit {
  params: BgNbdParams;
  logLikelihood: number;
  iterations: number;
  converged: boolean;
  customers: number;
}

/**
 * Maximum likelihood of BG/NBD or MBG/NBD: BFGS on the log-parameters (keeps them positive) with
 * the analytic gradient, over customers grouped by (x, t_x, T). The objective is the mean negative
 * log-likelihood plus a tiny ridge on the log-parameters, which keeps a and b finite when the data
 * cannot tell them apart. Nelder-Mead from the BFGS optimum confirms it when BFGS stops early.
 */
export function fitRepeatModel(
  kind: BetaGeometricKind,
  data: readonly RfmPoint[],
  start: BgNbdParams = { r: 1, alpha: 10, a: 1, b: 1 },
): BgNbdFit {
  if (data.length === 0) throw new Error(`${kind}: no customers to fit`);
  const grouped = groupSummary(data);
  const n = grouped.customers;
  const toParams = (v: number[]) => ({ r: Math.exp(v[0]!), alpha: Math.exp(v[1]!), a: Math.exp(v[2]!), b: Math.exp(v[3]!) });
  const objective = (v: number[]) => {
    const params = toParams(v);
    const { value, gradient } = repeatLogLikelihood(kind, params, grouped);
    const theta = [params.r, params.alpha, params.a, params.b];
    return {
      value: (-value + 1e-6 * v.reduce((s, vi) => s + vi * vi, 0)) / n,
      gradient: gradient.map((g, i) => (-g * theta[i]! + 2e-6 * v[i]!) / n),
    };
  };
  const startV = [Math.log(start.r), Math.log(start.alpha), Math.log(start.a), Math.log(start.b)];
  let result = bfgs(objective, startV, { maxIterations: 400, gradientTolerance: 1e-9 });
  if (!result.converged) {
    const polished = nelderMead((v) => objective(v).value, result.x, { restarts: 3 });
    if (polished.fx <= result.fx) result = { ...polished, iterations: result.iterations + polished.iterations };
  }
  const params = toParams(result.x);
  return {
    params,
    logLikelihood: repeatLogLikelihood(kind, params, grouped).value,
    iterations: result.iterations,
    converged: result.converged,
    customers: n,
  };
}

/** BG/NBD by maximum likelihood (fitRepeatModel). */
export function fitBgNbd(data: readonly RfmPoint[], start?: BgNbdParams): BgNbdFit {
  return fitRepeatModel('bgnbd', data, start);
}

/**
 * The previous fitter, derivative-free Nelder-Mead on the same objective: kept so the benchmark
 * prints the new fit's time beside it, and as a cross-check in the tests.
 */
export function fitBgNbdNelderMead(data: readonly RfmPoint[], start: BgNbdParams = { r: 1, alpha: 10, a: 1, b: 1 }): BgNbdFit {
  if (data.length === 0) throw new Error('BG/NBD: no customers to fit');
  const groups = new Map<string, { point: RfmPoint; count: number }>();
  for (const p of data) {
    const key = `${p.frequency}|${p.recencyDays}|${p.tenureDays}`;
    const g = groups.get(key);
    if (g) g.count += 1;
    else groups.set(key, { point: p, count: 1 });
  }
  const grouped = [...groups.values()];
  const negLL = (v: number[]) => {
    const params = { r: Math.exp(v[0]!), alpha: Math.exp(v[1]!), a: Math.exp(v[2]!), b: Math.exp(v[3]!) };
    let sum = 0;
    for (const g of grouped) sum += g.count * bgnbdLogLikelihood(params, g.point);
    return -sum + 1e-6 * v.reduce((s, vi) => s + vi * vi, 0);
  };
  const result = nelderMead(negLL, [Math.log(start.r), Math.log(start.alpha), Math.log(start.a), Math.log(start.b)], { restarts: 3 });
  const params = { r: Math.exp(result.x[0]!), alpha: Math.exp(result.x[1]!), a: Math.exp(result.x[2]!), b: Math.exp(result.x[3]!) };
  let logLikelihood = 0;
  for (const g of grouped) logLikelihood += g.count * bgnbdLogLikelihood(params, g.point);
  return { params, logLikelihood, iterations: result.iterations, converged: result.converged, customers: data.length };
}

/** P(alive | x, t_x, T), FHL (2005) eq. 12 (and their 2008 note): 1 for x = 0 under BG/NBD. */
export function probabilityAlive({ r, alpha, a, b }: BgNbdParams, { frequency: x, recencyDays: tx, tenureDays: T }: RfmPoint): number {
  if (x === 0) return 1;
  return 1 / (1 + (a / (b + x - 1)) * Math.pow((alpha + T) / (alpha + tx), r + x));
}

/**
 * E[X(T, T + t) | x, t_x, T]: expected purchases in the next t days, FHL (2005) eq. 10:
 *   (a+b+x-1)/(a-1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; t/(α+T+t))]
 *   / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
 */
export function expectedPurchases(params: BgNbdParams, point: RfmPoint, t: number): number {
  const { r, alpha, a, b } = params;
  const { frequency: x, recencyDays: tx, tenureDays: T } = point;
  if (t <= 0) return 0;
  const z = t / (alpha + T + t);
  const hyper = hyp2f1(r + x, b + x, a + b + x - 1, z);
  const numerator = ((a + b + x - 1) / (a - 1)) * (1 - Math.pow((alpha + T) / (alpha + T + t), r + x) * hyper);
  const denominator = 1 + (x > 0 ? (a / (b + x - 1)) * Math.pow((alpha + T) / (alpha + tx), r + x) : 0);
  return numerator / denominator;
}

/**
 * Median time to the next purchase, in days after T (null when it may never come, P(alive) ≤ 0.5).
 * Under BG/NBD a customer alive at T buys again for sure (drop-out happens only right after a
 * purchase), with λ | data ~ Gamma(r+x, α+T), so
 *   P(next purchase within t | data) = P(alive) · [1 − ((α+T)/(α+T+t))^(r+x)].
 * Setting that to 1/2: t = (α+T) · (u^(−1) − 1) with u = (1 − 1/(2·P(alive)))^(1/(r+x)).
 */
export function medianDaysToNextPurchase(params: BgNbdParams, point: RfmPoint): number | null {
  const alive = probabilityAlive(params, point);
  if (alive <= 0.5) return null;
  const u = Math.pow(1 - 0.5 / alive, 1 / (params.r + point.frequency));
  return (params.alpha + point.tenureDays) * (1 / u - 1);
}
