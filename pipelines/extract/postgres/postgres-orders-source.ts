import type pg from 'pg';
import type { DefinedRecord } from '../record-schema.ts';
import type { SourceRecord } from '../readers/source-record.ts';
import { cancellationRecord, orderItemRecord, orderRecord, paymentRecord, refundRecord } from '../orders/order-records.ts';
import { SourceUnavailableError, type BatchPart, type JsonValue, type SourceContext, type SourceDefinition } from '../source-contract.ts';
import { connectPostgres } from './postgres-connection.ts';

/** Environment variable holding the shop database's connection string for the `orders_pg` source. */
export const POSTGRES_ORDERS_ENV = 'CRM_ORDERS_PG_URL';

/** One OLTP table read incrementally into one raw table. */
export interface PostgresTableSpec {
  /** Table name in the configured schema. */
  table: string;
  record: DefinedRecord;
  /** Primary-key columns (tie-breakers for keyset paging; they need not be record fields' order). */
  key: readonly string[];
  /** Last-modified column every write updates (the watermark). */
  watermark: string;
}

export const SHOP_TABLES: readonly PostgresTableSpec[] = [
  { table: 'orders', record: orderRecord, key: ['order_id'], watermark: 'updated_at' },
  { table: 'order_items', record: orderItemRecord, key: ['order_id', 'line_no'], watermark: 'updated_at' },
  { table: 'payments', record: paymentRecord, key: ['payment_id'], watermark: 'updated_at' },
  { table: 'refunds', record: refundRecord, key: ['refund_id'], watermark: 'updated_at' },
  { table: 'cancellations', record: cancellationRecord, key: ['order_id'], watermark: 'updated_at' },
];

export interface PostgresOrdersConfig {
  name: string;
  connectionString: string;
  schema?: string;
  /**
   * Re-read this many seconds before the last watermark: a transaction that committed after the
   * previous extract but stamped updated_at earlier (long transactions, clock skew) still arrives.
   * Rows re-read this way upsert as unchanged.
   */
  overlapSeconds?: number;
  pageSize?: number;
  tables?: readonly PostgresTableSpec[];
}

interface WatermarkState {
  schema: string;
  overlapSeconds: number;
  /** Per table: the newest updated_at committed, as PostgreSQL text with microseconds (UTC). */
  tables: Record<string, { watermark: string | null; rowsRead: number }>;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
const UTC_TEXT = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * A PostgreSQL OLTP database as an orders source: each table is read incrementally by its
 * updated_at watermark (minus a safety overlap), in keyset pages so memory stays flat, inside one
 * REPEATABLE READ snapshot so the tables agree with each other. The new watermarks commit in the
 * same DuckDB transaction as the rows.
 */
export function postgresOrdersSource(config: PostgresOrdersConfig): SourceDefinition {
  const schema = config.schema ?? 'shop';
  const overlapSeconds = config.overlapSeconds ?? 300;
  const pageSize = config.pageSize ?? 5_000;
  const tables = config.tables ?? SHOP_TABLES;
  return {
    name: config.name,
    family: 'orders',
    kind: 'postgres',
    description: `Orders, items, payments, refunds, cancellations from PostgreSQL (schema ${schema}), incremental by updated_at`,
    records: tables.map((t) => t.record),
    async open(context: SourceContext) {
      const client = await connectPostgres(config.name, config.connectionString);
      try {
        const columnsByTable = await describeTables(client, config.name, schema, tables);
        const previous = (context.state.cursor ?? null) as unknown as WatermarkState | null;
        const next: WatermarkState = { schema, overlapSeconds, tables: {} };
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const parts: BatchPart[] = tables.map((spec) => {
          const since = previous?.schema === schema ? (previous.tables[spec.table]?.watermark ?? null) : null;
          next.tables[spec.table] = { watermark: since, rowsRead: 0 };
          return {
            record: spec.record,
            records: readTable(
              client,
              schema,
              spec,
              columnsByTable.get(spec.table)!,
              since,
              overlapSeconds,
              pageSize,
              next.tables[spec.table]!,
            ),
          };
        });
        return {
          parts,
          finish: () => ({ cursor: next as unknown as JsonValue }),
          close: async () => {
            await client.query('ROLLBACK').catch(() => undefined);
            await client.end().catch(() => undefined);
          },
          notes: () =>
            tables.map(
              (t) =>
                `${schema}.${t.table}: ${next.tables[t.table]!.rowsRead} rows read, watermark ${next.tables[t.table]!.watermark ?? 'none'}`,
            ),
        };
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      }
    },
  };
}

async function describeTables(
  client: pg.Client,
  source: string,
  schema: string,
  tables: readonly PostgresTableSpec[],
): Promise<Map<string, Set<string>>> {
  const result = await client.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1`,
    [schema],
  );
  const byTable = new Map<string, Set<string>>();
  for (const row of result.rows) {
    if (!byTable.has(row.table_name)) byTable.set(row.table_name, new Set());
    byTable.get(row.table_name)!.add(row.column_name);
  }
  for (const spec of tables) {
    const columns = byTable.get(spec.table);
    if (!columns) throw new SourceUnavailableError(source, `table ${schema}.${spec.table} not found (or not readable by this user)`);
    for (const needed of [spec.watermark, ...spec.key]) {
      if (!columns.has(needed)) throw new SourceUnavailableError(source, `table ${schema}.${spec.table} has no column "${needed}"`);
    }
  }
  return byTable;
}

async function* readTable(
  client: pg.Client,
  schema: string,
  spec: PostgresTableSpec,
  columns: Set<string>,
  since: string | null,
  overlapSeconds: number,
  pageSize: number,
  progress: { watermark: string | null; rowsRead: number },
): AsyncGenerator<SourceRecord> {
  const file = `pg:${schema}.${spec.table}`;
  // Every value comes back as text: timestamps as UTC ISO with microseconds (pg's Date would drop
  // them), numerics exactly. Missing columns are simply absent, so drift is reported per run.
  const selectList = Object.entries(spec.record.fields)
    .filter(([name]) => columns.has(name))
    .map(([name, f]) => {
      const column = quote(name);
      const expr = f.type === 'TIMESTAMPTZ' ? UTC_TEXT(column) : f.type === 'BOOLEAN' ? column : `${column}::text`;
      return `${expr} AS ${column}`;
    });
  const wm = quote(spec.watermark);
  const keyCols = spec.key.map(quote);
  selectList.push(`${UTC_TEXT(wm)} AS "_wm"`, ...spec.key.map((k, i) => `${quote(k)}::text AS "_k${i}"`));
  const order = [wm, ...keyCols].join(', ');
  const from = `${quote(schema)}.${quote(spec.table)}`;
  let after: string[] | null = null;
  let line = 0;
  for (;;) {
    const params: unknown[] = [];
    const where: string[] = [];
    if (since !== null) {
      params.push(since, overlapSeconds);
      where.push(`${wm} >= $1::timestamptz - make_interval(secs => $2)`);
    }
    if (after !== null) {
      const base = params.length;
      params.push(...after);
      where.push(`(${order}) > (${after.map((_, i) => `$${base + i + 1}`).join(', ')})`);
    }
    const sql = `SELECT ${selectList.join(', ')} FROM ${from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ${pageSize}`;
    const page = await client.query<Record<string, unknown>>(sql, params);
    for (const row of page.rows) {
      line += 1;
      const { _wm, ...rest } = row;
      const keyValues = spec.key.map((_, i) => String(rest[`_k${i}`]));
      spec.key.forEach((_, i) => delete rest[`_k${i}`]);
      const rowWatermark = String(_wm);
      if (progress.watermark === null || rowWatermark > progress.watermark) progress.watermark = rowWatermark;
      progress.rowsRead += 1;
      yield {
        location: `${file}#${spec.key.map((k, i) => `${k}=${keyValues[i]}`).join(',')}`,
        file,
        line,
        fields: rest,
        rawText: JSON.stringify(row),
      };
    }
    if (page.rows.length < pageSize) return;
    const last = page.rows[page.rows.length - 1]!;
    after = [String(last._wm), ...spec.key.map((_, i) => String(last[`_k${i}`]))];
  }
}
