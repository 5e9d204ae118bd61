import { describe, expect, it } from 'vitest';
import {
  bgnbdLogLikelihood,
  expectedPurchases,
  fitBgNbd,
  medianDaysToNextPurchase,
  probabilityAlive,
} from '../../pipelines/transform/clv/bgnbd.ts';
import { expectedSpend, fitGammaGamma, fitGammaGammaNelderMead } from '../../pipelines/transform/clv/gamma-gamma.ts';
import { hyp2f1, lnGamma } from '../../pipelines/transform/clv/special-functions.ts';
import { nelderMead } from '../../pipelines/transform/clv/nelder-mead.ts';
import { simulateTransactions } from '../../pipelines/transform/clv/simulate.ts';
import { summarize } from '../../pipelines/transform/clv/summary-data.ts';

// Fader, Hardie & Lee (2005), CDNOW sample, time unit = weeks.
const FHL = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };

describe('special functions', () => {
  it('lnGamma matches factorials and Γ(1/2) = √π', () => {
    expect(lnGamma(10)).toBeCloseTo(Math.log(362_880), 10);
    expect(lnGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 10);
  });
  it('hyp2f1 matches closed forms', () => {
    // 2F1(1,1;2;z) = -ln(1-z)/z ; 2F1(a,b;b;z) = (1-z)^-a
    expect(hyp2f1(1, 1, 2, 0.5)).toBeCloseTo(-Math.log(0.5) / 0.5, 12);
    expect(hyp2f1(1, 1, 2, 0.99)).toBeCloseTo(-Math.log(0.01) / 0.99, 9);
    expect(hyp2f1(2.5, 3, 3, 0.7)).toBeCloseTo(Math.pow(0.3, -2.5), 9);
    expect(() => hyp2f1(1, 1, 2, 1)).toThrow(/z must be/);
  });
  it('Nelder-Mead finds the Rosenbrock minimum', () => {
    const r = nelderMead(([x, y]) => 100 * (y! - x! * x!) ** 2 + (1 - x!) ** 2, [-1.2, 1], { maxIterations: 10_000 });
    expect(r.x[0]).toBeCloseTo(1, 4);
    expect(r.x[1]).toBeCloseTo(1, 4);
  });
});

describe('BG/NBD', () => {
  it('reproduces the published CDNOW conditional expectation (FHL 2005: x=2, t_x=30.43, T=38.86 -> 1.226 in 39 weeks)', () => {
    expect(expectedPurchases(FHL, { frequency: 2, recencyDays: 30.43, tenureDays: 38.86 }, 39)).toBeCloseTo(1.226, 2);
  });
  it('P(alive) is 1 without repeat purchases and falls with time since the last purchase', () => {
    expect(probabilityAlive(FHL, { frequency: 0, recencyDays: 0, tenureDays: 30 })).toBe(1);
    const recent = probabilityAlive(FHL, { frequency: 3, recencyDays: 35, tenureDays: 38 });
    const stale = probabilityAlive(FHL, { frequency: 3, recencyDays: 5, tenureDays: 38 });
    expect(recent).toBeGreaterThan(stale);
    expect(stale).toBeGreaterThan(0);
  });
  it('expected purchases grow with the horizon and a median next-purchase time is consistent with P(alive)', () => {
    const c = { frequency: 4, recencyDays: 36, tenureDays: 38 };
    expect(expectedPurchases(FHL, c, 52)).toBeGreaterThan(expectedPurchases(FHL, c, 13));
    const t = medianDaysToNextPurchase(FHL, c)!;
    const alive = probabilityAlive(FHL, c);
    const within = alive * (1 - Math.pow((FHL.alpha + 38) / (FHL.alpha + 38 + t), FHL.r + 4));
    expect(within).toBeCloseTo(0.5, 10);
    expect(medianDaysToNextPurchase(FHL, { frequency: 3, recencyDays: 1, tenureDays: 38 })).toBeNull();
  });
  it('recovers the CDNOW parameters from data drawn from the BG/NBD process itself', () => {
    // The paper's unit is the week; simulate in days (alpha x 7) so whole-day rounding is negligible.
    const inDays = { ...FHL, alpha: FHL.alpha * 7 };
    const tx = simulateTransactions({
      seed: 7,
      customers: 6_000,
      bgnbd: inDays,
      spend: { p: 6.25, q: 3.74, gamma: 15.44 },
      startMs: 0,
      acquisitionDays: 12 * 7,
      totalDays: 39 * 7,
    });
    const summary = summarize(tx, 39 * 7 * 86_400_000);
    const fit = fitBgNbd(summary);
    fit.params.alpha /= 7; // back to weeks for the comparison
    expect(fit.converged).toBe(true);
    expect(fit.params.r).toBeGreaterThan(FHL.r * 0.75);
    expect(fit.params.r).toBeLessThan(FHL.r * 1.3);
    expect(fit.params.alpha).toBeGreaterThan(FHL.alpha * 0.6);
    expect(fit.params.alpha).toBeLessThan(FHL.alpha * 1.6);
    expect(fit.params.a).toBeGreaterThan(FHL.a * 0.6);
    expect(fit.params.a).toBeLessThan(FHL.a * 1.6);
    expect(fit.params.b).toBeGreaterThan(FHL.b * 0.5);
    expect(fit.params.b).toBeLessThan(FHL.b * 1.8);
    // The optimum is at least as likely as the true parameters.
    const llTrue = summary.reduce((s, c) => s + bgnbdLogLikelihood(inDays, c), 0);
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(llTrue);
  });
});

describe('Gamma-Gamma', () => {
  it('recovers the published CDNOW spend parameters from simulated data and shrinks toward the mean', () => {
    const truth = { p: 6.25, q: 3.74, gamma: 15.44 };
    const tx = simulateTransactions({
      seed: 11,
      customers: 8_000,
      bgnbd: { r: 2, alpha: 40, a: 0.5, b: 5 },
      spend: truth,
      startMs: 0,
      acquisitionDays: 100,
      totalDays: 600,
    });
    const summary = summarize(tx, 600 * 86_400_000);
    const fit = fitGammaGamma(summary);
    const populationMean = (fit.params.p * fit.params.gamma) / (fit.params.q - 1);
    expect(populationMean).toBeGreaterThan((0.85 * (truth.p * truth.gamma)) / (truth.q - 1));
    expect(populationMean).toBeLessThan((1.15 * (truth.p * truth.gamma)) / (truth.q - 1));
    expect(fit.params.p).toBeGreaterThan(truth.p * 0.7);
    expect(fit.params.p).toBeLessThan(truth.p * 1.4);
    const big = expectedSpend(fit.params, { frequency: 1, monetary: 200 });
    expect(big).toBeLessThan(200);
    expect(big).toBeGreaterThan(populationMean);
    expect(expectedSpend(fit.params, { frequency: 0, monetary: 0 })).toBeCloseTo(populationMean, 8);
    // BFGS with the analytic gradient reaches the previous Nelder-Mead fitter's optimum.
    const reference = fitGammaGammaNelderMead(summary);
    expect(fit.converged).toBe(true);
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(reference.logLikelihood - 1e-6);
    for (const key of ['p', 'q', 'gamma'] as const) expect(fit.params[key] / reference.params[key]).toBeCloseTo(1, 4);
    expect(fit.iterations).toBeLessThan(100);
  });
});
