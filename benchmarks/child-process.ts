import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.ts');

export interface WorkerResult {
  seconds: number;
  maxRssMB: number;
  [key: string]: unknown;
}

/**
 * Runs one measured task in its own Node process (benchmarks/worker.ts), so the peak RSS it
 * reports is that task's alone and a crash cannot take the harness down.
 */
export function runWorker(task: string, args: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, task, JSON.stringify(args)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`bench task '${task}' exited ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
      try {
        resolve(JSON.parse(last) as WorkerResult);
      } catch {
        reject(new Error(`bench task '${task}' printed no result: ${last.slice(0, 200)}`));
      }
    });
  });
}

const CLI = path.join(path.dirname(WORKER), '..', 'pipelines', 'cli.ts');

export interface CrmResult {
  seconds: number;
  json: unknown;
}

/** Runs one `crm` command as a child process with --json, failing loudly on a non-zero exit. */
export function runCrm(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CrmResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args, '--json'], {
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
      if (code !== 0) return reject(new Error(`crm ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      try {
        resolve({ seconds, json: JSON.parse(stdout) });
      } catch {
        reject(new Error(`crm ${args.join(' ')} printed no JSON: ${stdout.slice(0, 200)}`));
      }
    });
  });
}
