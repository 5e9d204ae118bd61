import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { mappedSource } from '../../pipelines/extract/sources.ts';
import { inferMapping } from '../../pipelines/extract/mapped/infer-mapping.ts';
import {
  MAPPING_SCHEMA_FILE,
  MappingError,
  loadMapping,
  mappingJsonSchema,
  mappingSchema,
  presetNames,
} from '../../pipelines/extract/mapped/mapping-schema.ts';
import { queryWarehouse } from '../support/warehouse-query.ts';

/** Source mappings: the schema, the SQL they run, what they quarantine, and the draft `crm sources infer` writes. */

let dir: string;
let landing: string;
let warehousePath: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-mapping-'));
  landing = path.join(dir, 'landing');
  warehousePath = path.join(dir, 'wh.duckdb');
  fs.mkdirSync(path.join(landing, 'shop'), { recursive: true });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const query = (sql: string) => queryWarehouse(warehousePath, sql);

const writeCsv = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};

const writeMapping = (yaml: string) => {
  const file = path.join(dir, 'shop.yml');
  fs.writeFileSync(file, yaml);
  return file;
};

/**
 * A mapping of files whose columns are named as the canonical fields: orders with constant status,
 * currency and discount, one item per row with the item fields given (YAML lines under `fields:`).
 */
const namedColumnsMapping = (match: string, format: string, itemFields: string[]) => `
name: shop
match: ["${match}"]
format: ${format}
records:
  orders:
    fields:
      order_id: order_id
      customer_id: customer_id
      ordered_at: ordered_at
      updated_at: ordered_at
      status: { const: completed }
      currency: { const: EUR }
      discount_amount: { const: "0" }
  order_items:
    fields:
      order_id: order_id
      line_no: { const: 1 }
      sku: sku
${itemFields.map((f) => `      ${f}`).join('\n')}
`;

const ORDER_LINES = `
name: shop
match: ["export*.csv"]
format: { delimiter: ";", timezone: Europe/Berlin }
records:
  orders:
    where: "Qty <> ''"
    fields:
      order_id: '"Order No"'
      customer_id: "nullif(trim(Customer), '')"
      ordered_at: { timestamp: '"Order Date"', format: "%d.%m.%Y %H:%M" }
      updated_at: { timestamp: '"Order Date"', format: "%d.%m.%Y %H:%M" }
      status: { const: completed }
      currency: { const: EUR }
      discount_amount: { const: "0" }
  order_items:
    fields:
      order_id: '"Order No"'
      line_no: 'row_number() OVER (PARTITION BY "Order No" ORDER BY _line)'
      sku: SKU
      quantity: Qty
      unit_price: "replace(Price, ',', '.')"
`;

describe('mapped sources', () => {
  it('maps a ;-delimited export with local times and decimal commas into orders and lines; bad rows are quarantined with file, line and reason', async () => {
    fs.writeFileSync(
      path.join(landing, 'shop', 'export_2025.csv'),
      [
        'Order No;Customer;Order Date;SKU;Qty;Price',
        'A1;c-7;01.03.2025 23:30;S1;2;4,50',
        'A1;c-7;01.03.2025 23:30;S2;1;10,00',
        'A2;c-8;31.02.2025 10:00;S1;1;4,50',
        'A3;c-8;02.03.2025 09:15;S9;x;1,00',
        'A4;c-9;02.03.2025 09:15',
      ].join('\n') + '\n',
    );
    const source = mappedSource('shop', writeMapping(ORDER_LINES));
    const summary = await extractSource(source, { warehousePath, landingDir: landing, batchId: 'm1' });
    expect(summary.notes[0]).toBe('1 file(s) loaded through mapping shop');
    expect(
      await query(
        `SELECT order_id, customer_id, strftime(ordered_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M'), currency FROM raw.orders ORDER BY 1`,
      ),
    ).toEqual([
      ['A1', 'c-7', '2025-03-01 22:30', 'EUR'],
      ['A3', 'c-8', '2025-03-02 08:15', 'EUR'],
    ]);
    expect(
      await query(
        `SELECT order_id, line_no::INT, sku, quantity::INT, unit_price::DECIMAL(18, 2)::VARCHAR FROM raw.order_items ORDER BY 1, 2`,
      ),
    ).toEqual([
      ['A1', 1, 'S1', 2, '4.50'],
      ['A1', 2, 'S2', 1, '10.00'],
    ]);
    // A2's line is valid but its order is not: it is quarantined with the order, not kept orphaned.
    const quarantine = await query(`SELECT raw_table, location, reason FROM raw._quarantine ORDER BY location, raw_table DESC`);
    expect(quarantine.map((r) => [r[0], r[1]])).toEqual([
      ['orders', 'shop/export_2025.csv:4'],
      ['order_items', 'shop/export_2025.csv:4'],
      ['order_items', 'shop/export_2025.csv:5'],
      ['orders', 'shop/export_2025.csv:6'],
    ]);
    expect(String(quarantine[0]![2])).toContain('ordered_at');
    expect(String(quarantine[0]![2])).toContain('31.02.2025 10:00'); // the value the file held, not a null
    expect(quarantine[1]![2]).toBe('order A2 quarantined');
    expect(String(quarantine[2]![2])).toContain('quantity');
    expect(String(quarantine[3]![2])).toBe('expected 6 columns, found 3');
    // Re-running reads nothing new and adds nothing.
    const again = await extractSource(source, { warehousePath, landingDir: landing, batchId: 'm2' });
    expect(again.notes[0]).toBe('0 file(s) loaded through mapping shop, 1 unchanged file(s) skipped');
    expect(await query(`SELECT count(*)::INT FROM raw._quarantine`)).toEqual([[4]]);
  });

  it("reads number fields in the file's notation (format.decimal and format.thousands, or { number } in an expression); a value not in it is quarantined as the file held it", async () => {
    fs.writeFileSync(
      path.join(landing, 'shop', 'export_2025.csv'),
      [
        'Bestellung;Kunde;Datum;Artikel;Menge;Preis;Rabatt',
        'B1;k1;01.03.2025 10:00;S1;2;1.234,50;0,50',
        'B1;k1;01.03.2025 10:00;S2;1;0,001;0,50',
        'B2;k2;02.03.2025 10:00;S1;1;12,3,4;',
        'B3;k2;03.03.2025 10:00;S3;1.000;2,00;1.000,25',
      ].join('\n') + '\n',
    );
    const mapping = `
name: shop
match: ["export*.csv"]
format: { delimiter: ";", timezone: Europe/Berlin, decimal: ",", thousands: "." }
records:
  orders:
    one_per: Bestellung
    fields:
      order_id: Bestellung
      customer_id: Kunde
      ordered_at: { timestamp: Datum, format: "%d.%m.%Y %H:%M" }
      updated_at: { timestamp: Datum, format: "%d.%m.%Y %H:%M" }
      status: { const: completed }
      currency: { const: EUR }
      discount_amount: { number: "coalesce(nullif(Rabatt, ''), '0')" }
  order_items:
    fields:
      order_id: Bestellung
      line_no: 'row_number() OVER (PARTITION BY Bestellung ORDER BY _line)'
      sku: Artikel
      quantity: Menge
      unit_price: Preis
`;
    await extractSource(mappedSource('shop', writeMapping(mapping)), { warehousePath, landingDir: landing, batchId: 'n1' });
    expect(await query(`SELECT order_id, discount_amount::VARCHAR FROM raw.orders ORDER BY 1`)).toEqual([
      ['B1', '0.50'],
      ['B2', '0.00'],
      ['B3', '1000.25'],
    ]);
    expect(await query(`SELECT order_id, sku, quantity::INT, unit_price::VARCHAR FROM raw.order_items ORDER BY 1, 2`)).toEqual([
      ['B1', 'S1', 2, '1234.5000'],
      ['B1', 'S2', 1, '0.0010'],
      ['B3', 'S3', 1000, '2.0000'],
    ]);
    const quarantine = await query(`SELECT raw_table, location, reason FROM raw._quarantine`);
    expect(quarantine.map((r) => [r[0], r[1]])).toEqual([['order_items', 'shop/export_2025.csv:4']]);
    expect(String(quarantine[0]![2])).toContain('unit_price');
    expect(String(quarantine[0]![2])).toContain('12,3,4');
  });

  it("reads the file's quoting: single quotes around fields that hold the delimiter, or no quoting at all", async () => {
    const mapping = (quote: string) =>
      namedColumnsMapping('q*.csv', `{ delimiter: ";", quote: ${JSON.stringify(quote)} }`, [
        'quantity: quantity',
        'unit_price: unit_price',
      ]);
    const header = 'order_id;customer_id;ordered_at;sku;quantity;unit_price';
    fs.writeFileSync(path.join(landing, 'shop', 'q1.csv'), `${header}\n'Q1';'k;1';2025-03-01T10:00:00Z;'it''s';1;2.50\n`);
    await extractSource(mappedSource('shop', writeMapping(mapping("'"))), { warehousePath, landingDir: landing, batchId: 'q1' });
    fs.rmSync(path.join(landing, 'shop', 'q1.csv'));
    fs.writeFileSync(path.join(landing, 'shop', 'q2.csv'), `${header}\nQ2;k"2;2025-03-01T11:00:00Z;"S2;1;3.00\n`);
    await extractSource(mappedSource('shop', writeMapping(mapping(''))), { warehousePath, landingDir: landing, batchId: 'q2' });
    expect(await query(`SELECT o.order_id, customer_id, sku FROM raw.orders o JOIN raw.order_items USING (order_id) ORDER BY 1`)).toEqual([
      ['Q1', 'k;1', "it's"],
      ['Q2', 'k"2', '"S2'],
    ]);
    expect(await query(`SELECT count(*)::INT FROM raw._quarantine`)).toEqual([[0]]);
  });

  it('a column declared optional reads as empty in the files that lack it (CSV and NDJSON); an undeclared absent column still rejects the file', async () => {
    const mapping = (type: string, optional: string) =>
      namedColumnsMapping(`x*.${type === 'ndjson' ? 'ndjson' : 'csv'}`, `{ type: ${type}, optional_columns: [${optional}] }`, [
        'quantity: { const: 1 }',
        'unit_price: { const: "1.00" }',
        'line_type: line_type',
      ]);
    const shop = path.join(landing, 'shop');
    fs.writeFileSync(path.join(shop, 'x1.csv'), 'order_id,customer_id,ordered_at,sku,line_type\nX1,k1,2025-03-01T10:00:00Z,S1,shipping\n');
    fs.writeFileSync(path.join(shop, 'x2.csv'), 'order_id,customer_id,ordered_at,sku\nX2,k2,2025-03-02T10:00:00Z,S2\n');
    fs.writeFileSync(
      path.join(shop, 'x3.ndjson'),
      JSON.stringify({ order_id: 'X3', customer_id: 'k3', ordered_at: '2025-03-03T10:00:00Z', sku: 'S3' }) + '\n',
    );
    await extractSource(mappedSource('shop', writeMapping(mapping('delimited', 'line_type'))), {
      warehousePath,
      landingDir: landing,
      batchId: 'o1',
    });
    await extractSource(mappedSource('shop', writeMapping(mapping('ndjson', 'line_type'))), {
      warehousePath,
      landingDir: landing,
      batchId: 'o2',
    });
    expect(await query(`SELECT order_id, line_type FROM raw.order_items ORDER BY 1`)).toEqual([
      ['X1', 'shipping'],
      ['X2', null],
      ['X3', null],
    ]);
    expect(await query(`SELECT count(*)::INT FROM raw._quarantine`)).toEqual([[0]]);
    // Without the declaration the file that lacks the column does not fit the mapping.
    fs.writeFileSync(path.join(shop, 'x4.csv'), 'order_id,customer_id,ordered_at,sku\nX4,k4,2025-03-04T10:00:00Z,S4\n');
    await extractSource(mappedSource('shop', writeMapping(mapping('delimited', ''))), {
      warehousePath,
      landingDir: landing,
      batchId: 'o3',
    });
    const [[location, reason]] = (await query(`SELECT location, reason FROM raw._quarantine`)) as [[string, string]];
    expect(location).toBe('shop/x4.csv');
    expect(reason).toMatch(/does not fit this file.*line_type/);
  });

  it('maps an NDJSON export with nested objects, one item per element of its lines array; a line that is not a JSON object is quarantined with its reason', async () => {
    const lines = [
      {
        id: 'N1',
        placed: '2025-03-01T10:00:00+08:00',
        state: 'paid',
        customer: { email: ' Ann@Example.com ' },
        lines: [{ sku: 'S1', qty: 2, price: 4.5 }],
      },
      {
        id: 'N2',
        placed: '2025-03-02T11:00:00+08:00',
        state: 'paid',
        customer: null,
        lines: [
          { sku: 'S2', qty: 1, price: 10 },
          { sku: 'S3', qty: 3, price: 0.25 },
        ],
      },
    ].map((o) => JSON.stringify(o));
    fs.writeFileSync(
      path.join(landing, 'shop', 'orders.ndjson'),
      [lines[0], '{"id": "N3", "placed": ', '[1, 2]', lines[1]].join('\n') + '\n',
    );
    const mapping = `
name: shop-json
match: ["*.ndjson"]
format: { type: ndjson }
records:
  orders:
    fields:
      order_id: id
      customer_id: "nullif(lower(trim(json_extract_string(customer, '$.email'))), '')"
      ordered_at: { timestamp: placed }
      updated_at: { timestamp: placed }
      status: state
      currency: { const: CNY }
      discount_amount: { const: "0" }
  order_items:
    each: lines
    fields:
      order_id: id
      line_no: item_no
      sku: "item ->> 'sku'"
      quantity: "item ->> 'qty'"
      unit_price: "item ->> 'price'"
`;
    const summary = await extractSource(mappedSource('shop', writeMapping(mapping)), { warehousePath, landingDir: landing, batchId: 'j1' });
    expect(summary.notes[0]).toBe('1 file(s) loaded through mapping shop-json');
    expect(
      await query(`SELECT order_id, customer_id, strftime(ordered_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM raw.orders ORDER BY 1`),
    ).toEqual([
      ['N1', 'ann@example.com', '2025-03-01 02:00'],
      ['N2', null, '2025-03-02 03:00'],
    ]);
    expect(
      await query(
        `SELECT order_id, line_no::INT, sku, quantity::INT, unit_price::DECIMAL(18, 2)::VARCHAR FROM raw.order_items ORDER BY 1, 2`,
      ),
    ).toEqual([
      ['N1', 1, 'S1', 2, '4.50'],
      ['N2', 1, 'S2', 1, '10.00'],
      ['N2', 2, 'S3', 3, '0.25'],
    ]);
    const quarantine = await query(`SELECT location, reason FROM raw._quarantine ORDER BY location`);
    expect(quarantine.map((r) => r[0])).toEqual(['shop/orders.ndjson:2', 'shop/orders.ndjson:3']);
    expect(String(quarantine[0]![1])).toMatch(/^invalid JSON: /);
    expect(String(quarantine[1]![1])).toBe('line is not a JSON object');
  });

  it("a mapping whose SQL does not fit the file rejects that file as a whole, naming the record and DuckDB's reason", async () => {
    fs.writeFileSync(path.join(landing, 'shop', 'export_1.csv'), 'Order No;Customer\nA1;c\n');
    // A header naming none of the columns the mapping reads by name: rejected at intake, before any SQL.
    fs.writeFileSync(path.join(landing, 'shop', 'export_2.csv'), 'a;b\n1;2\n');
    const source = mappedSource('shop', writeMapping(ORDER_LINES));
    const summary = await extractSource(source, { warehousePath, landingDir: landing, batchId: 'm1' });
    const [[location, reason], [location2, reason2]] = (await query(`SELECT location, reason FROM raw._quarantine ORDER BY location`)) as [
      [string, string],
      [string, string],
    ];
    expect(location).toBe('shop/export_1.csv');
    expect(reason).toMatch(/^file rejected: mapping shop does not fit this file \(orders\): Binder Error: .*Qty/);
    expect(location2).toBe('shop/export_2.csv');
    expect(reason2).toBe(
      "file rejected: the header (a, b) names none of the expected fields (Order No, SKU, Qty) with delimiter ';': wrong file or wrong delimiter",
    );
    expect(summary.tables.find((t) => t.table === 'orders')).toMatchObject({ read: 2, rejected: 2 });
  });

  it('a mapping of plain column renames (mapped and checked as the loader reads it) still rejects a file lacking a column, and quarantines a bad multi-line record with its text', async () => {
    const renames = `
name: shop
match: ["export*.csv"]
records:
  order_cancellations:
    fields:
      order_id: order_no
      cancelled_at: '"at"'
      updated_at: '"at"'
      cancelled_by: { const: customer }
      reason: why
`;
    fs.writeFileSync(
      path.join(landing, 'shop', 'export_1.csv'),
      'order_no,at,why\nA1,2025-03-01T10:00:00Z,changed mind\n,2025-03-01T11:00:00Z,"two\nlines"\nA3,not a time,x\n',
    );
    fs.writeFileSync(path.join(landing, 'shop', 'export_2.csv'), 'order_no,why\nB1,late\n');
    const summary = await extractSource(mappedSource('shop', writeMapping(renames)), { warehousePath, landingDir: landing, batchId: 'm1' });
    expect(summary.tables.find((t) => t.table === 'order_cancellations')).toMatchObject({ read: 4, rejected: 3, inserted: 1 });
    expect(await query(`SELECT order_id, _source_file, _source_line FROM raw.order_cancellations`)).toEqual([
      ['A1', 'shop/export_1.csv', 2n],
    ]);
    const rows = (await query(`SELECT location, record_key, reason, payload FROM raw._quarantine ORDER BY location`)) as string[][];
    expect(rows.map((r) => r[0])).toEqual(['shop/export_1.csv:4', 'shop/export_1.csv:5', 'shop/export_2.csv']);
    expect(rows[0]![3]).toBe(',2025-03-01T11:00:00Z,"two\nlines"');
    expect(rows[0]![2]).toMatch(/order_id/);
    expect(rows[1]![1]).toBe('A3');
    expect(rows[1]![2]).toMatch(/cancelled_at/);
    expect(rows[1]![3]).toBe('A3,not a time,x');
    expect(rows[2]![2]).toMatch(/^file rejected: mapping shop does not fit this file \(order_cancellations\): Binder Error: .*"at"/);
  });

  it("the mapping's SQL cannot read files or the network", async () => {
    fs.writeFileSync(
      path.join(landing, 'shop', 'export_1.csv'),
      'Order No;Customer;Order Date;SKU;Qty;Price\nA1;c;01.03.2025 10:00;S;1;1,00\n',
    );
    const mapping = ORDER_LINES.replace(
      `customer_id: "nullif(trim(Customer), '')"`,
      `customer_id: "(SELECT count(*) FROM read_text('/etc/hostname'))"`,
    );
    const summary = await extractSource(mappedSource('shop', writeMapping(mapping)), { warehousePath, landingDir: landing, batchId: 'm1' });
    expect(summary.tables.find((t) => t.table === 'orders')).toMatchObject({ rejected: 1 });
    const [[reason]] = (await query(`SELECT reason FROM raw._quarantine`)) as [[string]];
    expect(reason).toMatch(/Permission Error|disabled/);
  });

  it('checks mapping files by the schema, naming file and key; presets all load; the JSON Schema file is current', () => {
    const bad = writeMapping('name: x\nrecords: { orders: { fields: { order_id: 7 } } }\nformat: { delimiter: ";;" }\n');
    expect(() => loadMapping(bad, dir)).toThrow(MappingError);
    expect(() => loadMapping(bad, dir)).toThrow(/shop\.yml: .*format\.delimiter/);
    expect(() => loadMapping('preset:nope', dir)).toThrow(/presets: .*cdnow/);
    expect(presetNames()).toContain('cdnow');
    for (const name of presetNames()) expect(loadMapping(`preset:${name}`, dir).name).toBe(name);
    expect(JSON.parse(fs.readFileSync(MAPPING_SCHEMA_FILE, 'utf8'))).toEqual(JSON.parse(JSON.stringify(mappingJsonSchema())));
  });
});

describe('crm sources infer', () => {
  it('drafts a mapping from a Chinese seller export in GB18030: encoding, delimiter, date format and fields', () => {
    // 订单编号,买家会员名,订单创建时间,宝贝数量 / T1001,小王,2025-03-01 10:15:00,2 (GB18030 bytes)
    const header = Buffer.from('b6a9b5a5b1e0bac52cc2f2bcd2bbe1d4b1c3fb2cb6a9b5a5b4b4bda8cab1bce42cb1a6b1b4cafdc1bf0a', 'hex');
    const rows = Buffer.from('T1001,\xd0\xa1\xcd\xf5,2025-03-01 10:15:00,2\nT1002,\xd0\xa1\xc0\xee,2025-03-02 11:00:00,1\n', 'latin1');
    const file = path.join(dir, 'ExportOrderList202503.csv');
    fs.writeFileSync(file, Buffer.concat([header, rows]));
    const inferred = inferMapping(file);
    expect(inferred).toMatchObject({ encoding: 'gb18030', delimiter: ',', header: true, rows: 2 });
    expect(inferred.columns.map((c) => [c.name, c.type, c.field ?? null])).toEqual([
      ['订单编号', 'text', 'order_id'],
      ['买家会员名', 'text', 'customer_id'],
      ['订单创建时间', 'timestamp', 'ordered_at'],
      ['宝贝数量', 'integer', 'quantity'],
    ]);
    const draft = parseYaml(inferred.draft) as { match: string[]; records: { orders: { fields: Record<string, unknown> } } };
    expect(draft.match).toEqual(['ExportOrderList*.csv']);
    expect(draft.records.orders.fields['ordered_at']).toEqual({ timestamp: '"订单创建时间"', format: '%Y-%m-%d %H:%M:%S' });
    expect(() => mappingSchema.parse(draft)).not.toThrow();
  });

  it("sees a decimal comma and thousands points in a European export: the draft's format says so and loads the amounts exactly", async () => {
    const file = path.join(landing, 'shop', 'bestellungen_2025.csv');
    fs.writeFileSync(
      file,
      [
        'order_id;customer_id;ordered_at;sku;quantity;unit_price',
        'E1;k1;2025-03-01 10:00:00;S1;2;1.234,50',
        'E2;k2;2025-03-02 11:00:00;S2;1;9,99',
      ].join('\n') + '\n',
    );
    const inferred = inferMapping(file);
    expect(inferred.columns.find((c) => c.name === 'unit_price')).toMatchObject({
      type: 'decimal',
      notation: { decimal: ',', thousands: '.' },
    });
    const draft = parseYaml(inferred.draft) as { format: Record<string, unknown> };
    expect(draft.format).toMatchObject({ delimiter: ';', decimal: ',', thousands: '.' });
    // The draft as written loads: the prices are read in the file's notation.
    await extractSource(mappedSource('shop', writeMapping(inferred.draft)), { warehousePath, landingDir: landing, batchId: 'i1' });
    expect(await query(`SELECT order_id, unit_price::VARCHAR FROM raw.order_items ORDER BY 1`)).toEqual([
      ['E1', '1234.5000'],
      ['E2', '9.9900'],
    ]);
    // A thousands comma beside a decimal point, and a lone "1,234" that says neither.
    expect(inferMapping(writeCsv('a.csv', 'id;price\n1;1,234.50\n2;12.00\n')).columns[1]).toMatchObject({
      notation: { decimal: '.', thousands: ',' },
    });
    expect(inferMapping(writeCsv('b.csv', 'id;price\n1;1,234\n2;5,678\n')).columns[1]).toMatchObject({ type: 'text' });
  });

  it('finds a whitespace-separated log without a header and says which required fields it could not find', () => {
    const file = path.join(dir, 'log.txt');
    fs.writeFileSync(file, ' 00001 19970101  1   11.77\n 00002 19970112  1   12.00\n 00003 19970102  2   20.76\n');
    const inferred = inferMapping(file);
    expect(inferred).toMatchObject({ delimiter: 'whitespace', header: false, rows: 3 });
    expect(inferred.columns.map((c) => [c.type, c.format ?? null])).toEqual([
      ['integer', null],
      ['date', '%Y%m%d'],
      ['integer', null],
      ['decimal', null],
    ]);
    expect(inferred.draft).toContain('# Required and not found (write an expression for each): order_id, customer_id, ordered_at');
  });
});
