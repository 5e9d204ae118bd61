import fs from 'node:fs';
import path from 'node:path';
import { Faker, en, zh_CN } from '@faker-js/faker';
import { SeededRandom } from './random.ts';
import { LineWriter } from './line-writer.ts';
import { BRANDS, NEGATIVE_TEXT, OPINION_PLATFORMS, POSITIVE_TEXT, PRODUCTS } from './catalog.ts';
import { formatShopTimestamp } from './formats.ts';
import { LANDING_FILES, type GroundTruth, type PersonTruth } from './landing-layout.ts';
import { planCustomers, type CustomerPlan } from './people.ts';
import { writeProfiles } from './profiles-writer.ts';
import { writeOrders } from './orders-writer.ts';
import { writeService } from './service-writer.ts';

export interface GenerateOptions {
  outDir: string;
  seed: number;
  customers: number;
  orders: number;
  /** Share of records written deliberately malformed (they must end up in quarantine). */
  malformedRate: number;
  periodStart: string;
  periodEnd: string;
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_GENERATE_OPTIONS = {
  seed: 42,
  customers: 2_000,
  orders: 20_000,
  malformedRate: 0.005,
  periodStart: '2024-01-01T00:00:00+08:00',
  periodEnd: '2025-12-31T23:59:59+08:00',
} as const;

/**
 * Writes a deterministic sample shop into outDir: customer profiles (with contact-detail changes
 * over time), orders with items, payments, refunds and cancellations (CSV, as shop back-offices
 * export them), service tickets with their event history and contacts, public-opinion posts
 * (NDJSON), plus ground truth: which records are malformed on purpose, which accounts and contact
 * points belong to which true person, and which orders were placed under a friend's account.
 * Orders are streamed: memory depends on the number of customers, not of orders.
 */
export async function generateSampleData(options: GenerateOptions): Promise<GroundTruth> {
  const rng = new SeededRandom(options.seed);
  const fakerZh = new Faker({ locale: [zh_CN, en], seed: options.seed });
  const fakerEn = new Faker({ locale: [en], seed: options.seed + 1 });
  const startMs = Date.parse(options.periodStart);
  const endMs = Date.parse(options.periodEnd);
  if (!(endMs > startMs)) throw new Error(`generator: periodEnd (${options.periodEnd}) must be after periodStart`);
  if (options.customers < 1 || options.orders < 0) throw new Error('generator: customers must be >= 1 and orders >= 0');

  const truth: GroundTruth = {
    seed: options.seed,
    periodStart: options.periodStart,
    periodEnd: options.periodEnd,
    counts: {
      customers: 0,
      customerVersions: 0,
      orders: 0,
      orderItems: 0,
      payments: 0,
      refunds: 0,
      cancellations: 0,
      tickets: 0,
      ticketEvents: 0,
      contacts: 0,
      posts: 0,
    },
    malformed: { customers: [], orders: [], orderItems: [], tickets: [], posts: [] },
    identity: { persons: 0, personsWithDuplicateAccounts: 0, accidentalOrders: 0 },
  };
  const file = (name: string) => path.join(options.outDir, name);
  fs.mkdirSync(options.outDir, { recursive: true });

  const plans = planCustomers({ ...options, startMs, endMs }, rng, fakerZh, fakerEn);
  await writeProfiles(file(LANDING_FILES.customers), plans, rng, fakerZh, fakerEn, options.malformedRate, endMs, truth);
  await writeOrders(
    {
      orders: file(LANDING_FILES.orders),
      items: file(LANDING_FILES.orderItems),
      payments: file(LANDING_FILES.payments),
      refunds: file(LANDING_FILES.refunds),
      cancellations: file(LANDING_FILES.cancellations),
      accidentalTruth: file(LANDING_FILES.accidentalOrders),
      lateScratch: file('.late-orders.tmp'),
    },
    plans,
    rng,
    {
      orders: options.orders,
      malformedRate: options.malformedRate,
      startMs,
      endMs,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    },
    truth,
  );
  await writeService(
    { tickets: file(LANDING_FILES.tickets), events: file(LANDING_FILES.ticketEvents), contacts: file(LANDING_FILES.contacts) },
    plans,
    rng,
    { malformedRate: options.malformedRate, endMs },
    truth,
  );
  await writePosts(file(LANDING_FILES.posts), plans, rng, options, startMs, endMs, truth);
  await writeIdentities(file(LANDING_FILES.identities), plans, truth);

  fs.mkdirSync(path.dirname(file(LANDING_FILES.truth)), { recursive: true });
  fs.writeFileSync(file(LANDING_FILES.truth), JSON.stringify(truth, null, 2));
  return truth;
}

/** One line per true person, grouping the accounts and contact points that are theirs. */
async function writeIdentities(filePath: string, plans: CustomerPlan[], truth: GroundTruth): Promise<void> {
  // Only the few persons with several accounts need grouping; the rest are written as they come.
  const accountsOf = new Map<string, CustomerPlan[]>();
  for (const plan of plans) accountsOf.set(plan.personId, [...(accountsOf.get(plan.personId) ?? []), plan]);
  for (const [personId, accounts] of accountsOf) if (accounts.length === 1) accountsOf.delete(personId);
  const out = new LineWriter(filePath);
  const written = new Set<string>();
  for (const first of plans) {
    if (written.has(first.personId)) continue;
    const accounts = accountsOf.get(first.personId) ?? [first];
    if (accounts.length > 1) written.add(first.personId);
    const list = (pick: (plan: CustomerPlan) => (string | null | undefined)[]) => [
      ...new Set(accounts.flatMap(pick).filter((v): v is string => Boolean(v))),
    ];
    const person: PersonTruth = {
      person_id: first.personId,
      customer_ids: list((p) => [p.id]),
      handles: list((p) => [p.handle]),
      names: list((p) => [p.name]),
      phones: list((p) => [p.phoneDigits, p.change?.phoneDigits]),
      emails: list((p) => [p.malformed ? null : p.email, p.change?.email]),
      wechat_ids: list((p) => [p.wechatId]),
      qq_ids: list((p) => [p.qqId]),
    };
    await out.write(JSON.stringify(person));
    truth.identity.persons += 1;
    if (accounts.length > 1) truth.identity.personsWithDuplicateAccounts += 1;
  }
  await out.close();
}

async function writePosts(
  filePath: string,
  plans: CustomerPlan[],
  rng: SeededRandom,
  options: GenerateOptions,
  startMs: number,
  endMs: number,
  truth: GroundTruth,
): Promise<void> {
  const out = new LineWriter(filePath);
  const postCount = Math.max(1, Math.round(plans.length * 0.6));
  for (let seq = 1; seq <= postCount; seq++) {
    const postId = `P${String(seq).padStart(8, '0')}`;
    const byCustomer = rng.chance(0.4) ? rng.pick(plans) : null;
    const lang = byCustomer ? byCustomer.locale : rng.chance(0.6) ? 'zh' : 'en';
    const positive = rng.chance(0.7);
    const texts = positive ? POSITIVE_TEXT[lang] : NEGATIVE_TEXT[lang];
    const product = rng.chance(0.5) ? rng.pick(PRODUCTS) : null;
    const platform = lang === 'zh' ? rng.pick(OPINION_PLATFORMS.slice(0, 3)) : rng.pick(OPINION_PLATFORMS.slice(3));
    const record: Record<string, unknown> = {
      post_id: postId,
      platform,
      author_handle: byCustomer ? byCustomer.handle : `anon_${rng.int(1, 1_000_000)}`,
      published_at: formatShopTimestamp(startMs + rng.next() * (endMs - startMs)),
      lang,
      text: rng.pick(texts),
      rating: rng.chance(0.5) ? (positive ? rng.int(4, 5) : rng.int(1, 2)) : null,
      brand: product ? product.brand : rng.pick(BRANDS),
      product: product ? product.name : null,
    };
    if (rng.chance(options.malformedRate)) {
      delete record.platform; // required field missing
      truth.malformed.posts.push(postId);
    }
    await out.write(JSON.stringify(record));
    truth.counts.posts += 1;
  }
  await out.close();
}
