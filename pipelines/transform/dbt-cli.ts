import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { projectRoot, WAREHOUSE_ENV } from '../../shared/paths.ts';
import { PSEUDONYM_KEY_ENV, resolvePseudonymKey } from './pseudonym-key.ts';
import { dbtExecutable, ensurePythonVenv, ensureSparkVenv, sparkVenv } from './python-venv.ts';
import { readRunResults, type DbtNodeResult } from './run-results.ts';

/** dbt-duckdb plugins of profiles.yml (module_paths), absolute so dbt finds them from any cwd. */
const DBT_PLUGIN_DIR = path.join(projectRoot, 'pipelines', 'transform', 'duckdb_plugins');
/** dbt's entry point on the Spark target: dbt itself, with crm_pseudonym registered on its SparkSession. */
const SPARK_DBT_ENTRY = path.join(projectRoot, 'pipelines', 'transform', 'spark_session', 'crm_dbt_spark.py');

/** dbt profile targets of profiles.yml: the embedded default, or Apache Spark with Delta (docs/spark.md). */
export type DbtTarget = 'duckdb' | 'spark';

export interface DbtInvocation {
  /** dbt sub-command and its arguments, e.g. ['build', '--select', 'marts']. */
  args: string[];
  warehousePath: string;
  /** Called once per finished node with dbt's own status line. */
  onNodeFinished?: (result: { uniqueId: string; status: string; message: string }) => void;
  vars?: Record<string, unknown>;
  /**
   * dbt's target/ and logs/ folder; default beside the warehouse file. A run building into its own
   * copy passes the published file's folder, so partial parsing survives from run to run.
   */
  artifactsDir?: string;
  /** dbt's target/ (default <artifactsDir>/target); a run gets its own so a killed run's orphaned dbt cannot overwrite the next run's results. */
  targetPath?: string;
  /** Profile target (default duckdb). spark runs .venv-spark's dbt-spark with sparkDir as CRM_SPARK_DIR. */
  target?: DbtTarget;
  /** The spark target's folder (Spark warehouse dir, Derby metastore, Parquet boundary); required for spark. */
  sparkDir?: string;
}

export interface DbtOutcome {
  ok: boolean;
  results: DbtNodeResult[];
  elapsedSeconds: number;
  targetPath: string;
}

export class DbtFailedError extends Error {
  override name = 'DbtFailedError';
  constructor(
    message: string,
    readonly failures: DbtNodeResult[],
    readonly outcome?: DbtOutcome,
  ) {
    super(message);
  }
}

/**
 * dbt's target/ and logs/ for a given warehouse file, kept beside it so that two warehouses (a test's
 * temp one and the default) never share partial-parse state or run_results.json.
 */
export function dbtArtifactsDir(warehousePath: string): string {
  return path.join(path.dirname(warehousePath), `.dbt-${path.basename(warehousePath, path.extname(warehousePath))}`);
}

/**
 * Runs the venv's dbt CLI against the warehouse, streams its JSON log for progress, then reads
 * run_results.json. Throws DbtFailedError with dbt's own error text when a model or test fails.
 */
export async function runDbt(invocation: DbtInvocation): Promise<DbtOutcome> {
  // The key of dim_customers' pseudonyms (docs/pseudonyms.md): only dbt's process gets it, in its
  // environment, where the crm_pseudonym plugin reads it; no SQL or artifact ever holds it.
  const { key } = resolvePseudonymKey();
  const spark = invocation.target === 'spark';
  if (spark && !invocation.sparkDir) throw new Error('runDbt: the spark target needs sparkDir');
  if (spark) ensureSparkVenv();
  else ensurePythonVenv();
  const artifacts = invocation.artifactsDir ?? dbtArtifactsDir(invocation.warehousePath);
  const targetPath = invocation.targetPath ?? path.join(artifacts, 'target');
  fs.rmSync(path.join(targetPath, 'run_results.json'), { force: true });
  const args = [
    ...(spark ? [SPARK_DBT_ENTRY] : []),
    ...invocation.args,
    ...(spark ? ['--target', 'spark'] : []),
    '--project-dir',
    projectRoot,
    '--profiles-dir',
    projectRoot,
    '--target-path',
    targetPath,
    '--log-path',
    path.join(artifacts, 'logs'),
    '--log-format',
    'json',
  ];
  if (invocation.vars) args.push('--vars', JSON.stringify(invocation.vars));
  const child = spawn(spark ? path.join(sparkVenv.dir, 'bin', 'python') : dbtExecutable, args, {
    cwd: projectRoot,
    env: {
      ...process.env,
      [WAREHOUSE_ENV]: invocation.warehousePath,
      [PSEUDONYM_KEY_ENV]: key,
      CRM_DBT_PLUGIN_DIR: DBT_PLUGIN_DIR,
      DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
      ...(spark ? { CRM_SPARK_DIR: invocation.sparkDir } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const errorLines: string[] = [];
  const stderrChunks: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderrChunks.push(chunk));
  for await (const line of readline.createInterface({ input: child.stdout })) {
    const event = parseLogLine(line);
    if (!event) continue;
    if (event.level === 'error') errorLines.push(event.msg);
    const node = event.nodeInfo;
    if (node && /^Log\w*Result$/.test(event.name) && invocation.onNodeFinished) {
      invocation.onNodeFinished({ uniqueId: node.unique_id, status: node.node_status, message: event.msg });
    }
  }
  const exitCode: number = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  const runResults = readRunResults(path.join(targetPath, 'run_results.json'));
  if (!runResults) {
    // dbt stopped before running anything (bad project, profile or compile error): its log says why.
    const detail = [...errorLines, stderrChunks.join('').trim()].filter(Boolean).join('\n');
    throw new DbtFailedError(`dbt ${invocation.args[0]} failed before running any node (exit ${exitCode}):\n${detail}`, []);
  }
  const outcome: DbtOutcome = {
    ok: exitCode === 0 && runResults.failures.length === 0,
    results: runResults.results,
    elapsedSeconds: runResults.elapsedSeconds,
    targetPath,
  };
  if (!outcome.ok) {
    const text = runResults.failures.map((f) => `${f.uniqueId} [${f.status}]: ${f.message ?? ''}`.trim()).join('\n');
    throw new DbtFailedError(
      `dbt ${invocation.args[0]} failed (${runResults.failures.length} node(s)):\n${text || errorLines.join('\n')}`,
      runResults.failures,
      outcome,
    );
  }
  return outcome;
}

interface DbtLogEvent {
  name: string;
  level: string;
  msg: string;
  nodeInfo?: { unique_id: string; node_status: string };
}

function parseLogLine(line: string): DbtLogEvent | null {
  try {
    const parsed = JSON.parse(line) as {
      info?: { name?: string; level?: string; msg?: string };
      data?: { node_info?: DbtLogEvent['nodeInfo'] };
    };
    if (!parsed.info) return null;
    return { name: parsed.info.name ?? '', level: parsed.info.level ?? '', msg: parsed.info.msg ?? '', nodeInfo: parsed.data?.node_info };
  } catch {
    return null;
  }
}
