import fs from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { DefinedRecord } from '../extract/record-schema.ts';
import type { BulkFile } from '../extract/source-contract.ts';
import { recordSql, sqlString, type SqlInput } from '../extract/sql-checks.ts';
import type { StageLines } from './bulk-lines.ts';
import { quickHeader, readLines, scanCsvExact, scanCsvFast, scanNdjson, ScanDeclined, type CsvScan } from './bulk-scan.ts';
import { quoteIdent } from './warehouse-connection.ts';
import { envValue } from '../../shared/env.ts';

/**
 * The bulk load path for plain CSV and NDJSON file drops, one pass inside DuckDB: its reader
 * parses the file and the record's checks (SQL derived from the same `field.*` specs as the zod
 * schema, sql-checks.ts) run in the same statement, which writes every record once into the typed
 * stage table: valid ones with their values in the raw column types, invalid ones with their
 * reason (moved to the quarantine right after). Node reads every byte once meanwhile (bulk-scan.ts):
 * for the SHA-256 the manifest keeps, and to number lines exactly as the row path does; the line of
 * a staged row is derived from its rowid (bulk-lines.ts). A file whose shape this path does not
 * handle (bare CR line ends, quote errors, DuckDB and Node disagreeing on the record count) is
 * declined and loaded by the row path instead.
 */

export interface BulkStageCounts {
  read: number;
  rejected: number;
  unknownFields: Record<string, number>;
  missingFields: Record<string, number>;
}

export interface BulkStaged extends BulkStageCounts {
  sha256: string;
}

/** Where the staged rows go: the typed stage table (+ lineage and reason columns), the quarantine stage, line numbering. */
export interface BulkTarget {
  stage: string;
  quarantine: string;
  lines: StageLines;
}

const TIMING = envValue('CRM_BULK_TIMING') === '1';
let mark = performance.now();
/** With CRM_BULK_TIMING=1: how long each step of the bulk path took (stderr), for profiling. */
function step(label: string): void {
  if (!TIMING) return;
  const now = performance.now();
  process.stderr.write(`[bulk] ${label}: ${((now - mark) / 1000).toFixed(2)} s\n`);
  mark = now;
}
/** With CRM_BULK_TIMING=1: DuckDB's memory by tag (duckdb_memory()), for profiling memory. */
export async function bulkMemory(connection: DuckDBConnection, label: string): Promise<void> {
  if (!TIMING) return;
  const rows = (
    await connection.runAndReadAll(
      `SELECT tag, memory_usage_bytes // 1048576 AS mb, temporary_storage_bytes // 1048576 AS temp_mb FROM duckdb_memory() WHERE memory_usage_bytes + temporary_storage_bytes > 1048576 ORDER BY 2 DESC`,
    )
  ).getRows();
  process.stderr.write(
    `[bulk] memory ${label}: ${rows.map(([tag, mb, temp]) => `${String(tag)} ${String(mb)} MB (temp ${String(temp)} MB)`).join(', ') || 'under 1 MB per tag'}\n`,
  );
}
const NQ = '\u0001\u0002';
/** Reason markers resolved after the insert: a line that is not JSON (Node words it), a whitespace-only line (dropped). */
const INVALID_JSON = '\u0001invalid-json';
const BLANK = '\u0001blank';
/** The characters JavaScript's String.prototype.trim removes (a whitespace-only NDJSON line is skipped). */
const JS_WHITESPACE =
  ' \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff';

/** Declines a file: the caller loads it with the row path. */
class Declined extends Error {}

export { step as bulkStep };

export async function stageFileInBulk(
  connection: DuckDBConnection,
  record: DefinedRecord,
  file: BulkFile,
  target: BulkTarget,
  /** Records scanned so far in this file, every 50,000 records (terminal progress, kill tests). */
  onRecords: (scanned: number) => void = () => undefined,
): Promise<BulkStaged | null> {
  const before = fs.statSync(file.absolute);
  try {
    const staged =
      file.format === 'csv'
        ? await stageCsv(connection, record, file, target, onRecords)
        : await stageNdjson(connection, record, file, target, onRecords);
    const after = fs.statSync(file.absolute);
    if (
      (file.knownSha !== undefined && file.knownSha !== staged.sha256) ||
      after.size !== before.size ||
      after.mtimeMs !== before.mtimeMs
    ) {
      throw new Error(`${file.relative} changed while it was being loaded; the batch is rolled back, re-run when the file is complete`);
    }
    return staged;
  } catch (error) {
    if (!(error instanceof Declined) && !(error instanceof ScanDeclined)) throw error;
    await connection.run(`DELETE FROM ${target.stage} WHERE _source_file = ${sqlString(file.relative)}`);
    await connection.run(`DELETE FROM ${target.quarantine} WHERE starts_with(location, ${sqlString(`${file.relative}:`)})`);
    return null;
  } finally {
    await connection.run('DROP TABLE IF EXISTS temp.main._bulk_fix').catch(() => undefined);
  }
}

/**
 * Runs the staging INSERT with DuckDB's reader in file order (so stage rowids follow the file)
 * while Node scans the file; a scan error still waits for the statement.
 */
async function insertWhileScanning<T>(connection: DuckDBConnection, insert: string, scan: () => Promise<T>): Promise<T> {
  await connection.run('SET preserve_insertion_order = true');
  await assertOrderedInsert(connection, insert);
  try {
    return await runWhileScanning(connection, insert, scan);
  } finally {
    // (a failure above leaves the transaction aborted: keep its error, not this one's)
    await connection.run('SET preserve_insertion_order = false').catch(() => undefined);
  }
}

/**
 * Runs a statement that reads a file with DuckDB's reader while Node scans the same file (both read
 * it once, side by side); the statement is awaited even when the scan fails, and its error wins.
 * The bulk path's staging insert and the mapped path's reader staging (reader-stage.ts) share it.
 */
export async function runWhileScanning<T>(connection: DuckDBConnection, sql: string, scan: () => Promise<T>): Promise<T> {
  const reading = connection.run(sql);
  reading.catch(() => undefined); // awaited below; a scan error must not leave it unhandled
  try {
    return await scan();
  } finally {
    await reading;
  }
}

/**
 * DuckDB keeps file order in an insert only through its batch insert, which it plans when every
 * operator between the reader and the insert keeps batch order (projections do; joins, e.g. a long
 * IN list, do not). Otherwise threads would interleave chunks and line numbers would be wrong, so
 * the plan is checked before the statement runs.
 */
async function assertOrderedInsert(connection: DuckDBConnection, insert: string): Promise<void> {
  // One thread reads and inserts in file order without a batch insert (CRM_EXTRACT_THREADS=1).
  const threads = Number((await connection.runAndReadAll(`SELECT current_setting('threads')`)).getRows()[0]?.[0] ?? 0);
  if (threads === 1) return;
  const plan = (await connection.runAndReadAll(`EXPLAIN ${insert}`))
    .getRows()
    .map((row) => String(row[1]))
    .join('\n');
  if (!plan.includes('BATCH_INSERT')) throw new Error('bulk stage: the insert would not keep file order (no BATCH_INSERT in its plan)');
}

/** How many rows of the file the insert staged, and the rowid range they hold (contiguous, or the file is declined). */
async function stagedRange(connection: DuckDBConnection, stage: string, file: BulkFile): Promise<{ rows: number; first: bigint }> {
  const result = await connection.runAndReadAll(
    `SELECT count(*), coalesce(min(rowid), 0), coalesce(max(rowid), -1) FROM ${stage} WHERE _source_file = $1`,
    [file.relative],
  );
  const [count, min, max] = result.getRows()[0]! as [bigint, bigint, bigint];
  if (count > 0n && max - min + 1n !== count) throw new Declined('staged rows are not contiguous');
  return { rows: Number(count), first: min };
}

// ---------------------------------------------------------------- CSV

async function stageCsv(
  connection: DuckDBConnection,
  record: DefinedRecord,
  file: BulkFile,
  target: BulkTarget,
  onRecords: (scanned: number) => void,
): Promise<BulkStaged> {
  step(`start ${file.relative}`);
  // The column layout comes from a quick look at the header line (the scan confirms it), so
  // DuckDB reads and checks the file while Node scans it.
  const quick = quickHeader(file.absolute);
  if (quick === null) {
    const scan = await scanCsvExact(file.absolute, onRecords);
    if (scan.header.length > 0) throw new Declined('the header is not on the first line');
    return { read: 0, rejected: 0, unknownFields: {}, missingFields: {}, sha256: scan.sha256 };
  }
  const fieldNames = Object.keys(record.fields);
  // Later columns win on duplicate header names, as the row path's object assignment does.
  const indexOf = new Map<string, number>();
  quick.forEach((name, i) => indexOf.set(name, i));
  const columns = quick.map((_, i) => `c${i}`);
  const input = (name: string): SqlInput => {
    const i = indexOf.get(name);
    if (i === undefined) return { text: 'NULL::VARCHAR', kind: 'NULL::VARCHAR', json: 'NULL::VARCHAR' };
    const text = `coalesce(c${i}, '')`;
    return { text, kind: `'string'`, json: `to_json(${text})::VARCHAR` };
  };
  const checks = recordSql(Object.entries(record.fields), input);
  const key = `concat_ws('|', ${record.key.map((k) => (indexOf.has(k) ? `coalesce(c${indexOf.get(k)}, '')` : `''`)).join(', ')})`;
  // Lines a record spans beyond its last: to cut its raw text out of the file for the quarantine.
  const span = columns.map((c) => `coalesce(length(${c}) - length(replace(${c}, chr(10), '')), 0)`).join(' + ');
  const insert = `
    INSERT INTO ${target.stage} (${[...fieldNames.map(quoteIdent), '_source_file', '_reason', '_record_key', '_payload'].join(', ')})
    SELECT ${fieldNames.map((_, i) => `_v${i}`).join(', ')}, ${sqlString(file.relative)}, _reason,
           CASE WHEN _reason IS NOT NULL THEN ${key} END, CASE WHEN _reason IS NOT NULL THEN CAST(${span} AS VARCHAR) END
    FROM (
      SELECT ${checks.typed.map((v, i) => `${v} AS _v${i}`).join(', ')}, ${checks.reason} AS _reason, ${columns.join(', ')}
      FROM (
        SELECT *${checks.derived.map((d) => `, ${d}`).join('')}
        FROM read_csv(${sqlString(file.absolute)}, header = true, auto_detect = false,
          columns = {${columns.map((c) => `'${c}': 'VARCHAR'`).join(', ')}}, delim = ',', quote = '"', escape = '"',
          nullstr = ${sqlString(NQ)}, strict_mode = true, null_padding = false, ignore_errors = true, parallel = true)
      )
    )`;
  let scan: CsvScan | null = await insertWhileScanning(connection, insert, () => scanCsvFast(file.absolute, onRecords));
  step(scan ? 'read + checks + stage insert (fast scan alongside)' : 'read + checks + stage insert');
  const { rows, first } = await stagedRange(connection, target.stage, file);
  // A quote, a CR or a record DuckDB dropped (wrong column count): the exact scan numbers the lines.
  if (scan === null || scan.records !== rows) {
    scan = await scanCsvExact(file.absolute, onRecords);
    step('exact scan (quotes, CR or broken records)');
  }
  if (quick.join(',') !== scan.header.join(',')) throw new Declined('the header is not on the first line');
  if (rows !== scan.records) throw new Declined(`DuckDB read ${rows} records, the scanner ${scan.records}`);
  target.lines.addFile(first, scan.events, 1);
  await target.lines.prepare(connection);

  const counts: BulkStageCounts = {
    read: scan.records + scan.broken.length,
    rejected: scan.broken.length,
    unknownFields: {},
    missingFields: {},
  };
  for (const name of indexOf.keys()) if (!(name in record.fields)) counts.unknownFields[name] = scan.records;
  for (const name of fieldNames) if (!indexOf.has(name)) counts.missingFields[name] = scan.records;

  // Rejected records get their raw text cut from the file (the stage holds how many lines each spans).
  const { join, line } = target.lines.sql('s');
  const quarantined = await connection.runAndReadAll(
    `SELECT s.rowid, ${line}, CAST(s._payload AS INTEGER) FROM ${target.stage} AS s${join} WHERE s._source_file = $1 AND s._reason IS NOT NULL`,
    [file.relative],
  );
  const wanted = quarantined
    .getRows()
    .map(([rid, at, extra]) => ({ rid: rid as bigint, line: Number(at), first: Number(at) - Number(extra) }));
  const texts = wanted.length > 0 ? await readLines(file.absolute, wanted) : new Map<number, string>();
  await writeFixes(
    connection,
    wanted.map((w) => ({ rid: w.rid, reason: null, payload: texts.get(w.line) ?? null })),
  );
  const rejects = await connection.createAppender(target.quarantine.replace(/^temp\.main\./, ''), 'main', 'temp');
  try {
    for (const bad of scan.broken) {
      rejects.appendVarchar(`${file.relative}:${bad.line}`);
      rejects.appendNull();
      rejects.appendVarchar(`expected ${scan.header.length} columns, found ${bad.found}`);
      rejects.appendVarchar(bad.text);
      rejects.endRow();
    }
  } finally {
    rejects.closeSync();
  }
  await moveRejects(connection, file, target, 'x.payload');
  counts.rejected += wanted.length;
  step('quarantine raw text');
  await bulkMemory(connection, `after staging ${file.relative}`);
  return { ...counts, sha256: scan.sha256 };
}

/** Per staged row (by rowid): a reason or payload that Node supplies for the quarantine. */
async function writeFixes(
  connection: DuckDBConnection,
  fixes: { rid: bigint; reason: string | null; payload: string | null }[],
): Promise<void> {
  await connection.run('CREATE OR REPLACE TEMP TABLE _bulk_fix (rid BIGINT, reason VARCHAR, payload VARCHAR)');
  const appender = await connection.createAppender('_bulk_fix', 'main', 'temp');
  try {
    for (const fix of fixes) {
      appender.appendBigInt(fix.rid);
      if (fix.reason === null) appender.appendNull();
      else appender.appendVarchar(fix.reason);
      if (fix.payload === null) appender.appendNull();
      else appender.appendVarchar(fix.payload);
      appender.endRow();
    }
  } finally {
    appender.closeSync();
  }
}

/** Moves a file's invalid rows from the stage to the quarantine stage, with their line and raw text. */
async function moveRejects(connection: DuckDBConnection, file: BulkFile, target: BulkTarget, payload: string): Promise<void> {
  const { join, line } = target.lines.sql('s');
  await connection.run(`
    INSERT INTO ${target.quarantine} (location, record_key, reason, payload)
    SELECT ${sqlString(`${file.relative}:`)} || q._line, q._record_key, coalesce(x.reason, q._reason), ${payload}
    FROM (SELECT s.rowid AS _rid, ${line} AS _line, s._record_key, s._reason, s._payload
          FROM ${target.stage} AS s${join} WHERE s._source_file = ${sqlString(file.relative)} AND s._reason IS NOT NULL) AS q
    LEFT JOIN temp.main._bulk_fix AS x ON x.rid = q._rid`);
  await connection.run(`DELETE FROM ${target.stage} WHERE _source_file = ${sqlString(file.relative)} AND _reason IS NOT NULL`);
}

// ---------------------------------------------------------------- NDJSON

async function stageNdjson(
  connection: DuckDBConnection,
  record: DefinedRecord,
  file: BulkFile,
  target: BulkTarget,
  onRecords: (scanned: number) => void,
): Promise<BulkStaged> {
  step(`start ${file.relative}`);
  const fieldNames = Object.keys(record.fields);
  const v = (i: number) => `_j${i}`;
  // One parse per line: the object as a map of key -> JSON text; a JSON null is a present key
  // with a NULL value, a missing field an absent key.
  // (ascii() reads only the first character: a JSON value's first byte tells its type.)
  const kindOf = (i: number) => `CASE WHEN ${v(i)} IS NULL THEN CASE WHEN map_contains(_m, ${sqlString(fieldNames[i]!)}) THEN 'null' END
    ELSE CASE ascii(${v(i)}) WHEN 34 THEN 'string' WHEN 116 THEN 'boolean' WHEN 102 THEN 'boolean'
    WHEN 123 THEN 'object' WHEN 91 THEN 'array' ELSE 'number' END END`;
  const textOf = (i: number) => `CASE WHEN ascii(${v(i)}) = 34 AND NOT contains(${v(i)}, '\\') THEN ${v(i)}[2:-2]
    ELSE json_extract_string(${v(i)}, '$') END`;
  const input = (name: string): SqlInput => {
    const i = fieldNames.indexOf(name);
    return {
      text: `_t${i}`,
      kind: `_k${i}`,
      json: `CASE _k${i} WHEN 'string' THEN to_json(_t${i})::VARCHAR WHEN 'null' THEN 'null' ELSE ${v(i)}::VARCHAR END`,
    };
  };
  const checks = recordSql(Object.entries(record.fields), input);
  const key = `concat_ws('|', ${record.key.map((k) => `coalesce(_t${fieldNames.indexOf(k)}, '')`).join(', ')})`;
  const known = `[${fieldNames.map(sqlString).join(', ')}]`;
  // Schema drift per line: 'u:<unknown key>' and 'm:<missing field>'. When the object has no other
  // keys than the schema's present fields (its key count is theirs), the missing fields are the ones
  // with no kind, without building the key list; other lines (unknown or duplicate keys) list their keys.
  const present = fieldNames.map((_, i) => `(_k${i} IS NOT NULL)::INTEGER`).join(' + ');
  const missing = `nullif(concat_ws(chr(30), ${fieldNames.map((n, i) => `CASE WHEN _k${i} IS NULL THEN ${sqlString(`m:${n}`)} END`).join(', ')}), '')`;
  const drift = `CASE WHEN cardinality(_m) = ${present} THEN ${missing} WHEN map_keys(_m) = ${known} THEN NULL WHEN len(map_keys(_m)) <> ${fieldNames.length} OR NOT list_has_all(map_keys(_m), ${known}) THEN array_to_string(list_concat(
      list_transform(list_filter(map_keys(_m), k -> NOT list_contains(${known}, k)), k -> 'u:' || k),
      list_transform(list_filter(${known}, k -> NOT list_contains(map_keys(_m), k)), k -> 'm:' || k)), chr(30)) END`;
  // Every line DuckDB returns is staged (whitespace-only ones too, then dropped), so rowids follow the file.
  const insert = `
    INSERT INTO ${target.stage} (${[...fieldNames.map(quoteIdent), '_source_file', '_reason', '_record_key', '_payload', '_drift'].join(', ')})
    SELECT ${fieldNames.map((_, i) => `_v${i}`).join(', ')}, ${sqlString(file.relative)}, _reason,
           CASE WHEN _reason IS NOT NULL AND _is_object THEN ${key} END, CASE WHEN _reason IS NOT NULL THEN j END,
           CASE WHEN _is_object THEN ${drift} END
    FROM (
      SELECT *, ${checks.typed.map((val, i) => `${val} AS _v${i}`).join(', ')},
             CASE WHEN _blank THEN ${sqlString(BLANK)} WHEN _is_object THEN ${checks.reason}
                  WHEN json_valid(j) THEN 'line is not a JSON object' ELSE ${sqlString(INVALID_JSON)} END AS _reason
      FROM (
        SELECT *${checks.derived.map((d) => `, ${d}`).join('')}
        FROM (
          SELECT *, ${fieldNames.map((_, i) => `${kindOf(i)} AS _k${i}, ${textOf(i)} AS _t${i}`).join(', ')}
          FROM (
            SELECT *, _m IS NOT NULL AS _is_object, ${fieldNames.map((n, i) => `_m[${sqlString(n)}] AS _j${i}`).join(', ')}
            FROM (
              SELECT j, _blank, CASE WHEN NOT _blank AND json_valid(j) THEN json_transform(j, '"MAP(VARCHAR, JSON)"') END AS _m
              FROM (
                -- (a visible ASCII first character settles it without the costly character-set trim)
                SELECT j, CASE WHEN ascii(j) BETWEEN 33 AND 126 THEN false ELSE coalesce(trim(j, ${sqlString(JS_WHITESPACE)}) = '', true) END AS _blank
                FROM (
                  SELECT CASE WHEN suffix(j, chr(13)) THEN left(j, -1) ELSE j END AS j
                  -- Each line as one text value (no quoting, a separator no JSON text contains unescaped).
                  FROM read_csv(${sqlString(file.absolute)}, header = false, auto_detect = false, columns = {'j': 'VARCHAR'},
                    delim = ${sqlString('\u001f')}, quote = '', escape = '', nullstr = ${sqlString(NQ)}, strict_mode = false,
                    ignore_errors = true, parallel = true)
                )
              )
            )
          )
        )
      )
    )`;
  const scan = await insertWhileScanning(connection, insert, () => scanNdjson(file.absolute, onRecords));
  step('read + checks + stage insert (scan alongside)');
  const { rows, first } = await stagedRange(connection, target.stage, file);
  if (rows !== scan.rows) throw new Declined(`DuckDB read ${rows} lines, the scanner ${scan.rows}`);
  target.lines.addFile(first, scan.events, 0);
  await target.lines.prepare(connection);
  await connection.run(`DELETE FROM ${target.stage} WHERE _source_file = $1 AND _reason = $2`, [file.relative, BLANK]);

  const counts: BulkStageCounts = { read: 0, rejected: 0, unknownFields: {}, missingFields: {} };
  const driftRows = await connection.runAndReadAll(
    `
    SELECT d, count(*) FROM (SELECT unnest(string_split(_drift, chr(30))) AS d FROM ${target.stage} WHERE _source_file = $1 AND _drift IS NOT NULL) GROUP BY d`,
    [file.relative],
  );
  for (const [d, n] of driftRows.getRows()) {
    const text = String(d);
    (text.startsWith('u:') ? counts.unknownFields : counts.missingFields)[text.slice(2)] = Number(n);
  }
  const [read, rejected] = (
    await connection.runAndReadAll(`SELECT count(*), count(_reason) FROM ${target.stage} WHERE _source_file = $1`, [file.relative])
  )
    .getRows()[0]!
    .map(Number) as [number, number];
  counts.read = read;
  counts.rejected = rejected;
  step('schema drift');
  // Lines that are not JSON: the row path's reason carries JSON.parse's own message.
  const invalid = await connection.runAndReadAll(`SELECT rowid, _payload FROM ${target.stage} WHERE _source_file = $1 AND _reason = $2`, [
    file.relative,
    INVALID_JSON,
  ]);
  await writeFixes(
    connection,
    invalid.getRows().map(([rid, text]) => ({ rid: rid as bigint, reason: jsonParseReason(String(text)), payload: null })),
  );
  await moveRejects(connection, file, target, 'q._payload');
  step('quarantine');
  return { ...counts, sha256: scan.sha256 };
}

function jsonParseReason(text: string): string {
  try {
    JSON.parse(text);
    return 'invalid JSON: DuckDB could not parse this line';
  } catch (error) {
    return `invalid JSON: ${(error as Error).message}`;
  }
}
