import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runBacktest } from '../../pipelines/transform/clv/backtest.ts';
import type { Transaction } from '../../pipelines/transform/clv/summary-data.ts';
import { churnBandThresholds } from '../../pipelines/transform/dbt-vars.ts';
import { datasetFile } from '../support/datasets.ts';

/**
 * Churn bands that mean something, on real data: CDNOW's full transaction log (23,570 customers of
 * 1997 Q1, who mostly never came back), calibrated to 1997-09-30, held against the next 273 days.
 * Customers the band calls high risk must really buy less in the holdout.
 */
const master = datasetFile('cdnow/CDNOW_master.txt');

function readCdnow(file: string): Transaction[] {
  return fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .slice(1) // header: customer_id date number_of_cds dollar_value
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [customer, date, , amount] = line.trim().split(/\s+/);
      return {
        customerKey: customer!,
        at: Date.UTC(Number(date!.slice(0, 4)), Number(date!.slice(4, 6)) - 1, Number(date!.slice(6, 8)), 12),
        value: Number(amount),
      };
    });
}

describe.skipIf(!master)('churn bands against the holdout (CDNOW, real data)', () => {
  it("reports each band's holdout repeat rate; high risk buys at under a third of low risk's rate", () => {
    const transactions = readCdnow(master!);
    expect(transactions).toHaveLength(69_659);
    const report = runBacktest(transactions, Date.UTC(1997, 8, 30, 23, 59, 59), 273);
    expect(report.customers).toBe(23_570);
    const bands = Object.fromEntries(report.churnBands.map((b) => [b.band, b]));
    expect(report.churnBands.map((b) => b.band)).toEqual(['high', 'medium', 'low']);
    expect(report.churnBands.reduce((n, b) => n + b.customers, 0)).toBe(23_570);
    for (const band of report.churnBands) expect(band.customers, band.band).toBeGreaterThan(1_000);
    // Most of the cohort never bought again: most of it is high risk, not "low" as P(alive) had it.
    expect(bands['high']!.customers / report.customers).toBeGreaterThan(0.5);
    const { high, medium, low } = bands as Record<'high' | 'medium' | 'low', (typeof report.churnBands)[number]>;
    expect(high.repeatRateHoldout).toBeLessThan(medium.repeatRateHoldout);
    expect(medium.repeatRateHoldout).toBeLessThan(low.repeatRateHoldout);
    expect(high.repeatRateHoldout).toBeLessThan(low.repeatRateHoldout / 3);
    expect(high.repeatRate90d!).toBeLessThan(low.repeatRate90d! / 3);
    // Each band's promise is near what it did in the 90 days after the calibration end.
    for (const band of report.churnBands)
      expect(Math.abs(band.meanProbabilityPurchase90d - band.repeatRate90d!), band.band).toBeLessThan(0.1);
    // High risk: long absent for their own rhythm; low risk: back within about their usual gap.
    expect(high.medianAbsenceOverUsualGap!).toBeGreaterThan(low.medianAbsenceOverUsualGap!);
  });
});

describe('churn band thresholds', () => {
  it("are dbt's (dbt_project.yml vars, the ones customer_value uses)", () => {
    expect(churnBandThresholds()).toEqual({ highBelow: 0.1, mediumBelow: 0.25 });
    expect(churnBandThresholds({ churn_high_below_purchase_probability: 0.2, churn_medium_below_purchase_probability: '0.4' })).toEqual({
      highBelow: 0.2,
      mediumBelow: 0.4,
    });
    expect(() => churnBandThresholds({})).toThrow(/churn_high_below_purchase_probability/);
  });
});
