import { OPINION_FEEDS_ENV, opinionFeedSourceFromEnv, opinionFeedsConfigured } from './opinion/opinion-feed-source.ts';
import { postgresOrdersSource, POSTGRES_ORDERS_ENV } from './postgres/postgres-orders-source.ts';
import { HTTP_ORDERS_ENV, httpOrdersSourceFromEnv } from './http/http-orders-source.ts';
import { SourceUnavailableError, type SourceDefinition } from './source-contract.ts';
import path from 'node:path';
import { envValue, type EnvName } from '../../shared/env.ts';
import { ConfigError, loadConfig, resolveConfigPath } from '../../shared/config.ts';
import { fileSourceSettingsSchema, type FileSourceSettings } from '../../shared/source-settings.ts';
import { loadMapping } from './mapped/mapping-schema.ts';
import { mappedFileSource } from './mapped/mapped-file-source.ts';

export { SourceUnavailableError } from './source-contract.ts';
export type { SourceDefinition, SourceFamily, SourceKind } from './source-contract.ts';

/**
 * The source registry. The default sources are folders of file drops under the landing folder
 * (what the sample generator writes); a shop declares how its files are written and whether a
 * source may be absent in the config's `sources` section, and points other transports at the same
 * raw tables by configuration (see configuredSources). Only orders are required by default: a shop
 * without service logs, opinion posts or a profile export still runs, those sources reported as skipped.
 */
export function fileDropSources(settings: Readonly<Record<string, FileSourceSettings>> = {}): SourceDefinition[] {
  return [
    landingFamilySource(
      'profiles',
      'landing-profiles',
      'Customer profiles: basic and subjective facets, consent (CSV/NDJSON drops in profiles/)',
      settings['profiles'],
    ),
    landingFamilySource(
      'orders',
      'landing',
      'Orders, items, payments, refunds, cancellations (CSV/NDJSON drops in orders/)',
      settings['orders'],
      'orders',
      false,
    ),
    landingFamilySource(
      'service_tickets',
      'landing-service',
      'Customer-service tickets, their event history and contacts across channels (CSV/NDJSON drops in service/)',
      settings['service_tickets'],
      'service',
    ),
    landingFamilySource(
      'opinion_posts',
      'landing-opinion',
      'Public-opinion posts and reviews (CSV/NDJSON drops in opinion/)',
      settings['opinion_posts'],
      'opinion',
    ),
  ];
}

/**
 * A built-in source: its family's folder read through the family's landing preset, as a mapped source
 * like any a shop declares (the warehouse's bulk path runs these presets, mapped/landing-executor.ts).
 * Orders are required unless the config says otherwise, the other families optional; the config's
 * delimiter applies to the preset's CSV files, its encoding to all.
 */
function landingFamilySource(
  name: string,
  preset: string,
  description: string,
  declared: FileSourceSettings | undefined,
  folder: string = name,
  optionalByDefault = true,
): SourceDefinition {
  const settings = fileSourceSettingsSchema.parse({ ...declared, optional: declared?.optional ?? optionalByDefault });
  const mapping = loadMapping(`preset:${preset}`, process.cwd());
  const kinds = mapping.kinds.map((kind) =>
    kind.format.type === 'ndjson' ? kind : { ...kind, format: { ...kind.format, delimiter: settings.delimiter } },
  );
  return mappedFileSource({
    name,
    mapping: { ...mapping, kinds },
    folder,
    settings,
    description: `${description}, read through preset:${preset}`,
  });
}

/** The file sources with every setting at its default. */
export const SOURCES: readonly SourceDefinition[] = fileDropSources();

interface DeclaredSources {
  /** Settings of the built-in file sources. */
  builtIn: Record<string, FileSourceSettings>;
  /** Sources the config adds: a folder of the shop's own exports read through a mapping. */
  mapped: SourceDefinition[];
}

/** The `sources` section of the config file ($CRM_CONFIG or crm.config.json). */
function declaredSources(env: NodeJS.ProcessEnv): DeclaredSources {
  let declared: Record<string, FileSourceSettings>;
  let shopTimezone: string;
  const configPath = resolveConfigPath(env);
  try {
    const config = loadConfig(configPath);
    declared = config.sources;
    shopTimezone = config.shop.timezone;
  } catch (error) {
    // A config the schema rejects is reported by every command before it runs (exit 2); listing sources still works.
    if (error instanceof ConfigError) return { builtIn: {}, mapped: [] };
    throw error;
  }
  const known = SOURCES.map((s) => s.name);
  const builtIn: Record<string, FileSourceSettings> = {};
  const mapped: SourceDefinition[] = [];
  for (const [name, settings] of Object.entries(declared)) {
    if (known.includes(name)) {
      if (settings.mapping !== undefined || settings.folder !== undefined) {
        throw new ConfigError(`sources.${name}: a built-in source takes no mapping or folder; add the mapped source under another name`);
      }
      builtIn[name] = settings;
    } else if (settings.mapping !== undefined) {
      mapped.push(
        mappedFileSource({
          name,
          mapping: loadMapping(settings.mapping, path.dirname(configPath)),
          folder: settings.folder ?? name,
          settings,
          shopTimezone,
        }),
      );
    } else {
      throw new ConfigError(
        `sources.${name}: not a built-in source (${known.join(', ')}) and no mapping: declare mapping: preset:<name> or a mapping file`,
      );
    }
  }
  return { builtIn, mapped };
}

/** A mapped source built from code (tests, `crm sources check --mapping`). */
export function mappedSource(
  name: string,
  mapping: string,
  options: {
    folder?: string;
    baseDir?: string;
    settings?: Partial<FileSourceSettings>;
    shopTimezone?: string;
    /** `sandbox`: run even a landing-shaped mapping in the mapping's sandbox (comparing the executors). */
    executor?: 'auto' | 'sandbox';
  } = {},
): SourceDefinition {
  const settings = fileSourceSettingsSchema.parse({ ...options.settings, mapping });
  return mappedFileSource({
    name,
    mapping: loadMapping(mapping, options.baseDir ?? process.cwd()),
    folder: options.folder ?? name,
    settings,
    ...(options.shopTimezone ? { shopTimezone: options.shopTimezone } : {}),
    ...(options.executor ? { executor: options.executor } : {}),
  });
}

/**
 * Sources that need configuration, by name: each is built from the environment when asked for.
 * Other transports (HTTP APIs, feeds) register here the same way.
 */
export interface ConfigurableSource {
  /** The environment variable that configures it. */
  env: EnvName;
  /** Whether it is configured (default: `env` is set); a source may also read crm.config.json. */
  configured?: (env: NodeJS.ProcessEnv) => boolean;
  build: (env: NodeJS.ProcessEnv) => SourceDefinition;
}

const isConfigured = (source: ConfigurableSource, env: NodeJS.ProcessEnv) =>
  source.configured ? source.configured(env) : envValue(source.env, env) !== undefined;

export const CONFIGURABLE_SOURCES: Readonly<Record<string, ConfigurableSource>> = {
  orders_pg: {
    env: POSTGRES_ORDERS_ENV,
    build: (env) => postgresOrdersSource({ name: 'orders_pg', connectionString: envValue(POSTGRES_ORDERS_ENV, env) ?? '' }),
  },
  orders_http: {
    env: HTTP_ORDERS_ENV.url,
    build: (env) => httpOrdersSourceFromEnv('orders_http', env),
  },
  opinion_feeds: {
    env: OPINION_FEEDS_ENV,
    configured: opinionFeedsConfigured, // $CRM_OPINION_FEEDS or crm.config.json opinion.feeds
    build: (env) => opinionFeedSourceFromEnv('opinion_feeds', env),
  },
};

/** The default sources plus every configurable one whose environment variable is set. */
export function configuredSources(env: NodeJS.ProcessEnv = process.env): SourceDefinition[] {
  const declared = declaredSources(env);
  return [
    ...fileDropSources(declared.builtIn),
    ...declared.mapped,
    ...Object.values(CONFIGURABLE_SOURCES)
      .filter((s) => isConfigured(s, env))
      .map((s) => s.build(env)),
  ];
}

export function findSource(name: string, env: NodeJS.ProcessEnv = process.env): SourceDefinition {
  const declared = declaredSources(env);
  const source = [...fileDropSources(declared.builtIn), ...declared.mapped].find((s) => s.name === name);
  if (source) return source;
  const configurable = CONFIGURABLE_SOURCES[name];
  if (configurable) {
    if (!isConfigured(configurable, env)) {
      throw new SourceUnavailableError(name, `not configured: set ${configurable.env}`);
    }
    return configurable.build(env);
  }
  const known = [...SOURCES.map((s) => s.name), ...Object.keys(CONFIGURABLE_SOURCES)];
  throw new Error(`unknown source "${name}" (known: ${known.join(', ')})`);
}
