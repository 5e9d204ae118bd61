import fs from 'node:fs';
import { DuckDBInstance, type DuckDBConnection, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { buildTransform, convertDuckDBParams, transformChunk } from '@cubejs-backend/duckdb-driver/dist/src/Transform.js';
import { ApiError, UnavailableError, errorMessage } from '../shared/errors.ts';

export type WarehouseRow = Record<string, unknown>;

export interface WarehouseQueryOptions {
  /** Interrupt the statement (DuckDB's connection interrupt) after this long; 0 or absent: no limit. */
  timeoutMs?: number;
}

/** A statement ran longer than its time limit and was interrupted; the client gets a 504. */
export class QueryTimeoutError extends ApiError {
  constructor(readonly timeoutMs: number) {
    super(504, `Query timeout: the query ran longer than ${timeoutMs} ms and was cancelled (limit: CRM_API_QUERY_TIMEOUT_MS)`);
    this.name = 'QueryTimeoutError';
  }
}

/**
 * How long an idle API keeps the warehouse open by default (CRM_API_IDLE_CLOSE_MS). Reopening is
 * not free: at 10 million orders the first query after a reopen took 35 to 100 ms more (catalog
 * read, connections, prepared statements and DuckDB's buffer cache all start empty), which a
 * dashboard user pays on every click after a pause. Pipeline runs never write the published file
 * (they build a copy and rename it), so the lock matters only to `crm state reset` and the memory
 * DuckDB keeps cached; five minutes covers a person reading a dashboard between clicks.
 */
export const DEFAULT_IDLE_CLOSE_MS = 300_000;

/**
 * The API's DuckDB threads by default (CRM_API_DUCKDB_THREADS): one. The dashboard's queries are
 * small (rollups, a 90-day slice of a mart); split over every core, a query waits for the slowest
 * of its threads, and on a busy 2-core machine that wait set the p95 (1m, semantic-probe, three
 * alternating pairs at load 8-10: p95 60 / 26 / 19 ms on one thread against 86 / 75 / 34 ms on two).
 * Concurrent queries still run side by side, each on the thread that runs it.
 */
export const DEFAULT_API_DUCKDB_THREADS = 1;

export interface WarehouseReaderOptions {
  /**
   * Close the DuckDB instance after this long without a query (ms; 0 keeps it open; default
   * DEFAULT_IDLE_CLOSE_MS). Holding the file open, even read-only, keeps a file lock that stops
   * another process from opening it for writing, and keeps DuckDB's cached blocks in memory.
   */
  idleCloseMs?: number;
  /**
   * Threads of the DuckDB instance (0 or absent: DuckDB's default, one per core; the API passes
   * CRM_API_DUCKDB_THREADS, default DEFAULT_API_DUCKDB_THREADS).
   */
  threads?: number;
}

interface OpenHandle {
  instance: DuckDBInstance;
  /** device, inode, size and mtime when opened: a replaced or rewritten file gets a new identity. */
  identity: string;
  leases: number;
  retired: boolean;
  /** Connections that finished a statement cleanly, kept for the next ones (TimeZone already set). */
  idle: DuckDBConnection[];
}

/**
 * Idle connections kept per instance. Opening a connection and setting its time zone were two of
 * the three round trips of a small statement; a lookup runs five at once, so under a few dozen
 * concurrent callers a smaller pool kept closing connections (and their prepared statements).
 */
const MAX_IDLE_CONNECTIONS = 64;
/** Prepared statements kept per pooled connection, by SQL text (parsing and planning skipped on reuse). */
const MAX_PREPARED_PER_CONNECTION = 32;
const preparedOf = new WeakMap<DuckDBConnection, Map<string, DuckDBPreparedStatement>>();

/** The connection's prepared statement for sql, prepared on first use; least recently used ones are dropped. */
async function prepared(connection: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  let statements = preparedOf.get(connection);
  if (!statements) preparedOf.set(connection, (statements = new Map()));
  let statement = statements.get(sql);
  if (statement) {
    statements.delete(sql);
  } else {
    statement = await connection.prepare(sql);
    if (statements.size >= MAX_PREPARED_PER_CONNECTION) {
      const [oldestSql, oldest] = statements.entries().next().value!;
      statements.delete(oldestSql);
      oldest.destroySync();
    }
  }
  statements.set(sql, statement);
  return statement;
}

/** What identifies the file's current version, or undefined when it does not exist. */
const NOT_READ = Symbol('not read this turn');

function fileIdentity(filePath: string): string | undefined {
  try {
    const stat = fs.statSync(filePath);
    return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return undefined;
  }
}

/**
 * Read-only access to the DuckDB warehouse file for the API.
 *
 * One DuckDB instance per file, opened READ_ONLY on first use and shared by requests; each query
 * runs on a connection of its own (a connection runs one statement at a time), taken from a small
 * pool of idle ones and put back after a clean finish. The instance is
 * swapped for a fresh one when the file is replaced (atomic publish by rename) or rewritten, on
 * reopen(), and closed when idle. A swapped-out instance is closed once its last query finishes.
 */
export class WarehouseReader {
  readonly filePath: string;
  private readonly idleCloseMs: number;
  private readonly threads: number;
  /** The open instance, if any. */
  private handle: OpenHandle | undefined;
  /** An open in progress, shared by the requests that arrive meanwhile. */
  private opening: Promise<OpenHandle> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** dataVersion() as read in this turn of the event loop (NOT_READ: not yet). */
  private versionThisTurn: string | undefined | typeof NOT_READ = NOT_READ;

  constructor(filePath: string, options: WarehouseReaderOptions = {}) {
    this.filePath = filePath;
    this.idleCloseMs = options.idleCloseMs ?? DEFAULT_IDLE_CLOSE_MS;
    this.threads = options.threads ?? 0;
  }

  /** Runs one statement with positional (?) parameters; rows are keyed by column name. */
  async query(sql: string, params: unknown[] = [], options: WarehouseQueryOptions = {}): Promise<WarehouseRow[]> {
    const handle = await this.acquire();
    try {
      const connection = handle.idle.pop() ?? (await this.connect(handle));
      let timedOut = false;
      let clean = false;
      // interrupt() makes the running statement fail with "INTERRUPT Error"; the connection is ours alone.
      const timer =
        options.timeoutMs && options.timeoutMs > 0
          ? setTimeout(() => {
              timedOut = true;
              connection.interrupt();
            }, options.timeoutMs)
          : undefined;
      try {
        const statement = await prepared(connection, sql);
        statement.clearBindings();
        if (params.length) statement.bind(convertDuckDBParams(params));
        const result = await statement.run();
        // Cube's DuckDB driver conversion: numbers and decimals as strings, timestamps as ISO strings.
        const transform = buildTransform(result.columnNames(), result.columnTypes());
        const rows: WarehouseRow[] = [];
        for (const chunk of await result.fetchAllChunks()) rows.push(...transformChunk(chunk, transform));
        clean = !timedOut;
        return rows;
      } catch (error) {
        if (timedOut) throw new QueryTimeoutError(options.timeoutMs!);
        throw error;
      } finally {
        if (timer) clearTimeout(timer);
        // Only a connection whose statement ended normally goes back: an interrupted or failed one is closed.
        if (clean && !handle.retired && handle.idle.length < MAX_IDLE_CONNECTIONS) handle.idle.push(connection);
        else connection.closeSync();
      }
    } finally {
      this.release(handle);
    }
  }

  /**
   * Runs one statement and yields its rows one DuckDB chunk (about 2,048 rows) at a time, so a
   * large result (a campaign export) never sits in memory whole. The file stays leased until the
   * generator finishes or is abandoned (return()), so a publish meanwhile does not close it.
   */
  async *stream(sql: string, params: unknown[] = []): AsyncGenerator<WarehouseRow[]> {
    const handle = await this.acquire();
    try {
      // Its own connection: an abandoned stream leaves it mid-result, so it is never pooled.
      const connection = await this.connect(handle);
      try {
        const result = await connection.stream(sql, convertDuckDBParams(params));
        const transform = buildTransform(result.columnNames(), result.columnTypes());
        for (;;) {
          const chunk = await result.fetchChunk();
          if (!chunk || chunk.rowCount === 0) break;
          yield transformChunk(chunk, transform) as WarehouseRow[];
        }
      } finally {
        connection.closeSync();
      }
    } finally {
      this.release(handle);
    }
  }

  /** A new connection of the instance, in UTC. */
  private async connect(handle: OpenHandle): Promise<DuckDBConnection> {
    const connection = await handle.instance.connect();
    try {
      // TIMESTAMP columns hold naive UTC; Cube's DuckDB SQL casts them to TIMESTAMPTZ (convertTz,
      // date-range filters), which reads them in the session zone. Pin it to UTC per connection
      // (the setting is per connection) so results never depend on the machine's zone.
      await connection.run("SET TimeZone = 'UTC'");
      return connection;
    } catch (error) {
      connection.closeSync();
      throw error;
    }
  }

  /**
   * The published file's identity (device, inode, size, mtime), or undefined when it is missing:
   * a new pipeline run publishes by rename, so a new version always has a new identity. The result
   * cache keys on it. Read once per turn of the event loop: under load, the requests parsed in one
   * turn share one stat (it was 6 % of a cached request's CPU, profiled), while a request that
   * arrives after a publish is always read in a later turn and sees the new file.
   */
  dataVersion(): string | undefined {
    if (this.versionThisTurn === NOT_READ) {
      this.versionThisTurn = fileIdentity(this.filePath);
      setImmediate(() => (this.versionThisTurn = NOT_READ)).unref();
    }
    return this.versionThisTurn;
  }

  /** Opens the file (if needed) and runs a trivial statement; throws UnavailableError when it cannot. */
  async check(): Promise<void> {
    await this.query('SELECT 1 AS ok');
  }

  /** Lets go of the current instance (closed once its queries finish); the next query opens the file afresh. */
  async reopen(): Promise<void> {
    await this.opening?.catch(() => undefined);
    this.dropHandle();
  }

  /** Closes the instance once in-flight queries finish; later queries fail. */
  async close(): Promise<void> {
    this.closed = true;
    this.clearIdleTimer();
    await this.reopen();
  }

  private async acquire(): Promise<OpenHandle> {
    if (this.closed) throw new UnavailableError(`warehouse reader for ${this.filePath} is closed`);
    this.clearIdleTimer();
    // A file that keeps changing while we open it gets a few tries, then the newest open is used.
    for (let attempt = 0; ; attempt += 1) {
      const identity = fileIdentity(this.filePath);
      if (identity === undefined) {
        this.dropHandle();
        throw new UnavailableError(`warehouse file not found: ${this.filePath} (run the pipeline first)`);
      }
      const handle = this.handle;
      if (handle && (handle.identity === identity || attempt >= 2)) {
        handle.leases += 1;
        return handle;
      }
      this.dropHandle();
      this.opening ??= this.open(identity).finally(() => {
        this.opening = undefined;
      });
      await this.opening;
    }
  }

  private async open(identity: string): Promise<OpenHandle> {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(this.filePath, {
        access_mode: 'READ_ONLY',
        ...(this.threads > 0 ? { threads: String(this.threads) } : {}),
      });
    } catch (error) {
      throw new UnavailableError(`warehouse not readable: ${this.filePath}: ${errorMessage(error)}`, { cause: error });
    }
    const handle: OpenHandle = { instance, identity, leases: 0, retired: false, idle: [] };
    this.dropHandle();
    this.handle = handle;
    return handle;
  }

  private release(handle: OpenHandle): void {
    handle.leases -= 1;
    if (handle.retired) {
      this.closeIfUnused(handle);
    } else if (handle.leases === 0 && this.idleCloseMs > 0) {
      this.clearIdleTimer();
      this.idleTimer = setTimeout(() => this.dropHandle(), this.idleCloseMs);
      this.idleTimer.unref(); // an idle timer must never keep the process alive
    }
  }

  /** Retires the current instance: closed now if unused, else when its last query releases it. */
  private dropHandle(): void {
    const handle = this.handle;
    this.handle = undefined;
    if (!handle || handle.retired) return;
    handle.retired = true;
    this.closeIfUnused(handle);
  }

  private closeIfUnused(handle: OpenHandle): void {
    if (handle.leases > 0) return;
    for (const connection of handle.idle.splice(0)) connection.closeSync();
    try {
      handle.instance.closeSync();
    } catch {
      // already closed: nothing left to release
    }
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
