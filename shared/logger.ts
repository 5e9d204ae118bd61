import { pino, type Logger } from 'pino';
import { envValue } from './env.ts';

/**
 * Structured JSON logs on stderr (stdout stays free for --json results). Each pipeline run gets a
 * child logger carrying its run id, so every line can be traced to its run.
 */
export const logger: Logger = pino(
  { level: envValue('CRM_LOG_LEVEL') ?? 'info', base: { app: 'crm-warehouse' } },
  pino.destination({ fd: 2, sync: true }),
);

export function runLogger(runId: string): Logger {
  return logger.child({ runId });
}
