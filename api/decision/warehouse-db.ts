import { Kysely } from 'kysely';
import type { WarehouseReader } from '../../semantic/warehouse-reader.ts';
import { WarehouseDialect } from './kysely-duckdb.ts';

/**
 * The warehouse tables the decision API reads, typed for kysely. Values arrive as the reader
 * converts them (numbers as strings or numbers, timestamps as ISO text), so number and time
 * columns are typed loosely and coerced by the response schemas. A published file built by an
 * older version may lack newer marts or columns: see catalog() for what it holds.
 */
type Text = string;
type Num = string | number;
type Flag = boolean | string;

export interface WarehouseDb {
  'ops.pipeline_runs': {
    run_id: Text;
    command: Text;
    args: Text;
    status: Text;
    started_at: Text;
    finished_at: Text | null;
    seconds: Num | null;
    pid: Num;
    published: Flag;
    error: Text | null;
  };
  'ops.pipeline_steps': {
    run_id: Text;
    step_id: Text;
    kind: Text;
    status: Text;
    started_at: Text;
    finished_at: Text | null;
    seconds: Num | null;
    attempts: Num;
    rows_in: Num | null;
    rows_out: Num | null;
    rejects: Num | null;
    error: Text | null;
    detail: Text | null;
  };
  'ops.dbt_results': {
    run_id: Text;
    step_id: Text;
    unique_id: Text;
    resource_type: Text;
    status: Text;
    seconds: Num | null;
    failures: Num | null;
    rows_affected: Num | null;
    message: Text | null;
  };
  'information_schema.columns': { table_schema: Text; table_name: Text; column_name: Text; ordinal_position: Num };
  'marts.dim_customers': Record<string, unknown> & { customer_key: Text };
  'marts.dim_customer_contact_points': { customer_key: Text; point_type: Text; point_value: Text; last_seen_at: Text | null };
  'marts.customer_value': Record<string, unknown> & {
    customer_key: Text;
    rfm_segment: Text | null;
    churn_risk_band: Text | null;
    revenue: Num | null;
  };
  'marts.fct_orders': Record<string, unknown> & {
    order_id: Text;
    customer_key: Text;
    credited_customer_key: Text | null;
    ordered_at: Text;
  };
  'marts.fct_service_tickets': Record<string, unknown> & { ticket_id: Text; customer_key: Text | null; opened_at: Text };
  'marts.fct_opinion_mentions': Record<string, unknown> & { post_id: Text; customer_key: Text | null; published_at: Text };
  'marts.fct_customer_triggers': Record<string, unknown> & {
    trigger_date: Text;
    customer_key: Text;
    trigger_type: Text;
    reason: Text;
    priority: Num | null;
    suggested_channel: Text | null;
    brand: Text | null;
    is_contactable: Flag;
  };
}

export function warehouseDb(reader: WarehouseReader, timeoutMs = 0): Kysely<WarehouseDb> {
  const db = new Kysely<WarehouseDb>({ dialect: new WarehouseDialect(reader, { timeoutMs }) });
  readers.set(db, reader);
  return db;
}

const readers = new WeakMap<Kysely<WarehouseDb>, WarehouseReader>();
/** The catalog per published file version: a new publish (new file identity) reads it again. */
const catalogs = new WeakMap<Kysely<WarehouseDb>, { version: string; tables: Promise<Catalog> }>();

/** Table name (schema.table) -> its column names, for the schemas the API reads. */
export type Catalog = Map<string, string[]>;

export async function catalog(db: Kysely<WarehouseDb>): Promise<Catalog> {
  const version = readers.get(db)?.dataVersion();
  if (version === undefined) return readCatalog(db);
  const cached = catalogs.get(db);
  if (cached?.version === version) return cached.tables;
  const tables = readCatalog(db);
  catalogs.set(db, { version, tables });
  tables.catch(() => catalogs.delete(db)); // a failed read is not kept
  return tables;
}

async function readCatalog(db: Kysely<WarehouseDb>): Promise<Catalog> {
  const rows = await db
    .selectFrom('information_schema.columns')
    .select(['table_schema', 'table_name', 'column_name'])
    .where('table_schema', 'in', ['marts', 'ops'])
    .orderBy('table_schema')
    .orderBy('table_name')
    .orderBy('ordinal_position')
    .execute();
  const tables: Catalog = new Map();
  for (const row of rows) {
    const name = `${row.table_schema}.${row.table_name}`;
    tables.set(name, [...(tables.get(name) ?? []), row.column_name]);
  }
  return tables;
}

/** The columns of `wanted` that the table has (an older published file may lack newer columns). */
export function present(tables: Catalog, table: string, wanted: readonly string[]): string[] {
  let columns = columnSets.get(tables);
  if (!columns) columnSets.set(tables, (columns = new Map()));
  let have = columns.get(table);
  if (!have) columns.set(table, (have = new Set(tables.get(table) ?? [])));
  return wanted.filter((c) => have.has(c));
}
/** Each catalog's column sets, made once (a lookup asks present() a dozen times). */
const columnSets = new WeakMap<Catalog, Map<string, Set<string>>>();

/** Booleans may arrive as true/'true'. */
export const truthy = (v: unknown) => v === true || v === 'true' || v === 1 || v === '1';
