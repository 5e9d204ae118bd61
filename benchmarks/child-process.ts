import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.ts');
const CLI = path.join(path.dirname(WORKER), '..', 'cli', 'crm.ts');

export interface WorkerResult {
  seconds: number;
  maxRssMB: number;
  [key: string]: unknown;
}

export interface CrmResult {
  seconds: number;
  json: unknown;
  /** User + system CPU seconds of the process and every child it waited for (GNU time), when measured. */
  cpuSeconds?: number;
}

/** GNU time's binary, when this machine has one (it reports the CPU seconds of a process tree). */
const GNU_TIME = (() => {
  const candidate = '/usr/bin/time';
  if (!fs.existsSync(candidate)) return null;
  const probe = spawnSync(candidate, ['-f', '%U', '-o', os.devNull, 'true'], { stdio: 'ignore' });
  return probe.status === 0 ? candidate : null;
})();

/**
 * Runs a TypeScript entry in its own Node process and parses the last line of its stdout as JSON.
 * A separate process keeps each task's peak RSS its own and a crash away from the harness.
 */
function runJsonProcess(
  label: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cpuFile?: string,
): Promise<{ seconds: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const command = [process.execPath, '--import', 'tsx', ...args];
    const [file, ...rest] = cpuFile && GNU_TIME ? [GNU_TIME, '-f', '%U %S', '-o', cpuFile, ...command] : command;
    const child = spawn(file!, rest, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`${label} exited ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
      // `crm --json` prints one (possibly multi-line) document; a worker prints one line last.
      for (const candidate of [stdout, stdout.trim().split('\n').at(-1) ?? '']) {
        try {
          return resolve({ seconds, json: JSON.parse(candidate) });
        } catch {
          // try the next form
        }
      }
      reject(new Error(`${label} printed no JSON result: ${stdout.slice(-200)}`));
    });
  });
}

/** One measured task of benchmarks/worker.ts; the worker reports its own seconds and peak RSS. */
export async function runWorker(task: string, args: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<WorkerResult> {
  return (await runJsonProcess(`bench task '${task}'`, [WORKER, task, JSON.stringify(args)], env)).json as WorkerResult;
}

/**
 * One `crm` command with --json, timed from outside; fails loudly on a non-zero exit. With `cpu`,
 * also the CPU seconds of its process tree (crm, dbt's Python process and DuckDB's threads in it),
 * which a machine busy with other work inflates far less than wall seconds.
 */
export async function runCrm(args: string[], env: NodeJS.ProcessEnv = {}, options: { cpu?: boolean } = {}): Promise<CrmResult> {
  const cpuFile = options.cpu && GNU_TIME ? path.join(os.tmpdir(), `crm-bench-cpu-${process.pid}-${Date.now()}.txt`) : undefined;
  const result = await runJsonProcess(`crm ${args.join(' ')}`, [CLI, ...args, '--json'], env, cpuFile);
  if (!cpuFile) return result;
  try {
    const [user, system] = fs.readFileSync(cpuFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
    return { ...result, cpuSeconds: user! + system! };
  } finally {
    fs.rmSync(cpuFile, { force: true });
  }
}
