/**
 * BFGS quasi-Newton minimiser with a backtracking (Armijo) line search, for the few smooth
 * log-parameters of the repeat-purchase likelihoods (Nocedal & Wright 2006, algorithm 6.1).
 *
 * Why hand-written: npm has no maintained quasi-Newton optimiser (`numeric` 1.2.6 is from 2012,
 * `optimization-js` and `fmin` are unmaintained); with 4 to 5 parameters a dense inverse-Hessian
 * update is 40 lines. With analytic gradients it needs tens of likelihood evaluations where the
 * derivative-free Nelder-Mead needs thousands.
 */
import type { MinimizeResult } from './nelder-mead.ts';

export type ValueAndGradient = (x: number[]) => { value: number; gradient: number[] };

export function bfgs(
  f: ValueAndGradient,
  start: number[],
  options: { maxIterations?: number; gradientTolerance?: number } = {},
): MinimizeResult {
  const n = start.length;
  const maxIterations = options.maxIterations ?? 500;
  const tolerance = options.gradientTolerance ?? 1e-8;
  let x = [...start];
  let { value, gradient } = f(x);
  if (!Number.isFinite(value)) throw new Error('bfgs: the start point has no finite value');
  // Inverse Hessian approximation, starting from the identity.
  let h: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    const gradNorm = Math.sqrt(gradient.reduce((s, g) => s + g * g, 0));
    if (gradNorm <= tolerance * Math.max(1, Math.abs(value))) return { x, fx: value, iterations: iteration, converged: true };
    let direction = h.map((row) => -row.reduce((s, hij, j) => s + hij * gradient[j]!, 0));
    let slope = direction.reduce((s, d, i) => s + d * gradient[i]!, 0);
    if (!(slope < 0)) {
      // Not a descent direction (the approximation went bad): restart from steepest descent.
      h = h.map((row, i) => row.map((_, j) => (i === j ? 1 : 0)));
      direction = gradient.map((g) => -g);
      slope = -gradNorm * gradNorm;
    }
    let step = 1;
    let next: { value: number; gradient: number[] } | null = null;
    let candidate = x;
    for (let k = 0; k < 60; k++) {
      candidate = x.map((xi, i) => xi + step * direction[i]!);
      const tried = f(candidate);
      if (Number.isFinite(tried.value) && tried.value <= value + 1e-4 * step * slope) {
        next = tried;
        break;
      }
      step *= 0.5;
    }
    if (next === null) return { x, fx: value, iterations: iteration, converged: gradNorm <= 1e-5 * Math.max(1, Math.abs(value)) };
    const s = candidate.map((ci, i) => ci - x[i]!);
    const y = next.gradient.map((gi, i) => gi - gradient[i]!);
    const sy = s.reduce((acc, si, i) => acc + si * y[i]!, 0);
    if (Math.abs(next.value - value) <= 1e-15 * Math.max(1, Math.abs(value)) && gradNorm <= 1e-4 * Math.max(1, Math.abs(value))) {
      return { x: candidate, fx: next.value, iterations: iteration, converged: true };
    }
    if (sy > 1e-12) {
      // H <- (I - rho s y') H (I - rho y s') + rho s s'
      const rho = 1 / sy;
      const hy = h.map((row) => row.reduce((acc, hij, j) => acc + hij * y[j]!, 0));
      const yhy = y.reduce((acc, yi, i) => acc + yi * hy[i]!, 0);
      h = h.map((row, i) => row.map((hij, j) => hij - rho * (hy[i]! * s[j]! + s[i]! * hy[j]!) + (rho * rho * yhy + rho) * s[i]! * s[j]!));
    }
    x = candidate;
    value = next.value;
    gradient = next.gradient;
  }
  return { x, fx: value, iterations: maxIterations, converged: false };
}
