import type { FieldValue, SourceMapping } from './mapping-schema.ts';

/** A DuckDB identifier in double quotes (column names of real exports have spaces, capitals and Chinese). */
export function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const literal = (value: string | number | boolean | null) =>
  value === null ? 'NULL' : typeof value === 'string' ? `'${value.replace(/'/g, "''")}'` : String(value);

/** A column named bare (Amount, total_price) or quoted ("Preis (EUR)"), nothing computed. */
const BARE_COLUMN = /^(?:[\p{L}_][\p{L}\p{N}_$]*|"(?:[^"]|"")+")$/u;

/** The column a field value names by itself (unquoted), or null for a computed value. */
export function bareColumn(value: FieldValue): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (!BARE_COLUMN.test(text)) return null;
  return text.startsWith('"') ? text.slice(1, -1).replace(/""/g, '"') : text;
}

const regexEscape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A number written as text in a notation (1.234,56; 1 234,56; 1'234.56) as plain decimal text
 * (1234.56). Only text that fits the notation exactly is rewritten (digit groups of three between
 * thousands separators): anything else is passed on unchanged, so the canonical record's rule
 * rejects it with the value the file held instead of a guess.
 */
export function numberSql(expression: string, decimal: string, thousands: string): string {
  const text = `trim(CAST((${expression}) AS VARCHAR))`;
  const d = regexEscape(decimal);
  const grouped = thousands === '' ? '[0-9]+' : `[0-9]{1,3}(?:${regexEscape(thousands)}[0-9]{3})*|[0-9]+`;
  const pattern = literal(`^[+-]?(?:${grouped})(?:${d}[0-9]+)?$`);
  const plain = thousands === '' ? text : `replace(${text}, ${literal(thousands)}, '')`;
  return `CASE WHEN regexp_matches(${text}, ${pattern}) THEN replace(${plain}, ${literal(decimal)}, '.') ELSE CAST((${expression}) AS VARCHAR) END`;
}

/**
 * The SQL of one mapped field. A timestamp without an offset is read as wall time in the declared
 * zone and written as a UTC instant in ISO 8601; text that does not parse is passed on unchanged, so
 * the canonical record's rule rejects it with the value the file held (never a silent null).
 */
export function fieldSql(value: FieldValue, mapping: SourceMapping, numeric = false): string {
  if (typeof value === 'string') {
    // A number field mapped from a column by name is read in the file's notation (format.decimal/thousands).
    const { decimal, thousands } = mapping.format;
    return numeric && (decimal !== '.' || thousands !== '') && BARE_COLUMN.test(value.trim())
      ? numberSql(value, decimal, thousands)
      : value;
  }
  if ('const' in value) return literal(value.const);
  if ('number' in value)
    return numberSql(value.number, value.decimal ?? mapping.format.decimal, value.thousands ?? mapping.format.thousands);
  const text = `CAST((${value.timestamp}) AS VARCHAR)`;
  const zone = literal(value.timezone ?? mapping.format.timezone);
  const parsed = value.format
    ? value.format.includes('%z') || value.format.includes('%Z')
      ? `try_strptime(${text}, ${literal(value.format)})`
      : `timezone(${zone}, try_strptime(${text}, ${literal(value.format)}))`
    : `CASE WHEN regexp_matches(${text}, '(Z|[+-]\\d{2}:?\\d{2})$') THEN TRY_CAST(${text} AS TIMESTAMPTZ) ELSE timezone(${zone}, TRY_CAST(${text} AS TIMESTAMP)) END`;
  return `coalesce(strftime(timezone('UTC', ${parsed}), '%Y-%m-%dT%H:%M:%S.%fZ'), ${text})`;
}
