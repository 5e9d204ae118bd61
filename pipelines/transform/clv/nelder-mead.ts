/**
 * Nelder-Mead simplex minimiser (Nelder & Mead 1965, with the standard coefficients
 * reflection 1, expansion 2, contraction 0.5, shrink 0.5, as in Lagarias et al. 1998).
 *
 * Why hand-written: the npm candidates are unmaintained (`fmin` 0.0.4, last published 2017, no
 * types) or do not offer a derivative-free minimiser; the method is ~60 lines. The likelihoods it
 * minimises are smooth in log-parameters, where Nelder-Mead is the method `lifetimes` and
 * Fader-Hardie's spreadsheets effectively rely on too. One restart from the best point guards
 * against a collapsed simplex.
 */
export interface MinimizeResult {
  x: number[];
  fx: number;
  iterations: number;
  converged: boolean;
}

export function nelderMead(
  f: (x: number[]) => number,
  start: number[],
  options: { maxIterations?: number; tolerance?: number; step?: number; restarts?: number } = {},
): MinimizeResult {
  const maxIterations = options.maxIterations ?? 5_000;
  const tolerance = options.tolerance ?? 1e-10;
  const step = options.step ?? 0.5;
  let best = run(f, start, step, maxIterations, tolerance);
  for (let k = 0; k < (options.restarts ?? 1); k++) {
    const again = run(f, best.x, step / 2, maxIterations, tolerance);
    const improved = again.fx < best.fx - tolerance;
    best = { ...again, iterations: best.iterations + again.iterations, converged: again.converged };
    if (!improved) break;
  }
  return best;
}

function run(f: (x: number[]) => number, start: number[], step: number, maxIterations: number, tolerance: number): MinimizeResult {
  const n = start.length;
  const safe = (x: number[]) => {
    const value = f(x);
    return Number.isFinite(value) ? value : Number.POSITIVE_INFINITY;
  };
  let simplex = [start.slice()];
  for (let i = 0; i < n; i++) {
    const point = start.slice();
    point[i] = point[i]! + step;
    simplex.push(point);
  }
  let values = simplex.map(safe);
  let iterations = 0;
  const combine = (p: number[], q: number[], t: number) => p.map((pi, i) => pi + t * (q[i]! - pi));
  for (; iterations < maxIterations; iterations++) {
    const order = values
      .map((v, i) => [v, i] as const)
      .sort((x, y) => x[0] - y[0])
      .map(([, i]) => i);
    simplex = order.map((i) => simplex[i]!);
    values = order.map((i) => values[i]!);
    const spread = Math.abs(values[n]! - values[0]!);
    const size = Math.max(...simplex.slice(1).map((p) => Math.max(...p.map((pi, i) => Math.abs(pi - simplex[0]![i]!)))));
    if (spread <= tolerance * (Math.abs(values[0]!) + tolerance) && size <= 1e-8) {
      return { x: simplex[0]!, fx: values[0]!, iterations, converged: true };
    }
    const centroid = Array.from({ length: n }, (_, i) => simplex.slice(0, n).reduce((s, p) => s + p[i]!, 0) / n);
    const worst = simplex[n]!;
    const reflected = combine(centroid, worst, -1);
    const fr = safe(reflected);
    if (fr < values[0]!) {
      const expanded = combine(centroid, worst, -2);
      const fe = safe(expanded);
      if (fe < fr) {
        simplex[n] = expanded;
        values[n] = fe;
      } else {
        simplex[n] = reflected;
        values[n] = fr;
      }
    } else if (fr < values[n - 1]!) {
      simplex[n] = reflected;
      values[n] = fr;
    } else {
      const outside = fr < values[n]!;
      const contracted = combine(centroid, worst, outside ? -0.5 : 0.5);
      const fc = safe(contracted);
      if (fc < (outside ? fr : values[n]!)) {
        simplex[n] = contracted;
        values[n] = fc;
      } else {
        for (let i = 1; i <= n; i++) {
          simplex[i] = combine(simplex[0]!, simplex[i]!, 0.5);
          values[i] = safe(simplex[i]!);
        }
      }
    }
  }
  const bestIndex = values.indexOf(Math.min(...values));
  return { x: simplex[bestIndex]!, fx: values[bestIndex]!, iterations, converged: false };
}
