import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { fileDropSources, mappedSource } from '../../pipelines/extract/sources.ts';
import type { SourceDefinition } from '../../pipelines/extract/source-contract.ts';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { queryWarehouse } from '../support/warehouse-query.ts';
import { ROW_PATH_SOURCES } from '../../benchmarks/row-path-sources.ts';

/**
 * The built-in profile, service and opinion sources read their folders through the landing presets
 * of their families (mapped sources: profiles and service run by the warehouse's bulk path, the
 * landing executor; posts scored per record). They, and the same presets run in the mapping's
 * sandbox, must load the same raw rows, quarantine and counts as the file drop's row path (csv-parse
 * or JSON.parse, then zod) reading the same files by prefix: the generated shop, malformed records
 * included, and hand-written edge cases.
 */

let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-landing-families-'));
  await generateSampleData({
    ...DEFAULT_GENERATE_OPTIONS,
    outDir: path.join(dir, 'landing'),
    customers: 300,
    orders: 1500,
    malformedRate: 0.05,
  });
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function load(name: string, source: SourceDefinition, tables: string[]) {
  const warehousePath = path.join(dir, `${name}.duckdb`);
  const summary = await extractSource(source, { warehousePath, landingDir: path.join(dir, 'landing'), batchId: 'b1' });
  const query = (sql: string) => queryWarehouse(warehousePath, sql);
  const rows: Record<string, unknown[][]> = {};
  for (const table of tables) rows[table] = await query(`SELECT * EXCLUDE (_batch_id, _loaded_at) FROM raw.${table} ORDER BY ALL`);
  return {
    counts: summary.tables.map((t) => [t.table, t.read, t.rejected, t.inserted]),
    rows,
    quarantine: await query(`SELECT source, raw_table, location, record_key, reason FROM raw._quarantine ORDER BY ALL`),
  };
}

const FAMILIES: { source: keyof typeof ROW_PATH_SOURCES; preset: string; folder: string; tables: string[] }[] = [
  {
    source: 'profiles',
    preset: 'landing-profiles',
    folder: 'profiles',
    tables: ['customers', 'customer_versions'],
  },
  {
    source: 'service_tickets',
    preset: 'landing-service',
    folder: 'service',
    tables: ['service_tickets', 'service_ticket_events', 'service_contacts'],
  },
  {
    source: 'opinion_posts',
    preset: 'landing-opinion',
    folder: 'opinion',
    tables: ['opinion_posts'],
  },
];

const builtInSource = (name: string) => fileDropSources().find((s) => s.name === name)!;
/** The family's preset run in the mapping's sandbox, whatever its shape. */
const sandboxed = (family: (typeof FAMILIES)[number]) =>
  mappedSource(family.source, `preset:${family.preset}`, { folder: family.folder, executor: 'sandbox' });

describe('the landing presets of the profile, service and opinion families', () => {
  for (const family of FAMILIES) {
    it(`${family.source} reads ${family.folder}/ through ${family.preset} as the file drop's row path does`, async () => {
      const rowPath = await load(`${family.source}-row-path`, ROW_PATH_SOURCES[family.source](), family.tables);
      const mapped = await load(`${family.source}-mapped`, builtInSource(family.source), family.tables);
      for (const table of family.tables) expect(rowPath.rows[table]!.length, table).toBeGreaterThan(50);
      expect(rowPath.quarantine.length).toBeGreaterThan(0);
      const inSandbox = await load(`${family.source}-sandbox`, sandboxed(family), family.tables);
      for (const loaded of [mapped, inSandbox]) {
        for (const table of family.tables) expect(loaded.rows[table], table).toEqual(rowPath.rows[table]);
        expect(loaded.quarantine).toEqual(rowPath.quarantine);
        expect(loaded.counts).toEqual(rowPath.counts);
      }
    }, 120_000);
  }
});

/** Hand-written files probing what the generator does not write: CSV, typed JSON values, missing and unknown columns, broken lines. */
const EDGE_FILES: Record<string, string> = {
  'profiles/customers.csv': [
    'customer_id,full_name,email,phone,membership_tier,points_balance,marketing_consent,consent_email,signup_at,updated_at',
    'E1,Ann,ann@example.com,138,gold,10,true,false,2025-01-01T00:00:00Z,2025-01-02T00:00:00Z',
    'E2,Bob,not-an-email,139,tin,-1,maybe,,2025-01-01T00:00:00Z,2025-01-02T00:00:00Z',
    'E3,"Chen, Li",,,silver,1.5,false,true,2025-01-01,not a time',
    '',
  ].join('\n'),
  'profiles/customers_2025.ndjson': [
    '{"customer_id":"E4","membership_tier":"bronze","marketing_consent":true,"signup_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-03T00:00:00Z","points_balance":5}',
    '{"customer_id":5,"membership_tier":"bronze","marketing_consent":"true","signup_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-03T00:00:00Z"}',
    '{"customer_id":"E6","membership_tier":"gold","marketing_consent":false,"signup_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-03T00:00:00Z","points_balance":"7","loyalty_id":"x"}',
    '{"customer_id":"E7",',
    '',
  ].join('\n'),
  'service/tickets-part1.csv': [
    'ticket_id,customer_id,channel,category,subject,created_at,status,satisfaction,updated_at,reopened_count',
    'T1,E1,phone,complaint,late,2025-02-01T00:00:00Z,open,,2025-02-01T00:00:00Z,0',
    'T2,E1,fax,complaint,late,2025-02-01T00:00:00Z,open,6,2025-02-01T00:00:00Z,-1',
    // No offset: rejected (the landing format's timestamps carry one), not read as UTC.
    'T3,E1,phone,complaint,late,2025-02-01 10:00:00,open,,2025-02-01T00:00:00Z,0',
    '',
  ].join('\n'),
  'service/ticket_events.jsonl': [
    '{"event_id":"V1","ticket_id":"T1","event_type":"created","occurred_at":"2025-02-01T00:00:00Z","satisfaction":null}',
    '{"event_id":"V2","ticket_id":"T1","event_type":"rated","occurred_at":"2025-02-01T00:00:00Z","satisfaction":"5"}',
    '{"event_id":"V3","ticket_id":["T1"],"event_type":"closed","occurred_at":"2025-02-01T00:00:00Z"}',
    '',
  ].join('\n'),
  'service/contacts.csv': [
    'contact_id,channel,direction,category,started_at,handle_seconds,updated_at',
    'K1,qq,inbound,praise,2025-02-01T00:00:00Z,30,2025-02-01T00:00:00Z',
    'K2,qq,sideways,praise,2025-02-01T00:00:00Z,86401,2025-02-01T00:00:00Z',
    '',
  ].join('\n'),
  'opinion/posts.csv': [
    'post_id,platform,published_at,lang,text,rating,brand',
    'Q1,weibo,2025-03-01T00:00:00Z,zh,质量很好,5,Aurora',
    'Q2,,2025-03-01T00:00:00Z,fr,très bien,9,Aurora',
    '',
  ].join('\n'),
  'opinion/posts_x.ndjson': [
    '{"post_id":"Q3","platform":"x","published_at":"2025-03-01T00:00:00Z","lang":"en","text":"awful fit","rating":1}',
    '{"post_id":"Q4","platform":"x","published_at":"2025-03-01T00:00:00Z","lang":"en","text":"ok","rating":"3"}',
    '{"post_id":"Q5","platform":"x","published_at":"2025-03-01T00:00:00Z","lang":"en","text":42}',
    '[1, 2]',
    '',
  ].join('\n'),
};

describe('the landing presets on files the generator does not write', () => {
  let edge: string;
  beforeAll(() => {
    edge = path.join(dir, 'edge-landing');
    for (const [name, text] of Object.entries(EDGE_FILES)) {
      fs.mkdirSync(path.dirname(path.join(edge, name)), { recursive: true });
      fs.writeFileSync(path.join(edge, name), text);
    }
    // A file that cannot be read at all, beside the good ones of each family: rejected as a whole.
    const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
    for (const name of ['profiles/customers.bin.csv', 'service/tickets.bin.csv', 'opinion/posts.bin.csv'])
      fs.writeFileSync(path.join(edge, name), noise);
  });
  for (const family of FAMILIES) {
    it(`${family.source} (${family.preset}): the same rows, quarantine and counts as the file drop's row path`, async () => {
      const loadEdge = async (name: string, source: SourceDefinition) => {
        const warehousePath = path.join(dir, `edge-${name}.duckdb`);
        const summary = await extractSource(source, { warehousePath, landingDir: edge, batchId: 'b1' });
        const rows: Record<string, unknown[][]> = {};
        for (const table of family.tables)
          rows[table] = await queryWarehouse(warehousePath, `SELECT * EXCLUDE (_batch_id, _loaded_at) FROM raw.${table} ORDER BY ALL`);
        const quarantine = await queryWarehouse(
          warehousePath,
          `SELECT raw_table, location, record_key, reason FROM raw._quarantine ORDER BY ALL`,
        );
        return { rows, quarantine, counts: summary.tables.map((t) => [t.table, t.read, t.rejected, t.inserted]) };
      };
      const rowPath = await loadEdge(`${family.source}-row-path`, ROW_PATH_SOURCES[family.source]());
      const mapped = await loadEdge(`${family.source}-mapped`, builtInSource(family.source));
      expect(rowPath.quarantine.length).toBeGreaterThanOrEqual(3);
      expect(builtInSource(family.source).description).toContain(`preset:${family.preset}`);
      expect(rowPath.quarantine.some(([, location]) => String(location).endsWith('.bin.csv'))).toBe(true);
      expect(Object.values(rowPath.rows).some((rows) => rows.length > 0)).toBe(true);
      const inSandbox = await loadEdge(`${family.source}-sandbox`, sandboxed(family));
      for (const loaded of [mapped, inSandbox]) {
        expect(loaded.rows).toEqual(rowPath.rows);
        expect(loaded.quarantine).toEqual(rowPath.quarantine);
        expect(loaded.counts).toEqual(rowPath.counts);
      }
    }, 120_000);
  }
});
