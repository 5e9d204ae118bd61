/**
 * Special functions the BG/NBD and Gamma-Gamma formulas need. Small and self-contained: there is
 * no maintained npm package for the Gauss hypergeometric function that works on Node 20 without
 * pulling in a whole numerics stack.
 */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7, n = 9; relative error ~1e-15). */
export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) sum += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * Gauss hypergeometric function 2F1(a, b; c; z) for 0 <= z < 1 by its power series
 * sum_n (a)_n (b)_n / (c)_n z^n / n!. The BG/NBD conditional expectation only ever needs
 * z = t / (alpha + T + t) in [0, 1), where the series converges; terms are summed until they stop
 * changing the sum (relative 1e-15). Close to z = 1 convergence is slow but still linear in the
 * number of terms, hence the generous cap; hitting it is an error, never a silent wrong value.
 */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  if (!(z >= 0 && z < 1)) throw new RangeError(`hyp2f1: z must be in [0, 1), got ${z}`);
  let term = 1;
  let sum = 1;
  for (let n = 0; n < 2_000_000; n++) {
    term *= (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    sum += term;
    if (Math.abs(term) <= 1e-15 * Math.abs(sum)) return sum;
  }
  throw new Error(`hyp2f1(${a}, ${b}; ${c}; ${z}) did not converge`);
}

/**
 * Digamma ψ(x) = d/dx ln Γ(x) for x > 0: the recurrence ψ(x) = ψ(x + 1) − 1/x up to x ≥ 10, then
 * the asymptotic series ln x − 1/(2x) − Σ B₂ₖ/(2k x²ᵏ) (absolute error below 1e-15 there). The
 * likelihood gradients of the repeat-purchase models are sums of these.
 */
export function digamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`digamma: x must be > 0, got ${x}`);
  let result = 0;
  while (x < 10) {
    result -= 1 / x;
    x += 1;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  return result + Math.log(x) - 0.5 * inv - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132)))));
}

/**
 * 2F1(a, b; c; z) for 0 <= z < 1 with its derivatives in a, b and c, from the same power series:
 * the n-th term's derivative in a is the term times Σ_{k<n} 1/(a+k) (likewise b, and minus for c).
 * For a, b, c > 0 every term is positive, so the sums converge with the function itself.
 */
export function hyp2f1WithDerivatives(a: number, b: number, c: number, z: number): { value: number; da: number; db: number; dc: number } {
  if (!(z >= 0 && z < 1)) throw new RangeError(`hyp2f1: z must be in [0, 1), got ${z}`);
  let term = 1;
  let value = 1;
  let sa = 0;
  let sb = 0;
  let sc = 0;
  let da = 0;
  let db = 0;
  let dc = 0;
  for (let n = 0; n < 2_000_000; n++) {
    sa += 1 / (a + n);
    sb += 1 / (b + n);
    sc += 1 / (c + n);
    term *= (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    value += term;
    da += term * sa;
    db += term * sb;
    dc -= term * sc;
    if (
      Math.abs(term) <= 1e-15 * Math.abs(value) &&
      Math.abs(term * sa) <= 1e-15 * Math.abs(da) &&
      Math.abs(term * sb) <= 1e-15 * Math.abs(db)
    )
      return { value, da, db, dc };
  }
  throw new Error(`hyp2f1(${a}, ${b}; ${c}; ${z}) did not converge`);
}
