/**
 * Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves",
 * JMR 42(4); Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value"): a customer's
 * transaction values are Gamma(p, ν) around their own mean, with ν ~ Gamma(q, γ) across customers.
 * Fitted on customers with at least one repeat purchase (x ≥ 1), on the mean value of those purchases.
 */
import { digamma, lnGamma } from './special-functions.ts';
import { nelderMead } from './nelder-mead.ts';
import { bfgs } from './bfgs.ts';

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

/**
 * Maximum likelihood by BFGS on log-parameters with the analytic gradient (tens of passes over the
 * customers, where Nelder-Mead needed thousands: 12.7 s -> well under a second for 100,000 customers);
 * Nelder-Mead polishes only a fit that did not converge. ∂ℓ/∂p = x·[ψ(px+q) − ψ(px) + ln m + ln x −
 * ln(γ+xm)], ∂ℓ/∂q = ψ(px+q) − ψ(q) + ln γ − ln(γ+xm), ∂ℓ/∂γ = q/γ − (px+q)/(γ+xm).
 */
export function fitGammaGamma(data: readonly SpendPoint[], start: GammaGammaParams = { p: 1, q: 2, gamma: 100 }): GammaGammaFit {
  const usable = data.filter((d) => d.frequency > 0 && d.monetary > 0);
  if (usable.length < 3) throw new Error(`Gamma-Gamma: needs at least 3 customers with repeat purchases, got ${usable.length}`);
  const n = usable.length;
  // Per customer constants, once: x, ln m, ln x, m.
  const xs = Float64Array.from(usable, (d) => d.frequency);
  const ms = Float64Array.from(usable, (d) => d.monetary);
  const lnM = ms.map(Math.log);
  const lnX = xs.map(Math.log);
  const objective = (v: number[]) => {
    const p = Math.exp(v[0]!);
    const q = Math.exp(v[1]!);
    const gamma = Math.exp(v[2]!);
    const lnGammaQ = lnGamma(q);
    const psiQ = digamma(q);
    const lnG = Math.log(gamma);
    let value = 0;
    let dp = 0;
    let dq = 0;
    let dg = 0;
    for (let i = 0; i < n; i++) {
      const x = xs[i]!;
      const px = p * x;
      const lnDen = Math.log(gamma + x * ms[i]!);
      const psiSum = digamma(px + q);
      value += lnGamma(px + q) - lnGamma(px) - lnGammaQ + q * lnG + (px - 1) * lnM[i]! + px * lnX[i]! - (px + q) * lnDen;
      dp += x * (psiSum - digamma(px) + lnM[i]! + lnX[i]! - lnDen);
      dq += psiSum - psiQ + lnG - lnDen;
      dg += q / gamma - (px + q) / (gamma + x * ms[i]!);
    }
    // Minimise the mean negative log-likelihood; the chain rule for log-parameters.
    return { value: -value / n, gradient: [(-dp * p) / n, (-dq * q) / n, (-dg * gamma) / n] };
  };
  const startV = [Math.log(start.p), Math.log(start.q), Math.log(start.gamma)];
  let result = bfgs(objective, startV, { maxIterations: 500, gradientTolerance: 1e-9 });
  if (!result.converged) {
    const polished = nelderMead((v) => objective(v).value, result.x, { restarts: 3 });
    if (polished.fx <= result.fx) result = { ...polished, iterations: result.iterations + polished.iterations };
  }
  const params = { p: Math.exp(result.x[0]!), q: Math.exp(result.x[1]!), gamma: Math.exp(result.x[2]!) };
  let logLikelihood = 0;
  for (const d of usable) logLikelihood += gammaGammaLogLikelihood(params, d);
  return { params, logLikelihood, iterations: result.iterations, converged: result.converged, customers: n };
}

/** The previous fitter (Nelder-Mead, 3 restarts, no gradient): kept as the benchmark's and the test's reference. */
export function fitGammaGammaNelderMead(data: readonly SpendPoint[], start: GammaGammaParams = { p: 1, q: 2, gamma: 100 }): GammaGammaFit {
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
