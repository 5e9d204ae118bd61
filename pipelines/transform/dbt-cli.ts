import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { projectRoot, WAREHOUSE_ENV } from '../../shared/paths.ts';
import { PSEUDONYM_KEY_ENV, resolvePseudonymKey } from './pseudonym-key.ts';
import { ensurePythonVenv, ensureSparkVenv, sparkVenv, venvPython } from './python-venv.ts';
import { readRunResults, type DbtNodeResult } from './run-results.ts';

/** dbt-duckdb plugins of profiles.yml (module_paths), absolute so dbt finds them from any cwd. */
const DBT_PLUGIN_DIR = path.join(projectRoot, 'pipelines', 'transform', 'duckdb_plugins');
/** dbt's entry point on the Spark target: dbt itself, with crm_pseudonym registered on its SparkSession. */
/** dbt's entry point on the DuckDB target: dbt's CLI, or a session (crm_dbt.py explains both). */
const DUCKDB_DBT_ENTRY = path.join(projectRoot, 'pipelines', 'transform', 'duckdb_session', 'crm_dbt.py');
const SPARK_DBT_ENTRY = path.join(projectRoot, 'pipelines', 'transform', 'spark_session', 'crm_dbt_spark.py');

/** dbt profile targets of profiles.yml: the embedded default, or Apache Spark with Delta (docs/spark.md). */
export type DbtTarget = 'duckdb' | 'spark';

export interface DbtInvocation {
  /** dbt sub-command and its arguments, e.g. ['build', '--select', 'marts']. */
  args: string[];
  warehousePath: string;
  /** Called once per finished node with dbt's own status line. */
  onNodeFinished?: (result: { uniqueId: string; status: string; message: string }) => void;
  /** Called with every event of dbt's JSON log (its name, level and message). */
  onLogEvent?: (event: { name: string; level: string; msg: string }) => void;
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
  /** The dbt project (default the repository's); a test passes a copy whose seeds it edits. */
  projectDir?: string;
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
 * Runs dbt against the warehouse (the venv's dbt through pipelines/transform/duckdb_session/crm_dbt.py,
 * or dbt-spark), streams its JSON log for progress, then reads run_results.json. Throws
 * DbtFailedError with dbt's own error text when a model or test fails. With `session`, the command
 * runs in that persistent dbt process (DuckDB target only) instead of a new one.
 */
export async function runDbt(invocation: DbtInvocation & { session?: DbtSession }): Promise<DbtOutcome> {
  const spark = invocation.target === 'spark';
  if (spark && !invocation.sparkDir) throw new Error('runDbt: the spark target needs sparkDir');
  if (spark && invocation.session) throw new Error('runDbt: a dbt session runs the duckdb target only');
  if (invocation.session && invocation.session.warehousePath !== invocation.warehousePath)
    throw new Error(`runDbt: the dbt session was started for ${invocation.session.warehousePath}, not ${invocation.warehousePath}`);
  const { args, targetPath } = dbtArguments(invocation);
  fs.rmSync(path.join(targetPath, 'run_results.json'), { force: true });
  const errorLines: string[] = [];
  const onLine = (line: string) => {
    const event = parseLogLine(line);
    if (!event) return;
    invocation.onLogEvent?.({ name: event.name, level: event.level, msg: event.msg });
    if (event.level === 'error') errorLines.push(event.msg);
    const node = event.nodeInfo;
    if (node && /^Log\w*Result$/.test(event.name) && invocation.onNodeFinished) {
      invocation.onNodeFinished({ uniqueId: node.unique_id, status: node.node_status, message: event.msg });
    }
  };
  const { exitCode, stderr } = invocation.session
    ? await invocation.session.invoke(args, onLine)
    : await runDbtProcess(invocation, args, onLine);
  const runResults = readRunResults(path.join(targetPath, 'run_results.json'));
  if (!runResults) {
    // dbt stopped before running anything (bad project, profile or compile error): its log says why.
    const detail = [...errorLines, stderr.trim()].filter(Boolean).join('\n');
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

/** dbt's full argument list for an invocation (project, profile, target path, logs as JSON, vars). */
function dbtArguments(invocation: DbtInvocation): { args: string[]; targetPath: string } {
  const spark = invocation.target === 'spark';
  const artifacts = invocation.artifactsDir ?? dbtArtifactsDir(invocation.warehousePath);
  const targetPath = invocation.targetPath ?? path.join(artifacts, 'target');
  const args = [
    ...invocation.args,
    ...(spark ? ['--target', 'spark'] : []),
    '--project-dir',
    invocation.projectDir ?? projectRoot,
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
  return { args, targetPath };
}

/**
 * Starts the session's parse of the project with an invocation's vars, without waiting for it: a
 * later command with the same vars then reuses the parse. A run calls this before copying the
 * warehouse (dbt parse never opens the database), so start-up and parse overlap the copy. A parse
 * that fails is not reported here: the next command parses again and reports it.
 */
export function warmDbtSession(session: DbtSession, invocation: Omit<DbtInvocation, 'args'>): void {
  const { args } = dbtArguments({ ...invocation, args: ['parse'] });
  session.invoke(args, () => undefined).catch(() => undefined);
}

/** The environment of dbt's process: the warehouse file, the pseudonym key (only dbt gets it), the plugin folder. */
function dbtEnvironment(warehousePath: string, sparkDir?: string): NodeJS.ProcessEnv {
  // The key of dim_customers' pseudonyms (docs/pseudonyms.md): only dbt's process gets it, in its
  // environment, where the crm_pseudonym plugin reads it; no SQL or artifact ever holds it.
  const { key } = resolvePseudonymKey();
  return {
    ...process.env,
    [WAREHOUSE_ENV]: warehousePath,
    [PSEUDONYM_KEY_ENV]: key,
    CRM_DBT_PLUGIN_DIR: DBT_PLUGIN_DIR,
    DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
    ...(sparkDir ? { CRM_SPARK_DIR: sparkDir } : {}),
  };
}

/** One dbt command in a process of its own (crm_dbt.py as dbt's CLI, or the Spark entry point). */
async function runDbtProcess(
  invocation: DbtInvocation,
  args: string[],
  onLine: (line: string) => void,
): Promise<{ exitCode: number; stderr: string }> {
  const spark = invocation.target === 'spark';
  if (spark) ensureSparkVenv();
  else ensurePythonVenv();
  const env = dbtEnvironment(invocation.warehousePath, spark ? invocation.sparkDir : undefined);
  const python = spark ? path.join(sparkVenv.dir, 'bin', 'python') : venvPython;
  const child = spawn(python, [spark ? SPARK_DBT_ENTRY : DUCKDB_DBT_ENTRY, ...args], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderrChunks: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderrChunks.push(chunk));
  for await (const line of readline.createInterface({ input: child.stdout })) onLine(line);
  const exitCode: number = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  return { exitCode, stderr: stderrChunks.join('') };
}

/**
 * The dbt session shared by the dbt steps of one run: started by the first step that needs it,
 * again if it died, for the run's warehouse copy; close() ends it (the run's cleanup).
 */
export class DbtSessionScope {
  private current: DbtSession | null = null;

  /** True once a session was started in this scope (and not closed). */
  get started(): boolean {
    return this.current !== null;
  }

  session(warehousePath: string): DbtSession {
    if (this.current?.alive && this.current.warehousePath === warehousePath) return this.current;
    void this.current?.close();
    this.current = new DbtSession(warehousePath);
    return this.current;
  }

  async close(): Promise<void> {
    const current = this.current;
    this.current = null;
    await current?.close();
  }
}

/**
 * A persistent dbt process for the DuckDB target (crm_dbt.py --session) bound to one warehouse
 * file: its commands run one at a time, and the second and later ones reuse the parsed project
 * (docs/performance.md). The process holds the DuckDB file only while a command runs. It exits
 * when closed, and by itself when this process dies (its stdin closes), even mid-command.
 */
export class DbtSession {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly stderrChunks: string[] = [];
  private current: {
    onLine: (line: string) => void;
    resolve: (result: { exitCode: number; stderr: string }) => void;
    reject: (error: Error) => void;
  } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private exited: string | null = null;
  /** Commands run so far (the first one parses). */
  invocations = 0;

  /** The dbt process's id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  constructor(readonly warehousePath: string) {
    ensurePythonVenv();
    this.child = spawn(venvPython, [DUCKDB_DBT_ENTRY, '--session'], {
      cwd: projectRoot,
      env: dbtEnvironment(warehousePath),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderrChunks.push(chunk);
    });
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => this.onLine(line));
    this.child.on('error', (error) => this.fail(`dbt session could not start: ${error.message}`));
    this.child.on('close', (code, signal) => this.fail(`dbt session exited (code ${String(code)}, signal ${String(signal)})`));
    this.idle();
  }

  /** Runs one dbt command (its arguments as on dbt's command line); resolves with dbt's exit code. */
  invoke(args: string[], onLine: (line: string) => void): Promise<{ exitCode: number; stderr: string }> {
    const run = this.queue.then(
      () =>
        new Promise<{ exitCode: number; stderr: string }>((resolve, reject) => {
          if (this.exited) return reject(new Error(this.exited + this.stderrTail()));
          this.stderrChunks.length = 0;
          this.current = { onLine, resolve, reject };
          this.busy();
          this.invocations += 1;
          this.child.stdin.write(JSON.stringify({ args }) + '\n');
        }),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** False once the process has exited (a later command would fail at once). */
  get alive(): boolean {
    return this.exited === null;
  }

  /**
   * Ends the process (after the command running, if any; callers await their commands first) and
   * resolves once it has exited, so its CPU time is its parent's and nothing outlives the run; a
   * process still there after 10 s is killed.
   */
  async close(): Promise<void> {
    if (this.exited) return;
    this.busy();
    const exited = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.kill(), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the process now, mid-command if need be. */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private onLine(line: string): void {
    if (line.startsWith('{"crm_dbt_session"')) {
      const done = (JSON.parse(line) as { crm_dbt_session: { exit: number; error?: string } }).crm_dbt_session;
      const current = this.current;
      this.current = null;
      this.idle();
      current?.resolve({ exitCode: done.exit, stderr: [done.error ?? '', this.stderrChunks.join('')].filter(Boolean).join('\n') });
      return;
    }
    this.current?.onLine(line);
  }

  private fail(reason: string): void {
    if (this.exited) return;
    this.exited = reason;
    const current = this.current;
    this.current = null;
    current?.reject(new DbtFailedError(`${reason} in the middle of a command${this.stderrTail()}`, []));
  }

  private stderrTail(): string {
    const text = this.stderrChunks.join('').trim();
    return text ? `:\n${text.split('\n').slice(-15).join('\n')}` : '';
  }

  // An idle session never keeps Node's event loop alive: a caller that forgets close() still exits,
  // and the session then sees its stdin close and ends too.
  private idle(): void {
    this.child.unref();
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) (stream as unknown as Socket).unref();
  }

  private busy(): void {
    this.child.ref();
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) (stream as unknown as Socket).ref();
  }
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
