/**
 * Pareto/NBD (Schmittlein, Morrison & Colombo 1987, "Counting your customers: who are they and what
 * will they do next?", Management Science 33): while alive a customer buys as a Poisson process with
 * rate λ ~ Gamma(r, α) and dies after an exponential lifetime with rate μ ~ Gamma(s, β), in continuous
 * time: drop-out can happen at any moment, not only right after a purchase as in BG/NBD. Days.
 * Predictions follow Fader & Hardie's note 009 (2005), as lifetimes' ParetoNBDFitter does (the
 * reference the tests compare with).
 */
import { bfgs } from './bfgs.ts';
import { nelderMead } from './nelder-mead.ts';
import { paretoLogLikelihood, paretoLogLikelihoodValue, paretoPairs } from './pareto-likelihood.ts';
import { lnTailIntegral } from './tail-integral.ts';
import { groupSummary } from './repeat-likelihood.ts';
import type { ParetoNbdParams, RfmPoint } from './model-types.ts';

export interface ParetoNbdFit {
  params: ParetoNbdParams;
  logLikelihood: number;
  iterations: number;
  converged: boolean;
  customers: number;
}

/**
 * Maximum likelihood: BFGS on the log-parameters over the (x, t_x, T) groups, the objective being
 * the mean negative log-likelihood plus the same tiny ridge on the log-parameters as the
 * beta-geometric fits. Start: α = β, where every 2F1 is 1; Nelder-Mead polishes when BFGS stops early.
 */
export function fitParetoNbd(data: readonly RfmPoint[], start?: ParetoNbdParams): ParetoNbdFit {
  if (data.length === 0) throw new Error('paretonbd: no customers to fit');
  const grouped = groupSummary(data);
  // α and β are in the unit of time: start them at a fifth of the mean tenure (fewer and cheaper steps than a fixed 10).
  const scale = Math.max(1e-3, grouped.T.reduce((sum, T, i) => sum + T * grouped.count[i]!, 0) / grouped.customers / 5);
  start ??= { r: 1, alpha: scale, s: 1, beta: scale };
  const pairs = paretoPairs(grouped);
  const n = grouped.customers;
  const toParams = (v: number[]) => ({ r: Math.exp(v[0]!), alpha: Math.exp(v[1]!), s: Math.exp(v[2]!), beta: Math.exp(v[3]!) });
  const ridge = (v: number[]) => 1e-6 * v.reduce((sum, vi) => sum + vi * vi, 0);
  const objective = (v: number[]) => {
    const params = toParams(v);
    const { value, gradient } = paretoLogLikelihood(params, grouped, pairs);
    const theta = [params.r, params.alpha, params.s, params.beta];
    return {
      value: (-value + ridge(v)) / n,
      gradient: gradient.map((g, i) => (-g * theta[i]! + 2e-6 * v[i]!) / n),
    };
  };
  const startV = [Math.log(start.r), Math.log(start.alpha), Math.log(start.s), Math.log(start.beta)];
  // The central-difference gradient is good to ~1e-10 of the mean objective, so ask no more of it.
  let result = bfgs(objective, startV, { maxIterations: 400, gradientTolerance: 1e-8 });
  if (!result.converged) {
    const valueOnly = (v: number[]) => {
      const value = (-paretoLogLikelihoodValue(toParams(v), grouped, pairs) + ridge(v)) / n;
      return Number.isFinite(value) ? value : Infinity;
    };
    const polished = nelderMead(valueOnly, result.x, { restarts: 3 });
    if (polished.fx <= result.fx) result = { ...polished, iterations: result.iterations + polished.iterations };
  }
  const params = toParams(result.x);
  return {
    params,
    logLikelihood: paretoLogLikelihoodValue(params, grouped, pairs),
    iterations: result.iterations,
    converged: result.converged,
    customers: n,
  };
}

/**
 * ln of the odds term s · I · (α+T)^(r+x) (β+T)^s: P(alive) = 1 / (1 + e^that), note 009 eq. 36-37.
 * −Infinity when t_x = T (bought on the last day: alive for sure).
 */
function lnDeadOdds({ r, alpha, s, beta }: ParetoNbdParams, { frequency: x, recencyDays: tx, tenureDays: T }: RfmPoint): number {
  if (!(tx < T)) return -Infinity;
  const jTx = lnTailIntegral(r + x, s + 1, alpha, beta, tx);
  const jT = lnTailIntegral(r + x, s + 1, alpha, beta, T);
  const lnI = jTx + Math.log1p(-Math.exp(jT - jTx));
  return Math.log(s) + lnI + (r + x) * Math.log(alpha + T) + s * Math.log(beta + T);
}

// predictCustomer asks for P(alive) of one customer several times (expected purchases at two
// horizons, P(a purchase within 90 days), the median): keep the last answer, two tail integrals.
let last = { r: NaN, alpha: NaN, s: NaN, beta: NaN, x: NaN, tx: NaN, T: NaN, odds: NaN };

function cachedDeadOdds(params: ParetoNbdParams, point: RfmPoint): number {
  const { r, alpha, s, beta } = params;
  const { frequency: x, recencyDays: tx, tenureDays: T } = point;
  const l = last;
  if (l.r === r && l.alpha === alpha && l.s === s && l.beta === beta && l.x === x && l.tx === tx && l.T === T) return l.odds;
  const odds = lnDeadOdds(params, point);
  last = { r, alpha, s, beta, x, tx, T, odds };
  return odds;
}

/** P(alive | x, t_x, T). */
export function paretoProbabilityAlive(params: ParetoNbdParams, point: RfmPoint): number {
  return 1 / (1 + Math.exp(cachedDeadOdds(params, point)));
}

/**
 * E[X(T, T + t) | x, t_x, T], note 009 eq. 41:
 *   P(alive) · (r+x)/(α+T) · (β+T)/(s−1) · [1 − ((β+T)/(β+T+t))^(s−1)]
 * (an alive customer's expected rate times their expected remaining life within t; the limit
 * (β+T) · ln(1 + t/(β+T)) at s = 1).
 */
export function paretoExpectedPurchases(params: ParetoNbdParams, point: RfmPoint, t: number): number {
  if (t <= 0) return 0;
  const { r, alpha, s, beta } = params;
  const B = beta + point.tenureDays;
  const lnGrowth = Math.log1p(t / B);
  const life = Math.abs(s - 1) < 1e-9 ? B * lnGrowth : (B * -Math.expm1(-(s - 1) * lnGrowth)) / (s - 1);
  return paretoProbabilityAlive(params, point) * ((r + point.frequency) / (alpha + point.tenureDays)) * life;
}

/**
 * P(at least one purchase in (T, T + t] | x, t_x, T). Derived here: alive at T, the posterior of
 * (λ, μ) is Gamma(r+x, α+T) × Gamma(s, β+T), independent (the likelihood of an alive customer is
 * λ^x e^−(λ+μ)T). Given (λ, μ), the first event after T is a purchase before time u with
 * probability ∫_0^u λ e^−(λ+μ)v dv, so with R = r+x, A = α+T, S = s, B = β+T
 *   P = P(alive) · ∫_0^t E[λ e^−λv] E[e^−μv] dv = P(alive) · R A^R B^S ∫_0^t (A+v)^−(R+1) (B+v)^−S dv,
 * the same kind of integral as the likelihood's (tail-integral.ts), so in closed form. It is 0 at
 * t = 0, increases with t and tends to P(alive) · E[λ/(λ+μ)] < P(alive) (a customer may die first).
 * Equals 1 − lifetimes' conditional_probability_of_n_purchases_up_to_time(0, t, …) (see the tests).
 */
export function paretoProbabilityPurchaseWithin(params: ParetoNbdParams, point: RfmPoint, t: number): number {
  return purchaseWithin(params, point).probability(t);
}

/** The probability above as a function of t, with its density, for one customer (P(alive) computed once). */
function purchaseWithin(params: ParetoNbdParams, point: RfmPoint) {
  const R = params.r + point.frequency;
  const A = params.alpha + point.tenureDays;
  const S = params.s;
  const B = params.beta + point.tenureDays;
  const lnAlive = -Math.log1p(Math.exp(cachedDeadOdds(params, point)));
  const lnScale = lnAlive + Math.log(R) + R * Math.log(A) + S * Math.log(B);
  const from0 = lnTailIntegral(R + 1, S, A, B, 0);
  return {
    probability: (t: number) => {
      if (!(t > 0)) return 0;
      const fromT = t === Infinity ? -Infinity : lnTailIntegral(R + 1, S, A, B, t);
      return Math.exp(lnScale + from0 + Math.log1p(-Math.exp(fromT - from0)));
    },
    density: (t: number) => Math.exp(lnScale - (R + 1) * Math.log(A + t) - S * Math.log(B + t)),
  };
}

/**
 * Median days after T to the next purchase: the t where paretoProbabilityPurchaseWithin = 1/2
 * (Newton on the closed form and its density, kept inside a bisection bracket); null when even an
 * unbounded horizon stays at or below 1/2 (the next purchase may never come).
 */
export function paretoMedianDaysToNextPurchase(params: ParetoNbdParams, point: RfmPoint): number | null {
  const within = purchaseWithin(params, point);
  if (within.probability(Infinity) <= 0.5) return null;
  let low = 0;
  let high = params.alpha + point.tenureDays;
  while (within.probability(high) < 0.5) high *= 2;
  let t = high / 2;
  for (let k = 0; k < 100; k++) {
    const gap = within.probability(t) - 0.5;
    if (gap < 0) low = t;
    else high = t;
    if (Math.abs(gap) < 1e-12 || high - low < 1e-12 * high) break;
    const next = t - gap / within.density(t);
    t = next > low && next < high ? next : (low + high) / 2;
  }
  return t;
}
