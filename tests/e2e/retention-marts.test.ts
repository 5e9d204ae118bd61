import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { SOURCES } from '../../pipelines/extract/sources.ts';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { runDbt } from '../../pipelines/transform/dbt-cli.ts';
import { shopMonth } from '../support/shop-day.ts';

/**
 * Retention marts against figures computed straight from the generated files and the generator's
 * truth (persons from _truth/identities.ndjson, accidental orders from _truth/accidental_orders.ndjson),
 * never from the marts.
 */
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-retention-'));
const landingDir = path.join(workDir, 'landing');
const warehousePath = path.join(workDir, 'wh.duckdb');
const readNdjson = <T>(file: string): T[] =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);

let cohorts: { cohort_month: string; months_since_first: number; cohort_size: number; active_customers: number }[];
let activity: { month: string; active_customers: number; new_customers: number }[];

beforeAll(async () => {
  await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: landingDir, seed: 5, customers: 600, orders: 4_000 });
  for (const source of SOURCES) await extractSource(source, { warehousePath, landingDir, batchId: `t:${source.name}` });
  // A partial build on a fresh warehouse: 'buildable' leaves out tests that also read marts it does
  // not make (dbt's default, eager, would run a reconciliation test against a missing table).
  await runDbt({
    args: ['build', '--indirect-selection', 'buildable', '--select', '+fct_cohort_retention', '+fct_customer_activity_monthly'],
    warehousePath,
  });
  const warehouse = await openWarehouse(warehousePath, { readOnly: true });
  const rows = async <T>(sql: string) => (await warehouse.connection.runAndReadAll(sql)).getRowObjectsJS() as unknown as T[];
  cohorts = await rows(
    `select strftime(cohort_month, '%Y-%m') as cohort_month, months_since_first, cohort_size, active_customers from marts.fct_cohort_retention`,
  );
  activity = await rows(
    `select strftime(month, '%Y-%m') as month, active_customers, new_customers from marts.fct_customer_activity_monthly`,
  );
  warehouse.close();
}, 600_000);

afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

function independentFigures() {
  const personOf = new Map<string, string>();
  for (const p of readNdjson<{ person_id: string; customer_ids: string[] }>(path.join(landingDir, '_truth', 'identities.ndjson'))) {
    for (const id of p.customer_ids) personOf.set(id, p.person_id);
  }
  const accidental = new Set(
    readNdjson<{ order_id: string }>(path.join(landingDir, '_truth', 'accidental_orders.ndjson')).map((a) => a.order_id),
  );
  // A cancellation record voids the sale even when the order row still says completed.
  const cancelled = new Set(
    (
      parse(fs.readFileSync(path.join(landingDir, 'orders', 'cancellations.csv')), { columns: true, relax_column_count: true }) as Record<
        string,
        string
      >[]
    ).map((c) => c.order_id),
  );
  const truth = JSON.parse(fs.readFileSync(path.join(landingDir, '_truth', 'ground_truth.json'), 'utf8')) as {
    malformed: { orders: string[] };
  };
  const malformed = new Set(truth.malformed.orders); // quarantined by the loader: never sales
  // orders.csv is a change log: a later line for the same order (e.g. status refunded) supersedes
  // the earlier one, so keep each order's newest version (by updated_at, then file position).
  const latest = new Map<string, Record<string, string>>();
  for (const o of parse(fs.readFileSync(path.join(landingDir, 'orders', 'orders.csv')), {
    columns: true,
    relax_column_count: true,
  }) as Record<string, string>[]) {
    const seen = latest.get(o.order_id ?? '');
    if (!seen || Date.parse(o.updated_at ?? '') >= Date.parse(seen.updated_at ?? '')) latest.set(o.order_id ?? '', o);
  }
  const orders = [...latest.values()];
  const activeByMonth = new Map<string, Set<string>>();
  const firstMonth = new Map<string, string>();
  for (const o of orders) {
    const at = Date.parse(o.ordered_at ?? '');
    const person = personOf.get(o.customer_id ?? '');
    if (
      !['completed', 'paid', 'shipped'].includes(o.status ?? '') ||
      accidental.has(o.order_id ?? '') ||
      cancelled.has(o.order_id) ||
      malformed.has(o.order_id ?? '') ||
      !person ||
      !Number.isFinite(at)
    )
      continue;
    const month = shopMonth(at); // the shop's month (Asia/Shanghai), as the marts
    activeByMonth.set(month, (activeByMonth.get(month) ?? new Set()).add(person));
    const seen = firstMonth.get(person);
    if (seen === undefined || month < seen) firstMonth.set(person, month);
  }
  return { activeByMonth, firstMonth, buyers: firstMonth.size };
}

const monthIndex = (month: string) => Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1;

describe('retention marts against the generated files', () => {
  it('cohort sizes add up to the number of buying persons, and month 0 retains everyone', () => {
    const { buyers } = independentFigures();
    const month0 = cohorts.filter((c) => c.months_since_first === 0);
    expect(month0.reduce((s, c) => s + c.cohort_size, 0)).toBe(buyers);
    for (const c of month0) expect(c.active_customers).toBe(c.cohort_size);
    for (const c of cohorts) expect(c.active_customers).toBeLessThanOrEqual(c.cohort_size);
  });

  // Exact: on this seed identity resolution and the accidental flag are perfect (identity-accuracy.test.ts),
  // so any difference is a bug in the retention marts or in this independent count.
  it('active customers per month match the busiest months computed from orders.csv', () => {
    const { activeByMonth } = independentFigures();
    const busiest = [...activeByMonth.entries()].sort((a, b) => b[1].size - a[1].size).slice(0, 3);
    for (const [month, persons] of busiest) {
      const row = activity.find((a) => a.month === month);
      expect(row, `month ${month}`).toBeDefined();
      console.log(`[retention] ${month}: mart ${row!.active_customers}, files ${persons.size}`);
      expect(row!.active_customers, `month ${month}`).toBe(persons.size);
    }
    for (const [month, persons] of activeByMonth)
      expect(activity.find((a) => a.month === month)?.active_customers, `month ${month}`).toBe(persons.size);
    const newTotal = activity.reduce((s, a) => s + a.new_customers, 0);
    expect(newTotal).toBe(independentFigures().buyers);
  });

  it('every cohort cell (cohort size, persons active k months later) matches the files', () => {
    const { activeByMonth, firstMonth } = independentFigures();
    const expected = new Map<string, { size: number; active: number }>();
    const sizes = new Map<string, number>();
    for (const first of firstMonth.values()) sizes.set(first, (sizes.get(first) ?? 0) + 1);
    for (const [month, persons] of activeByMonth) {
      for (const person of persons) {
        const first = firstMonth.get(person)!;
        const key = `${first}+${monthIndex(month) - monthIndex(first)}`;
        expected.set(key, { size: sizes.get(first)!, active: (expected.get(key)?.active ?? 0) + 1 });
      }
    }
    const actual = new Map(
      cohorts
        .filter((c) => c.active_customers > 0)
        .map((c) => [`${c.cohort_month}+${c.months_since_first}`, { size: c.cohort_size, active: c.active_customers }]),
    );
    expect(expected.size).toBeGreaterThan(50);
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
  });
});
