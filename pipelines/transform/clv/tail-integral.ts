/**
 * J = ∫_y^∞ (a0+u)^−p (b0+u)^−q du (p, q > 0, p+q > 1) in logs, with its derivatives in p, q, a0
 * and b0: every Pareto/NBD formula is made of these (pareto-likelihood.ts, paretonbd.ts).
 *
 * With M = max(a0, b0), d = |a0 − b0|, K = p+q−1 and v = (M+y)/(M+u) it is
 * (M+y)^−K / K · 2F1(K, q or p; K+1; z = d/(M+y)), the 2F1's second parameter being the exponent of
 * the smaller base, so z is in [0, 1) (Fader & Hardie's note 009 form), summed after Euler's
 * transformation (bySeries). The series needs up to about 37/(1−z) terms: a few hundred up to
 * z = 0.9, millions when one base is thousands of times the other. The fit meets that when the
 * drop-out rates look homogeneous and s and β grow together (184 customers of the sample shop's
 * first months: β/α ≈ 10⁴, 79 s by the series). Above z = 0.9 the integral is therefore taken by
 * double-exponential (exp-sinh) quadrature, u − y = m·e^(π/2·sinh τ) with m = min(a0, b0) + y and
 * the trapezoidal rule in τ: equal to the series to ~1e-14 where both apply and exact to ~1e-14 on
 * an elementary case at a ratio of 10⁹ (the tests).
 */
import { hyp2f1, hyp2f1WithDerivatives } from './special-functions.ts';

/** Above this z the series gives way to quadrature (about 400 terms there). */
const SERIES_MAX_Z = 0.9;

// exp-sinh nodes on τ in [−6.75, 6.75] (step 1/32; 1/16 lost 1e-10 at a ratio of 10⁶): s_k = e^(π/2·sinh τ_k) from ~e^−670 to ~e^670,
// ln of the weights h·π/2·cosh τ_k·s_k, and ln(1 + s_k).
const STEP = 1 / 32;
const NODES = Array.from({ length: 433 }, (_, k) => (k - 216) * STEP);
const LN_S = Float64Array.from(NODES, (t) => (Math.PI / 2) * Math.sinh(t));
const LN_WEIGHT = Float64Array.from(NODES, (t, k) => Math.log(STEP * (Math.PI / 2) * Math.cosh(t)) + LN_S[k]!);
const LN_1P_S = Float64Array.from(LN_S, (lnS) => (lnS > 36 ? lnS : Math.log1p(Math.exp(lnS))));
const S = Float64Array.from(LN_S, Math.exp); // Infinity beyond e^709: m·s then dwarfs everything

export interface TailIntegral {
  value: number;
  /** ∂ ln J/∂p, ∂ ln J/∂q, ∂ ln J/∂a0 and ∂ ln J/∂b0. */
  dp: number;
  dq: number;
  da: number;
  db: number;
}

/** ln J by the series, value only. */
function lnBySeries(p: number, q: number, a0: number, b0: number, y: number, z: number): number {
  const K = p + q - 1;
  const bIsQ = a0 >= b0;
  return (
    -K * Math.log(Math.max(a0, b0) + y) - Math.log(K) + (1 - (bIsQ ? q : p)) * Math.log1p(-z) + Math.log(hyp2f1(1, bIsQ ? p : q, K + 1, z))
  );
}

function bySeries(p: number, q: number, a0: number, b0: number, y: number, z: number, withDerivatives: boolean): TailIntegral {
  // 2F1(K, b; K+1; z) grows like (1−z)^−b and overflows for a large b (s in the thousands):
  // Euler's transformation makes it (1−z)^(1−b) · 2F1(1, o; K+1; z), o = K+1−b the other exponent,
  // whose terms fall at least as fast as z^n.
  if (!withDerivatives) return { value: lnBySeries(p, q, a0, b0, y, z), dp: NaN, dq: NaN, da: NaN, db: NaN };
  const K = p + q - 1;
  const bIsQ = a0 >= b0;
  const b = bIsQ ? q : p;
  const o = bIsQ ? p : q;
  const lnBase = Math.log(Math.max(a0, b0) + y);
  const ln1mz = Math.log1p(-z);
  const G = hyp2f1WithDerivatives(1, o, K + 1, z);
  const value = -K * lnBase - Math.log(K) + (1 - b) * ln1mz + Math.log(G.value);
  // K (so the third parameter K+1) moves with p and q; b's exponent and o move with their own.
  const common = -lnBase - 1 / K + G.dc / G.value;
  const ofB = common - ln1mz;
  const ofO = common + G.db / G.value;
  return {
    value,
    dp: bIsQ ? ofO : ofB,
    dq: bIsQ ? ofB : ofO,
    // ∂/∂a0 of ∫ (a0+u)^−p (b0+u)^−q du is −p ∫ (a0+u)^−(p+1) (b0+u)^−q du: one more tail integral (likewise b0).
    da: -p * Math.exp(lnBySeries(p + 1, q, a0, b0, y, z) - value),
    db: -q * Math.exp(lnBySeries(p, q + 1, a0, b0, y, z) - value),
  };
}

function byQuadrature(p: number, q: number, a0: number, b0: number, y: number): TailIntegral {
  // u − y = m·s: (a0+u) = (a0+y) + m·s, one of the two being m·(1 + s).
  const A = a0 + y;
  const B = b0 + y;
  const aSmaller = A <= B;
  const m = aSmaller ? A : B;
  const lnM = Math.log(m);
  const other = aSmaller ? B : A;
  // Weighted sums of 1, ln(a0+u), ln(b0+u), 1/(a0+u), 1/(b0+u), scaled by e^−top as they go.
  let top = -Infinity;
  let sum = 0;
  let sumLnA = 0;
  let sumLnB = 0;
  let sumInvA = 0;
  let sumInvB = 0;
  const lnOtherBase = Math.log(other);
  for (let k = 0; k < LN_S.length; k++) {
    const lnSmall = lnM + LN_1P_S[k]!;
    const lnMs = lnM + LN_S[k]!;
    const otherPlus = other + m * S[k]!;
    // ln(other + m·s), without the logarithm where one term is e^37 times the other.
    const lnOther = lnMs > lnOtherBase + 37 ? lnMs : lnMs < lnOtherBase - 37 ? lnOtherBase : Math.log(otherPlus);
    const lnA = aSmaller ? lnSmall : lnOther;
    const lnB = aSmaller ? lnOther : lnSmall;
    const term = LN_WEIGHT[k]! + lnM - p * lnA - q * lnB;
    if (term === -Infinity) continue;
    if (term > top) {
      const scale = Math.exp(top - term);
      sum *= scale;
      sumLnA *= scale;
      sumLnB *= scale;
      sumInvA *= scale;
      sumInvB *= scale;
      top = term;
    }
    if (term < top - 40) continue; // below 1e-17 of the largest term
    const w = Math.exp(term - top);
    const invSmall = 1 / (m + m * S[k]!);
    const invOther = 1 / otherPlus;
    sum += w;
    sumLnA += w * lnA;
    sumLnB += w * lnB;
    sumInvA += w * (aSmaller ? invSmall : invOther);
    sumInvB += w * (aSmaller ? invOther : invSmall);
  }
  return { value: top + Math.log(sum), dp: -sumLnA / sum, dq: -sumLnB / sum, da: (-p * sumInvA) / sum, db: (-q * sumInvB) / sum };
}

/** ln J and, when asked, its derivatives (NaN otherwise). */
export function tailIntegral(p: number, q: number, a0: number, b0: number, y: number, withDerivatives = true): TailIntegral {
  const z = Math.abs(a0 - b0) / (Math.max(a0, b0) + y);
  return z <= SERIES_MAX_Z ? bySeries(p, q, a0, b0, y, z, withDerivatives) : byQuadrature(p, q, a0, b0, y);
}

/** ln J alone. */
export function lnTailIntegral(p: number, q: number, a0: number, b0: number, y: number): number {
  const z = Math.abs(a0 - b0) / (Math.max(a0, b0) + y);
  return z <= SERIES_MAX_Z ? lnBySeries(p, q, a0, b0, y, z) : byQuadrature(p, q, a0, b0, y).value;
}

/** For the tests: the two methods side by side. */
export const tailIntegralMethods = { bySeries, byQuadrature };
