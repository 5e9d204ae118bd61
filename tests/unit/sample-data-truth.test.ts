import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import {
  LANDING_FILES,
  type AccidentalOrderTruth,
  type GroundTruth,
  type PersonTruth,
} from '../../pipelines/sources/sample-data/landing-layout.ts';
import { SOURCES } from '../../pipelines/extract/sources.ts';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';

let outDir: string;
let truth: GroundTruth;
const read = (name: string) => fs.readFileSync(path.join(outDir, name), 'utf8');
const ndjson = <T>(name: string) =>
  read(name)
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as T);
const csv = (name: string) => parse(read(name), { columns: true }) as Record<string, string>[];
/** National digits, as the truth file holds them: country code and separators removed. */
const digits = (phone: string) => {
  const all = phone.replace(/\D/g, '');
  return phone.startsWith('+86') ? all.slice(2) : phone.startsWith('+1') ? all.slice(1) : all;
};

beforeAll(async () => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-truth-'));
  truth = await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir, seed: 9, customers: 400, orders: 4_000, malformedRate: 0.01 });
});
afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }));

describe('sample shop ground truth', () => {
  it('maps every account to exactly one true person, some persons holding two accounts that share contact points', () => {
    const persons = ndjson<PersonTruth>(LANDING_FILES.identities);
    expect(persons.length).toBe(truth.identity.persons);
    const accounts = persons.flatMap((p) => p.customer_ids);
    expect(accounts.length).toBe(truth.counts.customers);
    expect(new Set(accounts).size).toBe(accounts.length);
    const duplicates = persons.filter((p) => p.customer_ids.length > 1);
    expect(duplicates.length).toBe(truth.identity.personsWithDuplicateAccounts);
    expect(duplicates.length).toBeGreaterThan(3);
    const profiles = ndjson<Record<string, string>>(LANDING_FILES.customers);
    for (const person of duplicates) {
      const phones = new Set(profiles.filter((p) => person.customer_ids.includes(p.customer_id!)).map((p) => digits(p.phone!)));
      // Same person, same number, however differently each account stored it.
      expect([...phones].some((d) => person.phones.includes(d))).toBe(true);
    }
  });

  it('records accidental orders: under the account holder, shipped to the actual buyer', () => {
    const accidental = ndjson<AccidentalOrderTruth>(LANDING_FILES.accidentalOrders);
    expect(accidental.length).toBe(truth.identity.accidentalOrders);
    expect(accidental.length).toBeGreaterThan(40); // about 2 % of 4,000
    const persons = new Map(ndjson<PersonTruth>(LANDING_FILES.identities).map((p) => [p.person_id, p]));
    const orders = new Map(csv(LANDING_FILES.orders).map((o) => [o.order_id!, o]));
    for (const a of accidental) {
      const order = orders.get(a.order_id)!;
      expect(order.customer_id).toBe(a.account_customer_id);
      expect(a.actual_person_id).not.toBe(a.account_person_id);
      const actual = persons.get(a.actual_person_id)!;
      expect(actual.names).toContain(order.ship_name);
      expect(actual.phones).toContain(digits(order.ship_phone!));
      expect(persons.get(a.account_person_id)!.phones).not.toContain(digits(order.ship_phone!));
    }
  });

  it('changes some contact details over time as later profile versions', () => {
    const versions = ndjson<Record<string, string>>(LANDING_FILES.customers);
    expect(versions.length).toBe(truth.counts.customerVersions);
    const byId = new Map<string, Record<string, string>[]>();
    for (const v of versions) byId.set(v.customer_id!, [...(byId.get(v.customer_id!) ?? []), v]);
    const changed = [...byId.values()].filter((list) => list.length === 2);
    expect(changed.length).toBe(truth.counts.customerVersions - truth.counts.customers);
    expect(changed.length).toBeGreaterThan(20);
    for (const [first, second] of changed) {
      expect(Date.parse(second!.updated_at!)).toBeGreaterThan(Date.parse(first!.updated_at!));
      expect(second!.phone !== first!.phone || second!.email !== first!.email).toBe(true);
    }
    const profile = versions[0]!;
    for (const field of [
      'price_sensitivity',
      'privacy_tolerance',
      'contact_frequency_tolerance',
      'preferred_categories',
      'consent_email',
    ]) {
      expect(profile).toHaveProperty(field);
    }
  });

  it('has seasonality (Double 11) and Pareto-like concentration of orders', () => {
    const orders = csv(LANDING_FILES.orders).filter((o) => !truth.malformed.orders.includes(o.order_id!));
    const latest = new Map(orders.map((o) => [o.order_id!, o]));
    const day = (o: Record<string, string>) => o.ordered_at!.slice(5, 10);
    const double11 = [...latest.values()].filter((o) => day(o) >= '11-01' && day(o) <= '11-11').length / 22; // 11 days x 2 years
    const march = [...latest.values()].filter((o) => day(o).startsWith('03-')).length / 62;
    expect(double11).toBeGreaterThan(1.8 * march);
    const perCustomer = new Map<string, number>();
    for (const o of latest.values()) perCustomer.set(o.customer_id!, (perCustomer.get(o.customer_id!) ?? 0) + 1);
    const counts = [...perCustomer.values()].sort((a, b) => b - a);
    const top20 = counts.slice(0, Math.ceil(counts.length * 0.2)).reduce((a, b) => a + b, 0);
    expect(top20 / latest.size).toBeGreaterThan(0.4);
  });

  it('writes payments, refunds and cancellations consistent with order statuses', () => {
    const latest = new Map<string, Record<string, string>>();
    for (const o of csv(LANDING_FILES.orders)) {
      const seen = latest.get(o.order_id!);
      if (!seen || o.updated_at! >= seen.updated_at!) latest.set(o.order_id!, o);
    }
    const refunds = csv(LANDING_FILES.refunds);
    const cancellations = csv(LANDING_FILES.cancellations);
    expect(refunds.length).toBe(truth.counts.refunds);
    expect(new Set(refunds.map((r) => latest.get(r.order_id!)!.status))).toEqual(new Set(['refunded']));
    expect(new Set(cancellations.map((c) => latest.get(c.order_id!)!.status))).toEqual(new Set(['cancelled']));
    expect(csv(LANDING_FILES.payments).length).toBe(truth.counts.payments);
  });

  it('writes service tickets with event history and contacts across every category and channel, in Chinese and English', () => {
    const tickets = ndjson<Record<string, unknown>>(LANDING_FILES.tickets);
    const events = ndjson<Record<string, string>>(LANDING_FILES.ticketEvents);
    const contacts = ndjson<Record<string, string>>(LANDING_FILES.contacts);
    expect(new Set(tickets.map((t) => t.category)).size).toBe(7);
    expect(new Set(contacts.map((c) => c.channel))).toEqual(new Set(['phone', 'email', 'web_chat', 'wechat', 'qq']));
    expect(new Set(events.map((e) => e.event_type))).toEqual(
      new Set(['created', 'first_reply', 'reassigned', 'resolved', 'reopened', 'rated']),
    );
    const created = new Set(events.filter((e) => e.event_type === 'created').map((e) => e.ticket_id));
    expect(created.size).toBe(tickets.length);
    expect(contacts.some((c) => c.ticket_id === null)).toBe(true);
    expect(read(LANDING_FILES.contacts)).toMatch(/[\u4e00-\u9fff]/);
    expect(read(LANDING_FILES.contacts)).toMatch(/"lang":"en"/);
  });

  it('extracts into raw tables whose counts match the ground truth, quarantining exactly the malformed records', async () => {
    const warehousePath = path.join(outDir, 'wh.duckdb');
    for (const source of SOURCES) await extractSource(source, { warehousePath, landingDir: outDir, batchId: `t:${source.name}` });
    const wh = await openWarehouse(warehousePath);
    try {
      const count = async (table: string) =>
        Number((await wh.connection.runAndReadAll(`SELECT count(*) FROM raw.${table}`)).getRows()[0]![0]);
      const bad = truth.malformed;
      expect(await count('customers')).toBe(truth.counts.customers - bad.customers.length);
      expect(await count('customer_versions')).toBe(truth.counts.customerVersions - bad.customers.length);
      expect(await count('orders')).toBe(truth.counts.orders);
      expect(await count('order_payments')).toBe(truth.counts.payments);
      expect(await count('order_refunds')).toBe(truth.counts.refunds);
      expect(await count('order_cancellations')).toBe(truth.counts.cancellations);
      expect(await count('service_tickets')).toBe(truth.counts.tickets - bad.tickets.length);
      expect(await count('service_ticket_events')).toBe(truth.counts.ticketEvents);
      expect(await count('service_contacts')).toBe(truth.counts.contacts);
      const quarantined = (
        await wh.connection.runAndReadAll(`SELECT raw_table, count(*)::INT FROM raw._quarantine GROUP BY 1 ORDER BY 1`)
      ).getRows();
      expect(Object.fromEntries(quarantined)).toMatchObject({
        customers: bad.customers.length,
        orders: bad.orders.length,
        order_items: bad.orderItems.length,
        service_tickets: bad.tickets.length,
      });
    } finally {
      wh.close();
    }
  });
});
