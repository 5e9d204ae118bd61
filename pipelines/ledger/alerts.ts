import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import type { CrmConfig } from '../../shared/config.ts';

/** What an alert hook receives (JSON on a command's stdin, or a webhook's POST body). */
export interface Alert {
  kind: 'run_failed' | 'run_partial' | 'stale';
  summary: string;
  runId?: string;
  at: string;
  details: unknown;
}

export interface HookOutcome {
  hook: 'command' | 'webhook';
  ok: boolean;
  detail: string;
}

/**
 * Calls every configured alert hook. A hook that fails is logged and reported, never thrown: an
 * alerting problem must not turn into a pipeline failure (or hide the one being reported).
 */
export async function sendAlert(config: CrmConfig['alerts'], alert: Alert, log: Logger): Promise<HookOutcome[]> {
  const outcomes: HookOutcome[] = [];
  const timeoutMs = config.timeoutSeconds * 1000;
  if (config.command) outcomes.push(await runCommandHook(config.command, alert, timeoutMs));
  if (config.webhook) outcomes.push(await postWebhook(config.webhook, alert, timeoutMs));
  for (const o of outcomes) {
    (o.ok ? log.info.bind(log) : log.error.bind(log))(
      { event: 'alert_hook', kind: alert.kind, hook: o.hook, ok: o.ok, detail: o.detail },
      `alert ${alert.kind} via ${o.hook}: ${o.ok ? 'sent' : o.detail}`,
    );
  }
  return outcomes;
}

function runCommandHook(command: string, alert: Alert, timeoutMs: number): Promise<HookOutcome> {
  return new Promise((resolve) => {
    const child = spawn(command, {
      shell: true,
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, CRM_ALERT_KIND: alert.kind, CRM_ALERT_SUMMARY: alert.summary, CRM_ALERT_RUN_ID: alert.runId ?? '' },
      timeout: timeoutMs,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.on('error', () => undefined); // a hook that ignores stdin may close it early
    child.stdin.end(JSON.stringify(alert) + '\n');
    child.on('error', (error) => resolve({ hook: 'command', ok: false, detail: `could not start "${command}": ${error.message}` }));
    child.on('close', (code, signal) =>
      resolve(
        code === 0
          ? { hook: 'command', ok: true, detail: 'exit 0' }
          : { hook: 'command', ok: false, detail: `"${command}" exited ${code ?? signal}: ${stderr.trim().slice(0, 500)}` },
      ),
    );
  });
}

async function postWebhook(url: string, alert: Alert, timeoutMs: number): Promise<HookOutcome> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alert),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    return response.ok
      ? { hook: 'webhook', ok: true, detail: `HTTP ${response.status}` }
      : { hook: 'webhook', ok: false, detail: `${url} answered HTTP ${response.status}` };
  } catch (error) {
    return { hook: 'webhook', ok: false, detail: `${url}: ${(error as Error).message}` };
  }
}
