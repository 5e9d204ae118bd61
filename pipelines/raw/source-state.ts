import type { DuckDBConnection } from '@duckdb/node-api';
import {
  EMPTY_STATE,
  type FileManifestEntry,
  type JsonValue,
  type SourceKind,
  type SourceState,
  type StateUpdate,
} from '../extract/source-contract.ts';
import { RAW_SCHEMA, ensureRawSchema } from './raw-schema.ts';

/**
 * Per-source extraction state in the warehouse: raw._source_state (cursor JSON: watermarks, page
 * cursors) and raw._file_manifest (files loaded, with checksums). Written only inside a batch's
 * transaction by loadBatch, read before a batch, inspected and reset by `crm state`.
 */

async function tableExists(connection: DuckDBConnection, table: string): Promise<boolean> {
  const rows = await connection.runAndReadAll(
    `SELECT count(*) FROM information_schema.tables WHERE table_schema = '${RAW_SCHEMA}' AND table_name = $1`,
    [table],
  );
  return Number(rows.getRows()[0]?.[0] ?? 0) > 0;
}

export async function readSourceState(connection: DuckDBConnection, source: string): Promise<SourceState> {
  if (!(await tableExists(connection, '_source_state'))) return EMPTY_STATE;
  const stateRows = (
    await connection.runAndReadAll(
      `SELECT state, batch_id, strftime(updated_at, '%Y-%m-%dT%H:%M:%S.%fZ') FROM ${RAW_SCHEMA}._source_state WHERE source = $1`,
      [source],
    )
  ).getRows();
  const fileRows = (
    await connection.runAndReadAll(
      `SELECT path, sha256, size_bytes, strftime(modified_at, '%Y-%m-%dT%H:%M:%S.%fZ'), records
     FROM ${RAW_SCHEMA}._file_manifest WHERE source = $1 ORDER BY path`,
      [source],
    )
  ).getRows();
  const files = new Map<string, FileManifestEntry>(
    fileRows.map((r) => [
      String(r[0]),
      { path: String(r[0]), sha256: String(r[1]), sizeBytes: Number(r[2]), modifiedAt: String(r[3]), records: Number(r[4]) },
    ]),
  );
  const row = stateRows[0];
  if (!row) return { ...EMPTY_STATE, files };
  return {
    cursor: row[0] === null ? null : (JSON.parse(String(row[0])) as JsonValue),
    files,
    batchId: String(row[1]),
    updatedAt: String(row[2]),
  };
}

/** Inside the batch transaction: the state row and manifest rows commit with the data. */
export async function writeSourceState(
  connection: DuckDBConnection,
  source: string,
  kind: SourceKind,
  batchId: string,
  update: StateUpdate,
): Promise<void> {
  const cursor = update.cursor === undefined ? null : JSON.stringify(update.cursor);
  const keepCursor = update.cursor === undefined;
  await connection.run(
    `INSERT INTO ${RAW_SCHEMA}._source_state VALUES ($1, $2, $3, $4, now())
     ON CONFLICT (source) DO UPDATE SET kind = excluded.kind, batch_id = excluded.batch_id, updated_at = excluded.updated_at
     ${keepCursor ? '' : ', state = excluded.state'}`,
    [source, kind, cursor, batchId],
  );
  for (const file of update.files ?? []) {
    await connection.run(
      `INSERT INTO ${RAW_SCHEMA}._file_manifest VALUES ($1, $2, $3, $4, CAST($5 AS TIMESTAMPTZ), $6, $7, now())
       ON CONFLICT (source, path) DO UPDATE SET sha256 = excluded.sha256, size_bytes = excluded.size_bytes,
         modified_at = excluded.modified_at, records = excluded.records, batch_id = excluded.batch_id, loaded_at = excluded.loaded_at`,
      [source, file.path, file.sha256, file.sizeBytes, file.modifiedAt, file.records, batchId],
    );
  }
}

export interface SourceStateReport {
  source: string;
  kind: string | null;
  cursor: JsonValue | null;
  batchId: string | null;
  updatedAt: string | null;
  files: FileManifestEntry[];
}

/** Every source with state (or only `source`), for `crm state show`. */
export async function listSourceStates(connection: DuckDBConnection, source?: string): Promise<SourceStateReport[]> {
  if (!(await tableExists(connection, '_source_state'))) return [];
  const names = (
    await connection.runAndReadAll(
      `SELECT source FROM ${RAW_SCHEMA}._source_state UNION SELECT source FROM ${RAW_SCHEMA}._file_manifest ORDER BY 1`,
    )
  )
    .getRows()
    .map((r) => String(r[0]))
    .filter((name) => source === undefined || name === source);
  const reports: SourceStateReport[] = [];
  for (const name of names) {
    const state = await readSourceState(connection, name);
    const kind = (
      await connection.runAndReadAll(`SELECT kind FROM ${RAW_SCHEMA}._source_state WHERE source = $1`, [name])
    ).getRows()[0]?.[0];
    reports.push({
      source: name,
      kind: kind === undefined ? null : String(kind),
      cursor: state.cursor,
      batchId: state.batchId,
      updatedAt: state.updatedAt,
      files: [...state.files.values()],
    });
  }
  return reports;
}

/**
 * Forgets a source's watermark/cursor and file manifest (one transaction). Raw rows stay: the next
 * run re-reads everything and the natural-key upsert keeps it free of duplicates.
 */
export async function resetSourceState(connection: DuckDBConnection, source: string): Promise<{ stateRows: number; files: number }> {
  await ensureRawSchema(connection);
  await connection.run('BEGIN TRANSACTION');
  try {
    const files = Number(
      (await connection.runAndReadAll(`SELECT count(*) FROM ${RAW_SCHEMA}._file_manifest WHERE source = $1`, [source])).getRows()[0]?.[0] ??
        0,
    );
    const stateRows = Number(
      (await connection.runAndReadAll(`SELECT count(*) FROM ${RAW_SCHEMA}._source_state WHERE source = $1`, [source])).getRows()[0]?.[0] ??
        0,
    );
    await connection.run(`DELETE FROM ${RAW_SCHEMA}._file_manifest WHERE source = $1`, [source]);
    await connection.run(`DELETE FROM ${RAW_SCHEMA}._source_state WHERE source = $1`, [source]);
    await connection.run('COMMIT');
    return { stateRows, files };
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
