import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { projectRoot } from './paths.ts';
import { feedConfigSchema } from './feed-config.ts';
import { envValue } from './env.ts';
import { fileSourceSettingsSchema } from './source-settings.ts';

/**
 * The project config: `crm.config.yml` at the repository root (`crm.config.json` is read when there
 * is no YAML file), or the file $CRM_CONFIG names. Every field is optional; the defaults below are
 * the documented ones (docs/configuration.md). `crm config schema --write` writes the JSON Schema
 * editors validate it with (schemas/crm-config.schema.json).
 */
export const CONFIG_ENV = 'CRM_CONFIG';
export const CONFIG_FILES = ['crm.config.yml', 'crm.config.yaml', 'crm.config.json'] as const;
export const CONFIG_SCHEMA_FILE = path.join(projectRoot, 'schemas', 'crm-config.schema.json');
/** config shop.timezone's default: the sample shop's zone. */
export const DEFAULT_SHOP_TIMEZONE = 'Asia/Shanghai';

/** An IANA zone name Node's Intl knows (Asia/Shanghai, Europe/London, UTC). */
const timeZoneName = z
  .string()
  .min(1)
  .refine(isKnownTimeZone, { message: 'not an IANA time zone name (e.g. Asia/Shanghai, Europe/London, UTC)' });

export function isKnownTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

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
    /** Editors' hint (`$schema: ./schemas/crm-config.schema.json`); not read. */
    $schema: z.string().optional(),
    shop: z
      .object({
        /**
         * The shop's time zone: where its days begin (daily marts, KPI days, the CLV model's shop
         * days), the API's default zone and the dashboard's. Naive timestamps of a source are read in
         * the source's own `format.timezone`, not in this one.
         */
        timezone: timeZoneName
          .default(DEFAULT_SHOP_TIMEZONE)
          .describe("The shop's IANA time zone: where its days begin (KPI days, CLV shop days, the API's and dashboard's default)."),
        /** ISO 4217 code every amount is also reported in (seeds/fx_rates.csv converts to it). */
        reportingCurrency: z
          .string()
          .regex(/^[A-Z]{3}$/, 'an ISO 4217 code in capitals, e.g. CNY, USD, GBP')
          .default('CNY')
          .describe('ISO 4217 code every amount is also reported in, converted with seeds/fx_rates.csv.'),
      })
      .prefault({}),
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
         * The repeat-purchase model: 'auto' backtests BG/NBD, MBG/NBD and Pareto/NBD on the shop's own
         * history and keeps the one the holdout favours; 'bgnbd', 'mbgnbd' or 'paretonbd' pins one.
         */
        model: z.enum(['auto', 'bgnbd', 'mbgnbd', 'paretonbd']).default('auto'),
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

/** $CRM_CONFIG, else the first of CONFIG_FILES at the repository root that exists, else crm.config.yml. */
export function resolveConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const configured = envValue(CONFIG_ENV, env);
  if (configured && configured.trim() !== '') return path.resolve(projectRoot, configured);
  const found = CONFIG_FILES.map((name) => path.join(projectRoot, name)).find((file) => fs.existsSync(file));
  return found ?? path.join(projectRoot, CONFIG_FILES[0]);
}

/** Reads and validates the config (YAML, or JSON for a .json file); a missing file means every default. */
export function loadConfig(filePath: string = resolveConfigPath()): CrmConfig {
  if (!fs.existsSync(filePath)) return configSchema.parse({});
  let raw: unknown;
  const isJson = filePath.endsWith('.json');
  try {
    const text = fs.readFileSync(filePath, 'utf8');
    raw = isJson ? JSON.parse(text) : (parseYaml(text) ?? {});
  } catch (error) {
    throw new ConfigError(`${filePath}: not valid ${isJson ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`${filePath}: ${problems}`);
  }
  return parsed.data;
}

/** The JSON Schema of the config file, generated from configSchema (what a user writes: defaults optional). */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input' }) as Record<string, unknown>;
}
