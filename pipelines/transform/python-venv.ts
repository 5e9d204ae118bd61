import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../shared/paths.ts';
import { envValue } from '../../shared/env.ts';

/** The project-local Python environment holding the pinned dbt-core, dbt-duckdb and duckdb. */
const configuredVenv = envValue('CRM_VENV_DIR');
export const venvDir = configuredVenv ? path.resolve(configuredVenv) : path.join(projectRoot, '.venv');
export const dbtExecutable = path.join(venvDir, 'bin', 'dbt');
const REQUIREMENT_FILES = ['requirements.txt', 'python-constraints.txt'];
const STAMP = path.join(venvDir, '.crm-requirements.sha256');

export class PythonSetupError extends Error {
  override name = 'PythonSetupError';
}

function requirementsHash(): string {
  const hash = crypto.createHash('sha256');
  for (const file of REQUIREMENT_FILES) hash.update(fs.readFileSync(path.join(projectRoot, file)));
  return hash.digest('hex');
}

/** True when the venv exists and was installed from the current requirement files. */
export function isVenvCurrent(): boolean {
  return fs.existsSync(dbtExecutable) && fs.existsSync(STAMP) && fs.readFileSync(STAMP, 'utf8').trim() === requirementsHash();
}

/**
 * Creates ./.venv and installs the pinned requirements when missing or out of date. Never uses a
 * global dbt: the pipeline always calls this venv's executable.
 */
export function ensurePythonVenv(log: (message: string) => void = () => undefined): { installed: boolean } {
  if (isVenvCurrent()) return { installed: false };
  const python = envValue('CRM_PYTHON') ?? 'python3';
  if (!fs.existsSync(path.join(venvDir, 'bin', 'python'))) {
    log(`creating Python venv at ${venvDir}`);
    run(python, ['-m', 'venv', venvDir], `could not create a venv with "${python}" (Python 3.11 is required)`);
  }
  log('installing pinned dbt-core, dbt-duckdb and duckdb into the venv');
  const pip = path.join(venvDir, 'bin', 'pip');
  run(
    pip,
    ['install', '--disable-pip-version-check', '--quiet', '-r', 'requirements.txt', '-c', 'python-constraints.txt'],
    'pip install of requirements.txt failed',
  );
  fs.writeFileSync(STAMP, requirementsHash() + '\n');
  return { installed: true };
}

function run(command: string, args: string[], failure: string): void {
  const result = spawnSync(command, args, { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error || result.status !== 0) {
    const detail = result.error?.message ?? (result.stderr || result.stdout).trim().split('\n').slice(-15).join('\n');
    throw new PythonSetupError(`${failure}: ${detail}`);
  }
}
