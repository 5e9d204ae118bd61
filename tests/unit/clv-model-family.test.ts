import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fitBgNbdNelderMead, fitRepeatModel } from '../../pipelines/transform/clv/bgnbd.ts';
import { mbgExpectedPurchases, mbgMedianDaysToNextPurchase, mbgProbabilityAlive } from '../../pipelines/transform/clv/mbgnbd.ts';
import { probabilityPurchaseWithin } from '../../pipelines/transform/clv/predict.ts';
import { groupSummary, repeatLogLikelihood } from '../../pipelines/transform/clv/repeat-likelihood.ts';
import { runBacktest } from '../../pipelines/transform/clv/backtest.ts';
import { digamma, lnGamma } from '../../pipelines/transform/clv/special-functions.ts';
import { bfgs } from '../../pipelines/transform/clv/bfgs.ts';
import { simulateTransactions } from '../../pipelines/transform/clv/simulate.ts';
import { DAY_MS } from '../../pipelines/transform/clv/summary-data.ts';
import { datasetFile } from '../support/datasets.ts';

/**
 * The repeat-purchase model family (BG/NBD, MBG/NBD) against published and independent reference
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

describe('probability of a purchase within a horizon (churn risk is 1 minus it)', () => {
  it('is 1/2 at the median time to the next purchase, below P(alive), and grows with the horizon', () => {
    const params = { r: 0.5248, alpha: 6.183, a: 0.8914, b: 1.614 };
    const c = { frequency: 4, recencyDays: 36, tenureDays: 38 };
    const alive = mbgProbabilityAlive(params, c);
    const median = mbgMedianDaysToNextPurchase(params, c)!;
    expect(probabilityPurchaseWithin(params, c, alive, median)).toBeCloseTo(0.5, 10);
    expect(probabilityPurchaseWithin(params, c, alive, 13)).toBeLessThan(probabilityPurchaseWithin(params, c, alive, 52));
    expect(probabilityPurchaseWithin(params, c, alive, 52)).toBeLessThan(alive);
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
    expect(report.candidates.map((c) => c.model)).toEqual(['bgnbd', 'mbgnbd']);
    const winners = report.candidates.filter((c) => c.beatsBaseline);
    expect(winners.length).toBeGreaterThan(0);
    const best = winners.reduce((a, b) => (b.purchases.mae < a.purchases.mae ? b : a));
    expect(report.chosen).toBe(best.model);
    expect(report.fit.model).toBe(best.model);
    expect(report.model.purchases.mae).toBe(best.purchases.mae);
    expect(report.modelBeatsBaseline).toBe(true);
  });
});
