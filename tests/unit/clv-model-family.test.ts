import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fitBgNbdNelderMead, fitRepeatModel } from '../../pipelines/transform/clv/bgnbd.ts';
import { mbgExpectedPurchases, mbgMedianDaysToNextPurchase, mbgProbabilityAlive } from '../../pipelines/transform/clv/mbgnbd.ts';
import { betaGeometricPurchaseWithin } from '../../pipelines/transform/clv/repeat-models.ts';
import { groupSummary, repeatLogLikelihood } from '../../pipelines/transform/clv/repeat-likelihood.ts';
import { runBacktest } from '../../pipelines/transform/clv/backtest.ts';
import {
  fitParetoNbd,
  paretoExpectedPurchases,
  paretoMedianDaysToNextPurchase,
  paretoProbabilityAlive,
  paretoProbabilityPurchaseWithin,
} from '../../pipelines/transform/clv/paretonbd.ts';
import { tailIntegralMethods } from '../../pipelines/transform/clv/tail-integral.ts';
import {
  lnTailIntegral,
  paretoIndividualLogLikelihood,
  paretoLogLikelihood,
  paretoPairs,
} from '../../pipelines/transform/clv/pareto-likelihood.ts';
import { digamma, lnGamma } from '../../pipelines/transform/clv/special-functions.ts';
import { bfgs } from '../../pipelines/transform/clv/bfgs.ts';
import { gammaSample, seededRandom, simulateTransactions } from '../../pipelines/transform/clv/simulate.ts';
import { DAY_MS } from '../../pipelines/transform/clv/summary-data.ts';
import { datasetFile } from '../support/datasets.ts';

/**
 * The repeat-purchase model family (BG/NBD, MBG/NBD, Pareto/NBD) against published and independent reference
 * fits on CDNOW's sample (../shared/datasets/cdnow/cdnow_customers_summary.csv: 2,357 customers,
 * weeks, 39-week calibration), and the BFGS fitter with analytic gradients against the previous
 * derivative-free one.
 *
 * MBG/NBD reference: lifetimes 0.11.3's ModifiedBetaGeoFitter(penalizer_coef=0).fit(frequency,
 * recency, T) on that file, run once by hand (python 3, pandas), parameters and predictions below.
 */
const MBG_REFERENCE = {
  params: { r: 0.524837725567698, alpha: 6.182988479134173, a: 0.8913562809310741, b: 1.6140000256718765 },
  pAliveOneTimeBuyer: 0.38971644, // x = 0, t_x = 0, T = 38.86
  pAlive: 0.70612626, // x = 2, t_x = 30.43, T = 38.86
  expected39: 1.2626707787139582, // E[X(39) | 2, 30.43, 38.86]
  expected39OneTimeBuyer: 0.15395364436667178, // E[X(39) | 0, 0, 38.86]
};
const PUBLISHED_BG = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }; // Fader, Hardie & Lee (2005)

/**
 * Pareto/NBD reference: lifetimes 0.11.3 (numpy 2.4.6, scipy 1.17.1, pandas 3.1.1, Python 3.11.7) in
 * a throwaway venv, on the same file and with the same conventions as here (frequency = repeat
 * purchases x, recency = t_x and T = age, both in weeks from the first purchase):
 *   d = pd.read_csv('cdnow_customers_summary.csv')
 *   f = ParetoNBDFitter(penalizer_coef=0.0).fit(d['frequency'], d['recency'], d['T'])
 *   f.params_                                   # r, alpha, s, beta below
 *   f._conditional_log_likelihood(params, x, t_x, T).sum()          # logLikelihood
 *   f.conditional_probability_alive(x, t_x, T)                       # alive
 *   f.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T)            # expected39
 *   1 - f.conditional_probability_of_n_purchases_up_to_time(0, t, x, t_x, T), t = 13, 39  # within13, within39
 * Fader & Hardie's published fit of this sample: r = 0.553, α = 10.578, s = 0.606, β = 11.669, LL −9,595.0.
 */
const PARETO_REFERENCE = {
  params: { r: 0.5532664424497622, alpha: 10.577536259162901, s: 0.6062338101728681, beta: 11.668459412569053 },
  logLikelihood: -9594.973929895983,
  customers: [
    {
      x: 0,
      tx: 0,
      T: 38.86,
      alive: 0.295096333066568,
      expected39: 0.10705743405388338,
      within13: 0.033437855420691776,
      within39: 0.06926534839017884,
    },
    {
      x: 2,
      tx: 30.43,
      T: 38.86,
      alive: 0.8691161921389171,
      expected39: 1.4550994149858734,
      within13: 0.3669064911784692,
      within39: 0.59190479940078,
    },
    {
      x: 7,
      tx: 35,
      T: 38.86,
      alive: 0.9360558720412596,
      expected39: 4.636126360207614,
      within13: 0.7382808532775629,
      within39: 0.8601705077349056,
    },
    {
      x: 1,
      tx: 1.71,
      T: 38.86,
      alive: 0.16787095200668262,
      expected39: 0.17097798737453038,
      within13: 0.047875004519512654,
      within39: 0.08657869106320715,
    },
    {
      x: 4,
      tx: 10,
      T: 32,
      alive: 0.17780369698500864,
      expected39: 0.6024609443540598,
      within13: 0.1173999217310201,
      within39: 0.15177423551785596,
    },
  ],
};

const summaryFile = datasetFile('cdnow/cdnow_customers_summary.csv');
const cdnowSummary = () =>
  fs
    .readFileSync(summaryFile!, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',').map(Number))
    .map(([, x, tx, T]) => ({ frequency: x!, recencyDays: tx!, tenureDays: T! }));

const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('special functions and the optimiser', () => {
  it('digamma is the derivative of lnGamma and has the known values', () => {
    expect(digamma(1)).toBeCloseTo(-0.5772156649015329, 12);
    expect(digamma(0.5)).toBeCloseTo(-1.9635100260214235, 12);
    for (const x of [0.05, 0.7, 3.3, 12, 250]) expect(digamma(x)).toBeCloseTo((lnGamma(x + 1e-6) - lnGamma(x - 1e-6)) / 2e-6, 5);
  });
  it('BFGS finds the Rosenbrock minimum from its gradient', () => {
    const result = bfgs(
      ([x, y]) => ({
        value: 100 * (y! - x! * x!) ** 2 + (1 - x!) ** 2,
        gradient: [-400 * x! * (y! - x! * x!) - 2 * (1 - x!), 200 * (y! - x! * x!)],
      }),
      [-1.2, 1],
    );
    expect(result.converged).toBe(true);
    expect(result.x[0]).toBeCloseTo(1, 5);
    expect(result.x[1]).toBeCloseTo(1, 5);
  });
});

describe('likelihood gradients', () => {
  it('the analytic gradients of both models equal central differences', () => {
    const points = [
      { frequency: 0, recencyDays: 0, tenureDays: 30 },
      { frequency: 1, recencyDays: 12.5, tenureDays: 38 },
      { frequency: 7, recencyDays: 36, tenureDays: 39 },
      { frequency: 0, recencyDays: 0, tenureDays: 30 },
    ];
    const grouped = groupSummary(points);
    expect(grouped.x.length).toBe(3);
    const p = { r: 0.3, alpha: 5, a: 0.8, b: 2.5 };
    for (const kind of ['bgnbd', 'mbgnbd'] as const) {
      const { gradient } = repeatLogLikelihood(kind, p, grouped);
      (['r', 'alpha', 'a', 'b'] as const).forEach((k, i) => {
        const h = 1e-6 * p[k];
        const up = repeatLogLikelihood(kind, { ...p, [k]: p[k] + h }, grouped).value;
        const down = repeatLogLikelihood(kind, { ...p, [k]: p[k] - h }, grouped).value;
        expect(gradient[i]).toBeCloseTo((up - down) / (2 * h), 5);
      });
    }
  });
  it('the Pareto/NBD gradient equals central differences on either side of alpha = beta', () => {
    const grouped = groupSummary([
      { frequency: 0, recencyDays: 0, tenureDays: 30 },
      { frequency: 1, recencyDays: 12.5, tenureDays: 38 },
      { frequency: 7, recencyDays: 36, tenureDays: 39 },
      { frequency: 3, recencyDays: 39, tenureDays: 39 },
      { frequency: 25, recencyDays: 5, tenureDays: 300 },
      // J(t_x) / J(T) overflows a double here: the likelihood takes its log-space branch.
      { frequency: 500, recencyDays: 10, tenureDays: 500 },
    ]);
    const pairs = paretoPairs(grouped);
    expect(pairs.x.length).toBe(11); // (x, t_x) and (x, T) of 6 groups; (3, 39) is both
    for (const p of [
      { r: 0.55, alpha: 10.6, s: 0.61, beta: 11.7 },
      { r: 0.3, alpha: 50, s: 1.4, beta: 3 },
    ]) {
      const { value, gradient } = paretoLogLikelihood(p, grouped, pairs);
      // The fast per-group form equals the plain sum of individual log-likelihoods.
      const individual = [...grouped.x].reduce(
        (sum, x, i) => sum + grouped.count[i]! * paretoIndividualLogLikelihood(p, x, grouped.tx[i]!, grouped.T[i]!),
        0,
      );
      expect(Number.isFinite(value)).toBe(true);
      expect(value).toBeCloseTo(individual, 8);
      (['r', 'alpha', 's', 'beta'] as const).forEach((k, i) => {
        const h = 1e-6 * p[k];
        const up = paretoLogLikelihood({ ...p, [k]: p[k] + h }, grouped, pairs).value;
        const down = paretoLogLikelihood({ ...p, [k]: p[k] - h }, grouped, pairs).value;
        expect(gradient[i]).toBeCloseTo((up - down) / (2 * h), 5);
      });
    }
  });
});

describe.skipIf(summaryFile === null)('CDNOW sample: BG/NBD and MBG/NBD against the references', () => {
  it('BG/NBD equals the published parameters within 1 % and the Nelder-Mead optimum', () => {
    const data = cdnowSummary();
    expect(data).toHaveLength(2_357);
    const fit = fitRepeatModel('bgnbd', data);
    expect(fit.converged).toBe(true);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) expect(relative(fit.params[k], PUBLISHED_BG[k])).toBeLessThan(0.01);
    expect(fit.logLikelihood).toBeCloseTo(-9582.43, 1);
    const previous = fitBgNbdNelderMead(data);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) expect(relative(fit.params[k], previous.params[k])).toBeLessThan(1e-5);
    expect(fit.iterations).toBeLessThan(previous.iterations / 5);
  });

  it("MBG/NBD equals lifetimes' ModifiedBetaGeoFitter: parameters, P(alive) of a one-time buyer, expected purchases", () => {
    const fit = fitRepeatModel('mbgnbd', cdnowSummary());
    expect(fit.converged).toBe(true);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) expect(relative(fit.params[k], MBG_REFERENCE.params[k])).toBeLessThan(1e-4);
    const oneTime = { frequency: 0, recencyDays: 0, tenureDays: 38.86 };
    const repeat = { frequency: 2, recencyDays: 30.43, tenureDays: 38.86 };
    expect(mbgProbabilityAlive(MBG_REFERENCE.params, oneTime)).toBeCloseTo(MBG_REFERENCE.pAliveOneTimeBuyer, 7);
    expect(mbgProbabilityAlive(MBG_REFERENCE.params, repeat)).toBeCloseTo(MBG_REFERENCE.pAlive, 7);
    expect(mbgExpectedPurchases(MBG_REFERENCE.params, repeat, 39)).toBeCloseTo(MBG_REFERENCE.expected39, 7);
    expect(mbgExpectedPurchases(MBG_REFERENCE.params, oneTime, 39)).toBeCloseTo(MBG_REFERENCE.expected39OneTimeBuyer, 7);
    // The point of the model: a one-time buyer is not alive for sure (BG/NBD says 1).
    expect(mbgProbabilityAlive(fit.params, oneTime)).toBeLessThan(0.5);
  });
});

describe.skipIf(summaryFile === null)('CDNOW sample: Pareto/NBD against lifetimes', () => {
  it("our fit equals lifetimes' ParetoNBDFitter (parameters within 0.1 %, the log-likelihood to 1e-3) and the published one", () => {
    const data = cdnowSummary();
    expect(data).toHaveLength(2_357);
    const fit = fitParetoNbd(data);
    expect(fit.converged).toBe(true);
    for (const k of ['r', 'alpha', 's', 'beta'] as const) {
      expect(relative(fit.params[k], PARETO_REFERENCE.params[k])).toBeLessThan(1e-3);
      expect(fit.params[k]).toBeCloseTo({ r: 0.553, alpha: 10.578, s: 0.606, beta: 11.669 }[k], 2);
    }
    expect(fit.logLikelihood).toBeCloseTo(PARETO_REFERENCE.logLikelihood, 3);
    // Our optimum is at least as good as lifetimes' (both stop within their tolerances).
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(PARETO_REFERENCE.logLikelihood - 1e-6);
    const atReference = data.reduce(
      (sum, c) => sum + paretoIndividualLogLikelihood(PARETO_REFERENCE.params, c.frequency, c.recencyDays, c.tenureDays),
      0,
    );
    expect(atReference).toBeCloseTo(PARETO_REFERENCE.logLikelihood, 6);
  });

  it("P(alive), expected purchases and P(a purchase within 13 and 39 weeks) equal lifetimes' at its parameters (relative 1e-6)", () => {
    // Both evaluate the same closed forms in double precision (seen to agree to ~1e-13); 1e-6 leaves room for the 2F1 series' stopping rule.
    expect(PARETO_REFERENCE.customers).toHaveLength(5);
    for (const ref of PARETO_REFERENCE.customers) {
      const c = { frequency: ref.x, recencyDays: ref.tx, tenureDays: ref.T };
      expect(relative(paretoProbabilityAlive(PARETO_REFERENCE.params, c), ref.alive)).toBeLessThan(1e-6);
      expect(relative(paretoExpectedPurchases(PARETO_REFERENCE.params, c, 39), ref.expected39)).toBeLessThan(1e-6);
      expect(relative(paretoProbabilityPurchaseWithin(PARETO_REFERENCE.params, c, 13), ref.within13)).toBeLessThan(1e-6);
      expect(relative(paretoProbabilityPurchaseWithin(PARETO_REFERENCE.params, c, 39), ref.within39)).toBeLessThan(1e-6);
    }
  });
});

describe('Pareto/NBD numerics', () => {
  const params = { r: 0.55, alpha: 74, s: 0.61, beta: 82 }; // CDNOW's fit in days, roughly
  it('the tail integral equals a quadrature of its integrand with alpha above, below and equal to beta', () => {
    // ∫_y^∞ (a0+u)^−p (b0+u)^−q du by the substitution u = y + w/(1−w) and Simpson's rule on [0, 1].
    const quadrature = (p: number, q: number, a0: number, b0: number, y: number) => {
      const n = 200_000;
      const f = (w: number) => (w >= 1 ? 0 : (Math.pow(a0 + y + w / (1 - w), -p) * Math.pow(b0 + y + w / (1 - w), -q)) / (1 - w) ** 2);
      let sum = f(0) + f(1);
      for (let i = 1; i < n; i++) sum += (i % 2 === 1 ? 4 : 2) * f(i / n);
      return Math.log(sum / (3 * n));
    };
    for (const [a0, b0] of [
      [10, 3],
      [3, 10],
      [7, 7],
    ] as const)
      for (const [p, q] of [
        [2.5, 1.6],
        [0.7, 1.9],
      ] as const)
        expect(lnTailIntegral(p, q, a0, b0, 4)).toBeCloseTo(quadrature(p, q, a0, b0, 4), 6);
  });

  it('the tail integral by quadrature (z above 0.9) equals the 2F1 series where both apply, and an elementary case at z = 1 - 1e-6', () => {
    const { bySeries, byQuadrature } = tailIntegralMethods;
    let compared = 0;
    for (const [p, q] of [
      [0.2, 1.1],
      [1.3, 2.1],
      [50.5, 1.9],
      [1.15, 4470],
    ] as const)
      for (const [a0, b0] of [
        [10, 100],
        [100, 10],
        [3, 60],
      ] as const)
        for (const y of [0, 5, 50]) {
          const z = Math.abs(a0 - b0) / (Math.max(a0, b0) + y);
          if (z < 0.5 || z > 0.9) continue;
          compared += 1;
          const series = bySeries(p, q, a0, b0, y, z, true);
          const quadrature = byQuadrature(p, q, a0, b0, y);
          expect(relative(quadrature.value, series.value)).toBeLessThan(1e-12);
          for (const k of ['dp', 'dq', 'da', 'db'] as const) expect(relative(quadrature[k], series[k])).toBeLessThan(1e-9);
        }
    expect(compared).toBeGreaterThan(20);
    // p = q = 1: ∫_y^∞ du / ((a+u)(b+u)) = ln((b+y)/(a+y)) / (b−a).
    expect(lnTailIntegral(1, 1, 1, 1e6, 0)).toBeCloseTo(Math.log(Math.log(1e6) / (1e6 - 1)), 12);
    expect(lnTailIntegral(1, 1, 1e6, 1, 3)).toBeCloseTo(Math.log(Math.log((1e6 + 3) / 4) / (1e6 - 1)), 12);
  });

  it('fits customers whose drop-out rate is the same for all (s and β grow together, far beyond α)', () => {
    // Pareto/NBD drawn with one drop-out rate μ = 1/200 per day for everyone: the fit's Gamma(s, β)
    // tends to a point mass, s and β large together, where the tail integrals need the quadrature.
    const rand = seededRandom(7);
    const data = Array.from({ length: 400 }, () => {
      const lambda = gammaSample(rand, 1.2) / 30;
      const T = 60 + Math.floor(rand() * 120);
      const life = -Math.log(1 - rand()) * 200;
      let t = 0;
      const purchases: number[] = [];
      for (;;) {
        t += -Math.log(1 - rand()) / lambda;
        if (t > Math.min(life, T)) break;
        purchases.push(Math.floor(t));
      }
      return { frequency: purchases.length, recencyDays: purchases.at(-1) ?? 0, tenureDays: T };
    });
    expect(data.filter((c) => c.frequency > 0).length).toBeGreaterThan(150);
    const fit = fitParetoNbd(data);
    expect(fit.converged).toBe(true);
    expect(Number.isFinite(fit.logLikelihood)).toBe(true);
    expect(fit.params.beta / fit.params.alpha).toBeGreaterThan(100);
    expect(fit.params.s / fit.params.beta).toBeCloseTo(1 / 200, 2);
    // No worse than the truth's neighbourhood (a drop-out Gamma with a tenth of the spread).
    const near = { r: 1.2, alpha: 30, s: 100, beta: 20_000 };
    const atNear = data.reduce((sum, c) => sum + paretoIndividualLogLikelihood(near, c.frequency, c.recencyDays, c.tenureDays), 0);
    expect(fit.logLikelihood).toBeGreaterThan(atNear);
  });

  it('a frequent buyer long absent: finite log-likelihood and P(alive) where (α+T)^(r+x) overflows', () => {
    const c = { frequency: 300, recencyDays: 10, tenureDays: 500 };
    expect(Math.pow(params.alpha + c.tenureDays, params.r + c.frequency)).toBe(Infinity);
    const ll = paretoIndividualLogLikelihood(params, c.frequency, c.recencyDays, c.tenureDays);
    expect(Number.isFinite(ll)).toBe(true);
    const alive = paretoProbabilityAlive(params, c);
    expect(alive).toBeGreaterThanOrEqual(0);
    expect(alive).toBeLessThan(1e-100);
    // Bought on the last day: alive for sure.
    expect(paretoProbabilityAlive(params, { ...c, recencyDays: 500 })).toBe(1);
  });

  it('P(a purchase within t) is 0 at 0, grows with t, stays below P(alive), and has the closed form at alpha = beta', () => {
    const c = { frequency: 3, recencyDays: 200, tenureDays: 300 };
    const alive = paretoProbabilityAlive(params, c);
    expect(paretoProbabilityPurchaseWithin(params, c, 0)).toBe(0);
    const horizons = [1, 7, 30, 90, 365, 3650];
    const within = horizons.map((t) => paretoProbabilityPurchaseWithin(params, c, t));
    for (let i = 1; i < within.length; i++) expect(within[i]).toBeGreaterThan(within[i - 1]!);
    expect(within[0]).toBeGreaterThan(0);
    // A customer alive at T may still die before buying: the limit is below P(alive).
    expect(paretoProbabilityPurchaseWithin(params, c, Infinity)).toBeLessThan(alive);
    expect(within[within.length - 1]).toBeLessThan(paretoProbabilityPurchaseWithin(params, c, Infinity));
    // At α = β the integral is elementary: P(alive) · R/(R+S) · [1 − (A/(A+t))^(R+S)].
    const equal = { ...params, beta: params.alpha };
    const R = equal.r + c.frequency;
    const A = equal.alpha + c.tenureDays;
    const expected = paretoProbabilityAlive(equal, c) * (R / (R + equal.s)) * (1 - Math.pow(A / (A + 90), R + equal.s));
    expect(paretoProbabilityPurchaseWithin(equal, c, 90)).toBeCloseTo(expected, 12);
    // The median time to the next purchase is where it crosses 1/2, or null when it never does.
    const frequent = { frequency: 20, recencyDays: 295, tenureDays: 300 };
    const median = paretoMedianDaysToNextPurchase(params, frequent)!;
    expect(median).toBeGreaterThan(0);
    expect(paretoProbabilityPurchaseWithin(params, frequent, median)).toBeCloseTo(0.5, 9);
    expect(paretoMedianDaysToNextPurchase(params, { frequency: 0, recencyDays: 0, tenureDays: 300 })).toBeNull();
  });
});

describe('probability of a purchase within a horizon (churn risk is 1 minus it)', () => {
  it('is 1/2 at the median time to the next purchase, below P(alive), and grows with the horizon', () => {
    const params = { r: 0.5248, alpha: 6.183, a: 0.8914, b: 1.614 };
    const c = { frequency: 4, recencyDays: 36, tenureDays: 38 };
    const alive = mbgProbabilityAlive(params, c);
    const median = mbgMedianDaysToNextPurchase(params, c)!;
    expect(betaGeometricPurchaseWithin(params, c, alive, median)).toBeCloseTo(0.5, 10);
    expect(betaGeometricPurchaseWithin(params, c, alive, 13)).toBeLessThan(betaGeometricPurchaseWithin(params, c, alive, 52));
    expect(betaGeometricPurchaseWithin(params, c, alive, 52)).toBeLessThan(alive);
  });
});

describe('model choice by backtest', () => {
  it('fits every model, compares each with the naive baseline, and keeps the lowest holdout MAE among those that beat it', () => {
    const transactions = simulateTransactions({
      seed: 11,
      customers: 3_000,
      bgnbd: { r: 0.25, alpha: 30, a: 0.8, b: 2.5 },
      spend: { p: 6.25, q: 3.74, gamma: 15.44 },
      startMs: 0,
      acquisitionDays: 90,
      totalDays: 540,
    });
    const report = runBacktest(transactions, 360 * DAY_MS, 180);
    expect(report.candidates.map((c) => c.model)).toEqual(['bgnbd', 'mbgnbd', 'paretonbd']);
    const winners = report.candidates.filter((c) => c.beatsBaseline);
    expect(winners.length).toBeGreaterThan(0);
    const best = winners.reduce((a, b) => (b.purchases.mae < a.purchases.mae ? b : a));
    expect(report.chosen).toBe(best.model);
    expect(report.fit.model).toBe(best.model);
    expect(report.model.purchases.mae).toBe(best.purchases.mae);
    expect(report.modelBeatsBaseline).toBe(true);
  });
});
