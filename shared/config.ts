import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { projectRoot } from './paths.ts';
import { feedConfigSchema } from './feed-config.ts';
import { envValue } from './env.ts';
import { fileSourceSettingsSchema } from './source-settings.ts';

/**
 * The operations config: `crm.config.json` at the repository root (or $CRM_CONFIG). Every field is
 * optional; the defaults below are the documented ones (docs/configuration.md).
 */
export const CONFIG_ENV = 'CRM_CONFIG';

const hours = z.number().positive();

const scheduleSchema = z.object({
  name: z.string().min(1),
  /** Cron expression (5 fields, or 6 with seconds), read by croner. */
  cron: z.string().min(1),
  /** The crm command line to run, e.g. ["run"] or ["extract", "orders"]. */
  command: z.array(z.string()).min(1),
  /** IANA zone the cron expression is read in; default the machine's zone. */
  timezone: z.string().optional(),
});

export const configSchema = z
  .object({
    schedules: z.array(scheduleSchema).default([]),
    freshness: z
      .object({
        /** Hours after which a source (last successful load) or mart (last published build) is stale. */
        defaultMaxAgeHours: hours.default(24),
        sources: z.record(z.string(), hours).default({}),
        marts: z.record(z.string(), hours).default({}),
      })
      .prefault({}),
    alerts: z
      .object({
        /** Shell command run with the alert as JSON on stdin (and CRM_ALERT_KIND, CRM_ALERT_SUMMARY). */
        command: z.string().optional(),
        /** URL that receives the alert as a JSON POST. */
        webhook: z.url().optional(),
        timeoutSeconds: z.number().positive().default(10),
      })
      .prefault({}),
    publish: z
      .object({
        /** Previous published versions kept (hard links under <stem>.versions/) for rollback. */
        retention: z.number().int().min(0).default(3),
        /** Publish a run in which some sources failed (the others loaded and dbt passed). */
        publishPartial: z.boolean().default(false),
      })
      .prefault({}),
    extract: z
      .object({
        /** Retries of a failing source before its step fails (attempts = retries + 1). */
        retries: z.number().int().min(0).default(2),
        /** Delay before the first retry; doubles each time. */
        retryDelaySeconds: z.number().min(0).default(1),
      })
      .prefault({}),
    transform: z
      .object({
        /**
         * Run dbt's unit tests in `crm run` / `crm transform` / `crm backfill` builds. They test SQL
         * logic on fixed inputs, so by default (dbt's advice) they run in development, CI, the quick
         * start and with --unit-tests, not in every scheduled build of unchanged code.
         */
        unitTests: z.boolean().default(false),
      })
      .prefault({}),
    clv: z
      .object({
        /**
         * Days of new history after which the CLV model is fitted again; runs in between score every
         * customer with the last fit's parameters (the fit is the costly part). 0: fit every run.
         * A --full-refresh or a backfill always fits.
         */
        refitEveryDays: z.number().int().min(0).default(7),
        /**
         * The repeat-purchase model: 'auto' backtests BG/NBD and MBG/NBD on the shop's own history and
         * keeps the one the holdout favours; 'bgnbd' or 'mbgnbd' pins one.
         */
        model: z.enum(['auto', 'bgnbd', 'mbgnbd']).default('auto'),
      })
      .prefault({}),
    /** Per file source (by name): optional or not, encoding, delimiter, completeness (shared/source-settings.ts). */
    sources: z.record(z.string(), fileSourceSettingsSchema).default({}),
    opinion: z
      .object({
        /** Feeds the `opinion_feeds` source reads (with any in $CRM_OPINION_FEEDS): { name?, url, format?, platform?, lang?, brand? }. */
        feeds: z.array(feedConfigSchema).default([]),
      })
      .prefault({}),
  })
  .strict();

export type CrmConfig = z.infer<typeof configSchema>;
export type ScheduleEntry = z.infer<typeof scheduleSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function resolveConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const configured = envValue(CONFIG_ENV, env);
  return path.resolve(projectRoot, configured && configured.trim() !== '' ? configured : 'crm.config.json');
}

/** Reads and validates the config; a missing file means every default. */
export function loadConfig(filePath: string = resolveConfigPath()): CrmConfig {
  if (!fs.existsSync(filePath)) return configSchema.parse({});
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(filePath, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${filePath}: not valid JSON: ${(error as Error).message}`);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`${filePath}: ${problems}`);
  }
  return parsed.data;
}
