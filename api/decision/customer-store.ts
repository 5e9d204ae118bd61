import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Kysely } from 'kysely';
import { accessControlFor } from '../../semantic/access-control.ts';
import { predicateColumns, rowMatches, type RowPredicate } from '../../semantic/row-scope.ts';
import type { SemanticModel } from '../../semantic/semantic-model.ts';
import type { WarehouseReader } from '../../semantic/warehouse-reader.ts';
import { errorMessage } from '../../shared/errors.ts';
import { CUSTOMER_PARTS, type CustomerPart, type CustomerPartName } from './customer-parts.ts';
import { catalog, present, type WarehouseDb } from './warehouse-db.ts';

/**
 * The customer store: what customer 360 reads of each mart, laid out by customer_key in LMDB (a
 * memory-mapped B-tree, lmdb-js), so a lookup is five key reads of a few microseconds instead of
 * five DuckDB statements of one to three milliseconds each (DuckDB is columnar: one row of a wide
 * mart touches a segment of every column). It is derived from the published warehouse file and
 * named by that file's identity: the API builds it in the background the first time it serves a
 * lookup of a new version, answers from DuckDB until it is complete, and never serves a store of
 * another version. Rows carry the answer's columns as the warehouse reader converts them and the
 * columns the model's access policies can filter on as text (`CAST(... AS VARCHAR)`), so the
 * caller's scope is applied to them in memory with the same predicate (semantic/row-scope.ts) the
 * DuckDB path renders as SQL. Each answer column is stored as its JSON text (JSON.stringify of the
 * converted value, what the response would carry), so a lookup concatenates the text of the rows and
 * columns the caller may read instead of decoding values, building objects and serialising them
 * again. Lists are stored newest first, as the DuckDB path orders them.
 */

/** What a part of the store holds: the key column it was read by, its columns and its scope columns. */
export interface StoredPart {
  keyColumn: string;
  columns: string[];
  scopeColumns: string[];
}

/** A read's rows as stored: `rows[r][at[i]]` is the JSON text of the read's i-th column in row r. */
export interface JsonRows {
  at: readonly number[];
  rows: readonly (readonly unknown[])[];
}

/** The store of one published version. */
export interface CustomerStoreSnapshot {
  readonly version: string;
  /** What the part holds, or undefined when it was not stored (its mart or key column was missing). */
  part(name: CustomerPartName): StoredPart | undefined;
  /**
   * The customer's rows of a part that the row predicate keeps, at most `limit` (lists newest first;
   * none when there are none), with where each of `columns` sits in them as JSON text. Undefined when
   * the part cannot answer exactly as the DuckDB path would: not stored, stored by another key
   * column, or lacking one of the columns or of the predicate's columns. Plans are kept per
   * `columns` array and predicate object: pass the same ones for the same shape of read.
   */
  read(
    name: CustomerPartName,
    keyColumn: string,
    key: string,
    columns: readonly string[],
    rows: RowPredicate | null,
    limit: number,
  ): JsonRows | undefined;
}

/** Where a read's columns and the predicate's columns sit in a stored row (worked out once per shape). */
interface ReadPlan {
  positions: number[];
  /** The stored row being tested, and the predicate's view of its scope columns. */
  current: unknown[];
  scope: (column: string) => string | null;
}

export interface CustomerStoreOptions {
  /** Folder of the store files; default `<warehouse file>.serving`. */
  dir?: string;
  log?: (level: 'info' | 'warn', message: string, detail?: Record<string, unknown>) => void;
}

const META = 'meta';
/** The layout of a stored row; part of the file name, so a store of another layout is never read. */
const FORMAT = 'json-text-1';
const COMPLETE = '$complete';

/** The table columns of the dimensions of every cube on the table: what a row policy can filter on. */
function policyColumns(model: SemanticModel, table: string): string[] {
  const access = accessControlFor(model);
  const columns = new Set<string>();
  for (const cube of access.cubesOnTable(table))
    for (const member of access.dimensionsOf(cube)) {
      const column = access.dimensionColumn(member);
      if (column) columns.add(column);
    }
  return [...columns];
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

interface OpenPart {
  meta: StoredPart;
  db: Database<unknown[][], string>;
  /** Plans by the read's columns array, then by its predicate (OPEN_SCOPE for none). */
  plans: WeakMap<readonly string[], WeakMap<object, ReadPlan | null>>;
}

const OPEN_SCOPE = {};

class Snapshot implements CustomerStoreSnapshot {
  private readonly parts = new Map<CustomerPartName, OpenPart>();

  constructor(
    readonly version: string,
    private readonly env: RootDatabase,
  ) {
    const meta = env.openDB<StoredPart, string>({ name: META, encoding: 'msgpack' });
    for (const part of CUSTOMER_PARTS) {
      const stored = meta.get(part.name);
      if (stored)
        this.parts.set(part.name, {
          meta: stored,
          db: env.openDB<unknown[][], string>({ name: part.name, encoding: 'msgpack' }),
          plans: new WeakMap(),
        });
    }
  }

  part(name: CustomerPartName): StoredPart | undefined {
    return this.parts.get(name)?.meta;
  }

  read(
    name: CustomerPartName,
    keyColumn: string,
    key: string,
    columns: readonly string[],
    rows: RowPredicate | null,
    limit: number,
  ): JsonRows | undefined {
    const part = this.parts.get(name);
    if (!part || part.meta.keyColumn !== keyColumn) return undefined;
    const plan = this.plan(part, columns, rows);
    if (plan === null) return undefined;
    const values = part.db.get(key);
    if (!values) return { at: plan.positions, rows: [] };
    if (rows === null) return { at: plan.positions, rows: values.length > limit ? values.slice(0, limit) : values };
    const kept: unknown[][] = [];
    for (const value of values) {
      plan.current = value;
      if (!rowMatches(rows, plan.scope)) continue;
      kept.push(value);
      if (kept.length >= limit) break;
    }
    return { at: plan.positions, rows: kept };
  }

  /** A lookup asks the same few shapes (a role's columns, its scope) again and again: each is planned once. */
  private plan(part: OpenPart, columns: readonly string[], rows: RowPredicate | null): ReadPlan | null {
    let byScope = part.plans.get(columns);
    if (!byScope) part.plans.set(columns, (byScope = new WeakMap()));
    const scopeKey = rows ?? OPEN_SCOPE;
    const known = byScope.get(scopeKey);
    if (known !== undefined) return known;
    const { columns: stored, scopeColumns } = part.meta;
    const positions = columns.map((c) => stored.indexOf(c));
    let plan: ReadPlan | null = null;
    if (positions.every((i) => i >= 0) && (rows === null || predicateColumns(rows).every((c) => scopeColumns.includes(c)))) {
      const scopeAt = new Map(scopeColumns.map((c, i) => [c, stored.length + i]));
      const built: ReadPlan = {
        positions,
        current: [],
        scope: (column) => (built.current[scopeAt.get(column)!] as string | null | undefined) ?? null,
      };
      plan = built;
    }
    byScope.set(scopeKey, plan);
    return plan;
  }

  close(): void {
    void this.env.close();
  }
}

export class CustomerStore {
  private ready: Snapshot | undefined;
  private building: { version: string; done: Promise<Snapshot | undefined> } | undefined;
  private readonly dir: string;
  private closed = false;

  constructor(
    private readonly reader: WarehouseReader,
    private readonly db: Kysely<WarehouseDb>,
    private readonly model: () => Promise<SemanticModel>,
    private readonly options: CustomerStoreOptions = {},
  ) {
    this.dir = options.dir ?? `${reader.filePath}.serving`;
  }

  /**
   * The store of the published version when it is complete; otherwise undefined, and its build is
   * started (once per version) so that later lookups read it.
   */
  current(): CustomerStoreSnapshot | undefined {
    if (this.closed) return undefined;
    const version = this.reader.dataVersion();
    if (version === undefined) return undefined;
    if (this.ready?.version === version) return this.ready;
    if (this.building?.version !== version) this.startBuild(version);
    return undefined;
  }

  /** Waits for the published version's store (built if needed); undefined when it cannot be built. */
  async whenReady(): Promise<CustomerStoreSnapshot | undefined> {
    const now = this.current();
    if (now || !this.building) return now;
    await this.building.done;
    return this.current();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.building?.done.catch(() => undefined);
    this.ready?.close();
    this.ready = undefined;
  }

  private startBuild(version: string): void {
    const done = this.build(version).then(
      (snapshot) => {
        if (!snapshot) return undefined;
        if (this.closed || this.reader.dataVersion() !== version) {
          snapshot.close(); // a newer version was published meanwhile: its lookups need its own store
          return undefined;
        }
        const previous = this.ready;
        this.ready = snapshot;
        previous?.close();
        this.removeOtherFiles(snapshot.version);
        return snapshot;
      },
      (error: unknown) => {
        this.options.log?.('warn', `customer store: not built, lookups read the warehouse: ${errorMessage(error)}`, { version });
        return undefined;
      },
    );
    this.building = { version, done };
  }

  private fileOf(version: string): string {
    return path.join(
      this.dir,
      `customer-360-${crypto.createHash('sha256').update(`${FORMAT}\u0000${version}`).digest('hex').slice(0, 16)}.mdb`,
    );
  }

  private openSnapshot(file: string, version: string): Snapshot | undefined {
    const env = open({ path: file, noSubdir: true, readOnly: true, maxDbs: 8 });
    if (env.openDB<boolean, string>({ name: META, encoding: 'msgpack' }).get(COMPLETE) === true) return new Snapshot(version, env);
    void env.close();
    return undefined;
  }

  private async build(version: string): Promise<Snapshot | undefined> {
    const file = this.fileOf(version);
    if (fs.existsSync(file)) {
      const existing = this.openSnapshot(file, version);
      if (existing) return existing;
    }
    fs.mkdirSync(this.dir, { recursive: true });
    const started = Date.now();
    // Written under a name of its own and renamed when complete: a store file is whole or absent.
    const temporary = `${file}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    const env = open({ path: temporary, noSubdir: true, maxDbs: 8, compression: false });
    const counts: Record<string, number> = {};
    try {
      const tables = await catalog(this.db);
      const model = await this.model();
      const meta = env.openDB<StoredPart | boolean, string>({ name: META, encoding: 'msgpack' });
      for (const part of CUSTOMER_PARTS) {
        const stored = describePart(part, tables, model);
        if (!stored) continue;
        counts[part.name] = await this.fill(env.openDB<unknown[][], string>({ name: part.name, encoding: 'msgpack' }), part, stored);
        await meta.put(part.name, stored);
        if (this.closed || this.reader.dataVersion() !== version) throw new Error('a newer version was published during the build');
      }
      await meta.put(COMPLETE, true);
      await env.close();
      fs.renameSync(temporary, file);
    } catch (error) {
      await env.close().catch(() => undefined);
      throw error;
    } finally {
      for (const leftover of [temporary, `${temporary}-lock`]) fs.rmSync(leftover, { force: true });
    }
    this.options.log?.('info', `customer store built in ${((Date.now() - started) / 1000).toFixed(1)} s`, { version, file, rows: counts });
    return this.openSnapshot(file, version);
  }

  /** Streams a part's rows ordered by key (and newest first) and writes each customer's rows as one value. */
  private async fill(target: Database<unknown[][], string>, part: CustomerPart, stored: StoredPart): Promise<number> {
    const key = quote(stored.keyColumn);
    const order = part.list ? `, ${quote(part.list.at)} DESC NULLS LAST, ${quote(part.list.id)} DESC NULLS LAST` : '';
    const select = [
      `CAST(${key} AS VARCHAR) AS "$key"`,
      ...stored.columns.map(quote),
      ...stored.scopeColumns.map((c, i) => `CAST(${quote(c)} AS VARCHAR) AS "$scope${i}"`),
    ].join(', ');
    const sql = `SELECT ${select} FROM ${part.table} WHERE ${key} IS NOT NULL ORDER BY "$key"${order}`;
    let currentKey: string | undefined;
    let current: unknown[][] = [];
    let rows = 0;
    const width = stored.scopeColumns.length;
    for await (const chunk of this.reader.stream(sql)) {
      const complete: [string, unknown[][]][] = [];
      for (const row of chunk) {
        const rowKey = row['$key'] as string;
        if (rowKey !== currentKey) {
          if (currentKey !== undefined) complete.push([currentKey, current]);
          currentKey = rowKey;
          current = [];
        }
        // Each answer column as the JSON the response carries; the scope columns as text to test.
        const value: unknown[] = stored.columns.map((c) => JSON.stringify(row[c] ?? null));
        for (let i = 0; i < width; i++) value.push(row[`$scope${i}`] ?? null);
        current.push(value);
        rows++;
      }
      if (complete.length) target.transactionSync(() => complete.forEach(([k, v]) => target.putSync(k, v)));
    }
    if (currentKey !== undefined) {
      const [k, v] = [currentKey, current];
      target.transactionSync(() => target.putSync(k, v));
    }
    return rows;
  }

  private removeOtherFiles(version: string): void {
    const keep = path.basename(this.fileOf(version));
    for (const name of fs.readdirSync(this.dir)) {
      if (!name.startsWith('customer-360-') || name === keep || name === `${keep}-lock` || name.includes('.tmp-')) continue;
      fs.rmSync(path.join(this.dir, name), { force: true }); // another API process keeps its mapping (POSIX)
    }
  }
}

/** The part as the warehouse has it: key column, answer columns present, policy columns present. */
function describePart(part: CustomerPart, tables: Map<string, string[]>, model: SemanticModel): StoredPart | undefined {
  if (!tables.has(part.table)) return undefined;
  const keyColumn = part.keyColumns.find((c) => present(tables, part.table, [c]).length > 0);
  if (!keyColumn) return undefined;
  if (part.list && present(tables, part.table, [part.list.at, part.list.id]).length < 2) return undefined;
  return {
    keyColumn,
    columns: present(tables, part.table, part.columns),
    scopeColumns: present(tables, part.table, policyColumns(model, part.table)),
  };
}
