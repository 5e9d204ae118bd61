import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { inspectFile } from '../files/file-intake.ts';
import { customerVersionRecord } from '../profiles/customer-records.ts';
import { MAPPED_FAMILY as FAMILY, MAPPED_RECORDS as RECORDS } from './mapped-records.ts';
import { globToRegExp, landingFilesSource } from './landing-executor.ts';
import { withScoredPosts } from '../opinion/scored-posts.ts';
import type { DefinedRecord } from '../record-schema.ts';
import type { SourceRecord } from '../readers/source-record.ts';
import {
  SourceSkippedError,
  SourceUnavailableError,
  type BatchPart,
  type CheckedRows,
  type FileManifestEntry,
  type SourceContext,
  type SourceDefinition,
} from '../source-contract.ts';
import { bareColumn, fieldSql, quoteName } from './mapping-sql.ts';
import { MAPPED_RECORD_TABLES, MappingError, type LoadedMapping, type MappedTable, type SourceMapping } from './mapping-schema.ts';
import type { FileSourceSettings } from '../../../shared/source-settings.ts';
import { DEFAULT_SHOP_TIMEZONE } from '../../../shared/config.ts';
import { envValue } from '../../../shared/env.ts';
import { recordSql, sqlString, type SqlInput } from '../sql-checks.ts';
import { readLines } from '../../raw/bulk-scan.ts';
import { dropStaged, stageWithReader } from './reader-stage.ts';

/**
 * A folder of one shop's exports read through a source mapping. Each file is read once into an
 * in-memory DuckDB table of text columns with its line numbers: by DuckDB's own CSV reader (the bulk
 * path's, reader-stage.ts), or with csv-parse in Node for the shapes that reader cannot read strictly
 * (relaxed quotes, bare CR line ends, NDJSON; and every file with CRM_BULK_LOAD=0). Each canonical
 * record the mapping declares is one SELECT of the mapping's SQL expressions over it; the rows that
 * come out are validated in the same DuckDB by the canonical record's SQL rules (sql-checks.ts, the
 * bulk path's, worded as zod's), so every rejected row is quarantined with file, line, field and
 * reason, and the loader appends them as data chunks (BatchPart.checked), without zod. Opinion posts keep
 * zod: sentiment scoring adds their derived columns per record in TypeScript. The mapping's SQL
 * runs in a DuckDB that can read nothing but the staged file (external access is switched off).
 */

export interface MappedSourceConfig {
  name: string;
  mapping: LoadedMapping;
  /** Folder under the landing folder (default: the source's name). */
  folder: string;
  settings: FileSourceSettings;
  /** The shop's zone (config shop.timezone): what a mapping's `timezone: shop` means. Default Asia/Shanghai. */
  shopTimezone?: string;
  /** What `crm sources list` says of it (default: the mapping's description, name and folder). */
  description?: string;
  /**
   * Who runs the mapping: `auto` (the default) lets the warehouse's bulk path run a landing-shaped
   * mapping (landing-executor.ts) and the sandbox every other; `sandbox` always the sandbox (the
   * tests comparing the two executors).
   */
  executor?: 'auto' | 'sandbox';
}

/** DuckDB's memory limit for a mapped source's own DuckDB (staged and checked rows), beside the warehouse's. */
export const DEFAULT_MAPPED_MEMORY_LIMIT = '384MB';

/** The mapping with `timezone: shop` (format or field) replaced by the shop's zone. */
function withShopZone(mapping: LoadedMapping, shopTimezone: string): LoadedMapping {
  const zone = (tz: string) => (tz === 'shop' ? shopTimezone : tz);
  return {
    ...mapping,
    kinds: mapping.kinds.map((kind) => ({
      ...kind,
      format: { ...kind.format, timezone: zone(kind.format.timezone) },
      records: Object.fromEntries(
        Object.entries(kind.records).map(([table, spec]) => [
          table,
          spec && {
            ...spec,
            fields: Object.fromEntries(
              Object.entries(spec.fields).map(([name, value]) => [
                name,
                typeof value === 'object' && 'timestamp' in value && value.timezone !== undefined
                  ? { ...value, timezone: zone(value.timezone) }
                  : value,
              ]),
            ),
          },
        ]),
      ),
    })),
  };
}

interface StagedFile {
  relative: string;
  sizeBytes: number;
  modifiedAt: string;
  sha256: string;
  table: string | null;
  /** The file the reader staged (the original, or its UTF-8 copy): a rejected record's text is cut from it. */
  readPath: string;
  /** Whether the staged `_raw` is NULL (DuckDB's reader staged it): rejected records' text comes from readPath. */
  rawFromFile: boolean;
  /** The kind of file of the mapping it matched, and the first record it feeds (which reports a rejection). */
  kind: SourceMapping;
  firstTable: MappedTable;
  /** Lines that could not be split into the header's columns (quarantined by the first record). */
  broken: SourceRecord[];
  rejected?: string;
  records: number;
  /** The staged table is a view over DuckDB reader's rows (reader-stage.ts), with the optional columns. */
  view?: boolean;
  /**
   * The records whose rows are mapped and checked when the loader reaches the file (rows()): the SELECT
   * giving the stage's columns. Its rejected rows' `_payload` is the first line of the record (text
   * cut from the file) or the staged `_raw`.
   */
  streamed: Map<DefinedRecord, string>;
  /** Streamed records whose rows the loader has not read yet: the staged rows are dropped after the last. */
  streamsLeft: number;
}

export function mappedFileSource(config: MappedSourceConfig): SourceDefinition {
  const source = mappedFiles(config);
  // Posts are scored in TypeScript on the way in, as from any other opinion source.
  return source.family === 'opinion' ? withScoredPosts(source) : source;
}

function mappedFiles(config: MappedSourceConfig): SourceDefinition {
  const { settings } = config;
  const mapping = withShopZone(config.mapping, config.shopTimezone ?? DEFAULT_SHOP_TIMEZONE);
  const tables = MAPPED_RECORD_TABLES.filter((t) => mapping.kinds.some((k) => k.records[t] !== undefined));
  const families = [...new Set(tables.map((t) => FAMILY[t]))];
  if (families.length > 1) {
    throw new MappingError(
      `mapping ${mapping.name}: its records (${tables.join(', ')}) belong to several source families (${families.join(', ')}): one mapped source writes one family; declare one source per family`,
    );
  }
  const family = families[0] ?? 'orders';
  const description = config.description ?? `${mapping.description || mapping.name} (mapping ${mapping.name}; drops in ${config.folder}/)`;
  const landing =
    config.executor === 'sandbox'
      ? null
      : landingFilesSource({ name: config.name, mapping, folder: config.folder, settings, description }, family);
  if (landing !== null) return landing;
  // A profile row is also kept as a version (customer_versions), as the built-in profiles source does.
  const records = [...tables.map((t) => RECORDS[t]), ...(tables.includes('customers') ? [customerVersionRecord] : [])];
  const kinds = mapping.kinds.map((kind) => ({ kind, patterns: kind.match.map(globToRegExp) }));
  const kindOf = (fileName: string) => kinds.find((k) => k.patterns.some((p) => p.test(fileName)))?.kind;
  return {
    name: config.name,
    family,
    kind: 'files',
    description,
    records,
    async open(context: SourceContext) {
      const folder = path.join(context.landingDir, config.folder);
      if (!fs.existsSync(folder)) {
        if (settings.optional) throw new SourceSkippedError(config.name, `optional source absent: no folder ${folder}`);
        throw new SourceUnavailableError(config.name, `landing folder not found: ${folder}`);
      }
      mark = performance.now();
      const names = fs
        .readdirSync(folder, { withFileTypes: true })
        .filter((e) => e.isFile() && !e.name.startsWith('.') && kindOf(e.name) !== undefined)
        .map((e) => e.name)
        .sort();
      if (settings.readyMarker !== undefined && !fs.existsSync(path.join(folder, settings.readyMarker))) {
        throw new SourceSkippedError(
          config.name,
          `ready marker ${settings.readyMarker} not in ${folder} yet: its files are left for the next run`,
        );
      }
      // Files are staged first (DuckDB's reader needs file access); then external access is switched
      // off and the configuration locked before any of the mapping's SQL runs, so it can read nothing
      // but the staged tables.
      // As many threads as the load (CRM_EXTRACT_THREADS, default one per core): DuckDB keeps the order
      // of scans, filters and row-wise projections (preserve_insertion_order), so only a statement that
      // could reorder rows (a window, one_per, each, a join) says ORDER BY; the reader reads each file in
      // one pass (parallel = false).
      const threads = envValue('CRM_EXTRACT_THREADS') ?? String(os.availableParallelism());
      let workDir: string | null = null;
      const newWorkDir = () => (workDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'crm-intake-')));
      // Bounded like the warehouse's side of the load, spilling to the work folder beyond it, so a large
      // export does not grow the process (the staged and checked tables are in memory otherwise).
      const instance = await DuckDBInstance.create(':memory:', {
        threads,
        preserve_insertion_order: 'true',
        memory_limit: envValue('CRM_MAPPED_MEMORY_LIMIT') ?? DEFAULT_MAPPED_MEMORY_LIMIT,
        temp_directory: path.join(newWorkDir(), 'spill'),
      });
      const connection = await instance.connect();
      // The checked rows go to the loader as DuckDB data chunks (no JavaScript object per row).
      const handoff = tables.flatMap((table) => [
        ...(checkedInSql(table, RECORDS[table]) ? [{ target: table, record: RECORDS[table] }] : []),
        ...(table === 'customers' && checkedInSql(table, customerVersionRecord) ? [{ target: table, record: customerVersionRecord }] : []),
      ]);
      const notes: string[] = [];
      const staged: StagedFile[] = [];
      const checked = new Map<DefinedRecord, CheckedRows>();
      let unchanged = 0;
      try {
        for (const name of names) {
          const absolute = path.join(folder, name);
          const relative = path.relative(context.landingDir, absolute).split(path.sep).join('/');
          const stat = fs.statSync(absolute);
          const kind = kindOf(name)!;
          const intake = inspectFile(absolute, {
            format: kind.format.type === 'ndjson' ? 'ndjson' : 'csv',
            encoding: settings.encoding !== 'auto' ? settings.encoding : kind.format.encoding,
            delimiter: kind.format.delimiter === 'whitespace' ? ' ' : kind.format.delimiter,
            requireFinalNewline: settings.readyMarker === undefined && settings.requireFinalNewline,
            // A header naming none of the columns the mapping reads by name is the wrong file or delimiter.
            expectedFields: headerColumns(kind),
            ignoreCase: true,
            workDir: newWorkDir,
          });
          if (intake.status === 'deferred') {
            notes.push(`left for the next run: ${relative} (${intake.reason})`);
            continue;
          }
          const previous = context.state.files.get(relative);
          if (previous && previous.sha256 === intake.sha256) {
            unchanged += 1;
            continue;
          }
          const file: StagedFile = {
            relative,
            sizeBytes: stat.size,
            modifiedAt: stat.mtime.toISOString(),
            sha256: intake.sha256,
            table: null,
            readPath: absolute,
            rawFromFile: false,
            kind,
            firstTable: MAPPED_RECORD_TABLES.find((t) => kind.records[t] !== undefined)!,
            broken: [],
            records: 0,
            streamed: new Map(),
            streamsLeft: 0,
          };
          staged.push(file);
          if (intake.status === 'rejected') {
            file.rejected = intake.reason;
            notes.push(`rejected as a whole: ${relative}: ${intake.reason}`);
            continue;
          }
          if (intake.transcoded) notes.push(`${relative} read as ${intake.encoding} (transcoded to UTF-8)`);
          file.table = `src_${staged.length}`;
          file.readPath = intake.readPath;
          const problem = await stageFile(connection, intake.readPath, file, kind);
          // A column the mapping declares optional reads as empty in a file that lacks it.
          if (problem === null && file.table !== null && file.view !== true)
            for (const column of kind.format.optional_columns) {
              await connection.run(`ALTER TABLE IF EXISTS ${file.table} ADD COLUMN IF NOT EXISTS ${quoteName(column)} VARCHAR`);
              if (typedJson(kind))
                await connection.run(
                  `ALTER TABLE IF EXISTS ${file.table} ADD COLUMN IF NOT EXISTS ${quoteName(column + JSON_TYPE)} VARCHAR`,
                );
            }
          if (problem !== null) {
            file.rejected = problem;
            notes.push(`rejected as a whole: ${relative}: ${file.rejected}`);
          }
        }
        mappedStep('intake + staging');
        await connection.run('SET enable_external_access = false');
        await connection.run('SET lock_configuration = true');
        for (const { target, record } of handoff) checked.set(record, await createChecked(connection, target, record, staged));
        for (const file of staged) {
          if (file.rejected !== undefined || file.table === null) continue;
          for (const table of MAPPED_RECORD_TABLES.filter((t) => file.kind.records[t] !== undefined)) {
            // A record handed over is mapped and checked in one statement into the checked table;
            // any other (opinion posts, CRM_BULK_LOAD=0) is mapped into a table the loader streams.
            const handed = handoff.filter((h) => h.target === table);
            let error: string | null = null;
            if (handed.length < (table === 'customers' ? 2 : 1)) error = await runMapping(connection, file.table, file.kind, table);
            for (const { record } of handed) error ??= await writeChecked(connection, table, file, record, checked.get(record)!);
            if (error !== null) {
              file.rejected = error;
              notes.push(`rejected as a whole: ${file.relative}: ${file.rejected}`);
              for (const rows of checked.values())
                await connection.run(`DELETE FROM ${memoryTable(rows.table)} WHERE _file = $1`, [file.relative]);
              break;
            }
          }
          // A file whose every record was handed over is not read again: its staged rows can go.
          const everyTable = MAPPED_RECORD_TABLES.filter((t) => file.kind.records[t] !== undefined);
          file.streamsLeft = file.streamed.size;
          if (
            file.streamed.size === 0 &&
            everyTable.every((t) => handoff.filter((h) => h.target === t).length === (t === 'customers' ? 2 : 1))
          ) {
            await dropStaged(connection, file.table, file.view === true);
          }
        }
        for (const { target, record } of handoff) await countDrift(connection, target, staged, record, checked.get(record)!);
        mappedStep('mapping + checks');
      } catch (error) {
        connection.closeSync();
        instance.closeSync();
        if (workDir !== null) fs.rmSync(workDir, { recursive: true, force: true });
        throw error;
      }

      const loaded: FileManifestEntry[] = [];
      const part = (target: MappedTable, record: DefinedRecord, reportsRejectedFile = true): BatchPart => {
        const rows = checked.get(record);
        return {
          record,
          records: mappedRecords(connection, target, staged, record, reportsRejectedFile, rows !== undefined),
          ...(rows !== undefined ? { checked: rows } : {}),
        };
      };
      const parts: BatchPart[] = tables.map((table) => part(table, RECORDS[table]));
      // The same mapped rows again, as versions. As the built-in profiles source does, a broken line is
      // quarantined for both tables and a rejected file once, by customers.
      if (tables.includes('customers')) parts.push(part('customers', customerVersionRecord, false));
      return {
        parts,
        finish: () => {
          for (const f of staged) {
            loaded.push({ path: f.relative, sha256: f.sha256, sizeBytes: f.sizeBytes, modifiedAt: f.modifiedAt, records: f.records });
          }
          return { files: loaded };
        },
        close: async () => {
          connection.closeSync();
          instance.closeSync();
          if (workDir !== null) fs.rmSync(workDir, { recursive: true, force: true });
        },
        notes: () => [
          `${staged.filter((f) => f.rejected === undefined).length} file(s) loaded through mapping ${mapping.name}${unchanged > 0 ? `, ${unchanged} unchanged file(s) skipped` : ''}`,
          ...notes,
        ],
      };
    },
  };
}

/**
 * Splits a file into rows of text columns, staged with their line numbers (and raw text where at
 * hand); returns why it cannot be, or null. DuckDB's reader first; csv-parse for what it declines.
 */
async function stageFile(connection: DuckDBConnection, readPath: string, file: StagedFile, mapping: SourceMapping): Promise<string | null> {
  if (envValue('CRM_BULK_LOAD') !== '0') {
    const staged = await stageWithReader(connection, readPath, file.relative, file.table!, mapping.format, uniqueNames);
    if (TIMING)
      process.stderr.write(
        `[mapped] ${file.relative}: staged by ${staged === null ? 'csv-parse (DuckDB reader declined)' : "DuckDB's reader"}\n`,
      );
    if (staged !== null) {
      file.records = staged.records;
      file.broken = staged.broken;
      file.rawFromFile = staged.rawFromFile;
      file.view = staged.view;
      return null;
    }
  }
  return stageWithCsvParse(connection, readPath, file, mapping);
}

const TIMING = envValue('CRM_BULK_TIMING') === '1';
let mark = performance.now();
/** With CRM_BULK_TIMING=1: how long each step of opening a mapped source took (stderr), for profiling. */
function mappedStep(label: string): void {
  if (!TIMING) return;
  const now = performance.now();
  process.stderr.write(`[mapped] ${label}: ${((now - mark) / 1000).toFixed(2)} s\n`);
  mark = now;
}

/** The csv-parse staging (Node splits every line): for the shapes DuckDB's reader cannot read strictly. */
async function stageWithCsvParse(
  connection: DuckDBConnection,
  readPath: string,
  file: StagedFile,
  mapping: SourceMapping,
): Promise<string | null> {
  const { format } = mapping;
  let header: string[] | null = format.header ? null : (format.columns ?? null);
  if (header === null && !format.header) return 'the mapping declares header: false but no columns';
  let appender: Awaited<ReturnType<DuckDBConnection['createAppender']>> | null = null;
  const table = file.table!;
  const open = async (names: string[]) => {
    const columns = names.map((n) => `${quoteName(n)} VARCHAR`).join(', ');
    await connection.run(`CREATE TABLE ${table} (_line BIGINT, _first BIGINT, _raw VARCHAR, ${columns})`);
    appender = await connection.createAppender(table);
  };
  const add = async (line: number, raw: string, values: string[]) => {
    if (header === null) {
      const names = format.columns ?? values.map((v) => v.trim());
      header = uniqueNames(names);
      await open(header);
      return;
    }
    if (appender === null) await open(header);
    if (values.length !== header.length) {
      file.broken.push({
        location: `${file.relative}:${line}`,
        file: file.relative,
        line,
        fields: null,
        rawText: raw,
        parseError: `expected ${header.length} columns, found ${values.length}`,
      });
      return;
    }
    file.records += 1;
    appender!.appendBigInt(BigInt(line));
    appender!.appendNull();
    appender!.appendVarchar(raw);
    for (const v of values) appender!.appendVarchar(v);
    appender!.endRow();
  };
  if (format.type === 'ndjson') return stageNdjson(connection, readPath, file, format.columns, format.json_values === 'typed');
  if (format.delimiter === 'whitespace') {
    const lines = readline.createInterface({ input: fs.createReadStream(readPath), crlfDelay: Infinity });
    let line = 0;
    for await (const text of lines) {
      line += 1;
      const body = (line === 1 ? text.replace(/^\uFEFF/, '') : text).trim();
      if (body === '') continue;
      await add(line, text, body.split(/\s+/));
    }
  } else {
    // relax_quotes: a quote inside an unquoted field is text, as in the ="3780..." cells seller tools
    // write to keep spreadsheets from turning long ids into numbers.
    const parser = fs.createReadStream(readPath).pipe(
      parseCsv({
        bom: true,
        delimiter: format.delimiter,
        ...(format.quote === '"' ? {} : { quote: format.quote === '' ? false : format.quote, escape: format.quote || null }),
        relax_column_count: true,
        relax_quotes: true,
        skip_empty_lines: true,
        info: true,
        raw: true,
      }),
    );
    try {
      for await (const row of parser as AsyncIterable<{ record: string[]; info: { lines: number }; raw: string }>) {
        await add(row.info.lines, row.raw.replace(/\r?\n$/, '').replace(/\r$/, ''), row.record);
      }
    } catch (error) {
      // A file the CSV parser gives up on (an unclosed quote) is rejected as a whole; the others still load.
      if (appender !== null) (appender as unknown as { closeSync(): void }).closeSync();
      return `not readable as CSV with delimiter ${JSON.stringify(format.delimiter)}: ${(error as Error).message}`;
    }
  }
  if (header === null) return null; // an empty file
  if (appender === null) await open(header);
  (appender as unknown as { closeSync(): void }).closeSync();
  return null;
}

/**
 * One JSON object per line, staged as one text column per top-level key (the union over the file,
 * or the mapping's `columns`): strings as they are, numbers and booleans as their JSON text, nested
 * objects and arrays as JSON (a mapping reads into them with json_extract_string). A line that is not
 * a JSON object is a broken line with the parser's reason; an absent key is NULL.
 */
async function stageNdjson(
  connection: DuckDBConnection,
  readPath: string,
  file: StagedFile,
  columns: string[] | undefined,
  typed: boolean,
): Promise<string | null> {
  const rows: { line: number; raw: string; value: Record<string, unknown> }[] = [];
  const keys = new Set<string>(columns ?? []);
  const lines = readline.createInterface({ input: fs.createReadStream(readPath), crlfDelay: Infinity });
  let line = 0;
  for await (const lineText of lines) {
    line += 1;
    // As the row path reads NDJSON (readers/ndjson-records.ts): the same lines, values and reasons.
    const text = line === 1 ? lineText.replace(/^\uFEFF/, '') : lineText;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      value = error as Error;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Error) {
      const why = value instanceof Error ? `invalid JSON: ${value.message}` : 'line is not a JSON object';
      file.broken.push({ location: `${file.relative}:${line}`, file: file.relative, line, fields: null, rawText: text, parseError: why });
      continue;
    }
    if (!columns) for (const key of Object.keys(value)) keys.add(key);
    rows.push({ line, raw: text, value: value as Record<string, unknown> });
  }
  const names = [...keys];
  if (names.length === 0) return rows.length === 0 && file.broken.length === 0 ? null : 'no JSON object with any field in the file';
  const table = file.table!;
  // typed: each key's JSON type beside its text (NULL: the key is absent), named as zod names it.
  const columnsSql = names.flatMap((n) => [`${quoteName(n)} VARCHAR`, ...(typed ? [`${quoteName(n + JSON_TYPE)} VARCHAR`] : [])]);
  await connection.run(`CREATE TABLE ${table} (_line BIGINT, _first BIGINT, _raw VARCHAR, ${columnsSql.join(', ')})`);
  const appender = await connection.createAppender(table);
  for (const row of rows) {
    file.records += 1;
    appender.appendBigInt(BigInt(row.line));
    appender.appendNull();
    appender.appendVarchar(row.raw);
    for (const name of names) {
      const v = row.value[name];
      if (v === undefined || v === null) appender.appendNull();
      else appender.appendVarchar(typeof v === 'string' ? v : JSON.stringify(v));
      if (!typed) continue;
      if (v === undefined) appender.appendNull();
      else appender.appendVarchar(v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
    }
    appender.endRow();
  }
  appender.closeSync();
  return null;
}

function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((raw) => {
    const name = raw === '' ? 'column' : raw;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n === 1 ? name : `${name}_${n}`;
  });
}

function selectSql(table: string, mapping: SourceMapping, target: MappedTable): string {
  const spec = mapping.records[target]!;
  const canonical = RECORDS[target].fields as Record<string, { type: string } | undefined>;
  const numeric = (name: string) => /^(DECIMAL|INTEGER)/.test(canonical[name]?.type ?? '');
  const fields = Object.entries(spec.fields).map(
    ([name, value]) => `CAST((${fieldSql(value, mapping, numeric(name))}) AS VARCHAR) AS ${quoteName(name)}`,
  );
  const where = spec.where ? ` WHERE (${spec.where})` : '';
  // QUALIFY runs after the fields' own window functions, so they still see every kept row.
  const onePer = spec.one_per ? ` QUALIFY row_number() OVER (PARTITION BY (${spec.one_per}) ORDER BY _line) = 1` : '';
  // each: one row per element of a JSON array (both set-returning functions expand in step).
  const rows = spec.each
    ? `(SELECT *, unnest(CAST((${spec.each}) AS JSON[])) AS item, generate_subscripts(CAST((${spec.each}) AS JSON[]), 1) AS item_no FROM ${table})`
    : table;
  // json_values typed: the JSON type of each field mapped from a key by name follows the fields.
  const types = typedFields(mapping, target).map(([name, column]) => `${quoteName(column + JSON_TYPE)} AS ${quoteName(name + JSON_TYPE)}`);
  // The staged rows are in line order and DuckDB keeps a scan's order (preserve_insertion_order), so a
  // SELECT of row-wise expressions needs no sort; a window, QUALIFY, unnest or filter sorts again.
  const order = keepsFileOrder(mapping, target) ? '' : ` ORDER BY _line${spec.each ? ', item_no' : ''}`;
  return `SELECT _line, _first, _raw, ${[...fields, ...types].join(', ')} FROM ${rows}${where}${onePer}${order}`;
}

/**
 * Whether a record's SELECT keeps the staged rows' order without sorting: no one_per, each or where,
 * and no field whose SQL could hold a window function (the word OVER). The landing preset's fields
 * are plain column renames.
 */
function keepsFileOrder(mapping: SourceMapping, target: MappedTable): boolean {
  const spec = mapping.records[target]!;
  if (spec.one_per !== undefined || spec.each !== undefined || spec.where !== undefined) return false;
  return Object.values(spec.fields).every((value) => !/\bover\b/i.test(typeof value === 'string' ? value : JSON.stringify(value)));
}

/** Suffix of the staged column holding a typed NDJSON key's JSON type ('string', 'number', ..., 'null'). */
const JSON_TYPE = '#json_type';

const typedJson = (kind: SourceMapping) => kind.format.type === 'ndjson' && kind.format.json_values === 'typed';

/** The fields of a record mapped from a key by name in a typed NDJSON kind: [field, key]. */
function typedFields(kind: SourceMapping, target: MappedTable): [string, string][] {
  if (!typedJson(kind)) return [];
  return Object.entries(kind.records[target]?.fields ?? {}).flatMap(([name, value]) => {
    const column = bareColumn(value);
    return column === null ? [] : [[name, column] as [string, string]];
  });
}

/** The columns a kind of delimited file with a header reads by name (for the intake's header check). */
function headerColumns(kind: SourceMapping): string[] {
  const { type, header, columns, delimiter } = kind.format;
  if (type !== 'delimited' || !header || columns !== undefined || delimiter === 'whitespace') return [];
  const named = Object.values(kind.records).flatMap((spec) => Object.values(spec?.fields ?? {}).map(bareColumn));
  return [...new Set(named.filter((c): c is string => c !== null))];
}

/**
 * Runs the mapping's SQL for one record over one file into a table of its own, before the load
 * starts: a mapping that does not fit the file (a column it lacks, a cast that fails) rejects the
 * file as a whole with DuckDB's reason instead of failing the source mid-load.
 */
async function runMapping(
  connection: DuckDBConnection,
  table: string,
  mapping: SourceMapping,
  target: MappedTable,
): Promise<string | null> {
  try {
    await connection.run(`CREATE TABLE ${table}_${target} AS ${selectSql(table, mapping, target)}`);
    return null;
  } catch (error) {
    return mappingError(mapping, target, error);
  }
}

/**
 * DuckDB errors that say nothing about the file or the mapping (the machine ran out of memory or disk,
 * the load was interrupted, DuckDB itself failed): they fail the source's step, so its previous state
 * stands and the next run reads the file again, instead of quarantining a good file as unfit.
 */
const ENVIRONMENT_ERROR = /^(Out of Memory Error|IO Error|INTERNAL Error|FATAL Error|Interrupt(ed)?( Error)?)\b/;

/** Whether a DuckDB error is about the machine or DuckDB itself, not about the file or the mapping. */
export function isEnvironmentError(error: unknown): boolean {
  return error instanceof Error && ENVIRONMENT_ERROR.test(error.message);
}

function mappingError(mapping: SourceMapping, target: MappedTable, error: unknown): string {
  if (isEnvironmentError(error)) throw error;
  return `mapping ${mapping.name} does not fit this file (${target}): ${(error as Error).message.split('\n')[0]}`;
}

/**
 * Whether a record's mapped rows are validated in SQL (sql-checks.ts, the bulk path's rules) inside
 * the mapping's DuckDB. Not for opinion posts: sentiment scoring adds their derived columns in
 * TypeScript per record, after mapping, so zod validates them with those columns. CRM_BULK_LOAD=0
 * sends every mapped row through zod as well (the row path, for comparing the two).
 */
function checkedInSql(target: MappedTable, record: DefinedRecord): boolean {
  return target !== 'opinion_posts' && envValue('CRM_BULK_LOAD') !== '0' && Object.values(record.fields).every((f) => f.sql !== undefined);
}

/**
 * The SELECT that validates one file's mapped rows in SQL: the line, the raw text, the mapped text
 * columns (NULL is a missing field, as the row path leaves it out), the reason (NULL when valid)
 * and the record's values as the loader stores them, in its field order.
 */
function checkSql(
  table: string,
  spec: { fields: Record<string, unknown> },
  record: DefinedRecord,
  typed: readonly string[] = [],
  /** The values in the raw column types (the checked table's), not as text. */
  rawTypes = false,
  /** The input is already in line order (the checks are row-wise: they keep it, no sort). */
  ordered = false,
): string {
  const mapped = new Set(Object.keys(spec.fields));
  const input = (name: string): SqlInput => {
    if (!mapped.has(name)) return { text: 'NULL::VARCHAR', kind: 'NULL::VARCHAR', json: 'NULL::VARCHAR' };
    const column = quoteName(name);
    if (typed.includes(name)) {
      // A typed NDJSON key: its JSON type as staged, its JSON text for the reason's "(got ...)".
      const type = quoteName(name + JSON_TYPE);
      return {
        text: column,
        kind: type,
        json: `CASE ${type} WHEN 'string' THEN to_json(${column})::VARCHAR WHEN 'null' THEN 'null' ELSE ${column} END`,
      };
    }
    return { text: column, kind: `CASE WHEN ${column} IS NOT NULL THEN 'string' END`, json: `to_json(${column})::VARCHAR` };
  };
  const checks = recordSql(Object.entries(record.fields), input);
  const names = Object.keys(spec.fields).map(quoteName);
  return `SELECT _line, _first, _raw, ${names.map((n) => `${n}, `).join('')}_reason, ${(rawTypes ? checks.typed : checks.values).map((v, i) => `CASE WHEN _reason IS NULL THEN ${v} END AS _v${i}`).join(', ')}
    FROM (SELECT *, ${checks.reason} AS _reason FROM (SELECT *${checks.derived.map((d) => `, ${d}`).join('')} FROM ${table}))${ordered ? '' : ' ORDER BY _line'}`;
}

async function* mappedRecords(
  connection: DuckDBConnection,
  target: MappedTable,
  files: StagedFile[],
  record: DefinedRecord,
  /** Whether a rejected file is reported by this part (broken lines are, by every part of the file's first table). */
  reportsRejectedFile = true,
  /** The rows themselves are handed over in a checked table (writeChecked): yield only rejected files and broken lines. */
  onlyUnreadable = false,
): AsyncGenerator<SourceRecord> {
  const inSql = checkedInSql(target, record);
  for (const file of files) {
    const spec = file.kind.records[target];
    if (spec === undefined) continue;
    const names = Object.keys(spec.fields);
    // A rejected file and its broken lines are reported by the first record its kind feeds.
    const reportRejected = target === file.firstTable;
    if (file.rejected !== undefined) {
      if (reportRejected && reportsRejectedFile) {
        yield {
          location: file.relative,
          file: file.relative,
          line: 0,
          fields: null,
          rawText: `(file not loaded: ${file.sizeBytes} bytes, sha256 ${file.sha256})`,
          parseError: `file rejected: ${file.rejected}`,
        };
      }
      continue;
    }
    if (reportRejected) yield* file.broken;
    if (file.table === null || onlyUnreadable) continue;
    const mappedTable = `${file.table}_${target}`;
    const rows = `${mappedTable}_out`;
    const typed = typedFields(file.kind, target).map(([name]) => name);
    await connection.run(
      `CREATE OR REPLACE TEMP TABLE ${rows} AS ${inSql ? checkSql(mappedTable, spec, record, typed) : `SELECT * FROM ${mappedTable} ORDER BY _line`}`,
    );
    // Staged by DuckDB's reader: the text of each record that may be quarantined is cut from the file.
    const texts = file.rawFromFile ? await rejectedTexts(connection, rows, file.readPath, inSql ? '_reason IS NOT NULL' : null) : null;
    const result = await connection.stream(`SELECT * FROM ${rows} ORDER BY rowid`);
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      for (const row of chunk.getRows()) {
        const line = Number(row[0]);
        const fields: Record<string, unknown> = {};
        names.forEach((name, i) => {
          const value = row[i + 3];
          if (value !== null && value !== undefined) fields[name] = String(value);
        });
        // A typed NDJSON key reaches zod as the JSON value it was (row path: the parsed object's).
        if (!inSql)
          typed.forEach((name, j) => {
            const type = row[names.length + 3 + j];
            if (type === 'null') fields[name] = null;
            else if (type !== null && type !== undefined && type !== 'string') fields[name] = JSON.parse(String(fields[name])) as unknown;
          });
        const rawText = texts === null ? String(row[2]) : (texts.get(line) ?? '');
        const item: SourceRecord = { location: `${file.relative}:${line}`, file: file.relative, line, fields, rawText };
        if (inSql) {
          const reason = row[names.length + 3];
          if (reason !== null && reason !== undefined) item.rejected = String(reason);
          else item.checked = row.slice(names.length + 4).map((v) => (v === null || v === undefined ? null : String(v)));
        }
        yield item;
      }
    }
    await connection.run(`DROP TABLE ${rows}`);
  }
}

/** The file's text of the rows of `rows` that `where` picks (the rejected ones), by last line. */
async function rejectedTexts(
  connection: DuckDBConnection,
  rows: string,
  readPath: string,
  where: string | null,
): Promise<Map<number, string>> {
  const wanted = (
    await connection.runAndReadAll(`SELECT DISTINCT _line, _first FROM ${rows}${where === null ? '' : ` WHERE ${where}`} ORDER BY _line`)
  )
    .getRows()
    .map(([line, first]) => ({ line: Number(line), first: Number(first) }));
  return wanted.length > 0 ? readLines(readPath, wanted) : new Map();
}

const memoryTable = (table: string) => `memory.main.${table}`;

/**
 * The table of one record's checked rows in the mapping's DuckDB, in load order (file, then line):
 * `_file`, `_line`, `_first`, and `_key`, `_reason`, `_payload` of a rejected row or `_v0`..`_vN` (the
 * normalised values) of a valid one. A file whose rows are streamed (writeChecked) is not in it: its
 * rows are mapped and checked when the loader reaches the file, into a table of that file alone
 * (dropped once read), without the raw-text pass over the checked table (the loader asks for the
 * rejected rows' text, rawText). The loader reads both kinds, file by file, as data chunks (CheckedRows).
 */
async function createChecked(
  connection: DuckDBConnection,
  target: MappedTable,
  record: DefinedRecord,
  files: StagedFile[],
): Promise<CheckedRows> {
  const table = `rows_${record.table}`;
  // The values in their raw column types, as the checks computed them (a timestamp parsed once, not formatted and parsed again).
  const columns = Object.values(record.fields).map((f, i) => `_v${i} ${f.type}`);
  await connection.run(
    `CREATE TABLE ${memoryTable(table)} (_file VARCHAR, _line BIGINT, _first BIGINT, _key VARCHAR, _reason VARCHAR, _payload VARCHAR, ${columns.join(', ')})`,
  );
  const values = Object.keys(record.fields).map((_, i) => `_v${i}`);
  const byName = new Map(files.map((f) => [f.relative, f]));
  return {
    table,
    // The stage table's columns: the record's fields in their raw types, lineage, reason, key, payload, drift.
    rows: async function* () {
      for (const file of files) {
        if (file.rejected !== undefined || file.table === null || file.kind.records[target] === undefined) continue;
        const sql =
          file.streamed.get(record) ??
          `SELECT ${values.join(', ')}, _file, _line, _reason, _key, _payload, NULL::VARCHAR FROM ${memoryTable(table)} WHERE _file = ${sqlString(file.relative)}`;
        // A file's rows are mapped and checked when the loader reaches it, into a table of its own that
        // DuckDB writes with all its threads, then read from there: streaming the statement itself runs
        // its pipeline chunk by chunk as they are fetched (1.6-1.8 times the file drop's CPU seconds at
        // 1m orders, against 1.28).
        const streamed = file.streamed.has(record);
        if (streamed) await connection.run(`CREATE OR REPLACE TEMP TABLE _file_rows AS ${sql}`);
        const result = await connection.stream(streamed ? 'SELECT * FROM _file_rows' : sql);
        for (;;) {
          const chunk = await result.fetchChunk();
          if (!chunk || chunk.rowCount === 0) break;
          yield chunk;
        }
        mappedStep(`rows ${file.relative} ${record.table}${streamed ? ' (mapped + checked when the loader reached it)' : ''}`);
        if (streamed) await connection.run('DROP TABLE _file_rows');
        // The staged rows are not read again once every streamed record of the file has been.
        if (streamed && --file.streamsLeft === 0) await dropStaged(connection, file.table, file.view === true);
      }
    },
    // A streamed file staged by DuckDB's reader holds each rejected record's first line: its text is cut from the file.
    rawText: async (relative, rejected) => {
      const file = byName.get(relative);
      if (file === undefined || !file.streamed.has(record) || !file.rawFromFile)
        return new Map(rejected.map((r) => [r.line, r.payload ?? '']));
      return readLines(
        file.readPath,
        rejected.map((r) => ({ line: r.line, first: Number(r.payload ?? r.line) })).sort((a, b) => a.line - b.line),
      );
    },
    unknownFields: {},
    missingFields: {},
  };
}

/**
 * Whether a record's rows of a file can be mapped and checked while the loader reads them: the
 * mapping's SELECT keeps file order (no sort) and every field is a column by name or a constant, so
 * once the statement binds (the file has the columns), nothing in it can fail mid-load.
 */
function streamable(kind: SourceMapping, target: MappedTable): boolean {
  const spec = kind.records[target]!;
  return (
    keepsFileOrder(kind, target) &&
    Object.values(spec.fields).every((v) => bareColumn(v) !== null || (typeof v === 'object' && 'const' in v))
  );
}

/**
 * Maps one file's rows for one record and checks them in one statement: run when the loader
 * reaches the file if the mapping allows it (streamable: the statement is only parsed and its
 * columns looked up here), else appended now to the
 * record's checked table in load order with the key and raw text of rejected rows (cut from the file
 * where DuckDB's reader staged it) and the normalised values of valid ones. Returns why the mapping
 * does not fit the file (the file is then rejected as a whole), or null.
 */
async function writeChecked(
  connection: DuckDBConnection,
  target: MappedTable,
  file: StagedFile,
  record: DefinedRecord,
  rows: CheckedRows,
): Promise<string | null> {
  const spec = file.kind.records[target]!;
  const fieldNames = Object.keys(record.fields);
  const names = Object.keys(spec.fields);
  const key = `concat_ws('|', ${record.key.map((k) => (names.includes(k) ? `coalesce(${quoteName(k)}, '')` : `''`)).join(', ')})`;
  const ordered = keepsFileOrder(file.kind, target);
  const checks = checkSql(
    `(${selectSql(file.table!, file.kind, target)})`,
    spec,
    record,
    typedFields(file.kind, target).map(([name]) => name),
    true,
    ordered,
  );
  if (streamable(file.kind, target)) {
    const payload = file.rawFromFile ? 'CAST(_first AS VARCHAR)' : '_raw';
    const sql = `SELECT ${fieldNames.map((_, i) => `_v${i}`).join(', ')}, ${sqlString(file.relative)}, _line, _reason,
        CASE WHEN _reason IS NOT NULL THEN ${key} END, CASE WHEN _reason IS NOT NULL THEN ${payload} END, NULL::VARCHAR
      FROM (${checks})`;
    // The statement binds when it parses and the staged file has every column it names (DuckDB binds
    // names case-insensitively); the rows are read when the loader asks. Else it takes the table
    // path below, whose statement fails with DuckDB's reason and rejects the file.
    const staged = new Set(
      (await connection.runAndReadAll(`SELECT column_name FROM (DESCRIBE ${file.table!})`)).getRows().map(([c]) => String(c).toLowerCase()),
    );
    const wanted = [
      ...Object.values(spec.fields).flatMap((v) => (bareColumn(v) === null ? [] : [bareColumn(v)!])),
      ...typedFields(file.kind, target).map(([, column]) => column + JSON_TYPE),
    ];
    // (A name the parser reads as a keyword: the table path words DuckDB's reason too.)
    const parses = await connection.extractStatements(sql).then(
      () => true,
      () => false,
    );
    if (parses && wanted.every((c) => staged.has(c.toLowerCase()))) {
      file.streamed.set(record, sql);
      return null;
    }
  }
  try {
    await connection.run(`
      INSERT INTO ${memoryTable(rows.table)}
      SELECT ${sqlString(file.relative)}, _line, _first, CASE WHEN _reason IS NOT NULL THEN ${key} END, _reason,
             CASE WHEN _reason IS NOT NULL THEN _raw END, ${fieldNames.map((_, i) => `_v${i}`).join(', ')}
      FROM (${checks})`);
  } catch (error) {
    return mappingError(file.kind, target, error);
  }
  mappedStep(`checks ${file.relative} ${target}`);
  if (!file.rawFromFile) return null;
  const where = `_file = ${sqlString(file.relative)} AND _reason IS NOT NULL`;
  const texts = await rejectedTexts(connection, memoryTable(rows.table), file.readPath, where);
  if (texts.size === 0) return null;
  await connection.run('CREATE OR REPLACE TEMP TABLE _texts (line BIGINT, text VARCHAR)');
  const appender = await connection.createAppender('_texts', 'main', 'temp');
  for (const [line, text] of texts) {
    appender.appendBigInt(BigInt(line));
    appender.appendVarchar(text);
    appender.endRow();
  }
  appender.closeSync();
  await connection.run(
    `UPDATE ${memoryTable(rows.table)} AS c SET _payload = t.text FROM temp.main._texts AS t WHERE ${where} AND c._line = t.line`,
  );
  return null;
}

/** Schema drift of the handed-over rows, per file: fields mapped that the record lacks, and the reverse. */
async function countDrift(
  connection: DuckDBConnection,
  target: MappedTable,
  files: StagedFile[],
  record: DefinedRecord,
  rows: CheckedRows,
) {
  const counts = new Map(
    (await connection.runAndReadAll(`SELECT _file, count(*) FROM ${memoryTable(rows.table)} GROUP BY _file`))
      .getRows()
      .map(([f, n]) => [String(f), Number(n)]),
  );
  const fieldNames = Object.keys(record.fields);
  for (const file of files) {
    const spec = file.kind.records[target];
    if (spec === undefined || file.rejected !== undefined) continue;
    // A streamed record maps every staged row once (no where, each or one_per).
    const n = file.streamed.has(record) ? file.records : (counts.get(file.relative) ?? 0);
    if (n === 0) continue;
    const names = Object.keys(spec.fields);
    for (const name of names) if (!(name in record.fields)) rows.unknownFields[name] = (rows.unknownFields[name] ?? 0) + n;
    for (const name of fieldNames) if (!names.includes(name)) rows.missingFields[name] = (rows.missingFields[name] ?? 0) + n;
  }
}
