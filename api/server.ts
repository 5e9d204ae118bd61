import path from 'node:path';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { cubeModelDir as defaultCubeModelDir, dashboardDistDir } from '../shared/paths.ts';
import { requireExpiryFromEnv } from './auth.ts';
import { ApiError, UnavailableError, errorMessage } from '../shared/errors.ts';
import { internalError } from './internal-error.ts';
import { cubeApiRoutes } from './routes/cube-api.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { decisionRoutes } from './routes/decision.ts';
import { healthRoutes } from './routes/health.ts';
import { canonicalTimezone } from '../semantic/normalize-query.ts';
import type { LoadResponse } from '../semantic/load-query.ts';
import { ResponseCache } from './response-cache.ts';
import { ResultCache } from '../semantic/result-cache.ts';
import { loadSemanticModel, type SemanticModel } from '../semantic/semantic-model.ts';
import {
  DEFAULT_API_DUCKDB_THREADS,
  DEFAULT_IDLE_CLOSE_MS,
  WarehouseReader,
  type WarehouseReaderOptions,
} from '../semantic/warehouse-reader.ts';
import { envValue, type EnvName } from '../shared/env.ts';
import { startSqlDoor, type RunningSqlDoor } from './sql/server.ts';

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export interface ApiServerOptions {
  /** The DuckDB warehouse file, opened read-only. */
  warehousePath: string;
  /** The Cube model folder; default cube/model of this project. */
  cubeModelDir?: string;
  /** HS256 secret the JWTs are verified with (CRM_API_SECRET). */
  jwtSecret: string;
  /** Time zone of queries that name none (Cube's CUBEJS_DEFAULT_TIMEZONE); default UTC. */
  defaultTimezone?: string;
  /** Fastify's logger option (false by default: the embedding CLI decides where logs go). */
  logger?: FastifyServerOptions['logger'];
  /** Options of the reader the server creates; idleCloseMs defaults to CRM_API_IDLE_CLOSE_MS or DEFAULT_IDLE_CLOSE_MS. */
  warehouse?: WarehouseReaderOptions;
  /**
   * A reader made by the caller, e.g. a pipeline that calls reopen() after publishing a new file.
   * It must read warehousePath; the caller owns it (the server does not close it).
   */
  reader?: WarehouseReader;
  /** Time limit of each warehouse query in ms; default CRM_API_QUERY_TIMEOUT_MS or 30,000; 0: none. */
  queryTimeoutMs?: number;
  /** Entries of the /load result cache; default CRM_API_CACHE_ENTRIES or 500; 0 disables it. */
  cacheEntries?: number;
  /**
   * Longest life in ms of a front-cache entry (whole /load and scorecard answers kept as sent);
   * default CRM_API_RESPONSE_CACHE_TTL_MS or 60,000; 0 disables the front cache. Entries never
   * outlive the day they were computed on in the query's time zone, nor the data version or model.
   */
  responseCacheTtlMs?: number;
  /** A front cache made by the caller (tests read its counters or move its clock); default: one per server. */
  responseCache?: ResponseCache;
  /** The dashboard's build served at /dashboard/; default dashboard/dist; false: no dashboard route. */
  dashboardDir?: string | false;
  /** Refuse tokens without `exp`; default CRM_API_REQUIRE_EXP (true unless "false"). */
  requireTokenExpiry?: boolean;
  /** Read customer lookups from the customer store once built; default CRM_API_CUSTOMER_STORE (on unless "off"). */
  customerStore?: boolean;
}

export interface StartApiServerOptions extends ApiServerOptions {
  /** 0 picks a free port. Default 4000, Cube's port. */
  port?: number;
  /** Also serve the SQL door (Postgres wire protocol, docs/sql-api.md) on this port, same host; 0 picks one; absent: none. */
  sqlPort?: number;
  /** Default 127.0.0.1: the API is local unless asked otherwise. */
  host?: string;
}

export interface RunningApiServer {
  url: string;
  app: FastifyInstance;
  /** The server's reader: reopen() makes the next request open the warehouse file afresh. */
  warehouse: WarehouseReader;
  /** The SQL door, when sqlPort was given. */
  sql?: RunningSqlDoor;
  close(): Promise<void>;
}

/** What the HTTP routes and the SQL door share: one reader, one compiled model, one result cache. */
interface SharedSemantic {
  warehouse: WarehouseReader;
  model(): Promise<SemanticModel>;
  cache?: ResultCache<LoadResponse>;
  defaultTimezone: string;
  queryTimeoutMs: number;
  requireTokenExpiry: boolean;
}

const sharedSemantic = new WeakMap<FastifyInstance, SharedSemantic>();

/** Wrong configuration (missing secret, bad time zone, model that does not compile): the CLI exits 2. */
export class ApiConfigError extends Error {
  override name = 'ApiConfigError';
}

function nonNegativeIntegerFromEnv(name: EnvName, fallback: number): number {
  const text = envValue(name);
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new ApiConfigError(`${name} must be a whole number >= 0, got "${text}"`);
  return value;
}

function requireExpiryFromEnvOrConfigError(): boolean {
  try {
    return requireExpiryFromEnv();
  } catch (error) {
    throw new ApiConfigError(errorMessage(error));
  }
}

function validated(options: ApiServerOptions) {
  if (!options.jwtSecret) throw new ApiConfigError('the JWT secret is empty: set CRM_API_SECRET (HS256 secret for the API tokens)');
  if (!options.warehousePath) throw new ApiConfigError('the warehouse path is empty');
  let defaultTimezone: string;
  try {
    defaultTimezone = canonicalTimezone(options.defaultTimezone ?? 'UTC');
  } catch {
    throw new ApiConfigError(`default time zone is not a valid IANA time zone: "${options.defaultTimezone}"`);
  }
  const warehousePath = path.resolve(options.warehousePath);
  if (options.reader && path.resolve(options.reader.filePath) !== warehousePath) {
    throw new ApiConfigError(`the reader reads ${options.reader.filePath}, not the warehouse ${warehousePath}`);
  }
  return {
    warehousePath,
    cubeModelDir: path.resolve(options.cubeModelDir ?? defaultCubeModelDir),
    defaultTimezone,
    queryTimeoutMs: options.queryTimeoutMs ?? nonNegativeIntegerFromEnv('CRM_API_QUERY_TIMEOUT_MS', 30_000),
    cacheEntries: options.cacheEntries ?? nonNegativeIntegerFromEnv('CRM_API_CACHE_ENTRIES', 500),
    responseCacheTtlMs: options.responseCacheTtlMs ?? nonNegativeIntegerFromEnv('CRM_API_RESPONSE_CACHE_TTL_MS', 60_000),
    requireTokenExpiry: options.requireTokenExpiry ?? requireExpiryFromEnvOrConfigError(),
    warehouse: {
      ...options.warehouse,
      idleCloseMs: options.warehouse?.idleCloseMs ?? nonNegativeIntegerFromEnv('CRM_API_IDLE_CLOSE_MS', DEFAULT_IDLE_CLOSE_MS),
      threads: options.warehouse?.threads ?? nonNegativeIntegerFromEnv('CRM_API_DUCKDB_THREADS', DEFAULT_API_DUCKDB_THREADS),
    },
  };
}

/**
 * The HTTP API (Cube's REST contract over the warehouse) as a Fastify instance, not listening:
 * GET /health, GET /cubejs-api/v1/meta, GET|POST /cubejs-api/v1/load, /sql and /dry-run. Every error is answered as
 * { error } with its status; nothing a client sends can take the process down.
 */
export function buildApiServer(options: ApiServerOptions): FastifyInstance {
  const config = validated(options);
  const app = Fastify({ logger: options.logger ?? false });
  const warehouse = options.reader ?? new WarehouseReader(config.warehousePath, config.warehouse);
  const model = async (): Promise<SemanticModel> => {
    try {
      return await loadSemanticModel(config.cubeModelDir);
    } catch (error) {
      throw new UnavailableError(`Cube model in ${config.cubeModelDir} does not compile: ${errorMessage(error)}`, { cause: error });
    }
  };

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ApiError && error.statusCode !== 500) {
      if (error.statusCode >= 500) request.log.error({ err: error, requestId: request.id }, error.message);
      return reply.code(error.statusCode).send({ error: error.message });
    }
    // Fastify's own client errors: malformed JSON body (400), body too large (413), bad content type (415).
    if (!(error instanceof ApiError) && typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: error.message });
    }
    return internalError(request, reply, error);
  });
  app.setNotFoundHandler((request, reply) => {
    const url = request.url.split('?')[0]!;
    // A path that exists under other methods is a 405 with Allow, not a 404.
    const allowed = HTTP_METHODS.filter((method) => app.hasRoute({ method, url }));
    if (allowed.length) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send({ error: `Method ${request.method} not allowed on ${url}; allowed: ${allowed.join(', ')}` });
    }
    return reply.code(404).send({ error: `Not found: ${request.method} ${url}` });
  });

  app.register(healthRoutes, { warehouse, cubeModelDir: config.cubeModelDir, model });
  // Results are cached per (query, security context, published file): a new run's file empties it.
  const cache = config.cacheEntries > 0 ? new ResultCache<LoadResponse>(config.cacheEntries) : undefined;
  // In front of it, whole answers as sent, looked up before any parsing (see semantic/response-cache.ts).
  const responseCache = cache
    ? (options.responseCache ??
      (config.responseCacheTtlMs > 0
        ? new ResponseCache({ maxEntries: config.cacheEntries, ttlMs: config.responseCacheTtlMs })
        : undefined))
    : undefined;
  app.register(cubeApiRoutes, {
    prefix: '/cubejs-api/v1',
    jwtSecret: options.jwtSecret,
    defaultTimezone: config.defaultTimezone,
    warehouse,
    model,
    ...(cache ? { cache } : {}),
    ...(responseCache ? { responseCache } : {}),
    queryTimeoutMs: config.queryTimeoutMs,
    requireTokenExpiry: config.requireTokenExpiry,
  });
  // Decision support: customer 360, campaign lists, KPI scorecard, pipeline status, OpenAPI.
  app.register(decisionRoutes, {
    prefix: '/api/v1',
    jwtSecret: options.jwtSecret,
    defaultTimezone: config.defaultTimezone,
    warehouse,
    model,
    ...(cache ? { cache } : {}),
    ...(responseCache ? { responseCache } : {}),
    queryTimeoutMs: config.queryTimeoutMs,
    requireTokenExpiry: config.requireTokenExpiry,
    ...(options.customerStore !== undefined ? { customerStore: options.customerStore } : {}),
  });
  sharedSemantic.set(app, {
    warehouse,
    model,
    ...(cache ? { cache } : {}),
    defaultTimezone: config.defaultTimezone,
    queryTimeoutMs: config.queryTimeoutMs,
    requireTokenExpiry: config.requireTokenExpiry,
  });
  // The executive dashboard (static build; its data comes through /cubejs-api/v1 with the caller's JWT).
  if (options.dashboardDir !== false) app.register(dashboardRoutes, { distDir: options.dashboardDir ?? dashboardDistDir });
  if (!options.reader) app.addHook('onClose', async () => warehouse.close());
  return app;
}

function urlOf(app: FastifyInstance): string {
  const address = app.server.address();
  if (address === null || typeof address === 'string') return String(address);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * Builds, compiles the Cube model (so a broken model fails here, not on the first request) and
 * listens. Resolves to the base URL and a close() that stops the server and releases the warehouse.
 */
export async function startApiServer(options: StartApiServerOptions): Promise<RunningApiServer> {
  const config = validated(options);
  const warehouse = options.reader ?? new WarehouseReader(config.warehousePath, config.warehouse);
  const app = buildApiServer({ ...options, reader: warehouse });
  // startApiServer made the reader (unless given one), so it releases it too.
  if (!options.reader) app.addHook('onClose', async () => warehouse.close());
  try {
    await loadSemanticModel(config.cubeModelDir);
  } catch (error) {
    await app.close();
    throw new ApiConfigError(`Cube model does not compile: ${errorMessage(error)}`, { cause: error });
  }
  let sql: RunningSqlDoor | undefined;
  app.addHook('onClose', async () => sql?.close());
  try {
    await app.listen({ port: options.port ?? 4000, host: options.host ?? '127.0.0.1' });
    if (options.sqlPort !== undefined) {
      const shared = sharedSemantic.get(app)!;
      sql = await startSqlDoor({
        ...shared,
        jwtSecret: options.jwtSecret,
        port: options.sqlPort,
        host: options.host ?? '127.0.0.1',
        log: (message, error) => app.log.error({ err: error }, message),
      });
    }
  } catch (error) {
    await app.close(); // e.g. the port is taken: release the warehouse before reporting
    throw error;
  }
  return { url: urlOf(app), app, warehouse, ...(sql ? { sql } : {}), close: () => app.close() };
}
