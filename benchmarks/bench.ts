/**
 * `npm run bench -- --scale 100k|1m|10m [--stages extract dbt semantic throughput end-to-end clv-fit sentiment]`:
 * generates the data set once (cached by seed and scale under .bench/data), runs each stage against a baseline measured in the same run, and writes a JSON file
 * (.bench/results), a Markdown table (benchmarks/results/<scale>.md), and docs/benchmarks.md from the
 * latest result of every stage at every scale (benchmarks/results/latest.json).
 * Exit codes: 0 ran (goals met or not: see the report), 1 a stage failed to run, 2 usage error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { projectRoot } from '../shared/paths.ts';
import { BENCH_ROOT, ensureDataset } from './dataset.ts';
import { machineInfo, writeBenchmarksDoc, writeReport, type BenchReport } from './report.ts';
import { SCALES, scaleByName } from './scales.ts';
import type { StageResult } from './stage-result.ts';
import { clvFitStage } from './stages/clv-fit-stage.ts';
import { dbtStage } from './stages/dbt-stage.ts';
import { endToEndStage } from './stages/end-to-end-stage.ts';
import { extractStage } from './stages/extract-stage.ts';
import { semanticStage } from './stages/semantic-stage.ts';
import { sentimentStage } from './stages/sentiment-stage.ts';
import { throughputStage } from './stages/throughput-stage.ts';

const DEFAULT_MARKDOWN_DIR = path.join(projectRoot, 'benchmarks', 'results');
// In this order: semantic and throughput serve the warehouse the dbt stage built, end-to-end then adds to it.
// clv-fit needs no data set (it simulates its customers), nor does sentiment (real reviews or sample sentences).
const STAGES = ['extract', 'dbt', 'semantic', 'throughput', 'end-to-end', 'clv-fit', 'sentiment'] as const;
type StageName = (typeof STAGES)[number];

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

const program = new Command('bench')
  .description('Measure the pipeline and API at a scale, each figure beside a baseline from the same run.')
  .addOption(new Option('--scale <name>', 'data set size').choices(Object.keys(SCALES)).default('100k'))
  .addOption(new Option('--stages <names...>', 'stages to run').choices([...STAGES]).default([...STAGES]))
  .option(
    '--seed <n>',
    'generator seed (data sets are cached per seed and scale)',
    (v) => {
      const n = Number(v);
      if (!Number.isInteger(n)) throw new InvalidArgumentError('must be an integer');
      return n;
    },
    42,
  )
  .option('--repeat <n>', 'semantic stage: timed runs of each query per mode (default 5 at smoke, else 30)', positiveInteger)
  .option('--seconds <n>', 'throughput stage: seconds per endpoint (default 2 at smoke, else 10)', positiveInteger)
  .option('--bench-dir <dir>', 'cached data sets, work files and JSON results', BENCH_ROOT)
  .option('--markdown-dir <dir>', 'where the Markdown table and latest.json go', DEFAULT_MARKDOWN_DIR)
  .option(
    '--docs-file <file>',
    'the generated benchmarks page (default docs/benchmarks.md; with another --markdown-dir, <markdown-dir>/benchmarks.md)',
  )
  .option('--json', 'print the report as JSON on stdout')
  .action(
    async (opts: {
      scale: string;
      stages: StageName[];
      seed: number;
      repeat?: number;
      seconds?: number;
      benchDir: string;
      markdownDir: string;
      json?: boolean;
      docsFile?: string;
    }) => {
      const scale = scaleByName(opts.scale);
      const log = (line: string) => process.stderr.write(`[bench ${scale.name}] ${line}\n`);
      const started = Date.now();
      const needsDataset = opts.stages.some((s) => s !== 'clv-fit' && s !== 'sentiment');
      const dataset = needsDataset ? await ensureDataset(opts.benchDir, scale, opts.seed, log) : null;
      const workDir = path.join(opts.benchDir, 'work', `seed-${opts.seed}-${scale.name}`);
      fs.mkdirSync(workDir, { recursive: true });
      const stages: StageResult[] = [];
      for (const name of STAGES.filter((s) => opts.stages.includes(s))) {
        log(`stage ${name}`);
        if (name === 'clv-fit') {
          stages.push(await clvFitStage(scale, log));
          continue;
        }
        if (name === 'sentiment') {
          stages.push(sentimentStage(log, scale.name === 'smoke'));
          continue;
        }
        if (dataset === null) throw new Error(`stage ${name} needs the data set`);
        if (name === 'extract') stages.push(await extractStage(dataset, workDir, log));
        if (name === 'dbt') stages.push(await dbtStage(dataset, scale, workDir, log));
        if (name === 'semantic')
          stages.push(await semanticStage(dataset, scale, workDir, log, opts.repeat ?? (scale.name === 'smoke' ? 5 : 30)));
        if (name === 'throughput')
          stages.push(await throughputStage(dataset, workDir, log, opts.seconds ?? (scale.name === 'smoke' ? 2 : 10)));
        if (name === 'end-to-end') stages.push(await endToEndStage(dataset, workDir, log));
      }
      const report: BenchReport = {
        scale,
        seed: opts.seed,
        startedAt: new Date(started).toISOString(),
        seconds: (Date.now() - started) / 1000,
        machine: machineInfo(),
        dataset: dataset
          ? { generatedSeconds: dataset.generatedSeconds, counts: dataset.truth.counts }
          : { generatedSeconds: null, counts: null },
        stages,
      };
      const written = writeReport(report, path.join(opts.benchDir, 'results'), opts.markdownDir);
      // A run into another Markdown folder (tests, experiments) must not rewrite the project's page.
      const docsFile =
        opts.docsFile ??
        (path.resolve(opts.markdownDir) === DEFAULT_MARKDOWN_DIR
          ? path.join(projectRoot, 'docs', 'benchmarks.md')
          : path.join(opts.markdownDir, 'benchmarks.md'));
      const page = writeBenchmarksDoc(report, path.join(opts.markdownDir, 'latest.json'), docsFile);
      if (opts.json)
        process.stdout.write(JSON.stringify({ ...report, files: { ...written, latest: page.latest, doc: page.doc } }, null, 2) + '\n');
      else {
        for (const stage of stages) {
          process.stdout.write(
            `${stage.title}: ${stage.met === null ? 'not judged at this scale' : stage.met ? 'goal met' : 'goal MISSED'}\n`,
          );
          for (const row of stage.rows)
            process.stdout.write(
              `  ${row.label}: ${row.value} ${row.unit}${row.baseline !== undefined ? ` (baseline ${row.baseline}${row.ratio !== undefined ? `, ratio ${row.ratio}` : ''})` : ''}\n`,
            );
        }
        process.stdout.write(
          `Report: ${path.relative(projectRoot, written.markdown)}, ${path.relative(projectRoot, page.doc)} and ${path.relative(projectRoot, written.json)}\n`,
        );
      }
    },
  );

try {
  await program.parseAsync();
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
