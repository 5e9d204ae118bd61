import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchScale } from './scales.ts';
import type { StageResult } from './stage-result.ts';

export interface BenchReport {
  scale: BenchScale;
  seed: number;
  startedAt: string;
  seconds: number;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  dataset: { generatedSeconds: number | null; counts: unknown };
  stages: StageResult[];
}

export function machineInfo(): BenchReport['machine'] {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

const fmt = (n: number | undefined) => (n === undefined ? '' : n.toLocaleString('en-US', { maximumFractionDigits: 3 }));
const verdict = (met: boolean | null) => (met === null ? 'not judged at this scale' : met ? '**met**' : '**missed**');

export function toMarkdown(report: BenchReport): string {
  const m = report.machine;
  const lines = [
    `# Benchmark: ${report.scale.name} (${report.scale.orders.toLocaleString('en-US')} orders, ${report.scale.customers.toLocaleString('en-US')} customers)`,
    '',
    `Run ${report.startedAt} in ${report.seconds.toFixed(0)} s on ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}.`,
    'Every figure stands beside a baseline measured in the same run; ratios are figure ÷ baseline.',
    '',
  ];
  for (const stage of report.stages) {
    lines.push(`## ${stage.title}`, '', `Goal: ${stage.goal}. Verdict: ${verdict(stage.met)}.`, '');
    lines.push('| measure | value | unit | baseline | ratio |', '| --- | ---: | --- | ---: | ---: |');
    for (const row of stage.rows)
      lines.push(`| ${row.label} | ${fmt(row.value)} | ${row.unit} | ${fmt(row.baseline)} | ${fmt(row.ratio)} |`);
    lines.push('', ...stage.notes.map((n) => `- ${n}`), '');
  }
  return lines.join('\n');
}

/** Writes the JSON (every run, under .bench/results) and the Markdown table (latest per scale). */
export function writeReport(report: BenchReport, jsonDir: string, markdownDir: string): { json: string; markdown: string } {
  fs.mkdirSync(jsonDir, { recursive: true });
  fs.mkdirSync(markdownDir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const json = path.join(jsonDir, `bench-${report.scale.name}-${stamp}.json`);
  fs.writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  const markdown = path.join(markdownDir, `${report.scale.name}.md`);
  const previous = fs.existsSync(markdown) ? fs.readFileSync(markdown, 'utf8') : undefined;
  fs.writeFileSync(markdown, mergeMarkdown(previous, toMarkdown(report)));
  return { json, markdown };
}

/**
 * The new table, keeping the sections of stages this run did not measure from the previous file
 * (a run of some stages must not erase the others' latest figures), each marked with the run it
 * came from. A stage measured now replaces its old section in place; new stages go at the end.
 */
export function mergeMarkdown(previous: string | undefined, current: string): string {
  if (!previous) return current;
  const split = (text: string) => {
    const [head, ...sections] = text.split(/^(?=## )/m);
    return {
      head: head!,
      sections: sections.map((body) => ({ title: body.slice(3, body.indexOf('\n')).trim(), body: body.replace(/\n*$/, '\n\n') })),
    };
  };
  const old = split(previous);
  const now = split(current);
  const oldRun = /^Run (\S+)/m.exec(old.head)?.[1];
  const fresh = new Map(now.sections.map((s) => [s.title, s.body]));
  const kept = old.sections.map((s) => {
    if (fresh.has(s.title)) {
      const body = fresh.get(s.title)!;
      fresh.delete(s.title);
      return body;
    }
    // Mark a kept section once with the run it came from.
    return oldRun && !s.body.includes('_From the run of ') ? s.body.replace(/\n\n/, `\n\n_From the run of ${oldRun}._\n\n`) : s.body;
  });
  return [now.head, ...kept, ...fresh.values()].join('').replace(/\n*$/, '\n');
}

/** The latest result of each stage at each scale, with the run it came from: the source of docs/benchmarks.md. */
export interface LatestResults {
  /** Set when entries were not written by a run (e.g. reconstructed from earlier reports); shown in the header. */
  note?: string;
  scales: Record<string, { scale: BenchScale; stages: Record<string, LatestStage> }>;
}

export interface LatestStage {
  /** `reconstructed`: the entry was not written by a run of the harness (see `note`). */
  run: { startedAt: string; seed: number; machine: BenchReport['machine'] | null; reconstructed?: boolean };
  result: StageResult;
}

/** This run's stages replace the same stages of the same scale; every other entry is kept. */
export function mergeLatest(previous: LatestResults | undefined, report: BenchReport): LatestResults {
  const latest: LatestResults = previous ? structuredClone(previous) : { scales: {} };
  const entry = (latest.scales[report.scale.name] ??= { scale: report.scale, stages: {} });
  entry.scale = report.scale;
  for (const stage of report.stages) {
    entry.stages[stage.stage] = { run: { startedAt: report.startedAt, seed: report.seed, machine: report.machine }, result: stage };
  }
  return latest;
}

const STAGE_ORDER = ['extract', 'dbt', 'semantic', 'throughput', 'end-to-end', 'clv-fit'];
const SCALE_ORDER = ['smoke', '100k', '1m', '10m'];

/** The rows that carry each stage's goal, for the summary table; a stage not listed shows its rows with a ratio. */
const HEADLINES: Record<string, string[]> = {
  extract: ['csv: records/s', 'ndjson: records/s', 'csv: peak memory', 'ndjson: peak memory'],
  dbt: ['full build', 'incremental build'],
  semantic: ['pre-aggregated: p95'],
  throughput: [
    'KPI scorecard (cached): requests/s',
    'KPI query via /cubejs-api/v1/load (cached): requests/s',
    'customer lookup, a new key each request (customer store): requests/s',
    'customer lookup, a new key each request (customer store): latency p50',
    'errors',
  ],
  'end-to-end': ['landing to answer'],
  'clv-fit': ['bgnbd: fit', 'mbgnbd: fit', 'paretonbd: fit', 'bgnbd at'],
};

export function headlineRows(result: StageResult): StageResult['rows'] {
  const prefixes = HEADLINES[result.stage];
  const rows = prefixes
    ? prefixes.flatMap((prefix) => result.rows.filter((r) => r.label.startsWith(prefix)).slice(0, 1))
    : result.rows.filter((r) => r.ratio !== undefined).slice(0, 3);
  return rows.length > 0 ? rows : result.rows.slice(0, 1);
}

const machineText = (m: BenchReport['machine'] | null) => (m ? `${m.cpus} × ${m.cpuModel}, Node ${m.node}` : 'not recorded');
const dateText = (iso: string) => iso.replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC');
const cell = (text: string) => text.replace(/\|/g, '\\|');
const bySortOrder = (order: string[]) => (a: string, b: string) =>
  (order.indexOf(a) < 0 ? order.length : order.indexOf(a)) - (order.indexOf(b) < 0 ? order.length : order.indexOf(b));

export const BENCHMARKS_DOC_HEADER =
  '_Generated by `npm run bench` (benchmarks/report.ts) from `benchmarks/results/latest.json`: do not edit by hand; run the benchmark again._';

/** docs/benchmarks.md: what each stage measures, the goals at a glance, then every stage's latest table per scale. */
export function benchmarksDoc(latest: LatestResults): string {
  const lines = ['# Benchmarks', '', BENCHMARKS_DOC_HEADER, ''];
  if (latest.note) lines.push(`> ${latest.note}`, '');
  lines.push(
    '`npm run bench -- --scale 100k|1m|10m [--stages extract dbt semantic throughput end-to-end clv-fit] [--json]` generates the data set once',
    '(cached by seed and scale under `.bench/data`), runs each stage in its own processes and writes `.bench/results/bench-<scale>-<time>.json`,',
    '`benchmarks/results/<scale>.md` and this page. Every figure stands beside a baseline measured in the same run, as a ratio',
    '(figure ÷ baseline), with the goal and whether it was met; a stage not run keeps its latest figures and the run they came from.',
    'Exit codes: 0 ran (goals met or not), 1 a stage could not run, 2 usage. Where the time goes: [performance.md](performance.md).',
    '',
    '| stage | what it measures | baseline in the same run |',
    '| --- | --- | --- |',
    '| `extract` | the orders file-drop source (validation, quarantine, upsert) from CSV and from NDJSON: records/s and peak RSS | DuckDB `read_csv` / `read_json` of the same files into tables, same memory limit |',
    "| `dbt` | `crm transform --full-refresh`, then `crm transform` after 1 % new and changed orders | the full build (ratio incremental ÷ full); 600 s for the full build's goal |",
    "| `semantic` | the dashboard's queries through `POST /cubejs-api/v1/load`, result cache bypassed, p50/p95 over HTTP, with the rollups and without them, and an API reopening the file for every query | DuckDB running the same SQL in a bare Fastify process |",
    '| `throughput` | cached KPI scorecard, a cached KPI `/load` and the customer lookup under 50 concurrent clients (autocannon) | a no-op route of a bare Fastify process |',
    '| `end-to-end` | new order files landing -> one `crm run` -> the serving API answering with them | DuckDB reading the same files |',
    "| `clv-fit` | the CLV repeat-purchase fits (BG/NBD, MBG/NBD, Pareto/NBD by BFGS) on 1 million simulated customers, at every scale (smoke: 20,000) | the previous Nelder-Mead BG/NBD fitter beside BFGS on a 50,000-customer sample; 2 s for the fit's goal |",
    '',
    '## Goals at a glance',
    '',
    '| scale | stage | figure | value | baseline | ratio | goal | verdict | run | machine |',
    '| --- | --- | --- | ---: | ---: | ---: | --- | --- | --- | --- |',
  );
  const scales = Object.keys(latest.scales).sort(bySortOrder(SCALE_ORDER));
  for (const name of scales) {
    const { stages } = latest.scales[name]!;
    for (const stageName of Object.keys(stages).sort(bySortOrder(STAGE_ORDER))) {
      const { run, result } = stages[stageName]!;
      headlineRows(result).forEach((row, i) => {
        const first = i === 0;
        lines.push(
          `| ${first ? name : ''} | ${first ? result.stage : ''} | ${cell(row.label)} | ${fmt(row.value)} ${row.unit} | ${fmt(row.baseline)} | ${fmt(row.ratio)} | ${first ? cell(result.goal) : ''} | ${first ? verdict(result.met) : ''} | ${first ? dateText(run.startedAt) : ''} | ${first ? cell(machineText(run.machine)) : ''} |`,
        );
      });
    }
  }
  lines.push('');
  for (const name of scales) {
    const { scale, stages } = latest.scales[name]!;
    lines.push(`## ${name}: ${scale.orders.toLocaleString('en-US')} orders, ${scale.customers.toLocaleString('en-US')} customers`, '');
    for (const stageName of Object.keys(stages).sort(bySortOrder(STAGE_ORDER))) {
      const { run, result } = stages[stageName]!;
      lines.push(`### ${name}: ${result.title}`, '');
      lines.push(`Run ${dateText(run.startedAt)} (seed ${run.seed}) on ${machineText(run.machine)}.`, '');
      lines.push(`Goal: ${result.goal}. Verdict: ${verdict(result.met)}.`, '');
      lines.push('| measure | value | unit | baseline | ratio |', '| --- | ---: | --- | ---: | ---: |');
      for (const row of result.rows)
        lines.push(`| ${cell(row.label)} | ${fmt(row.value)} | ${row.unit} | ${fmt(row.baseline)} | ${fmt(row.ratio)} |`);
      lines.push('', ...result.notes.map((n) => `- ${n}`), '');
    }
  }
  return lines.join('\n').replace(/\n*$/, '\n');
}

/** Merges this run into the latest results (JSON) and writes docs/benchmarks.md from them. */
export function writeBenchmarksDoc(report: BenchReport, latestFile: string, docFile: string): { latest: string; doc: string } {
  const previous = fs.existsSync(latestFile) ? (JSON.parse(fs.readFileSync(latestFile, 'utf8')) as LatestResults) : undefined;
  const latest = mergeLatest(previous, report);
  // The note explains reconstructed entries; once runs have replaced them all it goes.
  if (latest.note && Object.values(latest.scales).every((s) => Object.values(s.stages).every((st) => !st.run.reconstructed)))
    delete latest.note;
  fs.mkdirSync(path.dirname(latestFile), { recursive: true });
  fs.mkdirSync(path.dirname(docFile), { recursive: true });
  fs.writeFileSync(latestFile, JSON.stringify(latest, null, 2) + '\n');
  fs.writeFileSync(docFile, benchmarksDoc(latest));
  return { latest: latestFile, doc: docFile };
}
