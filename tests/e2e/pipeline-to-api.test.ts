import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSampleData, DEFAULT_GENERATE_OPTIONS } from '../../pipelines/sources/sample-data/generate.ts';
import { LANDING_FILES, type GroundTruth } from '../../pipelines/sources/sample-data/landing-layout.ts';
import { runPipeline, type PipelineSummary } from '../../pipelines/run/run-pipeline.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { startApiServer } from '../../api/server.ts';
import { signDevToken } from '../../api/auth.ts';

/**
 * The whole journey once: generated files -> extractors -> DuckDB raw -> dbt -> Cube compiler ->
 * HTTP API. The expected figures are computed here from the generated source files alone.
 */
const SECRET = 'e2e-secret-0123456789abcdef0123456789';
const TIMEZONE = 'Asia/Shanghai';
let workDir: string;
let landingDir: string;
let warehousePath: string;
let truth: GroundTruth;
let firstRun: PipelineSummary;
let api: { url: string; close(): Promise<void> };

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-e2e-'));
  landingDir = path.join(workDir, 'landing');
  warehousePath = path.join(workDir, 'warehouse', 'crm.duckdb');
  truth = await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: landingDir, seed: 7, customers: 300, orders: 3_000, malformedRate: 0.01 });
  // With dbt's unit tests (scheduled runs leave them out by default, config transform.unitTests).
  firstRun = await runPipeline({ warehousePath, landingDir, interactive: false, unitTests: true });
});

afterAll(async () => {
  await api?.close();
  fs.rmSync(workDir, { recursive: true, force: true });
});

/** Month (YYYY-MM) of an instant in the reporting time zone, computed without the warehouse. */
function monthIn(timeZone: string, isoTimestamp: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit' }).formatToParts(new Date(isoTimestamp));
  return `${parts.find((p) => p.type === 'year')!.value}-${parts.find((p) => p.type === 'month')!.value}`;
}

const cents = (amount: string) => Math.round(Number(amount) * 100);

/** Revenue (in cents) and distinct buyers per month, straight from orders.csv and order_items.csv. */
function expectedMonthlyFigures(): Map<string, { revenueCents: number; buyers: Set<string> }> {
  const malformedOrders = new Set(truth.malformed.orders);
  const malformedItems = new Set(truth.malformed.orderItems);
  const orders = parse(fs.readFileSync(path.join(landingDir, LANDING_FILES.orders)), { columns: true }) as Record<string, string>[];
  const items = parse(fs.readFileSync(path.join(landingDir, LANDING_FILES.orderItems)), { columns: true }) as Record<string, string>[];
  // The export holds several versions of some orders (refunds, duplicates): the newest counts.
  const latest = new Map<string, Record<string, string>>();
  for (const order of orders) {
    if (malformedOrders.has(order.order_id!)) continue;
    const seen = latest.get(order.order_id!);
    if (!seen || Date.parse(order.updated_at!) >= Date.parse(seen.updated_at!)) latest.set(order.order_id!, order);
  }
  const grossByOrder = new Map<string, number>();
  for (const item of items) {
    if (malformedItems.has(`${item.order_id}#${item.line_no}`)) continue;
    grossByOrder.set(item.order_id!, (grossByOrder.get(item.order_id!) ?? 0) + Number(item.quantity) * cents(item.unit_price!));
  }
  const byMonth = new Map<string, { revenueCents: number; buyers: Set<string> }>();
  for (const order of latest.values()) {
    if (order.status === 'cancelled' || order.status === 'refunded') continue;
    const month = monthIn(TIMEZONE, order.ordered_at!);
    const entry = byMonth.get(month) ?? { revenueCents: 0, buyers: new Set<string>() };
    entry.revenueCents += (grossByOrder.get(order.order_id!) ?? 0) - cents(order.discount_amount!);
    entry.buyers.add(order.customer_id!);
    byMonth.set(month, entry);
  }
  return byMonth;
}

describe('pipeline to API, end to end', () => {
  it('loads every valid record and quarantines exactly the malformed ones', async () => {
    const orders = firstRun.extracts.find((e) => e.source === 'orders')!.tables.find((t) => t.table === 'orders')!;
    expect(orders.inserted).toBe(truth.counts.orders);
    expect(orders.rejected).toBe(truth.malformed.orders.length);
    const warehouse = await openWarehouse(warehousePath, { readOnly: true });
    try {
      const rows = (await warehouse.connection.runAndReadAll(
        `SELECT raw_table, record_key FROM raw._quarantine ORDER BY raw_table, record_key`,
      )).getRows();
      const quarantined = (table: string) => rows.filter((r) => r[0] === table).map((r) => String(r[1]).split('|').join('#')).sort();
      expect(quarantined('orders')).toEqual([...truth.malformed.orders].sort());
      expect(quarantined('order_items')).toEqual([...truth.malformed.orderItems].sort());
      expect(quarantined('service_tickets')).toEqual([...truth.malformed.tickets].sort());
      const reasons = (await warehouse.connection.runAndReadAll(`SELECT DISTINCT reason FROM raw._quarantine WHERE raw_table = 'orders'`)).getRows().flat();
      expect(reasons.join('\n')).toMatch(/customer_id: required|ordered_at: |status: /);
    } finally {
      warehouse.close();
    }
    expect(firstRun.dbt?.models).toBeGreaterThanOrEqual(6);
    expect(firstRun.dbt?.unitTests).toBeGreaterThanOrEqual(1);
  });

  it('answers revenue and customer count by month over HTTP, equal to figures computed from the source files', async () => {
    api = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0, host: '127.0.0.1' });
    const token = await signDevToken(SECRET, { sub: 'e2e', role: 'analyst' });
    const response = await fetch(`${api.url}/cubejs-api/v1/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: token },
      body: JSON.stringify({
        query: {
          measures: ['orders.revenue', 'orders.buyer_count'],
          timeDimensions: [{ dimension: 'orders.ordered_at', granularity: 'month' }],
          order: { 'orders.ordered_at': 'asc' },
          timezone: TIMEZONE,
        },
      }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: Record<string, string | number>[] };
    const actual = new Map(
      body.data.map((row) => [
        String(row['orders.ordered_at.month']).slice(0, 7),
        { revenueCents: cents(String(row['orders.revenue'])), buyers: Number(row['orders.buyer_count']) },
      ]),
    );
    const expected = expectedMonthlyFigures();
    expect(expected.size).toBeGreaterThan(12);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [month, figures] of expected) {
      expect({ month, ...actual.get(month) }).toEqual({ month, revenueCents: figures.revenueCents, buyers: figures.buyers.size });
    }
  });

  it('re-running the pipeline on the same files changes nothing', async () => {
    await api?.close();
    const second = await runPipeline({ warehousePath, landingDir, interactive: false });
    for (const extract of second.extracts) {
      for (const table of extract.tables) {
        expect({ table: table.table, inserted: table.inserted, updated: table.updated }).toEqual({ table: table.table, inserted: 0, updated: 0 });
      }
    }
    const warehouse = await openWarehouse(warehousePath, { readOnly: true });
    try {
      const counts = (await warehouse.connection.runAndReadAll(
        `SELECT (SELECT count(*) FROM raw.orders), (SELECT count(*) FROM raw._quarantine), (SELECT count(*) FROM marts.fct_orders)`,
      )).getRows()[0]!.map(Number);
      const rejectedTotal = Object.values(truth.malformed).reduce((n, keys) => n + keys.length, 0);
      expect(counts).toEqual([truth.counts.orders, rejectedTotal, truth.counts.orders]);
    } finally {
      warehouse.close();
    }
  });
});
