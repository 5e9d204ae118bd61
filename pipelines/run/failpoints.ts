import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { envValue } from '../../shared/env.ts';

/**
 * Fault injection for the kill tests: when $CRM_FAILPOINTS (comma-separated) names a point, the
 * process logs `{"event":"failpoint","failpoint":name}` and stops there (never continues), so a
 * test can SIGKILL it at exactly that moment. Unset in normal use; it costs one string lookup.
 */
export const FAILPOINTS_ENV = 'CRM_FAILPOINTS';

export async function failpoint(name: string, log: Logger): Promise<void> {
  const armed = (envValue(FAILPOINTS_ENV) ?? '').split(',').map((s) => s.trim());
  if (!armed.includes(name)) return;
  log.warn({ event: 'failpoint', failpoint: name }, `failpoint ${name}: waiting to be killed`);
  for (;;) await sleep(60_000);
}
