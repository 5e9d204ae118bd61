/**
 * Times the repeat-purchase fit on N simulated customers (BG/NBD process, CDNOW-like parameters in
 * days): the BFGS fitter with analytic gradients on grouped sufficient statistics (BG/NBD and
 * MBG/NBD), beside the previous derivative-free Nelder-Mead fitter on the same groups, in the same
 * run; prints the distinct (x, t_x, T) groups, seconds, iterations and the parameters (equal optima).
 *
 *   npx tsx benchmarks/clv-fit.ts [--customers 1000000] [--skip-previous] [--json]
 */
import { parseArgs } from 'node:util';
import { fitBgNbdNelderMead, fitRepeatModel } from '../pipelines/transform/clv/bgnbd.ts';
import { groupSummary } from '../pipelines/transform/clv/repeat-likelihood.ts';
import { simulateTransactions } from '../pipelines/transform/clv/simulate.ts';
import { summarize, DAY_MS } from '../pipelines/transform/clv/summary-data.ts';

const { values } = parseArgs({
  options: { customers: { type: 'string', default: '1000000' }, 'skip-previous': { type: 'boolean' }, json: { type: 'boolean' } },
});
const customers = Number(values.customers);
const log = (line: string) => process.stderr.write(`[clv-fit] ${line}\n`);
let t = performance.now();
const transactions = simulateTransactions({
  seed: 42,
  customers,
  bgnbd: { r: 0.243, alpha: 4.414 * 7, a: 0.793, b: 2.426 },
  spend: { p: 6.25, q: 3.74, gamma: 15.44 },
  startMs: 0,
  acquisitionDays: 84,
  totalDays: 546,
});
const summary = summarize(transactions, 546 * DAY_MS);
const groups = groupSummary(summary).x.length;
log(
  `${customers.toLocaleString('en-US')} customers, ${transactions.length.toLocaleString('en-US')} purchases, ${groups.toLocaleString('en-US')} distinct (x, t_x, T) groups in ${((performance.now() - t) / 1000).toFixed(1)} s`,
);
const time = <T>(f: () => T): [T, number] => {
  const start = performance.now();
  const out = f();
  return [out, (performance.now() - start) / 1000];
};
const results: Record<string, { seconds: number; iterations: number; params: Record<string, number>; logLikelihood: number }> = {};
for (const kind of ['bgnbd', 'mbgnbd'] as const) {
  const [fit, seconds] = time(() => fitRepeatModel(kind, summary));
  results[`${kind} (BFGS, analytic gradient)`] = {
    seconds,
    iterations: fit.iterations,
    params: { ...fit.params },
    logLikelihood: fit.logLikelihood,
  };
}
if (!values['skip-previous']) {
  const [fit, seconds] = time(() => fitBgNbdNelderMead(summary));
  results['bgnbd (previous: Nelder-Mead)'] = {
    seconds,
    iterations: fit.iterations,
    params: { ...fit.params },
    logLikelihood: fit.logLikelihood,
  };
}
t = performance.now();
if (values.json) process.stdout.write(JSON.stringify({ customers, groups, results }, null, 2) + '\n');
else
  for (const [name, r] of Object.entries(results))
    process.stdout.write(
      `${name.padEnd(36)} ${r.seconds.toFixed(2).padStart(7)} s  ${String(r.iterations).padStart(5)} iterations  LL ${r.logLikelihood.toFixed(1)}  ${Object.entries(
        r.params,
      )
        .map(([k, v]) => `${k}=${v.toPrecision(6)}`)
        .join(' ')}\n`,
    );
