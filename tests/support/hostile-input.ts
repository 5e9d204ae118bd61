import fc from 'fast-check';
import type { WarehouseReader } from '../../semantic/warehouse-reader.ts';

/**
 * What the fuzz tests (tests/unit/decision-fuzz.test.ts, semantic-fuzz.test.ts) throw at the API:
 * text an attacker or a broken client sends in any field (odd numbers, impossible dates, SQL,
 * control characters), plus each test's own domain words.
 */
export const HOSTILE_TEXT = [
  '',
  ' ',
  '0x10',
  '1e308',
  '1e400',
  '-1e308',
  'NaN',
  'Infinity',
  '-0',
  '00',
  '.5',
  '5.',
  '9'.repeat(40),
  '2025-02-30',
  '2025-13-01',
  '0000-00-00',
  '99999-12-31',
  '2024-02-29',
  '2025-01-01T00:00:00Z',
  '2025-01-01T24:00:00',
  "' OR 1=1 --",
  '"; DROP TABLE marts.dim_customers; --',
  '"; DROP TABLE marts.fct_orders; --',
  '%00',
  '%',
  '_',
  '\u0000',
  '../../etc/passwd',
] as const;

/** Random strings, random graphemes, or one of HOSTILE_TEXT and the test's own words. */
export function hostileText(domainWords: readonly string[], maxLength: number): fc.Arbitrary<string> {
  return fc.oneof(fc.string({ maxLength }), fc.string({ unit: 'grapheme', maxLength }), fc.constantFrom(...HOSTILE_TEXT, ...domainWords));
}

/** Rows of every table in the given schemas (all schemas when none): a fuzz run must leave them unchanged. */
export async function rowCounts(reader: WarehouseReader, schemas: readonly string[] = []): Promise<Record<string, number>> {
  const where = schemas.length ? `WHERE table_schema IN (${schemas.map((s) => `'${s}'`).join(', ')})` : '';
  const tables = await reader.query(`SELECT table_schema || '.' || table_name AS name FROM information_schema.tables ${where} ORDER BY 1`);
  const counts: Record<string, number> = {};
  for (const { name } of tables) counts[String(name)] = Number((await reader.query(`SELECT count(*) AS n FROM ${String(name)}`))[0]!.n);
  return counts;
}
