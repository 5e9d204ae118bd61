import fs from 'node:fs';
import path from 'node:path';
import { Faker, en, zh_CN } from '@faker-js/faker';
import { SeededRandom } from './random.ts';
import { LineWriter, csvLine } from './line-writer.ts';
import {
  BRANDS,
  NEGATIVE_TEXT,
  OPINION_PLATFORMS,
  POSITIVE_TEXT,
  PRODUCTS,
  TICKET_CATEGORIES,
  TICKET_CHANNELS,
} from './catalog.ts';
import { formatCents, formatShopTimestamp } from './formats.ts';
import { LANDING_FILES, type GroundTruth } from './landing-layout.ts';

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

const DAY_MS = 86_400_000;
const ORDER_HEADER = [
  'order_id', 'customer_id', 'ordered_at', 'status', 'currency', 'discount_amount', 'updated_at',
  'ship_name', 'ship_phone', 'ship_city',
];
const ITEM_HEADER = ['order_id', 'line_no', 'sku', 'product_name', 'category', 'brand', 'quantity', 'unit_price'];

interface CustomerPlan {
  id: string;
  locale: 'zh' | 'en';
  name: string;
  phone: string;
  city: string;
  signupMs: number;
  activeUntilMs: number;
  orderCount: number;
  handle: string;
}

/**
 * Writes a deterministic sample shop into outDir: customer profiles, orders with items (CSV, as
 * shop back-offices export them), service tickets and public-opinion posts (NDJSON), plus a
 * ground-truth file that says which records were written malformed on purpose.
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
    counts: { customers: 0, orders: 0, orderItems: 0, tickets: 0, posts: 0 },
    malformed: { customers: [], orders: [], orderItems: [], tickets: [], posts: [] },
  };
  const file = (name: string) => path.join(options.outDir, name);
  fs.mkdirSync(options.outDir, { recursive: true });

  const plans = planCustomers(options, rng, fakerZh, fakerEn, startMs, endMs);

  const customersOut = new LineWriter(file(LANDING_FILES.customers));
  for (const plan of plans) {
    const faker = plan.locale === 'zh' ? fakerZh : fakerEn;
    const record = {
      customer_id: plan.id,
      full_name: plan.name,
      email: faker.internet.email({ firstName: plan.handle }).toLowerCase(),
      phone: plan.phone,
      wechat_id: plan.locale === 'zh' || rng.chance(0.2) ? `wx_${plan.handle}` : null,
      qq_id: plan.locale === 'zh' && rng.chance(0.5) ? String(rng.int(10_000_000, 2_999_999_999)) : null,
      city: plan.city,
      signup_at: formatShopTimestamp(plan.signupMs),
      membership_tier: rng.weighted([['bronze', 50], ['silver', 30], ['gold', 15], ['platinum', 5]] as const),
      marketing_consent: rng.chance(0.7),
      updated_at: formatShopTimestamp(plan.signupMs),
    };
    if (rng.chance(options.malformedRate)) {
      // A profile with an impossible e-mail address: quarantined, never half-loaded.
      record.email = `${plan.handle}-at-nowhere`;
      truth.malformed.customers.push(plan.id);
    }
    await customersOut.write(JSON.stringify(record));
    truth.counts.customers += 1;
  }
  await customersOut.close();

  const ordersOut = new LineWriter(file(LANDING_FILES.orders));
  const itemsOut = new LineWriter(file(LANDING_FILES.orderItems));
  await ordersOut.write(ORDER_HEADER.join(','));
  await itemsOut.write(ITEM_HEADER.join(','));
  const lateUpdates: string[] = [];
  let orderSeq = 0;
  for (const plan of plans) {
    const times = Array.from({ length: plan.orderCount }, () => plan.signupMs + rng.next() * (plan.activeUntilMs - plan.signupMs)).sort(
      (a, b) => a - b,
    );
    for (const orderedMs of times) {
      orderSeq += 1;
      const orderId = `O${String(orderSeq).padStart(8, '0')}`;
      const lineCount = rng.weighted([[1, 55], [2, 28], [3, 12], [4, 5]] as const);
      let grossCents = 0;
      for (let line = 1; line <= lineCount; line++) {
        const product = rng.pick(PRODUCTS);
        const quantity = rng.weighted([[1, 80], [2, 15], [3, 5]] as const);
        grossCents += quantity * product.priceCents;
        await itemsOut.write(
          csvLine([orderId, line, product.sku, product.name, product.category, product.brand, quantity, formatCents(product.priceCents)]),
        );
        truth.counts.orderItems += 1;
      }
      if (rng.chance(options.malformedRate)) {
        // An extra item line a broken export appended: quantity is not a number.
        await itemsOut.write(csvLine([orderId, 99, 'SKU-BROKEN', 'Unknown', 'unknown', BRANDS[0], 'two', '10.00']));
        truth.malformed.orderItems.push(`${orderId}#99`);
      }
      const discountCents = rng.chance(0.3) ? Math.round((grossCents * rng.int(5, 15)) / 100) : 0;
      const ageDays = (endMs - orderedMs) / DAY_MS;
      const status = ageDays < 3 ? 'paid' : ageDays < 10 ? 'shipped' : rng.chance(0.04) ? 'cancelled' : 'completed';
      const shipName = plan.name;
      const row = (rowStatus: string, updatedMs: number) =>
        csvLine([
          orderId, plan.id, formatShopTimestamp(orderedMs), rowStatus, 'CNY', formatCents(discountCents),
          formatShopTimestamp(updatedMs), shipName, plan.phone, plan.city,
        ]);
      const original = row(status, orderedMs + rng.int(0, 3_600_000));
      if (status === 'completed' && rng.chance(0.04)) {
        // A refund recorded later: the export carries both versions; the newest must win.
        const refund = row('refunded', Math.min(endMs, orderedMs + rng.int(5, 30) * DAY_MS));
        if (rng.chance(0.5)) {
          await ordersOut.write(refund); // out of order: the newer version comes first
          await ordersOut.write(original);
        } else {
          await ordersOut.write(original);
          lateUpdates.push(refund); // late-arriving: at the end of the export
        }
      } else {
        await ordersOut.write(original);
        if (rng.chance(0.01)) await ordersOut.write(original); // exact duplicate row
      }
      truth.counts.orders += 1;
    }
    options.onProgress?.(orderSeq, options.orders);
  }
  for (const update of lateUpdates) await ordersOut.write(update);
  // Junk order rows a broken export might contain; none has items.
  const junkOrders = Math.round(options.orders * options.malformedRate);
  for (let i = 0; i < junkOrders; i++) {
    orderSeq += 1;
    const orderId = `O${String(orderSeq).padStart(8, '0')}`;
    const plan = rng.pick(plans);
    const defect = i % 3;
    await ordersOut.write(
      csvLine([
        orderId,
        defect === 0 ? '' : plan.id,
        defect === 1 ? '31/02/2025 25:61' : formatShopTimestamp(startMs + rng.next() * (endMs - startMs)),
        defect === 2 ? 'teleported' : 'completed',
        'CNY', '0.00', formatShopTimestamp(endMs), plan.name, plan.phone, plan.city,
      ]),
    );
    truth.malformed.orders.push(orderId);
  }
  await ordersOut.close();
  await itemsOut.close();

  await writeTickets(file(LANDING_FILES.tickets), plans, rng, options, endMs, truth);
  await writePosts(file(LANDING_FILES.posts), plans, rng, options, startMs, endMs, truth);

  fs.mkdirSync(path.dirname(file(LANDING_FILES.truth)), { recursive: true });
  fs.writeFileSync(file(LANDING_FILES.truth), JSON.stringify(truth, null, 2));
  return truth;
}

function planCustomers(
  options: GenerateOptions,
  rng: SeededRandom,
  fakerZh: Faker,
  fakerEn: Faker,
  startMs: number,
  endMs: number,
): CustomerPlan[] {
  const plans: CustomerPlan[] = [];
  const weights: number[] = [];
  for (let i = 1; i <= options.customers; i++) {
    const locale = rng.chance(0.7) ? 'zh' : 'en';
    const faker = locale === 'zh' ? fakerZh : fakerEn;
    // Signups skew early so there is history to repeat on; churners stop buying at a random point.
    const signupMs = startMs + Math.pow(rng.next(), 1.5) * (endMs - startMs) * 0.95;
    const churns = rng.chance(0.45);
    const activeUntilMs = churns ? Math.min(endMs, signupMs + rng.exponential(200) * DAY_MS) : endMs;
    const activeShare = (activeUntilMs - signupMs) / (endMs - startMs);
    weights.push(rng.pareto(1.6) * activeShare);
    const handle = `${faker.string.alpha({ length: 3, casing: 'lower' })}${String(i).padStart(6, '0')}`;
    plans.push({
      id: `C${String(i).padStart(6, '0')}`,
      locale,
      name: faker.person.fullName(),
      phone: locale === 'zh' ? formatChinesePhone(rng) : `+1 ${rng.int(200, 999)}-${rng.int(200, 999)}-${rng.int(1000, 9999)}`,
      city: faker.location.city(),
      signupMs,
      activeUntilMs,
      orderCount: 0,
      handle,
    });
  }
  // Hand out exactly options.orders orders in proportion to Pareto weights (largest remainders).
  const total = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (options.orders * w) / total);
  let assigned = 0;
  plans.forEach((plan, i) => {
    plan.orderCount = Math.floor(exact[i]!);
    assigned += plan.orderCount;
  });
  const byRemainder = exact.map((value, i) => [value - Math.floor(value), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; k < options.orders - assigned; k++) plans[byRemainder[k % plans.length]![1]]!.orderCount += 1;
  return plans;
}

function formatChinesePhone(rng: SeededRandom): string {
  const digits = `1${rng.pick(['38', '39', '58', '86', '35'])}${String(rng.int(0, 99_999_999)).padStart(8, '0')}`;
  // Shops store phones inconsistently; identity resolution normalises them later.
  return rng.pick([digits, `+86 ${digits.slice(0, 3)} ${digits.slice(3, 7)} ${digits.slice(7)}`, `+86-${digits}`]);
}

async function writeTickets(
  filePath: string,
  plans: CustomerPlan[],
  rng: SeededRandom,
  options: GenerateOptions,
  endMs: number,
  truth: GroundTruth,
): Promise<void> {
  const out = new LineWriter(filePath);
  let seq = 0;
  for (const plan of plans) {
    const ticketCount = rng.chance(0.35) ? rng.int(1, 3) : 0;
    for (let t = 0; t < ticketCount; t++) {
      seq += 1;
      const ticketId = `T${String(seq).padStart(8, '0')}`;
      const createdMs = plan.signupMs + rng.next() * (endMs - plan.signupMs);
      const firstReplyMs = createdMs + rng.exponential(4) * 3_600_000;
      const resolved = endMs - createdMs > 2 * DAY_MS || rng.chance(0.5);
      const resolvedMs = resolved ? Math.min(endMs, firstReplyMs + rng.exponential(30) * 3_600_000) : null;
      const category = rng.pick(TICKET_CATEGORIES);
      const record: Record<string, unknown> = {
        ticket_id: ticketId,
        customer_id: plan.id,
        channel: plan.locale === 'zh' ? rng.pick(TICKET_CHANNELS) : rng.pick(['phone', 'email', 'web_chat'] as const),
        category,
        subject: plan.locale === 'zh' ? `关于订单的${category === 'complaint' ? '投诉' : '咨询'}` : `Question about my order (${category})`,
        created_at: formatShopTimestamp(createdMs),
        first_reply_at: firstReplyMs <= endMs ? formatShopTimestamp(firstReplyMs) : null,
        resolved_at: resolvedMs === null ? null : formatShopTimestamp(Math.max(resolvedMs, firstReplyMs)),
        status: resolvedMs === null ? 'open' : 'resolved',
        satisfaction: resolvedMs !== null && rng.chance(0.6) ? rng.int(category === 'complaint' ? 1 : 3, 5) : null,
        updated_at: formatShopTimestamp(resolvedMs ?? createdMs),
      };
      if (rng.chance(options.malformedRate)) {
        record.satisfaction = 9; // outside the 1..5 scale
        truth.malformed.tickets.push(ticketId);
      }
      await out.write(JSON.stringify(record));
      truth.counts.tickets += 1;
    }
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
