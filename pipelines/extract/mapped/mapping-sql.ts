import type { FieldValue, SourceMapping } from './mapping-schema.ts';

/** A DuckDB identifier in double quotes (column names of real exports have spaces, capitals and Chinese). */
export function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const literal = (value: string | number | boolean | null) =>
  value === null ? 'NULL' : typeof value === 'string' ? `'${value.replace(/'/g, "''")}'` : String(value);

/**
 * The SQL of one mapped field. A timestamp without an offset is read as wall time in the declared
 * zone and written as a UTC instant in ISO 8601; text that does not parse is passed on unchanged, so
 * the canonical record's rule rejects it with the value the file held (never a silent null).
 */
export function fieldSql(value: FieldValue, mapping: SourceMapping): string {
  if (typeof value === 'string') return value;
  if ('const' in value) return literal(value.const);
  const text = `CAST((${value.timestamp}) AS VARCHAR)`;
  const zone = literal(value.timezone ?? mapping.format.timezone);
  const parsed = value.format
    ? value.format.includes('%z') || value.format.includes('%Z')
      ? `try_strptime(${text}, ${literal(value.format)})`
      : `timezone(${zone}, try_strptime(${text}, ${literal(value.format)}))`
    : `CASE WHEN regexp_matches(${text}, '(Z|[+-]\\d{2}:?\\d{2})$') THEN TRY_CAST(${text} AS TIMESTAMPTZ) ELSE timezone(${zone}, TRY_CAST(${text} AS TIMESTAMP)) END`;
  return `coalesce(strftime(timezone('UTC', ${parsed}), '%Y-%m-%dT%H:%M:%S.%fZ'), ${text})`;
}
