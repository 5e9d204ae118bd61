import { spawn } from 'node:child_process';
import path from 'node:path';
import { signDevToken } from '../api/auth.ts';
import { projectRoot } from '../pipelines/shared/paths.ts';

export interface ApiProcess {
  url: string;
  token: string;
  stop(): Promise<void>;
}

const SECRET = 'bench-secret-not-for-production';

/**
 * The API as a separate process on a free loopback port, as users run it: the benchmark's load
 * generator and the server must not share one event loop.
 */
export async function startApiProcess(warehousePath: string, env: NodeJS.ProcessEnv = {}, role = 'executive'): Promise<ApiProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'api', 'main.ts'), '--port', '0', '--warehouse', warehousePath], {
    env: { ...process.env, CRM_API_SECRET: SECRET, CRM_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /API listening on (\S+)/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`API exited ${code} before listening: ${stderr.trim().slice(-500)}`)));
  });
  const token = await signDevToken(SECRET, { sub: 'bench', role });
  return {
    url,
    token,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
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
