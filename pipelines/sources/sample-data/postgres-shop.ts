import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { RawColumnType } from '../../extract/record-schema.ts';
import { readCsvRecords } from '../../extract/readers/csv-records.ts';
import { SHOP_TABLES, type PostgresTableSpec } from '../../extract/postgres/postgres-orders-source.ts';
import { connectPostgres } from '../../extract/postgres/postgres-connection.ts';
import { LANDING_FILES } from './landing-layout.ts';

/**
 * Populates a PostgreSQL "shop OLTP" database from a generated landing folder: the same orders,
 * items, payments, refunds and cancellations the CSV drops hold, as an order system would store
 * them (typed columns, one current row per key, an updated_at on every row). Only valid records
 * are written (a typed database cannot hold an impossible date); rows are streamed in batches.
 */

const PG_TYPES: Record<RawColumnType, string> = {
  VARCHAR: 'text',
  INTEGER: 'integer',
  'DECIMAL(18,2)': 'numeric(18,2)',
  'DECIMAL(18,4)': 'numeric(18,4)',
  TIMESTAMPTZ: 'timestamptz',
  BOOLEAN: 'boolean',
  DOUBLE: 'double precision',
};

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The shop tables' DDL, derived from the record definitions so the two cannot drift. */
export function shopSchemaDdl(schema = 'shop', tables: readonly PostgresTableSpec[] = SHOP_TABLES): string {
  const statements = [`CREATE SCHEMA IF NOT EXISTS ${quote(schema)}`];
  for (const spec of tables) {
    const columns = Object.entries(spec.record.fields).map(
      ([name, f]) => `${quote(name)} ${PG_TYPES[f.type]}${spec.key.includes(name) ? ' NOT NULL' : ''}`,
    );
    if (!(spec.watermark in spec.record.fields)) columns.push(`${quote(spec.watermark)} timestamptz NOT NULL DEFAULT clock_timestamp()`);
    columns.push(`PRIMARY KEY (${spec.key.map(quote).join(', ')})`);
    const table = `${quote(schema)}.${quote(spec.table)}`;
    statements.push(`CREATE TABLE IF NOT EXISTS ${table} (${columns.join(', ')})`);
    statements.push(
      `CREATE INDEX IF NOT EXISTS ${quote(`${spec.table}_watermark`)} ON ${table} (${[spec.watermark, ...spec.key].map(quote).join(', ')})`,
    );
  }
  return statements.join(';\n') + ';';
}

const FILE_FOR_TABLE: Record<string, string> = {
  orders: LANDING_FILES.orders,
  order_items: LANDING_FILES.orderItems,
  payments: LANDING_FILES.payments,
  refunds: LANDING_FILES.refunds,
  cancellations: LANDING_FILES.cancellations,
};

export interface PopulateSummary {
  tables: Record<string, { rowsWritten: number; rejected: number }>;
}

export async function populatePostgresShop(options: {
  connectionString: string;
  landingDir: string;
  schema?: string;
  batchSize?: number;
}): Promise<PopulateSummary> {
  const schema = options.schema ?? 'shop';
  const batchSize = options.batchSize ?? 2_000;
  const client = await connectPostgres('generator', options.connectionString);
  const summary: PopulateSummary = { tables: {} };
  try {
    await client.query(shopSchemaDdl(schema));
    for (const spec of SHOP_TABLES) {
      const filePath = path.join(options.landingDir, FILE_FOR_TABLE[spec.table]!);
      const stats = { rowsWritten: 0, rejected: 0 };
      summary.tables[spec.table] = stats;
      if (!fs.existsSync(filePath)) continue;
      let pending = new Map<string, Record<string, unknown>>();
      const flush = async () => {
        if (pending.size === 0) return;
        await upsertRows(client, schema, spec, [...pending.values()]);
        stats.rowsWritten += pending.size;
        pending = new Map();
      };
      for await (const item of readCsvRecords(filePath, options.landingDir)) {
        const parsed = item.fields ? spec.record.validator.safeParse(item.fields) : null;
        if (!parsed?.success) {
          stats.rejected += 1;
          continue;
        }
        const row = parsed.data as Record<string, unknown>;
        const key = spec.key.map((k) => String(row[k])).join('\u0000');
        const seen = pending.get(key);
        const version = spec.record.version;
        // One current row per key, as an OLTP table holds it: the newest version wins.
        if (!seen || !version || String(row[version]) >= String(seen[version])) pending.set(key, row);
        if (pending.size >= batchSize) await flush();
      }
      await flush();
    }
  } finally {
    await client.end();
  }
  return summary;
}

async function upsertRows(client: pg.Client, schema: string, spec: PostgresTableSpec, rows: Record<string, unknown>[]): Promise<void> {
  const fields = Object.entries(spec.record.fields);
  const names = fields.map(([n]) => quote(n));
  const arrays = fields.map(([n]) => rows.map((r) => (r[n] === null || r[n] === undefined ? null : String(r[n]))));
  const select = fields.map(([n, f], i) => `($${i + 1}::text[])[i]::${PG_TYPES[f.type]} AS ${quote(n)}`);
  const table = `${quote(schema)}.${quote(spec.table)}`;
  const nonKey = fields.map(([n]) => n).filter((n) => !spec.key.includes(n));
  const version = spec.record.version;
  const touchWatermark = spec.watermark in spec.record.fields ? [] : [`${quote(spec.watermark)} = clock_timestamp()`];
  const sets = [...nonKey.map((n) => `${quote(n)} = excluded.${quote(n)}`), ...touchWatermark];
  const condition = version
    ? `excluded.${quote(version)} > ${table}.${quote(version)}`
    : `(${nonKey.map((n) => `${table}.${quote(n)}`).join(', ')}) IS DISTINCT FROM (${nonKey.map((n) => `excluded.${quote(n)}`).join(', ')})`;
  await client.query(
    `INSERT INTO ${table} (${names.join(', ')})
     SELECT ${select.join(', ')} FROM generate_subscripts($1::text[], 1) AS i
     ON CONFLICT (${spec.key.map(quote).join(', ')}) DO UPDATE SET ${sets.join(', ')} WHERE ${condition}`,
    arrays,
  );
}
