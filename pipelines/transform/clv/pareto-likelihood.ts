/**
 * The Pareto/NBD log-likelihood (Schmittlein, Morrison & Colombo 1987) summed over customers grouped
 * by (x, t_x, T), in the form of Fader, Hardie & Shang's note ("Deriving an expression for
 * P(X(t) = x) under the Pareto/NBD model", and Fader & Hardie 2005, note 009, eq. 18-20):
 *   L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^−(r+x) (β+T)^−s + s · I ],
 *   I = ∫_{t_x}^{T} (α+y)^−(r+x) (β+y)^−(s+1) dy = J(t_x) − J(T),
 * where J(y), the integral from y to infinity, is one Gauss hypergeometric 2F1 (tail-integral.ts).
 * Everything is in logs: (α+T)^(r+x) overflows for a frequent buyer long before the likelihood does.
 *
 * Gradient: analytic (paretoLogLikelihood; the tests hold it to central differences). ∂ ln J/∂r
 * and ∂ ln J/∂s move the 2F1's parameters: their series is summed beside the 2F1's own. J depends
 * on (x, y) only, so each evaluation computes it once per distinct (x, t_x) and (x, T) pair, far
 * fewer than the (x, t_x, T) groups; the per-group work is an exponential and a logarithm.
 */
import { digamma, lnGamma } from './special-functions.ts';
import { lnTailIntegral, tailIntegral } from './tail-integral.ts';
import type { ParetoNbdParams } from './model-types.ts';
import type { GroupedSummary } from './repeat-likelihood.ts';

export { lnTailIntegral } from './tail-integral.ts';

/** ln(e^a − e^b) for a ≥ b (−Infinity when equal). */
const logSubExp = (a: number, b: number) => a + Math.log1p(-Math.exp(b - a));
const logAddExp = (a: number, b: number) => {
  const m = Math.max(a, b);
  return m === -Infinity ? m : m + Math.log(Math.exp(a - m) + Math.exp(b - m));
};

/** The groups' distinct (x, t_x) and (x, T) pairs, computed once per data set, reused by every evaluation. */
export interface ParetoPairs {
  x: Int32Array;
  y: Float64Array;
  /** For group i: the pair index of its (x, t_x) and of its (x, T). */
  atTx: Int32Array;
  atT: Int32Array;
}

export function paretoPairs(data: GroupedSummary): ParetoPairs {
  const index = new Map<string, number>();
  const xs: number[] = [];
  const ys: number[] = [];
  const pair = (x: number, y: number) => {
    const key = `${x}|${y}`;
    let at = index.get(key);
    if (at === undefined) {
      at = xs.length;
      index.set(key, at);
      xs.push(x);
      ys.push(y);
    }
    return at;
  };
  const n = data.x.length;
  const atTx = new Int32Array(n);
  const atT = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    atTx[i] = pair(data.x[i]!, data.tx[i]!);
    atT[i] = pair(data.x[i]!, data.T[i]!);
  }
  return { x: Int32Array.from(xs), y: Float64Array.from(ys), atTx, atT };
}

/** Individual log-likelihood terms need ln J(x, y) = lnTailIntegral(r+x, s+1, α, β, y). */
const lnJ = ({ r, alpha, s, beta }: ParetoNbdParams, x: number, y: number) => lnTailIntegral(r + x, s + 1, alpha, beta, y);

/** ln L of one customer (x, t_x, T). */
export function paretoIndividualLogLikelihood(params: ParetoNbdParams, x: number, tx: number, T: number): number {
  const { r, alpha, s, beta } = params;
  const a1 = lnGamma(r + x) - lnGamma(r) + r * Math.log(alpha) + s * Math.log(beta);
  const t1 = -(r + x) * Math.log(alpha + T) - s * Math.log(beta + T);
  if (!(tx < T)) return a1 + t1;
  return a1 + logAddExp(t1, Math.log(s) + logSubExp(lnJ(params, x, tx), lnJ(params, x, T)));
}

/** Sum over the groups of count · ln L. */
export function paretoLogLikelihoodValue(params: ParetoNbdParams, data: GroupedSummary, pairs: ParetoPairs): number {
  const { r, alpha, s, beta } = params;
  const lnJs = new Float64Array(pairs.x.length);
  for (let k = 0; k < pairs.x.length; k++) lnJs[k] = lnJ(params, pairs.x[k]!, pairs.y[k]!);
  const lgRx = new Float64Array(data.maxX + 1).fill(NaN);
  const lgR = lnGamma(r);
  const lnS = Math.log(s);
  const constant = -lgR + r * Math.log(alpha) + s * Math.log(beta);
  let value = 0;
  for (let i = 0; i < data.x.length; i++) {
    const x = data.x[i]!;
    const T = data.T[i]!;
    let lg = lgRx[x]!;
    if (Number.isNaN(lg)) lg = lgRx[x] = lnGamma(r + x);
    const t1 = -(r + x) * Math.log(alpha + T) - s * Math.log(beta + T);
    const tail = data.tx[i]! < T ? logAddExp(t1, lnS + logSubExp(lnJs[pairs.atTx[i]!]!, lnJs[pairs.atT[i]!]!)) : t1;
    value += data.count[i]! * (lg + constant + tail);
  }
  return value;
}

/**
 * The sum and its analytic gradient with respect to (r, α, s, β): per (x, y) pair, ∂ ln J/∂r,
 * ∂ ln J/∂s, ∂ ln J/∂α and ∂ ln J/∂β come with J (tail-integral.ts); per group, the chain rule.
 */
export function paretoLogLikelihood(
  params: ParetoNbdParams,
  data: GroupedSummary,
  pairs: ParetoPairs,
): { value: number; gradient: [number, number, number, number] } {
  const { r, alpha, s, beta } = params;
  const nPairs = pairs.x.length;
  const lnJs = new Float64Array(nPairs);
  const dJr = new Float64Array(nPairs);
  const dJalpha = new Float64Array(nPairs);
  const dJs = new Float64Array(nPairs);
  const dJbeta = new Float64Array(nPairs);
  // Per pair as an (x, T): the first term t1 = −(r+x) ln(α+T) − s ln(β+T), its logs, and e^(ln J − t1) (moderate: about (β+T)/(r+s+x)).
  const t1s = new Float64Array(nPairs);
  const lnAs = new Float64Array(nPairs);
  const lnBs = new Float64Array(nPairs);
  const ratio2 = new Float64Array(nPairs);
  for (let k = 0; k < nPairs; k++) {
    const p = r + pairs.x[k]!;
    const q = s + 1;
    const y = pairs.y[k]!;
    const J = tailIntegral(p, q, alpha, beta, y);
    lnJs[k] = J.value;
    dJr[k] = J.dp;
    dJs[k] = J.dq;
    dJalpha[k] = J.da;
    dJbeta[k] = J.db;
    lnAs[k] = Math.log(alpha + y);
    lnBs[k] = Math.log(beta + y);
    t1s[k] = -p * lnAs[k]! - s * lnBs[k]!;
    ratio2[k] = Math.exp(J.value - t1s[k]!);
  }
  const lgRx = new Float64Array(data.maxX + 1).fill(NaN);
  const psiRx = new Float64Array(data.maxX + 1);
  const lgR = lnGamma(r);
  const psiR = digamma(r);
  const lnAlpha = Math.log(alpha);
  const lnBeta = Math.log(beta);
  const lnS = Math.log(s);
  const constant = -lgR + r * lnAlpha + s * lnBeta;
  let value = 0;
  let gr = 0;
  let ga = 0;
  let gs = 0;
  let gb = 0;
  for (let i = 0; i < data.x.length; i++) {
    const x = data.x[i]!;
    const T = data.T[i]!;
    const c = data.count[i]!;
    let lg = lgRx[x]!;
    if (Number.isNaN(lg)) {
      lg = lgRx[x] = lnGamma(r + x);
      psiRx[x] = digamma(r + x);
    }
    const k2 = pairs.atT[i]!;
    const t1 = t1s[k2]!;
    // ∂ t1 and, weighted by the share w2 of the second term, ∂ t2 = ∂ (ln s + ln I).
    let d2r = 0;
    let d2a = 0;
    let d2s = 0;
    let d2b = 0;
    let w2 = 0;
    let tail = t1;
    if (data.tx[i]! < T) {
      const k1 = pairs.atTx[i]!;
      // I = J(t_x) − J(T) = J(T) · (e^d − 1), d = ln J(t_x) − ln J(T) > 0; q = J(T)/J(t_x).
      const d = lnJs[k1]! - lnJs[k2]!;
      const em = Math.expm1(d);
      let inv: number;
      let qInv: number;
      if (d < 700) {
        // e^(t2 − t1) = s · e^(ln J(T) − t1) · (e^d − 1): one exponential and one logarithm per group.
        const rho = s * ratio2[k2]! * em;
        tail = t1 + Math.log1p(rho);
        w2 = rho / (1 + rho);
        inv = (1 + em) / em; // 1 / (1 − q)
        qInv = 1 / em; // q / (1 − q)
      } else {
        // e^d overflows (a frequent buyer long gone): q ≈ 0 and ln I ≈ ln J(t_x).
        const t2 = lnS + lnJs[k1]! + Math.log1p(-Math.exp(-d));
        const e = Math.exp(-Math.abs(t2 - t1));
        tail = Math.max(t1, t2) + Math.log1p(e);
        w2 = t2 > t1 ? 1 / (1 + e) : e / (1 + e);
        inv = 1;
        qInv = 0;
      }
      // ∂ ln I = (∂ ln J(t_x) − q ∂ ln J(T)) / (1 − q)
      d2r = dJr[k1]! * inv - dJr[k2]! * qInv;
      d2a = dJalpha[k1]! * inv - dJalpha[k2]! * qInv;
      d2s = 1 / s + dJs[k1]! * inv - dJs[k2]! * qInv;
      d2b = dJbeta[k1]! * inv - dJbeta[k2]! * qInv;
    }
    const w1 = 1 - w2;
    value += c * (lg + constant + tail);
    gr += c * (psiRx[x]! - psiR + lnAlpha - w1 * lnAs[k2]! + w2 * d2r);
    ga += c * (r / alpha - (w1 * (r + x)) / (alpha + T) + w2 * d2a);
    gs += c * (lnBeta - w1 * lnBs[k2]! + w2 * d2s);
    gb += c * (s / beta - (w1 * s) / (beta + T) + w2 * d2b);
  }
  return { value, gradient: [gr, ga, gs, gb] };
}
