import { spawn } from 'node:child_process';
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
}

/**
 * Runs a TypeScript entry in its own Node process and parses the last line of its stdout as JSON.
 * A separate process keeps each task's peak RSS its own and a crash away from the harness.
 */
function runJsonProcess(label: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
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

/** One `crm` command with --json, timed from outside; fails loudly on a non-zero exit. */
export function runCrm(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CrmResult> {
  return runJsonProcess(`crm ${args.join(' ')}`, [CLI, ...args, '--json'], env);
}
