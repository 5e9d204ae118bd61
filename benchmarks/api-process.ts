import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signDevToken } from '../api/auth.ts';
import { projectRoot } from '../shared/paths.ts';

export interface ApiProcess {
  url: string;
  token: string;
  /** The SQL door's port, when started with `sql: true`. */
  sqlPort?: number;
  /** CPU seconds (user + system) the server process has used so far; undefined where /proc is not there. */
  cpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

const SECRET = 'bench-secret-not-for-production';

/** A server entry in its own Node process; resolves with its URL once it prints `<label> listening on <url>`. */
function spawnServer(
  label: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  /** A second line to wait for after the first (its first capture group is returned as `extra`). */
  alsoWaitFor?: RegExp,
  nodeArgs: readonly string[] = [],
): Promise<{ url: string; extra?: string; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', ...args], {
    env: { ...process.env, CRM_API_SECRET: SECRET, CRM_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const pattern = new RegExp(`${label} listening on (\\S+)`);
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = pattern.exec(stdout);
      const extra = alsoWaitFor ? alsoWaitFor.exec(stdout) : undefined;
      if (match && extra !== null) {
        resolve({
          url: match[1]!,
          ...(extra ? { extra: extra[1]! } : {}),
          pid: child.pid!,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`${label} exited ${code} before listening: ${stderr.trim().slice(-500)}`)));
  });
}

const CLOCK_TICKS = 100; // USER_HZ: the unit of /proc/<pid>/stat's times on Linux

/**
 * A process's CPU seconds from /proc/<pid>/stat (utime + stime, fields 14 and 15): what a server
 * spent, load-independent where its wall-clock figures are not (other work shares the cores).
 */
function processCpuSeconds(pid: number): number | undefined {
  if (os.platform() !== 'linux') return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/**
 * The API as a separate process on a free loopback port, as users run it: the benchmark's load
 * generator and the server must not share one event loop.
 */
export async function startApiProcess(
  warehousePath: string,
  env: NodeJS.ProcessEnv = {},
  role = 'executive',
  /** `nodeArgs`: flags for the server's node (e.g. --cpu-prof). */
  options: { sql?: boolean; nodeArgs?: readonly string[] } = {},
): Promise<ApiProcess> {
  const server = await spawnServer(
    'API',
    [
      path.join(projectRoot, 'cli', 'api-main.ts'),
      '--port',
      '0',
      '--warehouse',
      warehousePath,
      ...(options.sql ? ['--sql-port', '0'] : []),
    ],
    env,
    options.sql ? /SQL door listening on \S+:(\d+)/ : undefined,
    options.nodeArgs,
  );
  const token = await signDevToken(SECRET, { sub: 'bench', role });
  return {
    url: server.url,
    token,
    ...(server.extra ? { sqlPort: Number(server.extra) } : {}),
    cpuSeconds: () => processCpuSeconds(server.pid),
    stop: server.stop,
  };
}

/**
 * The baselines' server (benchmarks/baseline-server.ts) in its own process, same shape as the API:
 * GET /noop, and POST /sql running SQL on the warehouse with DuckDB directly (when one is given).
 */
export function startBaselineProcess(warehousePath?: string): Promise<{ url: string; stop(): Promise<void> }> {
  return spawnServer(
    'baseline',
    [path.join(projectRoot, 'benchmarks', 'baseline-server.ts'), ...(warehousePath ? [warehousePath] : [])],
    {},
  );
}

/** POSTs a Cube query to /cubejs-api/v1/load and returns the response body. */
export async function loadQuery(api: ApiProcess, query: unknown): Promise<{ data: Record<string, unknown>[] }> {
  const response = await fetch(`${api.url}/cubejs-api/v1/load`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: api.token },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { data: Record<string, unknown>[]; error?: string };
  if (!response.ok) throw new Error(`load ${response.status}: ${body.error ?? JSON.stringify(body).slice(0, 200)}`);
  return body;
}
