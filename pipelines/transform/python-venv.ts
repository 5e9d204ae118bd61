import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../shared/paths.ts';
import { envValue } from '../../shared/env.ts';

export class PythonSetupError extends Error {
  override name = 'PythonSetupError';
}

/** A project-local Python venv installed from pinned requirement files (a stamp says which). */
export interface PythonVenv {
  dir: string;
  /** Requirement file and its full lock (pip install -r <first> -c <second>). */
  requirementFiles: readonly [string, string];
  /** What it holds, for log lines: "dbt-core, dbt-duckdb and duckdb". */
  holds: string;
  isCurrent(): boolean;
  ensure(log?: (message: string) => void): { installed: boolean };
}

export function pythonVenv(dir: string, requirementFiles: readonly [string, string], holds: string): PythonVenv {
  const stamp = path.join(dir, '.crm-requirements.sha256');
  const python = path.join(dir, 'bin', 'python');
  const hash = () => {
    const digest = crypto.createHash('sha256');
    for (const file of requirementFiles) digest.update(fs.readFileSync(path.join(projectRoot, file)));
    return digest.digest('hex');
  };
  const isCurrent = () => fs.existsSync(python) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === hash();
  return {
    dir,
    requirementFiles,
    holds,
    isCurrent,
    ensure(log = () => undefined) {
      if (isCurrent()) return { installed: false };
      const systemPython = envValue('CRM_PYTHON') ?? 'python3';
      if (!fs.existsSync(python)) {
        log(`creating Python venv at ${dir}`);
        run(systemPython, ['-m', 'venv', dir], `could not create a venv with "${systemPython}" (Python 3.11 is required)`);
      }
      log(`installing pinned ${holds} into ${path.basename(dir)}`);
      run(
        path.join(dir, 'bin', 'pip'),
        ['install', '--disable-pip-version-check', '--quiet', '-r', requirementFiles[0], '-c', requirementFiles[1]],
        `pip install of ${requirementFiles[0]} failed`,
      );
      fs.writeFileSync(stamp, hash() + '\n');
      return { installed: true };
    },
  };
}

/** The project-local Python environment holding the pinned dbt-core, dbt-duckdb and duckdb. */
const configuredVenv = envValue('CRM_VENV_DIR');
export const venvDir = configuredVenv ? path.resolve(configuredVenv) : path.join(projectRoot, '.venv');
export const dbtExecutable = path.join(venvDir, 'bin', 'dbt');
/** The venv's Python (runs dbt through pipelines/transform/duckdb_session/crm_dbt.py). */
export const venvPython = path.join(venvDir, 'bin', 'python');
const duckdbVenv = pythonVenv(venvDir, ['requirements.txt', 'python-constraints.txt'], 'dbt-core, dbt-duckdb and duckdb');

/** True when the venv exists and was installed from the current requirement files. */
export function isVenvCurrent(): boolean {
  return fs.existsSync(dbtExecutable) && duckdbVenv.isCurrent();
}

/**
 * Creates ./.venv and installs the pinned requirements when missing or out of date. Never uses a
 * global dbt: the pipeline always calls this venv's executable.
 */
export function ensurePythonVenv(log: (message: string) => void = () => undefined): { installed: boolean } {
  return duckdbVenv.ensure(log);
}

/**
 * The Spark target's venv (docs/spark.md): dbt-core, dbt-spark[session], pyspark and delta-spark,
 * created only by `crm setup spark` or a run with --target spark, never by the DuckDB default.
 */
const configuredSparkVenv = envValue('CRM_SPARK_VENV_DIR');
export const sparkVenv = pythonVenv(
  configuredSparkVenv ? path.resolve(configuredSparkVenv) : path.join(projectRoot, '.venv-spark'),
  ['requirements-spark.txt', 'python-constraints-spark.txt'],
  'dbt-core, dbt-spark, pyspark and delta-spark',
);

/** Spark needs a Java runtime (17 or 21 for Spark 4): its version line, or null when there is none. */
export function javaVersion(): string | null {
  const result = spawnSync(process.env['JAVA_HOME'] ? path.join(process.env['JAVA_HOME'], 'bin', 'java') : 'java', ['-version'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (result.error || result.status !== 0) return null;
  return (result.stderr || result.stdout).split('\n')[0]?.trim() ?? null;
}

/** Sets up the Spark venv, refusing early (PythonSetupError) when no Java runs here. */
export function ensureSparkVenv(log: (message: string) => void = () => undefined): { installed: boolean; java: string } {
  const java = javaVersion();
  if (!java) throw new PythonSetupError('the spark target needs Java 17 or 21 (java on PATH or $JAVA_HOME): none found');
  return { ...sparkVenv.ensure(log), java };
}

function run(command: string, args: string[], failure: string): void {
  const result = spawnSync(command, args, { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error || result.status !== 0) {
    const detail = result.error?.message ?? (result.stderr || result.stdout).trim().split('\n').slice(-15).join('\n');
    throw new PythonSetupError(`${failure}: ${detail}`);
  }
}
