import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { mappedSource } from '../../pipelines/extract/sources.ts';
import { stageWithReader } from '../../pipelines/extract/mapped/reader-stage.ts';
import { mappingSchema, type SourceMapping } from '../../pipelines/extract/mapped/mapping-schema.ts';
import { queryWarehouse } from '../support/warehouse-query.ts';

/**
 * Mapped files are staged by DuckDB's reader (reader-stage.ts) unless it cannot read them strictly;
 * CRM_BULK_LOAD=0 stages every file with csv-parse and validates with zod. Files of awkward shapes
 * (BOM, CRLF, blank lines, quoted commas and line breaks, too few and too many columns, ="..." cells,
 * whitespace-separated columns) must load into the same raw rows and the same quarantine (location,
 * key, reason, raw text) both ways, and the reader must take the shapes it can vouch for.
 */

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-mapped-reader-'));
});
afterEach(() => {
  delete process.env.CRM_BULK_LOAD;
  fs.rmSync(dir, { recursive: true, force: true });
});

const HEADER = 'order_id,customer_id,ordered_at,status,currency,discount,line_no,sku,qty,price';
const FILES: Record<string, string> = {
  // BOM, a blank line, a quoted comma, a quoted line break, a rejected row spanning two lines, broken rows.
  'orders_lf.csv': [
    `\ufeff${HEADER}`,
    'A1,c1,2025-03-01T10:00:00Z,paid,EUR,0,1,S1,2,4.50',
    '',
    'A2,c2,2025-03-01T11:00:00Z,paid,EUR,0,1,"S,2",1,10',
    'A3,c3,2025-03-01T12:00:00Z,paid,EUR,0,1,"S3',
    'second line",1,10',
    'A4,c4,not a date,paid,EUR,0,1,"bad',
    'sku",1,1',
    'A5,c5,2025-03-01T12:00:00Z,paid,EUR',
    'A6,c6,2025-03-01T12:00:00Z,paid,EUR,0,1,S6,1,1,extra',
    'A7,c7,2025-03-01T13:00:00Z,done,EUR,0,1,S7,1,1',
    '',
  ].join('\n'),
  // CRLF line ends, no quotes at all (DuckDB's reader with the fast scan).
  'orders_crlf.csv': [HEADER, 'B1,c1,2025-03-02T10:00:00Z,paid,USD,0,1,S1,1,1', 'B2,c2,2025-03-02T10:00:00Z,paid,usd,0,1,S1,1,1', ''].join(
    '\r\n',
  ),
  // ="..." cells (relax_quotes): the reader declines, csv-parse stages the file.
  'orders_guarded.csv': [
    HEADER,
    '="C1",c1,2025-03-03T10:00:00Z,paid,EUR,0,1,S1,1,1',
    '="C2",c2,2025-03-03T10:00:00Z,nope,EUR,0,1,S1,1,1',
    '',
  ].join('\n'),
};

const MAPPING = `
name: shapes
match: ["*.csv"]
records:
  orders:
    fields:
      order_id: order_id
      customer_id: customer_id
      ordered_at: ordered_at
      updated_at: ordered_at
      status: status
      currency: currency
      discount_amount: discount
  order_items:
    fields:
      order_id: order_id
      line_no: line_no
      sku: sku
      quantity: qty
      unit_price: price
`;

async function load(mode: 'reader' | 'csv-parse') {
  const landing = path.join(dir, mode, 'landing');
  fs.mkdirSync(path.join(landing, 'shop'), { recursive: true });
  for (const [name, text] of Object.entries(FILES)) fs.writeFileSync(path.join(landing, 'shop', name), text);
  const mappingFile = path.join(dir, 'shapes.yml');
  fs.writeFileSync(mappingFile, MAPPING);
  if (mode === 'csv-parse') process.env.CRM_BULK_LOAD = '0';
  else delete process.env.CRM_BULK_LOAD;
  const warehousePath = path.join(dir, mode, 'wh.duckdb');
  const summary = await extractSource(mappedSource('shop', mappingFile), { warehousePath, landingDir: landing, batchId: 'b1' });
  const query = (sql: string) => queryWarehouse(warehousePath, sql);
  return {
    summary: summary.tables.map((t) => [t.table, t.read, t.rejected, t.inserted, t.missingFields, t.unknownFields]),
    orders: await query(`SELECT * EXCLUDE (_batch_id, _loaded_at) FROM raw.orders ORDER BY order_id`),
    items: await query(`SELECT * EXCLUDE (_batch_id, _loaded_at) FROM raw.order_items ORDER BY order_id, line_no`),
    quarantine: await query(`SELECT raw_table, location, record_key, reason, payload FROM raw._quarantine ORDER BY ALL`),
  };
}

async function stagedByReader(text: string, format: Partial<SourceMapping['format']> = {}) {
  const file = path.join(dir, 'probe.txt');
  fs.writeFileSync(file, text);
  const mapping = mappingSchema.parse({ name: 'p', match: ['*'], format, records: { orders: { fields: { order_id: 'a' } } } });
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    const staged = await stageWithReader(connection, file, 'probe.txt', 'src_1', mapping.format!, (n) => n);
    const rows =
      staged === null ? [] : (await connection.runAndReadAll('SELECT * EXCLUDE (_first, _raw) FROM src_1 ORDER BY _line')).getRows();
    return { staged, rows };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('staging mapped files with DuckDB reader', () => {
  it('stores the same rows and quarantine as the csv-parse staging with zod, for awkward file shapes', async () => {
    const reader = await load('reader');
    const csvParse = await load('csv-parse');
    expect(reader).toEqual(csvParse);
    expect(reader.orders.map((r) => r[0])).toEqual(['="C1"', 'A1', 'A2', 'A3', 'B1']); // (cells are read literally)
    const quarantine = reader.quarantine.map((r) => `${String(r[1])} ${String(r[3])} | ${String(r[4])}`);
    // The rejected record spanning two lines keeps both lines as its raw text; broken rows name the column counts.
    const multiLine = quarantine.find((q) => q.startsWith('shop/orders_lf.csv:8 ordered_at: expected an ISO 8601 timestamp'));
    expect(multiLine).toMatch(/ \| A4,c4,not a date,paid,EUR,0,1,"bad\nsku",1,1$/);
    expect(quarantine).toContain('shop/orders_lf.csv:9 expected 10 columns, found 5 | A5,c5,2025-03-01T12:00:00Z,paid,EUR');
    expect(quarantine).toContain(
      'shop/orders_lf.csv:10 expected 10 columns, found 11 | A6,c6,2025-03-01T12:00:00Z,paid,EUR,0,1,S6,1,1,extra',
    );
    expect(quarantine.filter((q) => q.startsWith('shop/orders_crlf.csv:3 '))).toHaveLength(2); // order and its line
    expect(quarantine.some((q) => q.startsWith('shop/orders_guarded.csv:3 status'))).toBe(true);
  });

  it('takes plain, quoted, CRLF and whitespace-separated files, and declines relaxed quotes and single columns', async () => {
    const quoted = await stagedByReader('a,b\n"x\ny",1\n\n2,3\n');
    expect(quoted.staged?.records).toBe(2);
    expect(quoted.rows).toEqual([
      [3n, 'x\ny', '1'],
      [5n, '2', '3'],
    ]);
    const crlf = await stagedByReader('a;b\r\n1;2\r\n3;4;5\r\n', { delimiter: ';' });
    expect(crlf.rows).toEqual([[2n, '1', '2']]);
    expect(crlf.staged?.broken.map((b) => [b.line, b.parseError, b.rawText])).toEqual([[3, 'expected 2 columns, found 3', '3;4;5']]);
    const spaced = await stagedByReader(' a  b\r\n\r\n 1\t 2 \r\n   \r\n3 4 5\r\n', { delimiter: 'whitespace' });
    expect(spaced.rows).toEqual([[3n, '1', '2']]);
    expect(spaced.staged?.broken.map((b) => [b.line, b.parseError])).toEqual([[5, 'expected 2 columns, found 3']]);
    expect((await stagedByReader('a,b\n="1",2\n')).staged).toBeNull();
    expect((await stagedByReader('a\n1\n\n2\n')).staged).toBeNull();
  });
});
