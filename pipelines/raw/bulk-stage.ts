import crypto from 'node:crypto';
import fs from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { DefinedRecord } from '../extract/record-schema.ts';
import type { BulkFile } from '../extract/source-contract.ts';
import { recordSql, sqlString, type SqlInput } from '../extract/sql-checks.ts';
import { quoteIdent } from './warehouse-connection.ts';

/**
 * The bulk load path for plain CSV and NDJSON file drops: DuckDB's own reader parses the file into
 * a text table, and the record's checks run there as SQL derived from the same `field.*` specs as
 * the zod schema (sql-checks.ts). Valid rows go to the stage table with their normalised values,
 * invalid ones carry their reason to the quarantine; the upsert after staging is shared with the
 * row path. Node still reads every byte once: for the SHA-256 the manifest keeps, and to number
 * lines exactly as the row path does (a quoted field may span lines, blank lines are skipped,
 * structurally broken records are quarantined here with the row path's reason). A file whose
 * shape this path does not handle (bare CR line ends, quote errors, DuckDB and Node disagreeing
 * on the record count) is declined and loaded by the row path instead.
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

/** Where the staged rows go: the stage table (text columns + lineage + reason columns). */
export interface BulkTarget {
  stage: string;
  quarantine: string;
}

const CHUNK = 1 << 20;
const PROGRESS_EVERY = 50_000;
const TIMING = process.env.CRM_BULK_TIMING === '1';
let mark = performance.now();
/** With CRM_BULK_TIMING=1: how long each step of the bulk path took (stderr), for profiling. */
function step(label: string): void {
  if (!TIMING) return;
  const now = performance.now();
  process.stderr.write(`[bulk] ${label}: ${((now - mark) / 1000).toFixed(2)} s\n`);
  mark = now;
}
const NQ = '\u0001\u0002';
const INVALID_JSON = '\u0001invalid-json';

/** Declines a file: the caller loads it with the row path. */
class Declined extends Error {}

export { step as bulkStep };

export async function stageFileInBulk(
  connection: DuckDBConnection,
  record: DefinedRecord,
  file: BulkFile,
  target: BulkTarget,
  /** Records scanned so far in this file, every PROGRESS_EVERY records (terminal progress, kill tests). */
  onRecords: (scanned: number) => void = () => undefined,
): Promise<BulkStaged | null> {
  const before = fs.statSync(file.absolute);
  try {
    const staged = file.format === 'csv'
      ? await stageCsv(connection, record, file, target, onRecords)
      : await stageNdjson(connection, record, file, target, onRecords);
    const after = fs.statSync(file.absolute);
    if ((file.knownSha !== undefined && file.knownSha !== staged.sha256) || after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new Error(`${file.relative} changed while it was being loaded; the batch is rolled back, re-run when the file is complete`);
    }
    return staged;
  } catch (error) {
    if (!(error instanceof Declined)) throw error;
    await connection.run(`DELETE FROM ${target.stage} WHERE _source_file = ${sqlString(file.relative)}`);
    await connection.run(`DELETE FROM ${target.quarantine} WHERE starts_with(location, ${sqlString(`${file.relative}:`)})`);
    return null;
  } finally {
    for (const table of ['_bulk_raw', '_bulk_events', '_bulk_payloads', '_bulk_lines']) {
      await connection.run(`DROP TABLE IF EXISTS temp.main.${table}`).catch(() => undefined);
    }
  }
}

// ---------------------------------------------------------------- CSV

interface CsvScan {
  sha256: string;
  header: string[];
  /** Structurally valid data records (what DuckDB should return after the header). */
  records: number;
  /** Records with the wrong number of columns: quarantined with the row path's reason. */
  broken: { line: number; text: string; found: number }[];
  /** (ordinal, line - ordinal) whenever that difference changes: maps DuckDB's row order to lines. */
  events: [number, number][];
}

/**
 * One pass over the bytes: SHA-256, and a quote-aware record scanner that knows where each record
 * ends (the line csv-parse reports) and how many columns it has. It mirrors csv-parse's defaults
 * (comma, double quote, "" escape, CRLF or LF); anything it is unsure about declines the file.
 */
async function scanCsv(filePath: string, onRecords: (scanned: number) => void): Promise<CsvScan> {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(filePath, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let header: string[] | null = null;
  let expected = 0;
  let line = 1;
  let cols = 1;
  let recordBytes = 0;
  let fieldStart = true;
  let inQuotes = false;
  let quotePending = false; // saw " inside quotes: closing quote or the first of ""
  let afterClose = false;
  let pendingCr = false;
  let carry: Buffer[] = [];
  let recordStart = 0;
  let ordinal = 0;
  let lastDelta = Number.NaN;
  let first = true;
  const broken: CsvScan['broken'] = [];
  const events: CsvScan['events'] = [];
  let headerText: Buffer | null = null;

  const endRecord = (chunk: Buffer, end: number) => {
    if (recordBytes === 0) return; // blank line: skipped, still counted as a line
    if (header === null || cols !== expected) {
      const text = Buffer.concat([...carry, chunk.subarray(recordStart, end)]);
      if (header === null) {
        headerText = text;
        header = [];
        expected = cols;
      } else {
        broken.push({ line, text: stripCr(text).toString('utf8'), found: cols });
      }
      return;
    }
    ordinal += 1;
    if (ordinal % PROGRESS_EVERY === 0) onRecords(ordinal);
    if (line - ordinal !== lastDelta) {
      lastDelta = line - ordinal;
      events.push([ordinal, lastDelta]);
    }
  };

  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      hash.update(chunk);
      let i = 0;
      if (first) {
        first = false;
        if (n >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3;
      }
      recordStart = i;
      carry = carry.length > 0 ? carry : [];
      for (; i < n; i++) {
        const b = chunk[i]!;
        if (pendingCr) {
          pendingCr = false;
          if (b !== 10) throw new Declined('bare CR');
        }
        if (inQuotes) {
          if (quotePending) {
            quotePending = false;
            if (b === 34) {
              recordBytes++;
              continue; // "" inside quotes
            }
            inQuotes = false;
            afterClose = true;
            // fall through: b is the byte after the closing quote
          } else {
            recordBytes++;
            if (b === 34) quotePending = true;
            else if (b === 10) line++;
            continue;
          }
        }
        if (b === 44) {
          cols++;
          recordBytes++;
          fieldStart = true;
          afterClose = false;
        } else if (b === 10) {
          endRecord(chunk, i);
          line++;
          cols = 1;
          recordBytes = 0;
          fieldStart = true;
          afterClose = false;
          carry = [];
          recordStart = i + 1;
        } else if (b === 13) {
          pendingCr = true;
        } else if (afterClose) {
          throw new Declined('text after a closing quote');
        } else if (b === 34) {
          if (!fieldStart) throw new Declined('quote inside an unquoted field');
          inQuotes = true;
          recordBytes++;
          fieldStart = false;
        } else {
          recordBytes++;
          fieldStart = false;
        }
      }
      if (recordStart < n) carry.push(Buffer.from(chunk.subarray(recordStart, n)));
    }
    if (quotePending) {
      inQuotes = false;
      afterClose = true;
    }
    if (inQuotes) throw new Declined('unterminated quote');
    endRecord(Buffer.alloc(0), 0);
  } finally {
    fs.closeSync(fd);
  }
  if (header === null || headerText === null) return { sha256: hash.digest('hex'), header: [], records: 0, broken, events };
  return { sha256: hash.digest('hex'), header: parseHeader(headerText), records: ordinal, broken, events };
}

/** The header from the first non-empty line, or null (empty file, or a header with a quoted line break). */
function quickHeader(filePath: string): string[] | null {
  const fd = fs.openSync(filePath, 'r');
  try {
    const buf = Buffer.alloc(1 << 16);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    let text = buf.subarray(0, n).toString('utf8').replace(/^\uFEFF/, '');
    text = text.replace(/^(\r?\n)+/, '');
    const end = text.indexOf('\n');
    if (end === -1) return null;
    const line = text.slice(0, end);
    if ((line.match(/"/g) ?? []).length % 2 !== 0) return null;
    return parseHeader(Buffer.from(line));
  } finally {
    fs.closeSync(fd);
  }
}

function stripCr(text: Buffer): Buffer {
  return text.length > 0 && text[text.length - 1] === 13 ? text.subarray(0, text.length - 1) : text;
}

/** The header record's names, trimmed as the row path trims them. */
function parseHeader(text: Buffer): string[] {
  const names: string[] = [];
  const s = stripCr(text).toString('utf8');
  let current = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') {
        current += '"';
        i++;
      } else if (c === '"') quoted = false;
      else current += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      names.push(current.trim());
      current = '';
    } else current += c;
  }
  names.push(current.trim());
  return names;
}

async function stageCsv(
  connection: DuckDBConnection,
  record: DefinedRecord,
  file: BulkFile,
  target: BulkTarget,
  onRecords: (scanned: number) => void,
): Promise<BulkStaged> {
  step(`start ${file.relative}`);
  // DuckDB reads the file (on its own threads) while Node scans it: the column count comes from
  // a quick look at the header line, which the full scan then confirms.
  const quick = quickHeader(file.absolute);
  let reading: Promise<unknown> | null = null;
  if (quick !== null) {
    await connection.run('SET preserve_insertion_order = true');
    const columns = quick.map((_, i) => `c${i}`);
    // Row order = file order, so rowid is the record's ordinal (the header is row 0).
    reading = connection.run(`CREATE OR REPLACE TEMP TABLE _bulk_raw AS SELECT * FROM read_csv(${sqlString(file.absolute)},
      header = false, auto_detect = false, columns = {${columns.map((c) => `'${c}': 'VARCHAR'`).join(', ')}},
      delim = ',', quote = '"', escape = '"', nullstr = ${sqlString(NQ)}, strict_mode = true, null_padding = false,
      ignore_errors = true, parallel = true)`);
    reading.catch(() => undefined); // awaited below; a scan error must not leave it unhandled
  }
  let scan: CsvScan;
  try {
    scan = await scanCsv(file.absolute, onRecords);
    step('scan (sha256, records, lines)');
  } finally {
    if (reading) {
      try {
        await reading;
      } finally {
        // (a failure above leaves the transaction aborted: keep its error, not this one's)
        await connection.run('SET preserve_insertion_order = false').catch(() => undefined);
      }
    }
  }
  step('read_csv into temp table');
  const counts: BulkStageCounts = { read: scan.records + scan.broken.length, rejected: scan.broken.length, unknownFields: {}, missingFields: {} };
  if (scan.header.length === 0) return { ...counts, sha256: scan.sha256 };
  if (quick === null || quick.join(',') !== scan.header.join(',')) throw new Declined('the header is not on the first line');
  const columns = scan.header.map((_, i) => `c${i}`);
  const rows = Number((await connection.runAndReadAll('SELECT count(*) FROM temp.main._bulk_raw')).getRows()[0]![0]);
  if (rows !== scan.records + 1) throw new Declined(`DuckDB read ${rows - 1} records, the scanner ${scan.records}`);

  // Later columns win on duplicate header names, as the row path's object assignment does.
  const indexOf = new Map<string, number>();
  scan.header.forEach((name, i) => indexOf.set(name, i));
  const fieldNames = Object.keys(record.fields);
  for (const name of indexOf.keys()) if (!(name in record.fields)) counts.unknownFields[name] = scan.records;
  for (const name of fieldNames) if (!indexOf.has(name)) counts.missingFields[name] = scan.records;
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
  await loadEvents(connection, scan.events);
  await connection.run(`
    INSERT INTO ${target.stage} (${[...fieldNames.map(quoteIdent), '_source_file', '_source_line', '_reason', '_record_key', '_payload'].join(', ')})
    SELECT ${fieldNames.map((n, i) => `CASE WHEN _reason IS NULL THEN ${valueAt(i)} END`).join(', ')}, ${sqlString(file.relative)}, _line, _reason,
           CASE WHEN _reason IS NOT NULL THEN _key END, CASE WHEN _reason IS NOT NULL THEN CAST(_span AS VARCHAR) END
    FROM (
      SELECT *, CASE WHEN _reason IS NOT NULL THEN ${key} END AS _key, CASE WHEN _reason IS NOT NULL THEN ${span} END AS _span FROM (
      SELECT ${checks.values.map((v, i) => `${v} AS _v${i}`).join(', ')}, ${checks.reason} AS _reason, _line, ${columns.join(', ')}
      FROM (
        SELECT r.*, r._ord + e.delta AS _line${checks.derived.map((d) => `, ${d}`).join('')}
        ${ordered('*', scan.events)}
        WHERE r._ord > 0
      )
    ))`);
  step('checks + stage insert');
  const quarantined = await connection.runAndReadAll(
    `SELECT _source_line, CAST(_payload AS INTEGER) FROM ${target.stage} WHERE _source_file = $1 AND _reason IS NOT NULL ORDER BY 1`,
    [file.relative],
  );
  const wanted = quarantined.getRows().map(([line, extra]) => ({ line: Number(line), first: Number(line) - Number(extra) }));
  const texts = wanted.length > 0 ? await readLines(file.absolute, wanted) : new Map<number, string>();
  await connection.run('CREATE OR REPLACE TEMP TABLE _bulk_payloads (line BIGINT, payload VARCHAR)');
  const payloads = await connection.createAppender('_bulk_payloads', 'main', 'temp');
  try {
    for (const [line, text] of texts) {
      payloads.appendBigInt(BigInt(line));
      payloads.appendVarchar(text);
      payloads.endRow();
    }
  } finally {
    payloads.closeSync();
  }
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
  await moveRejects(connection, file, target, `(SELECT payload FROM temp.main._bulk_payloads p WHERE p.line = s._source_line)`);
  counts.rejected += wanted.length;
  step('quarantine raw text');
  return { ...counts, sha256: scan.sha256 };
}

function valueAt(i: number): string {
  return `_v${i}`;
}

/**
 * The raw rows with their ordinal (rowid order = file order; rowids inside a transaction start at
 * an offset) and `e.delta`, the line minus the ordinal: a constant for files without multi-line
 * records, blank lines or broken records, else looked up in _bulk_events with an ASOF join.
 */
function ordered(columns: string, events: [number, number][]): string {
  const rows = `(SELECT rowid - (SELECT min(rowid) FROM temp.main._bulk_raw) AS _ord, ${columns} FROM temp.main._bulk_raw) AS r`;
  if (events.length <= 1) return `FROM ${rows}, (SELECT ${events[0]?.[1] ?? 1}::BIGINT AS delta) AS e`;
  return `FROM ${rows} ASOF JOIN temp.main._bulk_events AS e ON r._ord >= e.ord`;
}

async function loadEvents(connection: DuckDBConnection, events: [number, number][]): Promise<void> {
  await connection.run('CREATE OR REPLACE TEMP TABLE _bulk_events (ord BIGINT, delta BIGINT)');
  const appender = await connection.createAppender('_bulk_events', 'main', 'temp');
  try {
    for (const [ord, delta] of events.length > 0 ? events : [[0, 1] as [number, number]]) {
      appender.appendBigInt(BigInt(ord));
      appender.appendBigInt(BigInt(delta));
      appender.endRow();
    }
  } finally {
    appender.closeSync();
  }
}

/** Moves a file's invalid rows from the stage to the quarantine stage with their raw text. */
async function moveRejects(connection: DuckDBConnection, file: BulkFile, target: BulkTarget, payload: string): Promise<void> {
  await connection.run(`
    INSERT INTO ${target.quarantine} (location, record_key, reason, payload)
    SELECT ${sqlString(`${file.relative}:`)} || _source_line, _record_key, _reason, ${payload}
    FROM ${target.stage} AS s WHERE _source_file = ${sqlString(file.relative)} AND _reason IS NOT NULL`);
  await connection.run(`DELETE FROM ${target.stage} WHERE _source_file = ${sqlString(file.relative)} AND _reason IS NOT NULL`);
}

/** The text of lines first..line (LF-separated, terminators and a trailing CR removed) for each wanted record. */
async function readLines(filePath: string, wanted: { line: number; first: number }[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const byFirst = [...wanted].sort((a, b) => a.first - b.first);
  let next = 0;
  let line = 1;
  let current: Buffer[] | null = null;
  let target: { line: number; first: number } | null = null;
  const fd = fs.openSync(filePath, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let firstChunk = true;
  try {
    outer: for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      let pos = 0;
      if (firstChunk) {
        firstChunk = false;
        if (n >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
      }
      while (pos < n) {
        if (target === null && next < byFirst.length && byFirst[next]!.first === line) {
          target = byFirst[next++]!;
          current = [];
        }
        const nl = buf.indexOf(10, pos);
        const end = nl === -1 || nl >= n ? n : nl;
        if (current) current.push(Buffer.from(buf.subarray(pos, end)));
        if (end === n && (nl === -1 || nl >= n)) {
          pos = n;
          break;
        }
        if (current && target && line === target.line) {
          out.set(target.line, joinLines(current));
          current = null;
          target = null;
          if (next >= byFirst.length) break outer;
        } else if (current) current.push(Buffer.from('\n'));
        line++;
        pos = end + 1;
      }
    }
    if (current && target) out.set(target.line, joinLines(current));
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

function joinLines(parts: Buffer[]): string {
  return stripCr(Buffer.concat(parts)).toString('utf8');
}

// ---------------------------------------------------------------- NDJSON

/** SHA-256 and the empty lines (which DuckDB's line reader skips): maps row order to line numbers. */
async function scanNdjson(filePath: string, onRecords: (scanned: number) => void): Promise<{ sha256: string; rows: number; events: [number, number][] }> {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(filePath, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let line = 1;
  let lineBytes = 0; // bytes on the current line other than a CR
  let rows = 0;
  let lastDelta = Number.NaN;
  const events: [number, number][] = [];
  let first = true;
  const endLine = () => {
    if (lineBytes > 0) {
      if (line - rows !== lastDelta) {
        lastDelta = line - rows;
        events.push([rows, lastDelta]);
      }
      rows += 1;
      if (rows % PROGRESS_EVERY === 0) onRecords(rows);
    }
  };
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      hash.update(chunk);
      let pos = 0;
      if (first) {
        first = false;
        if (n >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) pos = 3;
      }
      while (pos < n) {
        const nl = chunk.indexOf(10, pos);
        const end = nl === -1 ? n : nl;
        let bytes = end - pos;
        if (bytes > 0 && chunk[end - 1] === 13 && nl !== -1) bytes -= 1;
        lineBytes += bytes;
        if (nl === -1) break;
        // A CR at the end of the previous chunk was counted; only a lone CR line is "empty".
        endLine();
        line += 1;
        lineBytes = 0;
        pos = nl + 1;
      }
    }
    endLine();
  } finally {
    fs.closeSync(fd);
  }
  return { sha256: hash.digest('hex'), rows, events };
}

async function stageNdjson(
  connection: DuckDBConnection,
  record: DefinedRecord,
  file: BulkFile,
  target: BulkTarget,
  onRecords: (scanned: number) => void,
): Promise<BulkStaged> {
  step(`start ${file.relative}`);
  const scan = await scanNdjson(file.absolute, onRecords);
  step('scan (sha256, lines)');
  const counts: BulkStageCounts = { read: 0, rejected: 0, unknownFields: {}, missingFields: {} };
  if (scan.rows === 0) return { ...counts, sha256: scan.sha256 };
  await connection.run('SET preserve_insertion_order = true');
  try {
    // Each line as one text value (no quoting, a separator no JSON text contains unescaped).
    await connection.run(`CREATE OR REPLACE TEMP TABLE _bulk_raw AS SELECT j FROM read_csv(${sqlString(file.absolute)},
      header = false, auto_detect = false, columns = {'j': 'VARCHAR'}, delim = ${sqlString('\u001f')}, quote = '', escape = '',
      nullstr = ${sqlString(NQ)}, strict_mode = false, ignore_errors = true, parallel = true)`);
  } finally {
    // (a failure above leaves the transaction aborted: keep its error, not this one's)
    await connection.run('SET preserve_insertion_order = false').catch(() => undefined);
  }
  step('read lines into temp table');
  const rows = Number((await connection.runAndReadAll('SELECT count(*) FROM temp.main._bulk_raw')).getRows()[0]![0]);
  if (rows !== scan.rows) throw new Declined(`DuckDB read ${rows} lines, the scanner ${scan.rows}`);
  const fieldNames = Object.keys(record.fields);
  // One parse per line for the values: json_transform into a struct of JSON texts (NULL = missing).
  const shape = sqlString(JSON.stringify(Object.fromEntries(fieldNames.map((n) => [n, 'JSON']))));
  const v = (i: number) => `_o[${sqlString(fieldNames[i]!)}]`;
  // json_transform gives SQL NULL for a JSON null and for a missing key alike: the key list tells them apart.
  const kindOf = (i: number) => `CASE WHEN ${v(i)} IS NULL THEN CASE WHEN list_contains(_keys, ${sqlString(fieldNames[i]!)}) THEN 'null' END
    ELSE CASE left(${v(i)}, 1) WHEN '"' THEN 'string' WHEN 't' THEN 'boolean' WHEN 'f' THEN 'boolean'
    WHEN '{' THEN 'object' WHEN '[' THEN 'array' ELSE 'number' END END`;
  const textOf = (i: number) => `CASE WHEN left(${v(i)}, 1) = '"' AND NOT contains(${v(i)}, '\\') THEN ${v(i)}[2:-2]
    ELSE json_extract_string(${v(i)}, '$') END`;
  const input = (name: string): SqlInput => {
    const i = fieldNames.indexOf(name);
    return { text: `_t${i}`, kind: `_k${i}`, json: `CASE _k${i} WHEN 'string' THEN to_json(_t${i})::VARCHAR WHEN 'null' THEN 'null' ELSE ${v(i)}::VARCHAR END` };
  };
  const checks = recordSql(Object.entries(record.fields), input);
  const key = `concat_ws('|', ${record.key.map((k) => `coalesce(_t${fieldNames.indexOf(k)}, '')`).join(', ')})`;
  const known = `[${fieldNames.map(sqlString).join(', ')}]`;
  // Schema drift per line, only built when a line has other keys than the schema's: 'u:<unknown key>' and 'm:<missing field>'.
  const drift = `CASE WHEN len(_keys) <> ${fieldNames.length} OR NOT list_has_all(_keys, ${known}) THEN array_to_string(list_concat(
      list_transform(list_filter(_keys, k -> NOT list_contains(${known}, k)), k -> 'u:' || k),
      list_transform(list_filter(${known}, k -> NOT list_contains(_keys, k)), k -> 'm:' || k)), chr(30)) END`;
  await loadEvents(connection, scan.events);
  await connection.run(`
    INSERT INTO ${target.stage} (${[...fieldNames.map(quoteIdent), '_source_file', '_source_line', '_reason', '_record_key', '_payload', '_drift'].join(', ')})
    SELECT ${fieldNames.map((_, i) => `CASE WHEN _reason IS NULL THEN _v${i} END`).join(', ')}, ${sqlString(file.relative)}, _line, _reason,
           CASE WHEN _reason IS NOT NULL AND _is_object THEN _key END, CASE WHEN _reason IS NOT NULL THEN j END, _drift
    FROM (
      SELECT ${checks.values.map((val, i) => `CASE WHEN _is_object THEN ${val} END AS _v${i}`).join(', ')},
             CASE WHEN NOT _valid THEN ${sqlString(INVALID_JSON)} WHEN NOT _is_object THEN 'line is not a JSON object' ELSE ${checks.reason} END AS _reason,
             CASE WHEN _is_object THEN ${key} END AS _key, _line, j, _is_object, CASE WHEN _is_object THEN ${drift} END AS _drift
      FROM (
        SELECT *${checks.derived.map((d) => `, CASE WHEN _is_object THEN ${d.slice(0, d.lastIndexOf(' AS '))} END AS ${d.slice(d.lastIndexOf(' AS ') + 4)}`).join('')}
        FROM (
          SELECT *, ${fieldNames.map((_, i) => `${kindOf(i)} AS _k${i}, ${textOf(i)} AS _t${i}`).join(', ')}
          FROM (
            SELECT *, CASE WHEN _is_object THEN json_transform(j, ${shape}) END AS _o, CASE WHEN _is_object THEN json_keys(j) END AS _keys
            FROM (
              SELECT _line, j, json_valid(j) AS _valid, json_valid(j) AND starts_with(ltrim(j), '{') AS _is_object
              FROM (
                SELECT r._ord + e.delta AS _line, CASE WHEN suffix(r.j, chr(13)) THEN left(r.j, -1) ELSE r.j END AS j
                ${ordered('j', scan.events)}
                WHERE trim(r.j, ${sqlString(' \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff')}) <> ''
              )
            )
          )
        )
      )
    )`);
  step('checks + stage insert');
  const driftRows = await connection.runAndReadAll(`
    SELECT d, count(*) FROM (SELECT unnest(string_split(_drift, chr(30))) AS d FROM ${target.stage} WHERE _source_file = $1 AND _drift IS NOT NULL) GROUP BY d`,
    [file.relative]);
  for (const [d, n] of driftRows.getRows()) {
    const text = String(d);
    (text.startsWith('u:') ? counts.unknownFields : counts.missingFields)[text.slice(2)] = Number(n);
  }
  counts.read = Number(
    (await connection.runAndReadAll(`SELECT count(*) FROM ${target.stage} WHERE _source_file = $1`, [file.relative])).getRows()[0]![0],
  );
  step('schema drift');
  // Lines that are not JSON: the row path's reason carries JSON.parse's own message.
  const invalid = await connection.runAndReadAll(
    `SELECT _source_line, _payload FROM ${target.stage} WHERE _source_file = $1 AND _reason = $2`,
    [file.relative, INVALID_JSON],
  );
  for (const [line, text] of invalid.getRows()) {
    let reason = 'invalid JSON';
    try {
      JSON.parse(String(text));
      reason = 'invalid JSON: DuckDB could not parse this line';
    } catch (error) {
      reason = `invalid JSON: ${(error as Error).message}`;
    }
    await connection.run(`UPDATE ${target.stage} SET _reason = $1, _record_key = NULL WHERE _source_file = $2 AND _source_line = $3`, [
      reason, file.relative, Number(line),
    ]);
  }
  const rejected = Number(
    (await connection.runAndReadAll(`SELECT count(*) FROM ${target.stage} WHERE _source_file = $1 AND _reason IS NOT NULL`, [file.relative])).getRows()[0]![0],
  );
  counts.rejected = rejected;
  await moveRejects(connection, file, target, '_payload');
  step('quarantine');
  return { ...counts, sha256: scan.sha256 };
}
