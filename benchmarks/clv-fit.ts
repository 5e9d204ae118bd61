/**
 * Times the repeat-purchase fits on N simulated customers (BG/NBD process, CDNOW-like parameters in
 * days): BG/NBD, MBG/NBD and Pareto/NBD, each by BFGS with analytic gradients on grouped sufficient
 * statistics (grouping included in the time), and the previous derivative-free Nelder-Mead BG/NBD
 * fitter beside BFGS BG/NBD in the same run, on the first M of those customers (M = N by default;
 * Nelder-Mead takes ~145 s at 1 million, so `npm run bench` uses a smaller M). Prints the distinct
 * (x, t_x, T) groups, seconds, iterations and the parameters (equal optima).
 *
 *   npx tsx benchmarks/clv-fit.ts [--customers 1000000] [--previous-customers M] [--skip-previous] [--json]
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { fitBgNbdNelderMead, fitRepeatModel } from '../pipelines/transform/clv/bgnbd.ts';
import { REPEAT_MODEL_NAMES, REPEAT_MODELS } from '../pipelines/transform/clv/repeat-models.ts';
import { groupSummary } from '../pipelines/transform/clv/repeat-likelihood.ts';
import { simulateTransactions } from '../pipelines/transform/clv/simulate.ts';
import { summarize, DAY_MS, type CustomerSummary } from '../pipelines/transform/clv/summary-data.ts';

export interface FitTiming {
  seconds: number;
  /** CPU seconds of the process during the fit: close to `seconds` on a quiet machine, far below them on a loaded one. */
  cpuSeconds: number;
  iterations: number;
  params: Record<string, number>;
  logLikelihood: number;
}

export interface ClvFitBenchResult {
  customers: number;
  groups: number;
  simulationSeconds: number;
  /** Each model of the family, BFGS, on every customer. */
  models: Record<string, FitTiming>;
  /** BG/NBD by BFGS and by the previous Nelder-Mead fitter on the first `customers` customers. */
  previous: { customers: number; groups: number; bfgs: FitTiming; nelderMead: FitTiming } | null;
}

const time = <T>(f: () => T): [T, { seconds: number; cpuSeconds: number }] => {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const out = f();
  const used = process.cpuUsage(cpu);
  return [out, { seconds: (performance.now() - start) / 1000, cpuSeconds: (used.user + used.system) / 1e6 }];
};
const timing = (
  fit: { iterations: number; params: object; logLikelihood: number },
  spent: { seconds: number; cpuSeconds: number },
): FitTiming => ({
  ...spent,
  iterations: fit.iterations,
  params: { ...(fit.params as Record<string, number>) },
  logLikelihood: fit.logLikelihood,
});

/** The customers' summaries only: the transactions are garbage once summarised, as in the warehouse, where the summary comes from SQL. */
function simulatedSummary(customers: number): { summary: CustomerSummary[]; purchases: number } {
  const transactions = simulateTransactions({
    seed: 42,
    customers,
    bgnbd: { r: 0.243, alpha: 4.414 * 7, a: 0.793, b: 2.426 },
    spend: { p: 6.25, q: 3.74, gamma: 15.44 },
    startMs: 0,
    acquisitionDays: 84,
    totalDays: 546,
  });
  return { summary: summarize(transactions, 546 * DAY_MS), purchases: transactions.length };
}

export function runClvFitBench(customers: number, previousCustomers: number | null, log: (line: string) => void): ClvFitBenchResult {
  const started = performance.now();
  const { summary, purchases } = simulatedSummary(customers);
  const groups = groupSummary(summary).x.length;
  const simulationSeconds = (performance.now() - started) / 1000;
  log(
    `${customers.toLocaleString('en-US')} customers, ${purchases.toLocaleString('en-US')} purchases, ${groups.toLocaleString('en-US')} distinct (x, t_x, T) groups in ${simulationSeconds.toFixed(1)} s`,
  );
  const models: Record<string, FitTiming> = {};
  for (const kind of REPEAT_MODEL_NAMES) {
    const [fit, seconds] = time(() => REPEAT_MODELS[kind].fit(summary));
    models[kind] = timing(fit, seconds);
    log(`${kind}: ${seconds.seconds.toFixed(2)} s (CPU ${seconds.cpuSeconds.toFixed(2)} s), ${fit.iterations} iterations`);
  }
  let previous: ClvFitBenchResult['previous'] = null;
  if (previousCustomers !== null) {
    // The customers are keyed in simulation order, which is random: the first M are a random sample.
    const sample = summary.slice(0, Math.min(previousCustomers, summary.length));
    const [bfgsFit, bfgsSeconds] = time(() => fitRepeatModel('bgnbd', sample));
    log(`bgnbd on ${sample.length.toLocaleString('en-US')} customers: BFGS ${bfgsSeconds.seconds.toFixed(2)} s; Nelder-Mead ...`);
    const [nmFit, nmSeconds] = time(() => fitBgNbdNelderMead(sample));
    previous = {
      customers: sample.length,
      groups: groupSummary(sample).x.length,
      bfgs: timing(bfgsFit, bfgsSeconds),
      nelderMead: timing(nmFit, nmSeconds),
    };
  }
  return { customers, groups, simulationSeconds, models, previous };
}

function line(name: string, r: FitTiming): string {
  const params = Object.entries(r.params)
    .map(([k, v]) => `${k}=${v.toPrecision(6)}`)
    .join(' ');
  return `${name.padEnd(52)} ${r.seconds.toFixed(2).padStart(7)} s (CPU ${r.cpuSeconds.toFixed(2)} s) ${String(r.iterations).padStart(5)} iterations  LL ${r.logLikelihood.toFixed(1)}  ${params}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      customers: { type: 'string', default: '1000000' },
      'previous-customers': { type: 'string' },
      'skip-previous': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const customers = Number(values.customers);
  const previousCustomers = values['skip-previous'] ? null : Number(values['previous-customers'] ?? customers);
  const result = runClvFitBench(customers, previousCustomers, (text) => process.stderr.write(`[clv-fit] ${text}\n`));
  if (values.json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    for (const [name, r] of Object.entries(result.models)) process.stdout.write(line(`${name} (BFGS, analytic gradient)`, r));
    if (result.previous) {
      const at = `${result.previous.customers.toLocaleString('en-US')} customers`;
      process.stdout.write(line(`bgnbd at ${at} (BFGS)`, result.previous.bfgs));
      process.stdout.write(line(`bgnbd at ${at} (previous: Nelder-Mead)`, result.previous.nelderMead));
    }
  }
}
