import type { DuckDBConnection } from '@duckdb/node-api';
import type { DefinedRecord } from '../extract/record-schema.ts';
import { quoteIdent } from './warehouse-connection.ts';

export const RAW_SCHEMA = 'raw';

/** Lineage columns every raw table carries: which file and line, which batch, when. */
export const LINEAGE_COLUMNS = [
  ['_source_file', 'VARCHAR'],
  ['_source_line', 'BIGINT'],
  ['_batch_id', 'VARCHAR'],
  ['_loaded_at', 'TIMESTAMPTZ'],
] as const;

export async function ensureRawSchema(connection: DuckDBConnection): Promise<void> {
  await connection.run(`
    CREATE SCHEMA IF NOT EXISTS ${RAW_SCHEMA};
    -- Rejected records, kept with their reason and raw payload; re-loading the same bad line
    -- updates its row instead of adding another. Keyed per raw table: one line rejected for two
    -- tables (an order-lines export's order and its item) keeps both reasons.
    ${quarantineTable('_quarantine', 'IF NOT EXISTS ')};
    -- One row per committed extract batch: the per-source load log.
    CREATE TABLE IF NOT EXISTS ${RAW_SCHEMA}._load_batches (
      batch_id VARCHAR PRIMARY KEY,
      source VARCHAR NOT NULL,
      started_at TIMESTAMPTZ NOT NULL,
      finished_at TIMESTAMPTZ NOT NULL,
      files VARCHAR NOT NULL,
      records_read BIGINT NOT NULL,
      inserted BIGINT NOT NULL,
      updated BIGINT NOT NULL,
      unchanged BIGINT NOT NULL,
      rejected BIGINT NOT NULL,
      schema_drift VARCHAR NOT NULL
    );
    -- Per-source extraction state (watermarks, cursors), written in the same transaction as the
    -- batch it describes, so state and data can never disagree.
    CREATE TABLE IF NOT EXISTS ${RAW_SCHEMA}._source_state (
      source VARCHAR PRIMARY KEY,
      kind VARCHAR NOT NULL,
      state VARCHAR,
      batch_id VARCHAR NOT NULL,
      updated_at TIMESTAMPTZ NOT NULL
    );
    -- File-drop manifest: one row per file a source has loaded, with the checksum it had. A file is
    -- read again only when its checksum changes.
    CREATE TABLE IF NOT EXISTS ${RAW_SCHEMA}._file_manifest (
      source VARCHAR NOT NULL,
      path VARCHAR NOT NULL,
      sha256 VARCHAR NOT NULL,
      size_bytes BIGINT NOT NULL,
      modified_at TIMESTAMPTZ NOT NULL,
      records BIGINT NOT NULL,
      batch_id VARCHAR NOT NULL,
      loaded_at TIMESTAMPTZ NOT NULL,
      PRIMARY KEY (source, path)
    );
  `);
  await migrateQuarantineKey(connection);
}

/** The quarantine's key. */
export const QUARANTINE_KEY = ['source', 'raw_table', 'location', 'payload_md5'] as const;

/** The quarantine's CREATE TABLE (the table, and the copy a key migration fills). */
function quarantineTable(table: string, ifNotExists = ''): string {
  return `CREATE TABLE ${ifNotExists}${RAW_SCHEMA}.${table} (
      source VARCHAR NOT NULL,
      raw_table VARCHAR NOT NULL,
      location VARCHAR NOT NULL,
      record_key VARCHAR,
      reason VARCHAR NOT NULL,
      payload VARCHAR NOT NULL,
      payload_md5 VARCHAR NOT NULL,
      first_batch_id VARCHAR NOT NULL,
      last_batch_id VARCHAR NOT NULL,
      rejected_at TIMESTAMPTZ NOT NULL,
      PRIMARY KEY (${QUARANTINE_KEY.join(', ')})
    )`;
}

/**
 * Warehouses created before the quarantine was keyed per raw table have the key (source, location,
 * payload_md5), under which a second reason for the same line overwrote the first. DuckDB cannot
 * change a primary key in place, so the table is rebuilt with the new key and its rows copied (every
 * old row is unique under the wider key too), in one transaction.
 */
async function migrateQuarantineKey(connection: DuckDBConnection): Promise<void> {
  const rows = await connection.runAndReadAll(
    `SELECT constraint_column_names FROM duckdb_constraints()
     WHERE schema_name = '${RAW_SCHEMA}' AND table_name = '_quarantine' AND constraint_type = 'PRIMARY KEY'`,
  );
  const key = (rows.getRows()[0]?.[0] as { items: unknown[] } | undefined)?.items.map(String) ?? [];
  if (key.join(',') === QUARANTINE_KEY.join(',')) return;
  const columns = 'source, raw_table, location, record_key, reason, payload, payload_md5, first_batch_id, last_batch_id, rejected_at';
  await connection.run('BEGIN TRANSACTION');
  try {
    await connection.run(`
      ${quarantineTable('_quarantine_rekeyed')}`);
    await connection.run(`INSERT INTO ${RAW_SCHEMA}._quarantine_rekeyed (${columns}) SELECT ${columns} FROM ${RAW_SCHEMA}._quarantine`);
    await connection.run(`DROP TABLE ${RAW_SCHEMA}._quarantine`);
    await connection.run(`ALTER TABLE ${RAW_SCHEMA}._quarantine_rekeyed RENAME TO _quarantine`);
    await connection.run('COMMIT');
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

export async function ensureRawTable(connection: DuckDBConnection, record: DefinedRecord): Promise<void> {
  const columns = [
    ...Object.entries(record.fields).map(([name, f]) => `${quoteIdent(name)} ${f.type}`),
    ...LINEAGE_COLUMNS.map(([name, type]) => `${quoteIdent(name)} ${type}`),
  ];
  // No PRIMARY KEY: DuckDB keeps key indexes in memory, which would grow with the table. The
  // loader keeps keys unique itself (dedupe per batch, then update-or-insert by join), and dbt's
  // source tests check it. Tables created by older versions keep their key; loading works with both.
  await connection.run(`CREATE TABLE IF NOT EXISTS ${RAW_SCHEMA}.${quoteIdent(record.table)} (${columns.join(', ')})`);
  // Additive schema evolution: a column added to the record definition is added to an existing
  // raw table (nullable), so older warehouses keep loading. Columns are never dropped; the only
  // retype is a lossless widening (WIDENINGS), so a value the new rule accepts is not rounded away.
  const existing = await connection.runAndReadAll(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = '${RAW_SCHEMA}' AND table_name = $1`,
    [record.table],
  );
  const have = new Map(existing.getRows().map((r) => [String(r[0]), String(r[1])]));
  for (const [name, f] of Object.entries(record.fields)) {
    const table = `${RAW_SCHEMA}.${quoteIdent(record.table)}`;
    const type = have.get(name);
    if (type === undefined) await connection.run(`ALTER TABLE ${table} ADD COLUMN ${quoteIdent(name)} ${f.type}`);
    else if (WIDENINGS[f.type]?.includes(type))
      await connection.run(`ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(name)} TYPE ${f.type}`);
  }
}

/**
 * Column types an existing raw column may be widened from without losing a value: unit prices went
 * from 2 to 4 decimals (issue 25). DECIMAL(18,4) holds 14 integer digits; the price rule allows 14.
 */
const WIDENINGS: Partial<Record<string, readonly string[]>> = { 'DECIMAL(18,4)': ['DECIMAL(18,2)'] };
