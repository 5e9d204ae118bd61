/**
 * Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves",
 * JMR 42(4); Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value"): a customer's
 * transaction values are Gamma(p, ν) around their own mean, with ν ~ Gamma(q, γ) across customers.
 * Fitted on customers with at least one repeat purchase (x ≥ 1), on the mean value of those purchases.
 */
import { lnGamma } from './special-functions.ts';
import { nelderMead } from './nelder-mead.ts';

export interface GammaGammaParams {
  p: number;
  q: number;
  gamma: number;
}
export interface SpendPoint {
  frequency: number;
  monetary: number;
}

/** ln f(m̄_x | x; p, q, γ), Fader & Hardie (2013) eq. 3. */
export function gammaGammaLogLikelihood({ p, q, gamma }: GammaGammaParams, { frequency: x, monetary: m }: SpendPoint): number {
  return (
    lnGamma(p * x + q) -
    lnGamma(p * x) -
    lnGamma(q) +
    q * Math.log(gamma) +
    (p * x - 1) * Math.log(m) +
    p * x * Math.log(x) -
    (p * x + q) * Math.log(gamma + x * m)
  );
}

export interface GammaGammaFit {
  params: GammaGammaParams;
  logLikelihood: number;
  iterations: number;
  converged: boolean;
  customers: number;
}

export function fitGammaGamma(data: readonly SpendPoint[], start: GammaGammaParams = { p: 1, q: 2, gamma: 100 }): GammaGammaFit {
  const usable = data.filter((d) => d.frequency > 0 && d.monetary > 0);
  if (usable.length < 3) throw new Error(`Gamma-Gamma: needs at least 3 customers with repeat purchases, got ${usable.length}`);
  const negLL = (v: number[]) => {
    const params = { p: Math.exp(v[0]!), q: Math.exp(v[1]!), gamma: Math.exp(v[2]!) };
    let sum = 0;
    for (const d of usable) sum += gammaGammaLogLikelihood(params, d);
    return -sum;
  };
  const result = nelderMead(negLL, [Math.log(start.p), Math.log(start.q), Math.log(start.gamma)], { restarts: 3 });
  const params = { p: Math.exp(result.x[0]!), q: Math.exp(result.x[1]!), gamma: Math.exp(result.x[2]!) };
  return { params, logLikelihood: -negLL(result.x), iterations: result.iterations, converged: result.converged, customers: usable.length };
}

/**
 * E[M | p, q, γ, m̄_x, x] = (γ + x·m̄_x)·p / (p·x + q − 1) (Fader & Hardie 2013 eq. 5): a weighted
 * mean of the population mean p·γ/(q−1) and the customer's own mean. For x = 0 it is the population
 * mean. Needs q > 1 (finite population mean); otherwise the customer's own mean is used.
 */
export function expectedSpend({ p, q, gamma }: GammaGammaParams, { frequency: x, monetary: m }: SpendPoint): number {
  if (q <= 1) return m;
  return ((gamma + x * m) * p) / (p * x + q - 1);
}
