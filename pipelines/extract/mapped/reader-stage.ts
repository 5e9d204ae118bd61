import type { DuckDBConnection } from '@duckdb/node-api';
import { StageLines } from '../../raw/bulk-lines.ts';
import { runWhileScanning } from '../../raw/bulk-stage.ts';
import { quickHeader, scanCsvExact, scanCsvFast, scanNdjson, ScanDeclined, type CsvScan } from '../../raw/bulk-scan.ts';
import type { SourceRecord } from '../readers/source-record.ts';
import { JS_WHITESPACE, jsTrim, sqlString } from '../sql-checks.ts';
import { quoteName } from './mapping-sql.ts';
import type { SourceMapping } from './mapping-schema.ts';

/**
 * Staging a mapped file with DuckDB's own reader (the bulk path's way): `read_csv` with every column
 * as text and the mapping's delimiter, or each line as one text value split on runs of whitespace,
 * while Node reads the same bytes once (bulk-scan.ts) for the SHA-256 and to number lines exactly as
 * csv-parse and readline do (StageLines maps the reader's row order to those lines). The staged
 * table has the shape the csv-parse staging gives: `_line`, `_first` (the first line of a record that
 * spans several), `_raw` (the line's text where it is at hand, else NULL: a rejected record's text is
 * cut from the file afterwards, readLines) and one text column per header name. A file whose shape
 * this cannot vouch for (quotes csv-parse's relax_quotes would read, bare CR line ends, DuckDB and the
 * scanner disagreeing on the record count, no header on the first line, NDJSON) is declined: the
 * caller stages it with csv-parse as before.
 */

export interface ReaderStaged {
  /** Rows staged with the header's number of columns. */
  records: number;
  /** Lines that could not be split into the header's columns (quarantined by the file's first record). */
  broken: SourceRecord[];
  /** Whether `_raw` is NULL, so a rejected record's text must be read from the file. */
  rawFromFile: boolean;
  sha256: string;
  /**
   * Whether the staged table is a view over the reader's rows (their line numbers computed as they
   * are read, not written a second time); it then already has the format's optional columns, and
   * `<table>_read` holds its rows until it is dropped (dropStaged).
   */
  view: boolean;
}

/** Drops what stageWithReader staged for a file (a view and its rows, or a table). */
export async function dropStaged(connection: DuckDBConnection, table: string, view: boolean): Promise<void> {
  if (view) {
    await connection.run(`DROP VIEW IF EXISTS ${table}`);
    await connection.run(`DROP TABLE IF EXISTS ${table}_read`);
  } else await connection.run(`DROP TABLE IF EXISTS ${table}`);
}

const NQ = '\u0001\u0002';
/** JavaScript's /\s+/ as an RE2 class (RE2's \s is ASCII only). */
const JS_SPACE_RUN = `[${[...JS_WHITESPACE].map((c) => `\\x{${c.codePointAt(0)!.toString(16)}}`).join('')}]+`;

export async function stageWithReader(
  connection: DuckDBConnection,
  readPath: string,
  relative: string,
  table: string,
  format: SourceMapping['format'],
  uniqueNames: (names: string[]) => string[],
): Promise<ReaderStaged | null> {
  // DuckDB's reader and the line scan are read with double quotes; another quoting goes to csv-parse.
  if (format.type === 'ndjson' || format.quote !== '"') return null;
  let view = false;
  try {
    if (format.delimiter === 'whitespace') return await stageWhitespace(connection, readPath, relative, table, format, uniqueNames);
    if (!format.header) return null;
    const staged = await stageDelimited(connection, readPath, relative, table, format, uniqueNames);
    view = staged?.view ?? false;
    return staged;
  } catch (error) {
    if (!(error instanceof ScanDeclined)) throw error;
    await connection.run(`DROP TABLE IF EXISTS ${table}`);
    return null;
  } finally {
    if (!view) await connection.run(`DROP TABLE IF EXISTS ${table}_read`);
  }
}

async function lineSql(
  connection: DuckDBConnection,
  events: [number, number][],
  firstIndex: number,
): Promise<{ join: string; line: string }> {
  const lines = new StageLines();
  lines.addFile(0n, events, firstIndex);
  await lines.prepare(connection);
  return lines.sql('s');
}

async function stageDelimited(
  connection: DuckDBConnection,
  readPath: string,
  relative: string,
  table: string,
  format: SourceMapping['format'],
  uniqueNames: (names: string[]) => string[],
): Promise<ReaderStaged | null> {
  const delimiter = format.delimiter as string;
  const code = delimiter.charCodeAt(0);
  if (code > 127 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') return null;
  const quick = quickHeader(readPath, delimiter);
  // One column: a blank line would be a record of one empty value to DuckDB and none to csv-parse.
  if (quick === null || quick.length < 2) return null;
  if (format.columns !== undefined && format.columns.length !== quick.length) return null;
  const columns = quick.map((_, i) => `c${i}`);
  // The stage keeps _source_line NULL (StageLines' convention) so the line comes from the rowid.
  const read = `CREATE TABLE ${table}_read AS SELECT NULL::BIGINT AS _source_line, ${columns.join(', ')}
    FROM read_csv(${sqlString(readPath)}, header = true, auto_detect = false,
      columns = {${columns.map((c) => `'${c}': 'VARCHAR'`).join(', ')}}, delim = ${sqlString(delimiter)}, quote = '"', escape = '"',
      nullstr = ${sqlString(NQ)}, strict_mode = true, null_padding = false, ignore_errors = true, parallel = false)`;
  let scan: CsvScan | null = await runWhileScanning(connection, read, () => scanCsvFast(readPath, () => undefined, delimiter));
  const rows = Number((await connection.runAndReadAll(`SELECT count(*) FROM ${table}_read`)).getRows()[0]![0]);
  if (scan === null || scan.records !== rows) scan = await scanCsvExact(readPath, () => undefined, delimiter);
  if (quick.join('\u0000') !== scan.header.join('\u0000')) return null;
  if (rows !== scan.records) return null;
  const names = uniqueNames(format.columns ?? quick);
  const { join, line } = await lineSql(connection, scan.events, 1);
  // Lines a record spans beyond its last (a quoted field with line breaks): where its text starts.
  const span = columns.map((c) => `coalesce(length(s.${c}) - length(replace(s.${c}, chr(10), '')), 0)`).join(' + ');
  // Few line-number runs (the usual file) fit in the line expression itself: the staged table is a
  // view over the reader's rows, so they are not written a second time; else a table (an ASOF join
  // on a temp table each file replaces).
  const view = join === '';
  const present = new Set(names.map((n) => n.toLowerCase()));
  const optional = view ? format.optional_columns.filter((c) => !present.has(c.toLowerCase())) : [];
  await connection.run(`CREATE ${view ? 'VIEW' : 'TABLE'} ${table} AS SELECT ${line} AS _line, ${line} - (${span}) AS _first, NULL::VARCHAR AS _raw,
    ${[...columns.map((c, i) => `coalesce(s.${c}, '') AS ${quoteName(names[i]!)}`), ...optional.map((c) => `NULL::VARCHAR AS ${quoteName(c)}`)].join(', ')}
    FROM ${table}_read AS s${join}${view ? '' : ' ORDER BY s.rowid'}`);
  const broken = scan.broken.map((b) => ({
    location: `${relative}:${b.line}`,
    file: relative,
    line: b.line,
    fields: null,
    rawText: b.text,
    parseError: `expected ${names.length} columns, found ${b.found}`,
  }));
  return { records: rows, broken, rawFromFile: true, sha256: scan.sha256, view };
}

/**
 * Columns separated by runs of whitespace (a transaction log): each line one text value, trimmed and
 * split in SQL as the csv-parse staging does in JavaScript (trim(), split(/\s+/)); blank lines skipped;
 * the first non-blank line is the header when the format says so.
 */
async function stageWhitespace(
  connection: DuckDBConnection,
  readPath: string,
  relative: string,
  table: string,
  format: SourceMapping['format'],
  uniqueNames: (names: string[]) => string[],
): Promise<ReaderStaged | null> {
  if (!format.header && format.columns === undefined) return null;
  const read = `CREATE TABLE ${table}_read AS SELECT NULL::BIGINT AS _source_line, j
    FROM read_csv(${sqlString(readPath)}, header = false, auto_detect = false, columns = {'j': 'VARCHAR'},
      delim = ${sqlString('\u001f')}, quote = '', escape = '', nullstr = ${sqlString(NQ)}, strict_mode = false,
      ignore_errors = true, parallel = false)`;
  const scan = await runWhileScanning(connection, read, () => scanNdjson(readPath, () => undefined));
  const rows = Number((await connection.runAndReadAll(`SELECT count(*) FROM ${table}_read`)).getRows()[0]![0]);
  if (rows !== scan.rows) return null;
  const { join, line } = await lineSql(connection, scan.events, 0);
  const text = `CASE WHEN suffix(s.j, chr(13)) THEN left(s.j, -1) ELSE s.j END`;
  // (JavaScript's trim() also removes a BOM, as the csv-parse staging's trim did.)
  await connection.run(`CREATE TABLE ${table}_lines AS SELECT _line, _t AS _raw, string_split_regex(_b, ${sqlString(JS_SPACE_RUN)}) AS _parts
    FROM (SELECT _line, _t, ${jsTrim('_t')} AS _b FROM (SELECT ${line} AS _line, ${text} AS _t FROM ${table}_read AS s${join}))
    WHERE _b <> '' ORDER BY _line`);
  try {
    let names = format.columns;
    let headerLine = 0;
    if (format.header) {
      const first = (await connection.runAndReadAll(`SELECT _line, _parts FROM ${table}_lines ORDER BY _line LIMIT 1`)).getRows()[0];
      if (first === undefined) {
        await connection.run(`CREATE TABLE ${table} (_line BIGINT, _first BIGINT, _raw VARCHAR)`);
        return { records: 0, broken: [], rawFromFile: false, sha256: scan.sha256, view: false };
      }
      headerLine = Number(first[0]);
      names ??= (first[1] as { items: unknown[] }).items.map(String);
    }
    const header = uniqueNames(names!);
    const brokenRows = await connection.runAndReadAll(
      `SELECT _line, _raw, len(_parts) FROM ${table}_lines WHERE _line > ${headerLine} AND len(_parts) <> ${header.length} ORDER BY _line`,
    );
    const broken = brokenRows.getRows().map(([at, raw, found]) => ({
      location: `${relative}:${Number(at)}`,
      file: relative,
      line: Number(at),
      fields: null,
      rawText: String(raw),
      parseError: `expected ${header.length} columns, found ${Number(found)}`,
    }));
    await connection.run(`CREATE TABLE ${table} AS SELECT _line, _line AS _first, _raw,
      ${header.map((n, i) => `_parts[${i + 1}] AS ${quoteName(n)}`).join(', ')}
      FROM ${table}_lines WHERE _line > ${headerLine} AND len(_parts) = ${header.length} ORDER BY _line`);
    const records = Number((await connection.runAndReadAll(`SELECT count(*) FROM ${table}`)).getRows()[0]![0]);
    return { records, broken, rawFromFile: false, sha256: scan.sha256, view: false };
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${table}_lines`);
  }
}
