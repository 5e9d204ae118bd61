import { fileDropSource, type FileDropRule } from '../files/file-drop-source.ts';
import { customerVersionRecord } from '../profiles/customer-records.ts';
import type { SourceDefinition, SourceFamily } from '../source-contract.ts';
import type { FileSourceSettings } from '../../../shared/source-settings.ts';
import { MAPPED_RECORD_TABLES, type LoadedMapping, type MappedTable, type SourceMapping } from './mapping-schema.ts';
import { MAPPED_RECORDS } from './mapped-records.ts';

/**
 * The warehouse-side executor of landing-shaped mappings. A mapping whose every field is the
 * record's own column, read as the landing format reads it (the `landing*` presets: CSV with a
 * header and "-quotes, NDJSON with typed values, plain numbers, every column optional), asks for
 * nothing a mapping's SQL could do: it is run by the bulk path in the warehouse's DuckDB (DuckDB's
 * reader and the records' SQL checks in one statement, pipelines/raw/bulk-stage.ts) instead of
 * staging every file in the mapping's sandbox and copying the checked rows across. No text of the
 * mapping reaches SQL there: the statement is built from the records' field specs, so the sandbox
 * has nothing to contain. Any other mapping (renames, expressions, filters, other formats) runs in
 * the sandbox (mapped-file-source.ts); tests/unit/landing-preset.test.ts keeps the two executors
 * equal on the landing presets.
 */

/** Why a kind of file is not landing-shaped, or null when it is. */
export function notLandingShaped(kind: SourceMapping): string | null {
  const { format } = kind;
  if (format.decimal !== '.' || format.thousands !== '') return 'numbers in another notation';
  if (format.type === 'delimited') {
    if (!format.header || format.columns !== undefined) return 'columns not named by a header';
    if (format.quote !== '"' || format.delimiter === 'whitespace') return 'quoting or delimiter other than the landing CSV';
    if (!kind.match.every((m) => m.toLowerCase().endsWith('.csv'))) return 'file names that do not end in .csv';
  } else {
    if (format.json_values !== 'typed') return 'NDJSON values read as text';
    if (!kind.match.every((m) => /\.(ndjson|jsonl)$/i.test(m))) return 'file names that do not end in .ndjson or .jsonl';
  }
  for (const [target, spec] of Object.entries(kind.records) as [MappedTable, NonNullable<SourceMapping['records'][MappedTable]>][]) {
    // Posts are scored in TypeScript per record: the row path reads them either way.
    if (target === 'opinion_posts') return 'opinion posts';
    if (spec.where !== undefined || spec.one_per !== undefined || spec.each !== undefined) return 'a row filter, one_per or each';
    const fields = MAPPED_RECORDS[target].fields;
    for (const [name, value] of Object.entries(spec.fields)) {
      // The field's own name as the whole value (field names are bare identifiers, so this is a column by name).
      if (!(name in fields) || typeof value !== 'string' || value.trim() !== name) return `field ${name} is not its own column`;
      if (!format.optional_columns.includes(name)) return `column ${name} is required`;
    }
  }
  return null;
}

/** The one setting every kind must share for one file-drop reader (a delimiter, an encoding), or undefined when they differ. */
function shared<T>(values: T[]): T | undefined {
  return values.every((v) => v === values[0]) ? values[0] : undefined;
}

/**
 * The mapping as a landing folder read by the bulk path, or null when it is not landing-shaped (the
 * sandbox runs it). One rule per set of records, in the records' load order (orders before their
 * lines, as the orphaned-line check needs), taking the names its kinds match.
 */
export function landingFilesSource(
  config: { name: string; mapping: LoadedMapping; folder: string; settings: FileSourceSettings; description: string },
  family: SourceFamily,
): SourceDefinition | null {
  const { mapping, settings } = config;
  if (mapping.kinds.some((kind) => notLandingShaped(kind) !== null)) return null;
  const delimiter = shared(mapping.kinds.filter((k) => k.format.type === 'delimited').map((k) => k.format.delimiter as string));
  const encoding = settings.encoding !== 'auto' ? settings.encoding : shared(mapping.kinds.map((k) => k.format.encoding));
  if (encoding === undefined || (delimiter === undefined && mapping.kinds.some((k) => k.format.type === 'delimited'))) return null;
  const groups = new Map<string, { tables: MappedTable[]; patterns: RegExp[] }>();
  for (const kind of mapping.kinds) {
    const tables = MAPPED_RECORD_TABLES.filter((t) => kind.records[t] !== undefined);
    const key = tables.join(',');
    const group = groups.get(key) ?? { tables, patterns: [] };
    group.patterns.push(...kind.match.map(globToRegExp));
    groups.set(key, group);
  }
  const order = (tables: MappedTable[]) => MAPPED_RECORD_TABLES.indexOf(tables[0]!);
  const rules: FileDropRule[] = [...groups.values()]
    .sort((a, b) => order(a.tables) - order(b.tables))
    .map(({ tables, patterns }) => ({
      matches: (fileName: string) => patterns.some((p) => p.test(fileName)),
      // A profile row is also kept as a version, as every profile source does.
      records: tables.flatMap((t) => [MAPPED_RECORDS[t], ...(t === 'customers' ? [customerVersionRecord] : [])]),
      bulk: true,
    }));
  return fileDropSource(
    { name: config.name, family, description: config.description, folder: config.folder, rules },
    { ...settings, encoding, delimiter: delimiter ?? settings.delimiter },
  );
}

/** A mapping's file-name pattern (* and ?, case-insensitive) as a regular expression. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}
