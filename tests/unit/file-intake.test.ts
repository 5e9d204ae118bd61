import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { fileDropSources, findSource } from '../../pipelines/extract/sources.ts';
import { headerProblem, inspectFile } from '../../pipelines/extract/files/file-intake.ts';
import { queryWarehouse } from '../support/warehouse-query.ts';
import type { FileSourceSettings } from '../../shared/source-settings.ts';
import { fileSourceSettingsSchema } from '../../shared/source-settings.ts';
import { projectRoot } from '../../shared/paths.ts';

/**
 * Files as real shops drop them beside good ones: a GB18030 export from a Chinese seller tool, a
 * UTF-16 export from a spreadsheet, random bytes, a semicolon-delimited file, a file still being
 * written, a binary file with an NDJSON name. Each is loaded correctly or rejected as a whole with
 * one reason, and the good files of the same source always load.
 */

let dir: string;
let landing: string;
let warehousePath: string;
let batch = 0;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-intake-test-'));
  landing = path.join(dir, 'landing');
  warehousePath = path.join(dir, 'wh.duckdb');
  fs.mkdirSync(path.join(landing, 'orders'), { recursive: true });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const HEADER = 'order_id,customer_id,ordered_at,status,currency,discount_amount,updated_at,ship_name,ship_phone,ship_city,ship_address';
const row = (id: string, name = 'Li Lei', city = 'Shanghai', address = '1 Road') =>
  `${id},C1,2025-02-01T10:00:00+08:00,paid,CNY,0.00,2025-02-01T10:00:00+08:00,${name},13800000000,${city},${address}`;
const ordersPath = (name: string) => path.join(landing, 'orders', name);
const writeText = (name: string, lines: string[]) => fs.writeFileSync(ordersPath(name), lines.join('\n') + '\n');

/** GB18030 bytes of the Chinese strings these tests use (Node encodes only UTF-8; these are the standard's byte sequences). */
const GB18030: Record<string, string> = {
  李雷: 'c0eec0d7',
  韩梅梅: 'baabc3b7c3b7',
  上海市: 'c9cfbaa3cad0',
  太原: 'ccabd4ad',
  浦东新区张江路4471号: 'c6d6b6abd0c2c7f8d5c5bdadc2b734343731bac5',
};
function gb18030(text: string): Buffer {
  const parts: Buffer[] = [];
  let rest = text;
  while (rest.length > 0) {
    const word = Object.keys(GB18030).find((w) => rest.startsWith(w));
    if (word) {
      parts.push(Buffer.from(GB18030[word]!, 'hex'));
      rest = rest.slice(word.length);
    } else {
      if (rest.charCodeAt(0) > 0x7f) throw new Error(`no GB18030 bytes for ${rest[0]}`);
      parts.push(Buffer.from(rest[0]!, 'latin1'));
      rest = rest.slice(1);
    }
  }
  return Buffer.concat(parts);
}

async function extract(settings: Record<string, FileSourceSettings> = {}) {
  const source = fileDropSources(settings).find((s) => s.name === 'orders')!;
  return extractSource(source, { warehousePath, landingDir: landing, batchId: `b${++batch}` });
}
const settings = (value: Record<string, unknown>) => ({ orders: fileSourceSettingsSchema.parse(value) });

const query = (sql: string) => queryWarehouse(warehousePath, sql);

describe('file intake: encodings', () => {
  it('loads a GB18030 export beside a UTF-8 one with the Chinese text intact, and keeps the original checksum', async () => {
    writeText('orders.csv', [HEADER, row('O1')]);
    const text = [HEADER, row('O2', '李雷', '上海市', '浦东新区张江路4471号'), row('O3', '韩梅梅', '太原', '1 Road')].join('\n') + '\n';
    const bytes = gb18030(text);
    fs.writeFileSync(ordersPath('orders_gbk.csv'), bytes);
    const summary = await extract();
    expect(summary.tables[0]).toMatchObject({ read: 3, inserted: 3, rejected: 0 });
    expect(summary.notes).toContain('orders/orders_gbk.csv read as gb18030 (transcoded to UTF-8)');
    expect(await query(`SELECT order_id, ship_name, ship_city, ship_address, _source_file FROM raw.orders ORDER BY 1`)).toEqual([
      ['O1', 'Li Lei', 'Shanghai', '1 Road', 'orders/orders.csv'],
      ['O2', '李雷', '上海市', '浦东新区张江路4471号', 'orders/orders_gbk.csv'],
      ['O3', '韩梅梅', '太原', '1 Road', 'orders/orders_gbk.csv'],
    ]);
    const sha = crypto.createHash('sha256').update(bytes).digest('hex');
    expect(await query(`SELECT sha256 FROM raw._file_manifest WHERE path = 'orders/orders_gbk.csv'`)).toEqual([[sha]]);
    // Unchanged on the next run: skipped by its original checksum, not re-read.
    const again = await extract();
    expect(again.notes[0]).toBe('0 file(s) loaded, 2 unchanged file(s) skipped');
  });

  it('loads UTF-16 with a BOM and UTF-8 with a BOM', async () => {
    const text = [HEADER, row('O1', '李雷', '上海市')].join('\r\n') + '\r\n';
    fs.writeFileSync(ordersPath('orders_u16.csv'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    fs.writeFileSync(ordersPath('orders_bom.csv'), '\ufeff' + [HEADER, row('O2', '韩梅梅')].join('\n') + '\n');
    const summary = await extract();
    expect(summary.tables[0]).toMatchObject({ read: 2, inserted: 2, rejected: 0 });
    expect(await query(`SELECT order_id, ship_name, ship_city FROM raw.orders ORDER BY 1`)).toEqual([
      ['O1', '李雷', '上海市'],
      ['O2', '韩梅梅', 'Shanghai'],
    ]);
  });

  it('a declared encoding that the bytes do not decode in rejects the file as a whole: nothing garbled is stored', async () => {
    fs.writeFileSync(ordersPath('orders_gbk.csv'), gb18030([HEADER, row('O2', '李雷', '上海市')].join('\n') + '\n'));
    writeText('orders.csv', [HEADER, row('O1')]);
    const summary = await extract(settings({ encoding: 'utf-8' }));
    expect(summary.tables[0]).toMatchObject({ inserted: 1, rejected: 1 });
    const rows = await query(`SELECT location, reason, payload FROM raw._quarantine`);
    expect(rows).toHaveLength(1);
    expect(rows[0]![0]).toBe('orders/orders_gbk.csv');
    expect(String(rows[0]![1])).toMatch(/^file rejected: not valid UTF-8 text .*tried utf-8$/);
    expect(String(rows[0]![2])).toMatch(/^\(file not loaded: \d+ bytes, sha256 [0-9a-f]{64}, first bytes hex [0-9a-f]+\)$/);
    expect(await query(`SELECT order_id FROM raw.orders`)).toEqual([['O1']]);
  });
});

describe('file intake: unreadable files are rejected as a whole, the others load', () => {
  it('random bytes named orders_x.csv: one quarantine row with the encodings tried; re-running adds no second row', async () => {
    writeText('orders.csv', [HEADER, row('O1'), row('O2')]);
    const noise = Buffer.concat([crypto.randomBytes(4096), Buffer.from([0x00, 0xff, 0x80, 0x0a])]);
    fs.writeFileSync(ordersPath('orders_x.csv'), noise);
    const summary = await extract();
    expect(summary.tables[0]).toMatchObject({ inserted: 2, rejected: 1 });
    expect(summary.notes.find((n) => n.startsWith('rejected as a whole: orders/orders_x.csv: '))).toMatch(/tried utf-8, (gb18030|utf-16)/);
    await extract();
    expect(await query(`SELECT count(*)::INT FROM raw._quarantine`)).toEqual([[1]]);
    expect(await query(`SELECT count(*)::INT FROM raw.orders`)).toEqual([[2]]);
  });

  it('a semicolon-delimited file is rejected with the delimiter it looks like; declared, it loads', async () => {
    const semicolon = [HEADER.replaceAll(',', ';'), row('O9').replaceAll(',', ';')];
    fs.writeFileSync(ordersPath('orders_semi.csv'), semicolon.join('\n') + '\n');
    writeText('orders.csv', [HEADER, row('O1')]);
    const summary = await extract();
    expect(summary.tables[0]).toMatchObject({ inserted: 1, rejected: 1 });
    const [[reason]] = (await query(`SELECT reason FROM raw._quarantine`)) as [[string]];
    expect(reason).toContain("splits into 1 column(s) on ',' but into 11 on ';'");
    expect(reason).toContain("looks ';'-delimited");

    fs.rmSync(ordersPath('orders.csv'));
    fs.rmSync(warehousePath);
    const declared = await extract(settings({ delimiter: ';' }));
    expect(declared.tables[0]).toMatchObject({ read: 1, inserted: 1, rejected: 0 });
    expect(await query(`SELECT order_id, ship_city FROM raw.orders`)).toEqual([['O9', 'Shanghai']]);
  });

  it('a binary file named tickets_x.ndjson is one rejected file, not hundreds of noisy rows', async () => {
    fs.mkdirSync(path.join(landing, 'service'));
    const good = { ticket_id: 'T1' };
    fs.writeFileSync(path.join(landing, 'service', 'tickets.ndjson'), JSON.stringify(good) + '\n');
    const noise = Buffer.alloc(64 * 1024);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251 === 0 ? 0x0a : (i * 31) % 256;
    fs.writeFileSync(path.join(landing, 'service', 'tickets_x.ndjson'), noise);
    const source = findSource('service_tickets', {});
    const summary = await extractSource(source, { warehousePath, landingDir: landing, batchId: 'svc' });
    const tickets = summary.tables.find((t) => t.table === 'service_tickets')!;
    const rejected = await query(`SELECT location, reason FROM raw._quarantine WHERE location LIKE 'service/tickets_x%'`);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]![0]).toBe('service/tickets_x.ndjson');
    expect(String(rejected[0]![1])).toMatch(/^file rejected: (not readable as text|binary data)/);
    expect(tickets.read).toBeGreaterThanOrEqual(2); // the good file's record and the rejected file's one
  });
});

describe('file intake: files still being written', () => {
  it('a file cut inside its last field (no final newline) is left for the next run, then loaded whole', async () => {
    const full = [HEADER, row('O1'), row('O2', '李雷', '上海市', '浦东新区张江路4471号')].join('\n') + '\n';
    fs.writeFileSync(ordersPath('orders.csv'), full.slice(0, full.length - 4)); // "...张江路44"
    const first = await extract();
    expect(first.tables[0]).toMatchObject({ read: 0, inserted: 0 });
    expect(first.notes).toContain(
      'left for the next run: orders/orders.csv (no final newline: the file may still be being written; it is loaded once it ends with a newline)',
    );
    expect(await query(`SELECT count(*)::INT FROM raw._file_manifest`)).toEqual([[0]]);
    fs.writeFileSync(ordersPath('orders.csv'), full);
    const second = await extract();
    expect(second.tables[0]).toMatchObject({ read: 2, inserted: 2 });
    expect(await query(`SELECT ship_address FROM raw.orders WHERE order_id = 'O2'`)).toEqual([['浦东新区张江路4471号']]);
  });

  it('a ready marker holds every file back until it exists, and then a file without a final newline is complete', async () => {
    fs.writeFileSync(ordersPath('orders.csv'), [HEADER, row('O1')].join('\n'));
    const waiting = await extract(settings({ readyMarker: '_SUCCESS' }));
    expect(waiting.skipped).toBe(`ready marker _SUCCESS not in ${path.join(landing, 'orders')} yet: its files are left for the next run`);
    fs.writeFileSync(ordersPath('_SUCCESS'), '');
    const ready = await extract(settings({ readyMarker: '_SUCCESS' }));
    expect(ready.tables[0]).toMatchObject({ read: 1, inserted: 1 });
  });
});

describe('optional sources', () => {
  it('an absent optional source is skipped with its reason and its raw tables exist empty; an absent required one fails', async () => {
    const summary = await extractSource(findSource('service_tickets', {}), { warehousePath, landingDir: landing, batchId: 's1' });
    expect(summary.skipped).toBe(`optional source absent: no folder ${path.join(landing, 'service')}`);
    expect(await query(`SELECT count(*)::INT FROM raw.service_tickets`)).toEqual([[0]]);
    expect(await query(`SELECT count(*)::INT FROM raw._load_batches`)).toEqual([[0]]);
    fs.rmSync(path.join(landing, 'orders'), { recursive: true });
    await expect(extract()).rejects.toThrow(`orders: landing folder not found: ${path.join(landing, 'orders')}`);
    await expect(extract(settings({ optional: true }))).resolves.toMatchObject({
      skipped: expect.stringContaining('optional source absent'),
    });
  });
});

describe('inspectFile and headerProblem', () => {
  const options = {
    format: 'csv' as const,
    encoding: 'auto' as const,
    delimiter: ',',
    requireFinalNewline: true,
    expectedFields: ['order_id', 'status'],
    workDir: () => dir,
  };
  it('names the delimiter a header looks like, or says it names no expected field', () => {
    expect(headerProblem('order_id,status', ',', ['order_id'])).toBeNull();
    expect(headerProblem('order_id\tstatus', ',', ['order_id'])).toContain('looks tab-delimited');
    expect(headerProblem('a,b,c', ',', ['order_id'])).toMatch(/^the header \(a, b, c\) names none of the expected fields \(order_id\)/);
  });
  it('an empty file is ready (nothing to read); UTF-16 without a BOM is found by its NUL pattern', () => {
    fs.writeFileSync(path.join(dir, 'empty.csv'), '');
    expect(inspectFile(path.join(dir, 'empty.csv'), options)).toMatchObject({ status: 'ready', transcoded: false });
    fs.writeFileSync(path.join(dir, 'u16.csv'), Buffer.from('order_id,status\nO1,paid\n', 'utf16le'));
    const result = inspectFile(path.join(dir, 'u16.csv'), options);
    expect(result).toMatchObject({ status: 'ready', encoding: 'utf-16le', transcoded: true });
    expect(fs.readFileSync((result as { readPath: string }).readPath, 'utf8')).toBe('order_id,status\nO1,paid\n');
  });
  it('a multi-byte character split across read chunks is still valid UTF-8', () => {
    const line = 'O1,' + '中'.repeat(3_000_000) + '\n';
    fs.writeFileSync(path.join(dir, 'big.csv'), 'order_id,status\n' + line);
    expect(inspectFile(path.join(dir, 'big.csv'), options)).toMatchObject({ status: 'ready', encoding: 'utf-8', transcoded: false });
  });
});

describe('file intake: opinion posts in GB18030', () => {
  it('are stored as the Chinese text they are and scored, not garbled and neutral', async () => {
    fs.mkdirSync(path.join(landing, 'opinion'));
    // "太差了，再也不买" (terrible, never buying again) and "质量很好，物流很快" (great quality, fast delivery).
    const posts = [
      { post_id: 'p1', platform: 'weibo', published_at: '2025-06-01T00:00:00Z', lang: 'zh', text: 'TEXT1' },
      { post_id: 'p2', platform: 'weibo', published_at: '2025-06-01T00:00:00Z', lang: 'zh', text: 'TEXT2' },
    ];
    const ndjson = posts.map((p) => JSON.stringify(p)).join('\n') + '\n';
    const [before, middle, after] = ndjson.split(/TEXT1|TEXT2/) as [string, string, string];
    const bytes = Buffer.concat([
      Buffer.from(before, 'latin1'),
      Buffer.from('ccabb2eec1cba3acd4d9d2b2b2bbc2f2', 'hex'),
      Buffer.from(middle, 'latin1'),
      Buffer.from('d6cac1bfbadcbac3a3acceefc1f7badcbfec', 'hex'),
      Buffer.from(after, 'latin1'),
    ]);
    fs.writeFileSync(path.join(landing, 'opinion', 'posts_gbk.ndjson'), bytes);
    const summary = await extractSource(findSource('opinion_posts', {}), { warehousePath, landingDir: landing, batchId: 'op' });
    expect(summary.notes).toContain('opinion/posts_gbk.ndjson read as gb18030 (transcoded to UTF-8)');
    expect(await query(`SELECT post_id, text, sentiment_label FROM raw.opinion_posts ORDER BY 1`)).toEqual([
      ['p1', '太差了，再也不买', 'negative'],
      ['p2', '质量很好，物流很快', 'positive'],
    ]);
  });
});

describe('crm sources check', () => {
  it('prints what would load and what would be quarantined, exits 1 when something is, and writes nothing', () => {
    writeText('orders.csv', [HEADER, row('O1')]);
    fs.writeFileSync(ordersPath('orders_x.csv'), Buffer.concat([Buffer.from([0, 0xff, 0x80]), crypto.randomBytes(512), Buffer.from('\n')]));
    const before = fs.readdirSync(landing, { recursive: true }).sort();
    const result = spawnSync(
      path.join(projectRoot, 'node_modules', '.bin', 'tsx'),
      ['cli/crm.ts', 'sources', 'check', 'orders', '--landing', landing, '--json'],
      {
        cwd: projectRoot,
        encoding: 'utf8',
      },
    );
    expect(result.status, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as {
      notes: string[];
      tables: { table: string; read: number; valid: number; rejected: number }[];
      rejected: { location: string; reason: string }[];
    };
    expect(report.notes[0]).toBe('1 file(s) loaded, 1 rejected as a whole');
    expect(report.tables.find((t) => t.table === 'orders')).toMatchObject({ read: 2, valid: 1, rejected: 1 });
    expect(report.rejected).toEqual([
      { table: 'orders', location: 'orders/orders_x.csv', reason: expect.stringMatching(/^file rejected: /), payload: expect.any(String) },
    ]);
    expect(result.stderr).toContain('orders: 1 record(s) would be quarantined');
    expect(fs.readdirSync(landing, { recursive: true }).sort()).toEqual(before);
    expect(fs.existsSync(warehousePath)).toBe(false);
  });
});
