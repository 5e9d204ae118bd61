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
    -- updates its row instead of adding another.
    CREATE TABLE IF NOT EXISTS ${RAW_SCHEMA}._quarantine (
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
      PRIMARY KEY (source, location, payload_md5)
    );
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
  `);
}

export async function ensureRawTable(connection: DuckDBConnection, record: DefinedRecord): Promise<void> {
  const columns = [
    ...Object.entries(record.fields).map(([name, f]) => `${quoteIdent(name)} ${f.type}`),
    ...LINEAGE_COLUMNS.map(([name, type]) => `${quoteIdent(name)} ${type}`),
    `PRIMARY KEY (${record.key.map(quoteIdent).join(', ')})`,
  ];
  await connection.run(`CREATE TABLE IF NOT EXISTS ${RAW_SCHEMA}.${quoteIdent(record.table)} (${columns.join(', ')})`);
}
