import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCrm, runWorker } from '../child-process.ts';
import type { BenchDataset } from '../dataset.ts';
import type { BenchScale } from '../scales.ts';
import { round, type StageResult } from '../stage-result.ts';

interface StepFigures {
  id: string;
  kind: string;
  seconds: number;
  status: string;
}

/** Seconds of a run's transform work (dbt selections and steps between them), not its copy/publish. */
function transformSeconds(summary: unknown): { steps: number; dbt: number; wall: number } {
  const run = summary as { seconds: number; steps: StepFigures[] };
  const steps = run.steps.filter((s) => s.status !== 'skipped' && s.kind !== 'extract');
  return {
    steps: steps.reduce((n, s) => n + s.seconds, 0),
    dbt: steps.filter((s) => s.kind === 'dbt').reduce((n, s) => n + s.seconds, 0),
    wall: run.seconds,
  };
}

/**
 * Stage 2: the full dbt build of every mart (--full-refresh), then an incremental build after 1 %
 * of the orders are new or changed. Both go through `crm transform`, i.e. on a copy of the
 * warehouse that is published at the end, as a scheduled run would.
 */
export async function dbtStage(
  dataset: BenchDataset,
  scale: BenchScale,
  workDir: string,
  log: (line: string) => void,
): Promise<StageResult> {
  const warehouse = path.join(workDir, 'dbt', 'crm.duckdb');
  fs.rmSync(path.dirname(warehouse), { recursive: true, force: true });
  const env = { CRM_LOG_LEVEL: 'warn' };
  log('extract every source for the dbt stage ...');
  const extract = await runCrm(['extract', '--landing', dataset.landingDir, '--warehouse', warehouse], env);
  log('dbt build --full-refresh ...');
  const loadBeforeFull = os.loadavg()[0]!;
  const fullRun = await runCrm(['transform', '--full-refresh', '--warehouse', warehouse], env, { cpu: true });
  const full = transformSeconds(fullRun.json);
  const deltaLanding = path.join(workDir, 'dbt', 'landing-delta');
  const delta = await runWorker('orders-delta', { landingDir: dataset.landingDir, outDir: deltaLanding, fraction: 0.01 });
  log(`load ${Number(delta.added) + Number(delta.changed)} new and changed orders, then the incremental build ...`);
  await runCrm(['extract', 'orders', '--landing', deltaLanding, '--warehouse', warehouse], env);
  const loadBeforeIncremental = os.loadavg()[0]!;
  const incrementalRun = await runCrm(['transform', '--warehouse', warehouse], env, { cpu: true });
  const incremental = transformSeconds(incrementalRun.json);
  const cpu = fullRun.cpuSeconds !== undefined && incrementalRun.cpuSeconds !== undefined;
  const ratio = incremental.steps / full.steps;
  const atTarget = scale.name === '10m';
  const fullOk = full.steps < 600;
  const incrementalOk = ratio < 0.15;
  return {
    stage: 'dbt',
    title: 'dbt build of all marts: full and incremental (1 % new and changed orders)',
    goal: 'at 10 million orders on 2 cores: full build under 10 minutes, incremental under 15 % of full',
    met: atTarget ? fullOk && incrementalOk : null,
    rows: [
      { label: 'full build (transform steps)', value: round(full.steps), unit: 's', baseline: 600, ratio: round(full.steps / 600, 3) },
      {
        label: 'incremental build (transform steps)',
        value: round(incremental.steps),
        unit: 's',
        baseline: round(full.steps),
        ratio: round(ratio, 3),
      },
      { label: 'of which dbt (full / incremental)', value: round(full.dbt), unit: 's', baseline: round(incremental.dbt) },
      {
        label: 'run wall time incl. copy and publish (full / incremental)',
        value: round(full.wall),
        unit: 's',
        baseline: round(incremental.wall),
      },
      ...(cpu
        ? [
            {
              label: 'CPU seconds of the crm process tree, incremental (baseline: full)',
              value: round(incrementalRun.cpuSeconds!),
              unit: 's',
              baseline: round(fullRun.cpuSeconds!),
              ratio: round(incrementalRun.cpuSeconds! / fullRun.cpuSeconds!, 3),
            },
          ]
        : []),
      { label: 'extract of every source before the build', value: round(extract.seconds), unit: 's' },
    ],
    notes: [
      `delta: ${String(delta.added)} new and ${String(delta.changed)} changed orders`,
      `load average (1 min) before the full build ${loadBeforeFull.toFixed(1)}, before the incremental ${loadBeforeIncremental.toFixed(1)}, at the end ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores: wall seconds grow with other work on the machine, CPU seconds much less`,
      atTarget
        ? `full ${fullOk ? 'meets' : 'misses'} 600 s; incremental ratio ${round(ratio, 3)} ${incrementalOk ? 'meets' : 'misses'} 0.15`
        : 'the goal is judged at the 10m scale; figures here show the trend',
    ],
  };
}
