import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { describeIssues, type DefinedRecord } from '../extract/record-schema.ts';
import type { SourceRecord } from '../extract/readers/source-record.ts';
import type { BatchPart, SourceKind, StateUpdate } from '../extract/source-contract.ts';
import { LINEAGE_COLUMNS, QUARANTINE_KEY, RAW_SCHEMA, ensureRawSchema, ensureRawTable } from './raw-schema.ts';
import { StageLines } from './bulk-lines.ts';
import { bulkMemory, bulkStep, stageFileInBulk } from './bulk-stage.ts';
import { writeSourceState } from './source-state.ts';
import { quoteIdent, sqlString } from './warehouse-connection.ts';
import { envValue } from '../../shared/env.ts';

export type { BatchPart } from '../extract/source-contract.ts';

export interface LoadOptions {
  onProgress?: (recordsRead: number) => void;
  /** Source kind recorded with its state row. */
  kind?: SourceKind;
  /** Called after every part was read, inside the transaction: the state committed with the batch. */
  finish?: () => StateUpdate | Promise<StateUpdate>;
  /** Extra tables the source may write (created before the transaction). */
  extraTables?: readonly DefinedRecord[];
}

export interface TableLoadSummary {
  table: string;
  read: number;
  inserted: number;
  updated: number;
  /** Valid records identical to (or older than) what raw already holds. */
  unchanged: number;
  /** Older versions of a key that a newer record in the same batch replaced. */
  superseded: number;
  rejected: number;
  /** Fields the source sent that the schema does not know, with how many records had them. */
  unknownFields: Record<string, number>;
  /** Fields the schema expects that records lacked, with how many records lacked them. */
  missingFields: Record<string, number>;
  /** The first few rejections, for the run summary; all of them are in raw._quarantine. */
  rejectedSamples: { location: string; reason: string }[];
  /** Files read by the bulk path (DuckDB reader + SQL checks), and files it declined (row path). */
  bulk?: { files: number; declined: string[] };
}

export interface BatchSummary {
  source: string;
  batchId: string;
  tables: TableLoadSummary[];
  /** The state committed with this batch (cursor: undefined = unchanged; files: paths loaded). */
  state?: { cursor?: unknown; files: string[] };
}

const SAMPLE_LIMIT = 5;

/**
 * Loads every part of a source's batch in ONE transaction: either all tables and quarantine rows
 * of the batch are committed, or (on any error, or if the process dies) none are. Valid records
 * are bulk-appended to a temp stage table, de-duplicated to the newest version per natural key and
 * upserted; invalid ones go to raw._quarantine with the reason and the raw text.
 */
export async function loadBatch(
  connection: DuckDBConnection,
  source: string,
  batchId: string,
  parts: BatchPart[],
  progressOrOptions?: ((recordsRead: number) => void) | LoadOptions,
): Promise<BatchSummary> {
  const options: LoadOptions = typeof progressOrOptions === 'function' ? { onProgress: progressOrOptions } : (progressOrOptions ?? {});
  const { onProgress } = options;
  await ensureRawSchema(connection);
  for (const record of new Set([...parts.map((p) => p.record), ...(options.extraTables ?? [])])) await ensureRawTable(connection, record);
  const startedAt = new Date().toISOString();
  await connection.run('BEGIN TRANSACTION');
  try {
    const tables: TableLoadSummary[] = [];
    let readSoFar = 0;
    let ordersQuarantined = false;
    for (const part of parts) {
      const lines = new StageLines();
      const summary = await stagePart(connection, source, part, lines, (n) => onProgress?.(readSoFar + n));
      readSoFar += summary.read;
      bulkStep(`staged ${part.record.table}`);
      if (ordersQuarantined && ORDER_LINE_TABLES.has(part.record.table) && 'order_id' in part.record.fields) {
        await quarantineOrphanedLines(connection, part.record, summary, lines);
      }
      await upsertStaged(connection, part.record, batchId, summary, lines);
      bulkStep(`upsert ${part.record.table}`);
      await bulkMemory(connection, `after upsert ${part.record.table}`);
      if (part.record.table === 'orders') ordersQuarantined = await noteQuarantinedOrders(connection);
      await moveQuarantine(connection, source, part.record.table, batchId);
      // Free the stage's memory before the next table is staged (temp tables count against memory_limit).
      await connection.run(`DROP TABLE IF EXISTS ${stageTable(part.record.table)}`);
      await connection.run('DROP TABLE IF EXISTS temp.main._stage_latest');
      await connection.run('DROP TABLE IF EXISTS temp.main._stage_actions');
      tables.push(summary);
    }
    await connection.run('DROP TABLE IF EXISTS temp.main._quarantined_orders');
    await recordBatch(connection, source, batchId, startedAt, tables);
    let state: BatchSummary['state'];
    if (options.finish) {
      const update = await options.finish();
      await writeSourceState(connection, source, options.kind ?? 'files', batchId, update);
      state = { cursor: update.cursor, files: (update.files ?? []).map((f) => f.path) };
    }
    await connection.run('COMMIT');
    bulkStep('commit');
    return { source, batchId, tables, ...(state ? { state } : {}) };
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function stagePart(
  connection: DuckDBConnection,
  source: string,
  part: BatchPart,
  lines: StageLines,
  onProgress: (read: number) => void,
): Promise<TableLoadSummary> {
  const { record } = part;
  const stage = stageTable(record.table);
  // Staged in the raw column types: the bulk path writes its checked values typed, the row path's
  // appender casts zod's output text on append. Bulk rows leave _source_line NULL (see StageLines).
  await connection.run(
    `CREATE OR REPLACE TEMP TABLE ${stage} (${Object.entries(record.fields)
      .map(([n, f]) => `${quoteIdent(n)} ${f.type}`)
      .join(', ')}, _source_file VARCHAR,
      _source_line BIGINT, _reason VARCHAR, _record_key VARCHAR, _payload VARCHAR, _drift VARCHAR)`,
  );
  await connection.run(
    'CREATE OR REPLACE TEMP TABLE _stage_quarantine (location VARCHAR, record_key VARCHAR, reason VARCHAR, payload VARCHAR)',
  );
  const summary: TableLoadSummary = {
    table: record.table,
    read: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    superseded: 0,
    rejected: 0,
    unknownFields: {},
    missingFields: {},
    rejectedSamples: [],
  };
  if (part.bulk && bulkEnabled(record)) {
    // Bulk path: each file read and validated inside DuckDB; a file it declines takes the row path.
    summary.bulk = { files: 0, declined: [] };
    for (const file of part.bulk.files) {
      if (file.rowOnly) {
        await appendRecords(connection, record, part.bulk.rowRecords(file), summary, (n) => onProgress(n));
        continue;
      }
      const readBefore = summary.read;
      const staged = await stageFileInBulk(connection, record, file, { stage, quarantine: 'temp.main._stage_quarantine', lines }, (n) =>
        onProgress(readBefore + n),
      );
      if (staged === null) {
        summary.bulk.declined.push(file.relative);
        await appendRecords(connection, record, part.bulk.rowRecords(file), summary, (n) => onProgress(n));
        continue;
      }
      summary.bulk.files += 1;
      part.bulk.loaded(file, staged.sha256, staged.read);
      summary.read += staged.read;
      summary.rejected += staged.rejected;
      for (const [name, n] of Object.entries(staged.unknownFields)) summary.unknownFields[name] = (summary.unknownFields[name] ?? 0) + n;
      for (const [name, n] of Object.entries(staged.missingFields)) summary.missingFields[name] = (summary.missingFields[name] ?? 0) + n;
      onProgress(summary.read);
    }
    if (summary.rejected > 0) {
      const samples = await connection.runAndReadAll(`SELECT location, reason FROM temp.main._stage_quarantine LIMIT ${SAMPLE_LIMIT}`);
      summary.rejectedSamples = samples.getRows().map(([location, reason]) => ({ location: String(location), reason: String(reason) }));
    }
  } else if (part.checked !== undefined) {
    await appendRecords(connection, record, part.records, summary, onProgress);
    await stageChecked(connection, record, part.checked, summary, onProgress);
  } else {
    await appendRecords(connection, record, part.records, summary, onProgress);
  }
  onProgress(summary.read);
  return summary;
}

/**
 * Rows a source validated in SQL (part.checked), appended to the stage as the source's DuckDB data
 * chunks in its order (the dedupe breaks ties within a file by stage rowid); the rejected ones among
 * them are then moved to the quarantine stage with their raw text (CheckedRows.rawText).
 */
async function stageChecked(
  connection: DuckDBConnection,
  record: DefinedRecord,
  checked: NonNullable<BatchPart['checked']>,
  summary: TableLoadSummary,
  onProgress: (read: number) => void,
): Promise<void> {
  const stage = stageTable(record.table);
  const rows = await connection.createAppender(stageTableName(record.table), 'main', 'temp');
  try {
    for await (const chunk of checked.rows()) {
      rows.appendDataChunk(chunk);
      summary.read += chunk.rowCount;
      onProgress(summary.read);
    }
  } finally {
    rows.closeSync();
  }
  for (const [name, n] of Object.entries(checked.unknownFields)) summary.unknownFields[name] = (summary.unknownFields[name] ?? 0) + n;
  for (const [name, n] of Object.entries(checked.missingFields)) summary.missingFields[name] = (summary.missingFields[name] ?? 0) + n;
  const rejected = (
    await connection.runAndReadAll(
      `SELECT _source_file, _source_line, _record_key, _reason, _payload FROM ${stage} WHERE _reason IS NOT NULL ORDER BY rowid`,
    )
  ).getRows();
  if (rejected.length === 0) return;
  const byFile = new Map<string, { line: number; key: string | null; reason: string; payload: string | null }[]>();
  for (const [file, line, key, reason, payload] of rejected) {
    const rows = byFile.get(String(file)) ?? [];
    rows.push({
      line: Number(line),
      key: key === null ? null : String(key),
      reason: String(reason),
      payload: payload === null ? null : String(payload),
    });
    byFile.set(String(file), rows);
  }
  const rejects = await connection.createAppender('_stage_quarantine', 'main', 'temp');
  try {
    for (const [file, bad] of byFile) {
      const texts = await checked.rawText(file, bad);
      for (const row of bad) {
        const location = `${file}:${row.line}`;
        rejects.appendVarchar(location);
        if (row.key === null) rejects.appendNull();
        else rejects.appendVarchar(row.key);
        rejects.appendVarchar(row.reason);
        rejects.appendVarchar(texts.get(row.line) ?? '');
        rejects.endRow();
        summary.rejected += 1;
        if (summary.rejectedSamples.length < SAMPLE_LIMIT) summary.rejectedSamples.push({ location, reason: row.reason });
      }
    }
  } finally {
    rejects.closeSync();
  }
  await connection.run(`DELETE FROM ${stage} WHERE _reason IS NOT NULL`);
}

/** Environment switch: CRM_BULK_LOAD=0 sends every record through the row path (zod per record). */
export const BULK_LOAD_ENV = 'CRM_BULK_LOAD';

function bulkEnabled(record: DefinedRecord): boolean {
  return envValue(BULK_LOAD_ENV) !== '0' && Object.values(record.fields).every((f) => f.sql !== undefined);
}

/** Row path: every record validated by zod in JavaScript and appended to the stage. */
async function appendRecords(
  connection: DuckDBConnection,
  record: DefinedRecord,
  records: AsyncIterable<SourceRecord>,
  summary: TableLoadSummary,
  onProgress: (read: number) => void,
): Promise<void> {
  const fieldNames = Object.keys(record.fields);
  const rows = await connection.createAppender(stageTableName(record.table), 'main', 'temp');
  const rejects = await connection.createAppender('_stage_quarantine', 'main', 'temp');
  const known = new Set(fieldNames);
  try {
    for await (const item of records) {
      summary.read += 1;
      if (summary.read % 50_000 === 0) onProgress(summary.read);
      const reason = item.fields === null ? (item.parseError ?? 'unreadable record') : null;
      if (item.fields !== null) trackDrift(item.fields, known, summary);
      if (item.fields !== null && item.rejected !== undefined) {
        appendReject(rejects, item, record, item.rejected);
        summary.rejected += 1;
        if (summary.rejectedSamples.length < SAMPLE_LIMIT) summary.rejectedSamples.push({ location: item.location, reason: item.rejected });
        continue;
      }
      if (item.fields !== null && item.checked !== undefined) {
        // Validated in SQL by the source (the bulk path's rules): appended as they are.
        for (const value of item.checked) {
          if (value === null) rows.appendNull();
          else rows.appendVarchar(value);
        }
      } else {
        const parsed = item.fields === null ? null : record.validator.safeParse(item.fields);
        if (parsed === null || !parsed.success) {
          const why = reason ?? describeIssues(parsed!.error!, item.fields!);
          appendReject(rejects, item, record, why);
          summary.rejected += 1;
          if (summary.rejectedSamples.length < SAMPLE_LIMIT) summary.rejectedSamples.push({ location: item.location, reason: why });
          continue;
        }
        const values = parsed.data as Record<string, unknown>;
        for (const name of fieldNames) {
          const value = values[name];
          if (value === null || value === undefined) rows.appendNull();
          else rows.appendVarchar(String(value));
        }
      }
      rows.appendVarchar(item.file);
      rows.appendBigInt(BigInt(item.line));
      for (let i = 0; i < 4; i++) rows.appendNull(); // bulk-path columns (reason, key, payload, drift)
      rows.endRow();
    }
  } finally {
    rows.closeSync();
    rejects.closeSync();
  }
}

function trackDrift(fields: Record<string, unknown>, known: Set<string>, summary: TableLoadSummary): void {
  for (const name of Object.keys(fields)) {
    if (!known.has(name)) summary.unknownFields[name] = (summary.unknownFields[name] ?? 0) + 1;
  }
  for (const name of known) {
    if (!(name in fields)) summary.missingFields[name] = (summary.missingFields[name] ?? 0) + 1;
  }
}

function appendReject(appender: DuckDBAppender, item: SourceRecord, record: DefinedRecord, reason: string): void {
  const key = item.fields === null ? null : record.key.map((k) => String(item.fields![k] ?? '')).join('|');
  appender.appendVarchar(item.location);
  if (key === null) appender.appendNull();
  else appender.appendVarchar(key);
  appender.appendVarchar(reason);
  appender.appendVarchar(item.rawText);
  appender.endRow();
}

function stageTableName(table: string): string {
  return `_stage_${table}`;
}

function stageTable(table: string): string {
  return `temp.main.${quoteIdent(stageTableName(table))}`;
}

async function upsertStaged(
  connection: DuckDBConnection,
  record: DefinedRecord,
  batchId: string,
  summary: TableLoadSummary,
  lines: StageLines,
): Promise<void> {
  const target = `${RAW_SCHEMA}.${quoteIdent(record.table)}`;
  const fields = Object.entries(record.fields);
  const stage = stageTable(record.table);
  await dropSuperseded(connection, record, stage);
  bulkStep(`dedupe ${record.table}`);
  const { join, line } = lines.sql('s');
  const latestSql = `SELECT ${fields.map(([n]) => `s.${quoteIdent(n)}`).join(', ')}, s._source_file, ${line} AS _source_line FROM ${stage} AS s${join}`;
  const lineage = `_source_file, _source_line, ${sqlString(batchId)}, now()`;
  const allColumns = [...fields.map(([n]) => n), ...LINEAGE_COLUMNS.map(([n]) => n)];
  const empty = (await connection.runAndReadAll(`SELECT NOT EXISTS (SELECT 1 FROM ${target})`)).getRows()[0]?.[0] === true;
  if (empty) {
    // First load of the table (or a backfill into an empty one): every newest version is an
    // insert, so it goes straight in without materialising the latest versions and the join.
    await connection.run(`
      INSERT INTO ${target} (${allColumns.map(quoteIdent).join(', ')})
      SELECT ${fields.map(([n]) => quoteIdent(n)).join(', ')}, ${lineage} FROM (${latestSql})`);
    bulkStep(`insert ${record.table}`);
    const latest = Number((await connection.runAndReadAll(`SELECT count(*) FROM ${target}`)).getRows()[0]?.[0] ?? 0);
    summary.inserted = latest;
    summary.updated = 0;
    summary.unchanged = 0;
    summary.superseded = summary.read - summary.rejected - latest;
    return;
  }
  await connection.run(`CREATE OR REPLACE TEMP TABLE _stage_latest AS ${latestSql}`);
  const nonKey = fields.map(([n]) => n).filter((n) => !record.key.includes(n));
  const changed = (incoming: string, current: string) =>
    record.version
      ? `${incoming}.${quoteIdent(record.version)} > ${current}.${quoteIdent(record.version)}`
      : `(${nonKey.map((n) => `${incoming}.${quoteIdent(n)}`).join(', ')}) IS DISTINCT FROM (${nonKey.map((n) => `${current}.${quoteIdent(n)}`).join(', ')})`;
  const keyJoin = record.key.map((k) => `l.${quoteIdent(k)} = r.${quoteIdent(k)}`).join(' AND ');
  // One join decides each staged row's fate; the update and insert below then touch only those rows.
  // Plain joins (not INSERT ... ON CONFLICT on a primary-key index) so DuckDB can spill to disk
  // and memory stays bounded however large the table grows.
  await connection.run(`
    CREATE OR REPLACE TEMP TABLE _stage_actions AS
    SELECT l.*, CASE WHEN r.${quoteIdent(record.key[0]!)} IS NULL THEN 'insert' WHEN ${changed('l', 'r')} THEN 'update' END AS _action
    FROM _stage_latest l LEFT JOIN ${target} r ON ${keyJoin}`);
  const counts = await connection.runAndReadAll(`
    SELECT count(*) AS latest, count(*) FILTER (WHERE _action = 'insert'), count(*) FILTER (WHERE _action = 'update')
    FROM _stage_actions`);
  const [latest, inserted, updated] = (counts.getRows()[0] ?? []).map((v) => Number(v));
  summary.inserted = inserted ?? 0;
  summary.updated = updated ?? 0;
  summary.unchanged = (latest ?? 0) - summary.inserted - summary.updated;
  summary.superseded = summary.read - summary.rejected - (latest ?? 0);
  if (summary.updated > 0) {
    const nonKeyFields = fields.map(([n]) => n).filter((n) => !record.key.includes(n));
    const sets = [
      ...nonKeyFields.map((n) => `${quoteIdent(n)} = l.${quoteIdent(n)}`),
      '_source_file = l._source_file',
      '_source_line = l._source_line',
      `_batch_id = ${sqlString(batchId)}`,
      '_loaded_at = now()',
    ];
    await connection.run(`
      UPDATE ${target} AS r SET ${sets.join(', ')}
      FROM (SELECT * FROM _stage_actions WHERE _action = 'update') AS l
      WHERE ${keyJoin}`);
  }
  if (summary.inserted > 0) {
    await connection.run(`
      INSERT INTO ${target} (${allColumns.map(quoteIdent).join(', ')})
      SELECT ${fields.map(([n]) => quoteIdent(n)).join(', ')}, ${lineage}
      FROM _stage_actions WHERE _action = 'insert'`);
  }
}

/**
 * Newest version per key wins inside the batch (late and out-of-order rows): by version (a NULL
 * version loses), then the later file, then the later line (a file's rows are staged in line
 * order, so its rowids order its lines). Only keys staged more than once are ranked (one
 * aggregate finds them); the older versions are deleted from the stage, so what is left is read
 * by a plain scan. Key fields are required, so never NULL in a staged row.
 */
async function dropSuperseded(connection: DuckDBConnection, record: DefinedRecord, stage: string): Promise<void> {
  const keys = record.key.map(quoteIdent);
  const version = record.version ? `s.${quoteIdent(record.version)} DESC NULLS LAST, ` : '';
  await connection.run(`
    DELETE FROM ${stage} WHERE rowid IN (
      SELECT rid FROM (
        SELECT s.rowid AS rid, row_number() OVER (PARTITION BY ${keys.map((k) => `s.${k}`).join(', ')} ORDER BY ${version}s._source_file DESC, s.rowid DESC) AS n
        FROM ${stage} AS s SEMI JOIN (SELECT ${keys.join(', ')} FROM ${stage} GROUP BY ALL HAVING count(*) > 1) AS d
          ON ${keys.map((k) => `s.${k} = d.${k}`).join(' AND ')}
      ) WHERE n > 1
    )`);
}

/** Records that belong to an order: quarantined with it when their order was (see quarantineOrphanedLines). */
const ORDER_LINE_TABLES = new Set(['order_items', 'order_payments', 'order_refunds', 'order_cancellations']);

/**
 * After the orders of a batch are upserted: the ids of the orders this batch quarantined that have
 * no valid version in raw.orders (neither from this batch nor an earlier one), into a temp table.
 * Returns whether there are any.
 */
async function noteQuarantinedOrders(connection: DuckDBConnection): Promise<boolean> {
  await connection.run(`
    CREATE OR REPLACE TEMP TABLE _quarantined_orders AS
    SELECT DISTINCT q.record_key AS order_id FROM temp.main._stage_quarantine AS q
    WHERE q.record_key IS NOT NULL AND q.record_key <> ''
      AND NOT EXISTS (SELECT 1 FROM ${RAW_SCHEMA}.orders AS o WHERE o.order_id = q.record_key)`);
  const [[count]] = (await connection.runAndReadAll('SELECT count(*) FROM temp.main._quarantined_orders')).getRows() as [[bigint]];
  return count > 0n;
}

/**
 * Valid lines (items, payments, refunds, cancellations) whose order was quarantined in the same
 * batch are quarantined too, with the reason `order <id> quarantined` and the values they would have
 * been stored with as the payload: a line never lands in raw without its order, and nothing is
 * silently dropped. They are counted as rejected.
 */
async function quarantineOrphanedLines(
  connection: DuckDBConnection,
  record: DefinedRecord,
  summary: TableLoadSummary,
  lines: StageLines,
): Promise<void> {
  const stage = stageTable(record.table);
  const { join, line } = lines.sql('s');
  const key = `concat_ws('|', ${record.key.map((k) => `coalesce(CAST(s.${quoteIdent(k)} AS VARCHAR), '')`).join(', ')})`;
  const payload = `to_json(struct_pack(${Object.keys(record.fields)
    .map((n) => `${quoteIdent(n)} := s.${quoteIdent(n)}`)
    .join(', ')}))::VARCHAR`;
  const orphaned = `s.order_id IN (SELECT order_id FROM temp.main._quarantined_orders)`;
  const moved = await connection.runAndReadAll(`
    INSERT INTO temp.main._stage_quarantine (location, record_key, reason, payload)
    SELECT s._source_file || ':' || ${line}, ${key}, 'order ' || s.order_id || ' quarantined', ${payload}
    FROM ${stage} AS s${join} WHERE ${orphaned}
    RETURNING location, reason`);
  const rows = moved.getRows();
  if (rows.length === 0) return;
  await connection.run(`DELETE FROM ${stage} AS s WHERE ${orphaned}`);
  summary.rejected += rows.length;
  for (const [location, reason] of rows) {
    if (summary.rejectedSamples.length >= SAMPLE_LIMIT) break;
    summary.rejectedSamples.push({ location: String(location), reason: String(reason) });
  }
}

async function moveQuarantine(connection: DuckDBConnection, source: string, table: string, batchId: string): Promise<void> {
  await connection.run(`
    INSERT INTO ${RAW_SCHEMA}._quarantine
    SELECT ${sqlString(source)}, ${sqlString(table)}, location, record_key, reason, payload, md5(payload),
           ${sqlString(batchId)}, ${sqlString(batchId)}, now()
    FROM _stage_quarantine
    ON CONFLICT (${QUARANTINE_KEY.join(', ')}) DO UPDATE SET last_batch_id = excluded.last_batch_id, reason = excluded.reason`);
}

async function recordBatch(
  connection: DuckDBConnection,
  source: string,
  batchId: string,
  startedAt: string,
  tables: TableLoadSummary[],
): Promise<void> {
  const sum = (pick: (t: TableLoadSummary) => number) => tables.reduce((acc, t) => acc + pick(t), 0);
  const drift = Object.fromEntries(tables.map((t) => [t.table, { unknown: t.unknownFields, missing: t.missingFields }]));
  await connection.run(
    `INSERT INTO ${RAW_SCHEMA}._load_batches VALUES ($1, $2, CAST($3 AS TIMESTAMPTZ), now(), $4, $5, $6, $7, $8, $9, $10)`,
    [
      batchId,
      source,
      startedAt,
      JSON.stringify(tables.map((t) => t.table)),
      sum((t) => t.read),
      sum((t) => t.inserted),
      sum((t) => t.updated),
      sum((t) => t.unchanged),
      sum((t) => t.rejected),
      JSON.stringify(drift),
    ],
  );
}
