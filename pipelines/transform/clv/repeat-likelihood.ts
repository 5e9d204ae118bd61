/**
 * The log-likelihoods of the beta-geometric repeat-purchase models with their analytic gradients,
 * summed over customers grouped by their sufficient statistics (x, t_x, T):
 *   BG/NBD   (Fader, Hardie & Lee 2005): drop-out only right after a repeat purchase.
 *   MBG/NBD  (Batislam, Denizel & Filiztekin 2007): drop-out also at time zero, so a customer who
 *            never bought again can be gone, and P(alive) of one-time buyers decays with time.
 * Both share Gamma(r, α) purchase rates and Beta(a, b) drop-out; they differ in one index shift.
 * Terms that depend on x alone (ln Γ and ψ at r+x, b+x, a+b+x) are computed once per distinct x.
 */
import { digamma, lnGamma } from './special-functions.ts';
import type { BgNbdParams, RfmPoint } from './model-types.ts';

/** The beta-geometric members of the family (Pareto/NBD has its own likelihood, pareto-likelihood.ts). */
export type BetaGeometricKind = 'bgnbd' | 'mbgnbd';

export interface GroupedSummary {
  x: Int32Array;
  tx: Float64Array;
  T: Float64Array;
  count: Float64Array;
  maxX: number;
  customers: number;
  /** The distinct times among t_x and T, and for group i the index of its t_x and of its T there (logs once per time). */
  times: Float64Array;
  atTx: Int32Array;
  atT: Int32Array;
}

/** Customers with the same (x, t_x, T) share a likelihood term: group them once. */
export function groupSummary(data: readonly RfmPoint[]): GroupedSummary {
  const groups = new Map<string | number, number>();
  const xs: number[] = [];
  const txs: number[] = [];
  const Ts: number[] = [];
  const counts: number[] = [];
  // Whole days below 100,000 (the warehouse's summaries) make an exact numeric key, cheaper than text.
  const small = (v: number) => Number.isInteger(v) && v >= 0 && v < 100_000;
  for (const p of data) {
    const key =
      small(p.frequency) && small(p.recencyDays) && small(p.tenureDays)
        ? (p.frequency * 100_000 + p.recencyDays) * 100_000 + p.tenureDays
        : `${p.frequency}|${p.recencyDays}|${p.tenureDays}`;
    const at = groups.get(key);
    if (at !== undefined) counts[at]! += 1;
    else {
      groups.set(key, xs.length);
      xs.push(p.frequency);
      txs.push(p.recencyDays);
      Ts.push(p.tenureDays);
      counts.push(1);
    }
  }
  const timeIndex = new Map<number, number>();
  const indexOf = (v: number) => {
    let at = timeIndex.get(v);
    if (at === undefined) timeIndex.set(v, (at = timeIndex.size));
    return at;
  };
  return {
    x: Int32Array.from(xs),
    tx: Float64Array.from(txs),
    T: Float64Array.from(Ts),
    count: Float64Array.from(counts),
    maxX: xs.reduce((m, v) => Math.max(m, v), 0),
    customers: data.length,
    atTx: Int32Array.from(txs, indexOf),
    atT: Int32Array.from(Ts, indexOf),
    times: Float64Array.from(timeIndex.keys()),
  };
}

/** Sum of the log-likelihood and its gradient with respect to (r, α, a, b). */
export function repeatLogLikelihood(
  kind: BetaGeometricKind,
  { r, alpha, a, b }: BgNbdParams,
  data: GroupedSummary,
): { value: number; gradient: [number, number, number, number] } {
  // MBG/NBD is BG/NBD with b+x-1 -> b+x in the drop-out terms and the second term for x = 0 too.
  const shift = kind === 'mbgnbd' ? 1 : 0;
  const n = data.maxX + 1;
  const lgRx = new Float64Array(n);
  const psiRx = new Float64Array(n);
  const lgBx = new Float64Array(n);
  const psiBx = new Float64Array(n);
  const lgABx = new Float64Array(n);
  const psiABx = new Float64Array(n);
  const present = new Uint8Array(n);
  for (let i = 0; i < data.x.length; i++) present[data.x[i]!] = 1;
  for (let x = 0; x < n; x++) {
    if (!present[x]) continue;
    lgRx[x] = lnGamma(r + x);
    psiRx[x] = digamma(r + x);
    lgBx[x] = lnGamma(b + x + shift);
    psiBx[x] = digamma(b + x + shift);
    lgABx[x] = lnGamma(a + b + x + shift);
    psiABx[x] = digamma(a + b + x + shift);
  }
  const lgR = lnGamma(r);
  const psiR = digamma(r);
  const lnAlpha = Math.log(alpha);
  const lgAB = lnGamma(a + b);
  const psiAB = digamma(a + b);
  const lgB = lnGamma(b);
  const psiB = digamma(b);
  const lnA = Math.log(a);
  // Per distinct time: ln(α+t) and 1/(α+t); per distinct x: ln of the drop-out denominator b+x−1(+1).
  const lnAlphaT = data.times.map((t) => Math.log(alpha + t));
  const invAlphaT = data.times.map((t) => 1 / (alpha + t));
  const lnDrop = new Float64Array(n);
  for (let x = 0; x < n; x++) if (present[x]) lnDrop[x] = Math.log(b + x - 1 + shift);
  let value = 0;
  let dr = 0;
  let dAlpha = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < data.x.length; i++) {
    const x = data.x[i]!;
    const c = data.count[i]!;
    const atT = data.atT[i]!;
    const lnAT = lnAlphaT[atT]!;
    const a3 = -(r + x) * lnAT;
    const second = x > 0 || shift === 1;
    let logSum = a3;
    let w4 = 0;
    let lnAtx = 0;
    let dropDenominator = 1;
    if (second) {
      lnAtx = lnAlphaT[data.atTx[i]!]!;
      dropDenominator = b + x - 1 + shift;
      const a4 = lnA - lnDrop[x]! - (r + x) * lnAtx;
      // ln(e^a3 + e^a4) and the share of e^a4, with one exponential.
      const e = Math.exp(-Math.abs(a4 - a3));
      logSum = Math.max(a3, a4) + Math.log1p(e);
      w4 = a4 > a3 ? 1 / (1 + e) : e / (1 + e);
    }
    const w3 = 1 - w4;
    value += c * (lgRx[x]! - lgR + r * lnAlpha + lgAB + lgBx[x]! - lgB - lgABx[x]! + logSum);
    dr += c * (psiRx[x]! - psiR + lnAlpha - w3 * lnAT - w4 * lnAtx);
    dAlpha += c * (r / alpha - (r + x) * (w3 * invAlphaT[atT]! + (second ? w4 * invAlphaT[data.atTx[i]!]! : 0)));
    da += c * (psiAB - psiABx[x]! + w4 / a);
    db += c * (psiAB + psiBx[x]! - psiB - psiABx[x]! - w4 / dropDenominator);
  }
  return { value, gradient: [dr, dAlpha, da, db] };
}
