import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { EXIT, ExitCodeError, UsageError } from './exit-codes.ts';
import { printResult } from './output.ts';
import { openWarehouse } from '../pipelines/raw/warehouse-connection.ts';
import { runBacktest, type BacktestReport, type ErrorStats } from '../pipelines/transform/clv/backtest.ts';
import { isParetoParams } from '../pipelines/transform/clv/model-types.ts';
import { REPEAT_MODELS } from '../pipelines/transform/clv/repeat-models.ts';
import { readLandingTransactions, readWarehouseTransactions } from '../pipelines/transform/clv/transactions.ts';
import { DAY_MS, utcOffsetMinutes, type Transaction } from '../pipelines/transform/clv/summary-data.ts';
import { loadConfig } from '../shared/config.ts';
import { warehouseOption } from './options.ts';

/**
 * `crm clv backtest`: fit every repeat-purchase model (BG/NBD, MBG/NBD, Pareto/NBD) + Gamma-Gamma on
 * a calibration window, predict the holdout and compare with what happened, beside the naive
 * baseline; prints each model, the baseline and the choice. Exit 1 when the chosen model does not beat it.
 */
export function registerClvCommand(program: Command): void {
  const clv = program.command('clv').description('Customer lifetime value models (BG/NBD, MBG/NBD, Pareto/NBD + Gamma-Gamma).');
  clv
    .command('backtest')
    .description(
      'Fit on a calibration window, predict the holdout, report errors beside a naive baseline; exit 1 if the model does not beat it.',
    )
    .option('--calibration-end <date>', 'end of the calibration window (ISO date; default: last purchase minus the holdout)', parseDate)
    .option('--holdout-days <n>', 'length of the holdout window in days', parseDays, 180)
    .addOption(warehouseOption('DuckDB warehouse to read credited orders from (marts.fct_orders)'))
    .option('--landing <dir>', 'read a generated landing folder (orders/*.csv) instead of the warehouse')
    .option('--json', 'print the report as one JSON document on stdout')
    .action(async (opts: { calibrationEnd?: number; holdoutDays: number; warehouse: string; landing?: string; json?: boolean }) => {
      const transactions = opts.landing ? readLanding(opts.landing) : await readWarehouse(path.resolve(opts.warehouse));
      if (transactions.length === 0) throw new UsageError('no purchases to backtest on');
      const lastAt = transactions.reduce((m, t) => Math.max(m, t.at), 0);
      const calibrationEnd = opts.calibrationEnd ?? lastAt - opts.holdoutDays * DAY_MS;
      // Purchase days are the shop's (config shop.timezone).
      const offsetMinutes = utcOffsetMinutes(loadConfig().shop.timezone, calibrationEnd);
      const report = runBacktest(transactions, calibrationEnd, opts.holdoutDays, offsetMinutes);
      printResult(Boolean(opts.json), report, () => describe(report));
      if (!report.modelBeatsBaseline)
        throw new ExitCodeError(
          EXIT.stepFailed,
          'the CLV model does not beat the naive baseline (purchase MAE, revenue MAE, total purchases)',
        );
    });
}

function parseDate(raw: string): number {
  const ms = Date.parse(raw);
  if (!Number.isFinite(ms)) throw new InvalidArgumentError(`not a date: "${raw}"`);
  return ms;
}

function parseDays(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`must be a whole number of days >= 1, got "${raw}"`);
  return n;
}

function readLanding(dir: string): Transaction[] {
  if (!fs.existsSync(path.join(dir, 'orders', 'orders.csv'))) throw new UsageError(`no orders/orders.csv under ${dir}`);
  return readLandingTransactions(dir).transactions;
}

async function readWarehouse(file: string): Promise<Transaction[]> {
  if (!fs.existsSync(file)) throw new UsageError(`warehouse not found: ${file}`);
  const warehouse = await openWarehouse(file, { readOnly: true });
  try {
    return await readWarehouseTransactions(warehouse.connection);
  } finally {
    warehouse.close();
  }
}

function describe(r: BacktestReport): string {
  const f = (n: number, d = 3) => n.toFixed(d);
  const pct = (share: number) => `${(100 * share).toFixed(1)} %`;
  const gg = r.fit.gammaGamma.params;
  const row = (label: string, e: { purchases: ErrorStats; revenue: ErrorStats }) =>
    `${label.padEnd(21)}${f(e.purchases.mae)} / ${f(e.purchases.rmse)} / ${f(e.purchases.totalPredicted, 1)}      ${f(e.revenue.mae, 2)} / ${f(e.revenue.rmse, 2)} / ${f(e.revenue.totalPredicted, 2)}`;
  return [
    `calibration to ${r.calibrationEnd}, holdout ${r.holdoutDays} days to ${r.holdoutEnd}, ${r.customers} customers`,
    ...r.candidates.map((c) => {
      const p = c.fit.params;
      const rest = isParetoParams(p) ? `s=${f(p.s)} beta=${f(p.beta)}` : `a=${f(p.a)} b=${f(p.b)}`;
      return `${REPEAT_MODELS[c.model].title} (days): r=${f(p.r)} alpha=${f(p.alpha)} ${rest} (LL ${f(c.fit.logLikelihood, 1)})`;
    }),
    `Gamma-Gamma: p=${f(gg.p)} q=${f(gg.q)} gamma=${f(gg.gamma)}`,
    `actual holdout: ${r.actual.purchases} purchase days, revenue ${f(r.actual.revenue, 2)}`,
    `${''.padEnd(21)}purchases MAE / RMSE / total      revenue MAE / RMSE / total`,
    ...r.candidates.map((c) => row(`${c.model}${c.model === r.chosen ? ' (chosen)' : ''}`, c)),
    row('naive baseline', r.baseline),
    `chosen: ${r.chosen} (lowest holdout purchase MAE among the models that beat the baseline)`,
    r.modelBeatsBaseline ? 'model beats the baseline' : 'MODEL DOES NOT BEAT THE BASELINE',
    `churn bands of the chosen model (P(purchase in 90 days), dbt vars) against the holdout:`,
    `  band     customers  mean P(90d)  bought in 90d  bought in holdout  median absence / usual gap`,
    ...r.churnBands.map(
      (b) =>
        `  ${b.band.padEnd(8)} ${String(b.customers).padStart(9)}  ${f(b.meanProbabilityPurchase90d).padStart(11)}  ${(b.repeatRate90d === null ? '-' : pct(b.repeatRate90d)).padStart(13)}  ${pct(b.repeatRateHoldout).padStart(17)}  ${(b.medianAbsenceOverUsualGap === null ? '-' : f(b.medianAbsenceOverUsualGap, 1)).padStart(26)}`,
    ),
  ].join('\n');
}
