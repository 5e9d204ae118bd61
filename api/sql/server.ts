import net from 'node:net';
import { verifyToken } from '../auth.ts';
import { accessContextFromToken } from '../../semantic/access-control.ts';
import { checkQueryMembers } from '../../semantic/check-members.ts';
import { loadRequest, planQuery, type LoadResponse } from '../../semantic/load-query.ts';
import { canonicalTimezone, normalizeLoadRequest, parseQueryParam } from '../../semantic/normalize-query.ts';
import type { ResultCache } from '../../semantic/result-cache.ts';
import type { SemanticModel } from '../../semantic/semantic-model.ts';
import type { WarehouseReader } from '../../semantic/warehouse-reader.ts';
import { Catalog, routeOf, SERVER_VERSION } from './catalog.ts';
import { backend, MessageFramer, parseFrontendMessage, ProtocolError, type ColumnDescription, type FrontendMessage } from './protocol.ts';
import { errorFields, SqlError } from './sql-error.ts';
import { bindParameters, parameterCount, splitStatements } from './statements.ts';
import { tablesFor, type PgType } from './tables.ts';
import { parseSelect, translateSelect, type TranslatedQuery } from './translate.ts';

/**
 * The SQL door: a Postgres wire endpoint over the semantic layer. A client logs in with its JWT as
 * the password (cleartext password message, as Cube's SQL API does; TLS belongs in front of it
 * beyond loopback), sees one table per Cube view its token may read, and each SELECT on a view is
 * translated (translate.ts) into the Cube query REST clients send and run by loadRequest, the
 * function behind /cubejs-api/v1/load: access policies, masking, rollups, the result cache and the
 * time limit are the same. Catalog reads go to an emulated catalog (catalog.ts).
 */

export interface SqlDoorOptions {
  jwtSecret: string;
  defaultTimezone: string;
  warehouse: WarehouseReader;
  model(): Promise<SemanticModel>;
  cache?: ResultCache<LoadResponse>;
  queryTimeoutMs?: number;
  requireTokenExpiry?: boolean;
  /** Where internal errors go (their text never reaches the client). */
  log?: (message: string, error?: unknown) => void;
  /** A connection that has not logged in by then is closed (ms, default 30,000: Postgres' authentication_timeout). */
  authTimeoutMs?: number;
  /** Connections served at once (each holds a small in-memory catalog); default 100, more are refused with 53300. */
  maxConnections?: number;
}

export interface RunningSqlDoor {
  port: number;
  host: string;
  close(): Promise<void>;
}

interface Prepared {
  sql: string;
  parameterTypes: number[];
}

interface Portal {
  sql: string;
  resultFormats: number[];
  /** Rows computed by Describe or a first Execute, kept for the Execute(s) that follow. */
  result?: StatementResult;
  /** Rows already sent by Executes with a row limit (the rest follow on the next Execute). */
  sent: number;
}

interface StatementResult {
  columns: ColumnDescription[] | null;
  rows: (string | null)[][];
  tag: string;
}

const AUTH_TIMEOUT_MS = 30_000;
/** Pipelined messages kept waiting before the door stops reading the socket (backpressure). */
const MAX_PENDING = 256;

const SESSION_COMMAND =
  /^(SET|RESET|SHOW|BEGIN|START|COMMIT|END|ROLLBACK|ABORT|DISCARD|DEALLOCATE|SAVEPOINT|RELEASE|CLOSE|UNLISTEN|LISTEN)\b/i;
const READ_STATEMENT = /^(SELECT|WITH|VALUES|TABLE)\b/i;

function columnOf(name: string, pg: PgType): ColumnDescription {
  return { name, typeOid: pg.oid, typeSize: pg.size };
}

/** A /load value in Postgres' text format for its column type. */
function pgText(value: unknown, pg: PgType): string | null {
  if (value === null || value === undefined) return null;
  if (pg.oid === 16) return value === true || value === 'true' || value === 1 || value === '1' ? 't' : 'f';
  if (pg.oid === 1114) {
    const text = String(value);
    const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?/.exec(text);
    if (!match) return text;
    const fraction = match[3] && !/^\.0+$/.test(match[3]) ? match[3].replace(/0+$/, '') : '';
    return `${match[1]} ${match[2]}${fraction}`;
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** A parameter sent in binary format (psycopg sends numbers so), as text; the types clients bind that way. */
function binaryParameter(value: Buffer, typeOid: number): string {
  switch (typeOid) {
    case 21:
      if (value.length === 2) return String(value.readInt16BE(0));
      break;
    case 23:
    case 26:
      if (value.length === 4) return String(value.readInt32BE(0));
      break;
    case 20:
      if (value.length === 8) return String(value.readBigInt64BE(0));
      break;
    case 16:
      if (value.length === 1) return value[0] ? 'true' : 'false';
      break;
    case 701:
      if (value.length === 8) return String(value.readDoubleBE(0));
      break;
    case 700:
      if (value.length === 4) return String(value.readFloatBE(0));
      break;
    case 0:
    case 25:
    case 1043:
    case 19:
      return value.toString('utf8');
  }
  throw new SqlError('0A000', `binary parameters of type ${typeOid} are not supported by the SQL door (send them as text)`);
}

const SETTINGS_DEFAULTS: Record<string, string> = {
  server_version: SERVER_VERSION,
  server_version_num: '150000',
  server_encoding: 'UTF8',
  client_encoding: 'UTF8',
  datestyle: 'ISO, MDY',
  intervalstyle: 'postgres',
  integer_datetimes: 'on',
  standard_conforming_strings: 'on',
  transaction_isolation: 'read committed',
  'transaction isolation level': 'read committed',
  default_transaction_read_only: 'on',
  transaction_read_only: 'on',
  search_path: 'public',
  max_identifier_length: '63',
  lc_collate: 'en_US.UTF-8',
  extra_float_digits: '1',
  is_superuser: 'off',
};

class Session {
  private readonly framer = new MessageFramer();
  private queue: Promise<void> = Promise.resolve();
  private securityContext: Record<string, unknown> | undefined;
  private token = '';
  private user = '';
  private database = 'crm';
  private phase: 'startup' | 'password' | 'ready' = 'startup';
  private transaction: 'I' | 'T' | 'E' = 'I';
  private readonly settings = new Map<string, string>();
  private timezone: string;
  private catalog: Catalog | undefined;
  private readonly prepared = new Map<string, Prepared>();
  private readonly portals = new Map<string, Portal>();
  /** After an error in the extended protocol, messages are skipped until Sync. */
  private skipUntilSync = false;
  private closed = false;
  /** Messages received and not yet handled: past MAX_PENDING the socket is paused until they are. */
  private pending = 0;

  constructor(
    private readonly socket: net.Socket,
    private readonly door: SqlDoorOptions,
  ) {
    this.timezone = door.defaultTimezone;
    // Postgres' authentication_timeout: a connection that does not log in is closed (the limit of connections is not held by idle sockets).
    const authTimeoutMs = door.authTimeoutMs ?? AUTH_TIMEOUT_MS;
    const authTimer = setTimeout(() => {
      if (this.phase !== 'ready') this.fatal('08006', `authentication did not complete within ${authTimeoutMs} ms`);
    }, authTimeoutMs);
    authTimer.unref();
    socket.on('close', () => clearTimeout(authTimer));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.catalog?.close());
  }

  private receive(chunk: Buffer): void {
    let messages: Buffer[];
    const untypedBefore = !this.framer.started;
    try {
      messages = this.framer.push(chunk);
    } catch (error) {
      this.fatal('08P01', error instanceof Error ? error.message : String(error));
      return;
    }
    // Messages are framed as they arrive but handled one after another, in order.
    let untyped = untypedBefore;
    for (const message of messages) {
      const wasUntyped = untyped;
      if (untyped && message.length >= 8) {
        const code = message.readInt32BE(4);
        if (code !== 80877103 && code !== 80877104 && code !== 80877102) untyped = false;
      }
      this.pending++;
      if (this.pending > MAX_PENDING) this.socket.pause();
      this.queue = this.queue
        .then(() => this.handleRaw(message, wasUntyped))
        .catch((error) => this.internal(error))
        .finally(() => {
          this.pending--;
          if (this.pending <= MAX_PENDING && this.socket.isPaused()) this.socket.resume();
        });
    }
  }

  private write(...buffers: Buffer[]): void {
    if (!this.socket.destroyed) this.socket.write(buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers));
  }

  private fatal(code: string, message: string): void {
    if (this.closed) return;
    this.closed = true;
    this.write(backend.error({ severity: 'FATAL', code, message }));
    this.socket.end();
    this.socket.destroySoon?.();
  }

  private internal(error: unknown): void {
    this.door.log?.('SQL door: unexpected error', error);
    this.fatal('XX000', 'internal error in the SQL door (details are in the server log)');
  }

  private async handleRaw(raw: Buffer, untyped: boolean): Promise<void> {
    if (this.socket.destroyed || this.closed) return;
    let message: FrontendMessage;
    try {
      message = parseFrontendMessage(raw, untyped);
    } catch (error) {
      this.fatal('08P01', error instanceof ProtocolError ? error.message : 'malformed message');
      return;
    }
    if (this.phase === 'startup') return this.handleStartup(message);
    if (this.phase === 'password') return this.handlePassword(message);
    return this.handleReady(message);
  }

  private handleStartup(message: FrontendMessage): void {
    if (message.type === 'sslRequest' || message.type === 'gssEncRequest') {
      // No TLS here (loopback); a proxy in front of the door terminates TLS elsewhere.
      this.write(Buffer.from('N'));
      return;
    }
    if (message.type === 'cancelRequest') {
      this.socket.end();
      return;
    }
    if (message.type !== 'startup') return this.fatal('08P01', `expected a startup message, got ${message.type}`);
    if (message.protocol !== 196608)
      return this.fatal('0A000', `unsupported frontend protocol ${message.protocol >> 16}.${message.protocol & 0xffff} (3.0 only)`);
    this.user = message.parameters.user ?? '';
    this.database = message.parameters.database || this.user || 'crm';
    if (message.parameters.options && /timezone|TimeZone/.test(message.parameters.options)) {
      const match = /-c\s*timezone=(\S+)/i.exec(message.parameters.options);
      if (match) this.setTimezone(match[1]!);
    }
    if (message.parameters.application_name) this.settings.set('application_name', message.parameters.application_name);
    this.phase = 'password';
    this.write(backend.authenticationCleartextPassword());
  }

  private async handlePassword(message: FrontendMessage): Promise<void> {
    if (message.type !== 'password') return this.fatal('08P01', 'expected a password message (the JWT)');
    let claims: Record<string, unknown>;
    try {
      const verified = await verifyToken(message.password.trim() || undefined, this.door.jwtSecret, {
        requireExpiry: this.door.requireTokenExpiry ?? true,
      });
      claims = accessContextFromToken(verified);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return this.fatal('28P01', `password authentication failed: the password must be an API token (JWT): ${reason}`);
    }
    this.securityContext = claims;
    this.token = message.password.trim();
    this.phase = 'ready';
    const status = (name: string, value: string) => backend.parameterStatus(name, value);
    this.write(
      backend.authenticationOk(),
      status('server_version', SERVER_VERSION),
      status('server_encoding', 'UTF8'),
      status('client_encoding', 'UTF8'),
      status('DateStyle', 'ISO, MDY'),
      status('IntervalStyle', 'postgres'),
      status('TimeZone', this.timezone),
      status('integer_datetimes', 'on'),
      status('standard_conforming_strings', 'on'),
      status('is_superuser', 'off'),
      status('session_authorization', this.user),
      status('application_name', this.settings.get('application_name') ?? ''),
      backend.backendKeyData(process.pid, Math.floor(Math.random() * 0x7fffffff)),
      backend.readyForQuery('I'),
    );
  }

  private setTimezone(value: string): void {
    const zone = value.replace(/^'|'$/g, '');
    try {
      this.timezone = canonicalTimezone(zone.toUpperCase() === 'UTC' ? 'UTC' : zone);
    } catch {
      throw new SqlError('22023', `invalid value for parameter "TimeZone": "${zone}"`);
    }
  }

  /**
   * The token is checked again before each statement, as REST checks it on each request: a session
   * does not outlive its token (expiry, or a rotated secret). Verified tokens are cached (api/auth.ts).
   */
  private async stillAuthorized(): Promise<boolean> {
    try {
      await verifyToken(this.token, this.door.jwtSecret, { requireExpiry: this.door.requireTokenExpiry ?? true });
      return true;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.fatal('28000', `the session's token is no longer valid: ${reason}`);
      return false;
    }
  }

  private async handleReady(message: FrontendMessage): Promise<void> {
    if (this.skipUntilSync && message.type !== 'sync') return;
    if ((message.type === 'query' || message.type === 'parse') && !(await this.stillAuthorized())) return;
    switch (message.type) {
      case 'query':
        return this.simpleQuery(message.sql);
      case 'parse':
      case 'bind':
      case 'describe':
      case 'execute':
      case 'close':
        try {
          await this.extended(message);
        } catch (error) {
          this.skipUntilSync = true;
          if (this.transaction === 'T') this.transaction = 'E';
          this.write(backend.error(errorFields(error, (e) => this.door.log?.('SQL door query failed', e))));
        }
        return;
      case 'sync':
        this.skipUntilSync = false;
        this.write(backend.readyForQuery(this.transaction));
        return;
      case 'flush':
        return;
      case 'terminate':
        this.socket.end();
        return;
      default:
        return this.fatal('08P01', `unexpected message ${message.type === 'unsupported' ? `'${message.code}'` : message.type}`);
    }
  }

  private async simpleQuery(sql: string): Promise<void> {
    try {
      const statements = splitStatements(sql);
      if (statements.length === 0) {
        this.write(backend.emptyQueryResponse());
      } else if (statements.length > 1) {
        throw new SqlError(
          '0A000',
          `multiple statements in one query are not supported by the SQL door (got ${statements.length}): send one at a time`,
        );
      } else {
        const result = await this.run(statements[0]!);
        this.sendResult(result, true);
      }
    } catch (error) {
      if (this.transaction === 'T') this.transaction = 'E';
      this.write(backend.error(errorFields(error, (e) => this.door.log?.('SQL door query failed', e))));
    }
    this.write(backend.readyForQuery(this.transaction));
  }

  private sendResult(result: StatementResult, withDescription: boolean): void {
    const buffers: Buffer[] = [];
    if (withDescription && result.columns) buffers.push(backend.rowDescription(result.columns));
    for (const row of result.rows) buffers.push(backend.dataRow(row));
    buffers.push(backend.commandComplete(result.tag));
    this.write(...buffers);
  }

  private async extended(message: FrontendMessage): Promise<void> {
    switch (message.type) {
      case 'parse': {
        const statements = splitStatements(message.sql);
        if (statements.length > 1) throw new SqlError('42601', 'cannot insert multiple commands into a prepared statement');
        this.prepared.set(message.name, { sql: statements[0] ?? '', parameterTypes: message.parameterTypes });
        this.write(backend.parseComplete());
        return;
      }
      case 'bind': {
        const statement = this.prepared.get(message.statement);
        if (!statement) throw new SqlError('26000', `prepared statement "${message.statement}" does not exist`);
        if (message.resultFormats.some((f) => f !== 0))
          throw new SqlError('0A000', 'binary results are not supported by the SQL door (use text)');
        const formatOf = (i: number) =>
          message.parameterFormats.length === 1 ? message.parameterFormats[0]! : (message.parameterFormats[i] ?? 0);
        const values = message.parameters.map((p, i) =>
          p === null ? null : formatOf(i) === 0 ? p.toString('utf8') : binaryParameter(p, statement.parameterTypes[i] ?? 0),
        );
        const sql = values.length ? bindParameters(statement.sql, values, statement.parameterTypes) : statement.sql;
        this.portals.set(message.portal, { sql, resultFormats: message.resultFormats, sent: 0 });
        this.write(backend.bindComplete());
        return;
      }
      case 'describe': {
        if (message.target === 'S') {
          const statement = this.prepared.get(message.name);
          if (!statement) throw new SqlError('26000', `prepared statement "${message.name}" does not exist`);
          const count = Math.max(parameterCount(statement.sql), statement.parameterTypes.length);
          const oids = Array.from({ length: count }, (_, i) => statement.parameterTypes[i] || 25);
          this.write(backend.parameterDescription(oids));
          // The columns: the statement with NULL for each parameter, described without running a view query.
          const probe = count
            ? bindParameters(
                statement.sql,
                Array.from({ length: count }, () => null),
                oids,
              )
            : statement.sql;
          const columns = await this.describe(probe);
          this.write(columns ? backend.rowDescription(columns) : backend.noData());
          return;
        }
        const portal = this.portals.get(message.name);
        if (!portal) throw new SqlError('34000', `portal "${message.name}" does not exist`);
        portal.result = portal.sql ? await this.run(portal.sql) : { columns: null, rows: [], tag: '' };
        this.write(portal.result.columns ? backend.rowDescription(portal.result.columns) : backend.noData());
        return;
      }
      case 'execute': {
        const portal = this.portals.get(message.portal);
        if (!portal) throw new SqlError('34000', `portal "${message.portal}" does not exist`);
        if (!portal.sql) {
          this.write(backend.emptyQueryResponse());
          return;
        }
        const result = portal.result ?? (await this.run(portal.sql));
        const rest = result.rows.slice(portal.sent);
        if (message.maxRows > 0 && rest.length > message.maxRows) {
          // A row limit (a cursor's fetch): these rows, PortalSuspended, and the rest on the next Execute.
          portal.result = result;
          portal.sent += message.maxRows;
          this.write(...rest.slice(0, message.maxRows).map((row) => backend.dataRow(row)), backend.portalSuspended());
          return;
        }
        portal.result = undefined;
        portal.sent = 0;
        this.sendResult({ ...result, rows: rest, tag: result.tag }, false);
        return;
      }
      case 'close': {
        if (message.target === 'S') this.prepared.delete(message.name);
        else this.portals.delete(message.name);
        this.write(backend.closeComplete());
        return;
      }
      default:
        return;
    }
  }

  /** The columns a statement would answer with, without running a view query. */
  private async describe(sql: string): Promise<ColumnDescription[] | null> {
    if (!sql || SESSION_COMMAND.test(sql))
      return /^SHOW\b/i.test(sql) ? [columnOf(sql.replace(/^SHOW\s+/i, '').trim(), { oid: 25, size: -1, name: 'text' })] : null;
    if (/^EXPLAIN\b/i.test(sql)) return [columnOf('QUERY PLAN', { oid: 25, size: -1, name: 'text' })];
    const plan = await this.plan(sql);
    if (plan.kind === 'view') return plan.translated.columns.map((c) => columnOf(c.name, c.pg));
    return (await this.run(sql)).columns;
  }

  private async catalogFor(): Promise<Catalog> {
    if (!this.catalog) {
      const model = await this.door.model();
      this.catalog = await Catalog.create(tablesFor(model, this.securityContext!), this.user, this.database);
    }
    return this.catalog;
  }

  private async plan(sql: string): Promise<{ kind: 'catalog' } | { kind: 'view'; translated: TranslatedQuery }> {
    if (!READ_STATEMENT.test(sql)) {
      const verb = /^\s*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase() ?? 'this statement';
      throw new SqlError('25006', `cannot execute ${verb}: the SQL door is read-only (SELECT on the views, SHOW, SET)`);
    }
    let parsed: ReturnType<typeof parseSelect>;
    try {
      parsed = parseSelect(sql);
    } catch (error) {
      // Postgres-only catalog syntax node-sql-parser does not read (psql's \d queries): the catalog tries it.
      if (routeOf(sql, undefined) !== 'catalog') throw error;
      // ... unless it reads a view: the catalog's view tables are empty, and an empty answer would be wrong.
      const model = await this.door.model();
      const names = tablesFor(model, this.securityContext!).map((t) => t.name);
      const readsView = names.some((name) => new RegExp(`\\b(from|join)\\s+("?public"?\\s*\\.\\s*)?"?${name}"?\\b`, 'i').test(sql));
      if (readsView) throw error;
      return { kind: 'catalog' };
    }
    if (routeOf(sql, parsed.tables) === 'catalog') return { kind: 'catalog' };
    const ast = parsed.ast;
    const model = await this.door.model();
    return { kind: 'view', translated: translateSelect(ast, tablesFor(model, this.securityContext!), this.timezone) };
  }

  private async run(sql: string): Promise<StatementResult> {
    if (SESSION_COMMAND.test(sql)) return this.sessionCommand(sql);
    const explain = /^EXPLAIN\s+(?:\(\s*FORMAT\s+TEXT\s*\)\s+)?(?!ANALYZE\b)([\s\S]+)$/i.exec(sql);
    if (explain) return this.explain(explain[1]!);
    const plan = await this.plan(sql);
    if (plan.kind === 'catalog') {
      const result = await (await this.catalogFor()).query(sql);
      return { columns: result.columns.map((c) => columnOf(c.name, c.pg)), rows: result.rows, tag: `SELECT ${result.rows.length}` };
    }
    const { translated } = plan;
    const model = await this.door.model();
    // The very function behind /cubejs-api/v1/load, with this caller's claims.
    // SET crm.renew_query = on: Cube's renewQuery, the result cache neither read nor written (as on REST).
    const renew = /^(on|true|1|yes)$/i.test(this.settings.get('crm.renew_query') ?? '');
    const result = await loadRequest(renew ? { ...translated.query, renewQuery: true } : translated.query, {
      model,
      warehouse: this.door.warehouse,
      securityContext: this.securityContext!,
      defaultTimezone: this.door.defaultTimezone,
      ...(this.door.cache ? { cache: this.door.cache } : {}),
      ...(this.door.queryTimeoutMs ? { queryTimeoutMs: this.door.queryTimeoutMs } : {}),
    });
    const data = result.results[0]!.data;
    const rows = data.map((row) => translated.columns.map((c) => pgText(row[c.key], c.pg)));
    return { columns: translated.columns.map((c) => columnOf(c.name, c.pg)), rows, tag: `SELECT ${rows.length}` };
  }

  /**
   * EXPLAIN <select on a view>: the Cube query the SELECT became, and what /cubejs-api/v1/sql says
   * of it for this token (Cube's SQL after access control, the rollups that answer or 'marts',
   * masked members). Nothing runs on the warehouse but the rollup manifest lookup.
   */
  private async explain(sql: string): Promise<StatementResult> {
    const plan = await this.plan(sql);
    if (plan.kind !== 'view') throw new SqlError('0A000', 'EXPLAIN is supported for SELECTs on the views only');
    const model = await this.door.model();
    const { queries } = normalizeLoadRequest(parseQueryParam(plan.translated.query), { defaultTimezone: this.door.defaultTimezone });
    const lines = [`Cube query: ${JSON.stringify(plan.translated.query)}`];
    for (const query of queries) {
      checkQueryMembers(query, model.members);
      const { main } = await planQuery(model, query, this.securityContext!, this.door.warehouse);
      const used = Object.values(main.usedPreAggregations);
      lines.push(
        `Source: ${used.length ? used.map((u) => `rollup ${u.preAggregationId} (${u.partitions.join(', ')})`).join('; ') : 'marts'}`,
      );
      if (main.preAggregationSkipped) lines.push(`Rollup skipped: ${main.preAggregationSkipped}`);
      if (main.maskedMembers.length) lines.push(`Masked members: ${main.maskedMembers.join(', ')}`);
      lines.push(`SQL: ${main.sql.replace(/\s+/g, ' ').trim()}`);
      if (main.params.length) lines.push(`Parameters: ${JSON.stringify(main.params)}`);
    }
    return { columns: [columnOf('QUERY PLAN', { oid: 25, size: -1, name: 'text' })], rows: lines.map((line) => [line]), tag: 'EXPLAIN' };
  }

  private sessionCommand(sql: string): StatementResult {
    const words = sql.trim().replace(/\s+/g, ' ');
    const upper = words.toUpperCase();
    const none = (tag: string): StatementResult => ({ columns: null, rows: [], tag });
    if (/^(BEGIN|START TRANSACTION)\b/.test(upper)) {
      this.transaction = 'T';
      return none('BEGIN');
    }
    if (/^(COMMIT|END)\b/.test(upper)) {
      const failed = this.transaction === 'E';
      this.transaction = 'I';
      return none(failed ? 'ROLLBACK' : 'COMMIT');
    }
    if (/^(ROLLBACK|ABORT)\b/.test(upper)) {
      if (/\bTO\b/.test(upper)) {
        this.transaction = this.transaction === 'I' ? 'I' : 'T';
        return none('ROLLBACK');
      }
      this.transaction = 'I';
      return none('ROLLBACK');
    }
    if (/^SAVEPOINT\b/.test(upper)) return none('SAVEPOINT');
    if (/^RELEASE\b/.test(upper)) return none('RELEASE');
    if (/^DISCARD\b/.test(upper)) return none('DISCARD ALL');
    if (/^DEALLOCATE\b/.test(upper)) return none('DEALLOCATE');
    if (/^(CLOSE|LISTEN|UNLISTEN)\b/.test(upper)) return none(upper.split(' ')[0]!);
    if (/^SHOW\b/.test(upper)) {
      const name = words.slice(5).trim().replace(/;$/, '').toLowerCase();
      const value = this.setting(name);
      if (value === undefined) throw new SqlError('42704', `unrecognized configuration parameter "${name}"`);
      return { columns: [columnOf(name, { oid: 25, size: -1, name: 'text' })], rows: [[value]], tag: 'SHOW' };
    }
    if (/^RESET\b/.test(upper)) {
      const name = words.slice(6).trim().toLowerCase();
      if (name === 'all' || name === 'timezone' || name === 'time zone') this.timezone = this.door.defaultTimezone;
      this.settings.delete(name);
      return none('RESET');
    }
    // SET [SESSION|LOCAL] name {TO|=} value | SET TIME ZONE value | SET SESSION CHARACTERISTICS ...
    const timeZone = /^SET (?:SESSION |LOCAL )?TIME ZONE (.+)$/i.exec(words);
    if (timeZone) {
      this.setTimezone(timeZone[1]!.trim());
      return none('SET');
    }
    const assignment = /^SET (?:SESSION |LOCAL )?([A-Za-z_][\w.]*)\s*(?:=|\bTO\b)\s*(.+)$/i.exec(words);
    if (assignment) {
      const name = assignment[1]!.toLowerCase();
      const value = assignment[2]!.trim().replace(/^'(.*)'$/, '$1');
      if (name === 'timezone') this.setTimezone(value);
      else this.settings.set(name, value);
      return none('SET');
    }
    if (/^SET\b/.test(upper)) return none('SET');
    throw new SqlError('0A000', `${upper.split(' ')[0]} is not supported by the SQL door`);
  }

  private setting(name: string): string | undefined {
    if (name === 'timezone' || name === 'time zone') return this.timezone;
    if (name === 'all') return undefined;
    return this.settings.get(name) ?? SETTINGS_DEFAULTS[name] ?? (name === 'application_name' ? '' : undefined);
  }
}

/** Starts the SQL door on host:port (0 picks a free port); resolves once it listens. */
export async function startSqlDoor(options: SqlDoorOptions & { port: number; host?: string }): Promise<RunningSqlDoor> {
  const sockets = new Set<net.Socket>();
  const maxConnections = options.maxConnections ?? 100;
  const server = net.createServer((socket) => {
    if (sockets.size >= maxConnections) {
      // Postgres' too_many_connections, sent before startup (clients read an ErrorResponse then).
      socket.end(
        backend.error({ severity: 'FATAL', code: '53300', message: `too many connections to the SQL door (limit ${maxConnections})` }),
      );
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    new Session(socket, options);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export { SqlError };
