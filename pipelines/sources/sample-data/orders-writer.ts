import fs from 'node:fs';
import readline from 'node:readline';
import { BRANDS, PRODUCTS, type Product } from './catalog.ts';
import { formatCents, formatShopTimestamp } from './formats.ts';
import { LineWriter, csvLine } from './line-writer.ts';
import { phoneAt, type CustomerPlan } from './people.ts';
import type { SeededRandom } from './random.ts';
import type { GroundTruth } from './landing-layout.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const SHOP_OFFSET_MS = 8 * HOUR_MS;

export const ORDER_HEADER = [
  'order_id',
  'customer_id',
  'ordered_at',
  'status',
  'currency',
  'discount_amount',
  'updated_at',
  'ship_name',
  'ship_phone',
  'ship_city',
  'ship_address',
];
export const ITEM_HEADER = ['order_id', 'line_no', 'sku', 'product_name', 'category', 'brand', 'quantity', 'unit_price'];
export const PAYMENT_HEADER = ['payment_id', 'order_id', 'method', 'amount', 'status', 'paid_at', 'updated_at'];
export const REFUND_HEADER = ['refund_id', 'order_id', 'amount', 'reason', 'status', 'requested_at', 'updated_at'];
export const CANCELLATION_HEADER = ['order_id', 'cancelled_at', 'cancelled_by', 'reason', 'updated_at'];

/** Share of orders placed by a friend of the account holder under the holder's account. */
export const ACCIDENTAL_ORDER_RATE = 0.02;

/**
 * Relative order intensity at an instant (shop-local calendar): Double 11 and 618 shopping
 * festivals, the Double 12 and pre-Spring-Festival peaks, quieter otherwise.
 */
export function seasonality(ms: number): number {
  const local = new Date(ms + SHOP_OFFSET_MS);
  const month = local.getUTCMonth() + 1;
  const day = local.getUTCDate();
  if (month === 11 && day <= 11) return 1;
  if (month === 6 && day <= 18) return 0.8;
  if (month === 12 && day <= 12) return 0.7;
  if (month === 1) return 0.6;
  if (month === 2) return 0.3;
  return 0.4;
}

function seasonalTime(rng: SeededRandom, fromMs: number, toMs: number): number {
  for (let attempt = 0; attempt < 20; attempt++) {
    const t = fromMs + rng.next() * (toMs - fromMs);
    if (rng.next() < seasonality(t)) return t;
  }
  return fromMs + rng.next() * (toMs - fromMs);
}

export interface OrderFiles {
  orders: string;
  items: string;
  payments: string;
  refunds: string;
  cancellations: string;
  accidentalTruth: string;
  /** Scratch file for late-arriving order versions (removed when done). */
  lateScratch: string;
}

/**
 * Streams orders with items, payments, refunds and cancellations. Nothing per order is kept in
 * memory: late-arriving versions go to a scratch file appended at the end of the export.
 */
export async function writeOrders(
  files: OrderFiles,
  plans: CustomerPlan[],
  rng: SeededRandom,
  options: { orders: number; malformedRate: number; startMs: number; endMs: number; onProgress?: (done: number, total: number) => void },
  truth: GroundTruth,
): Promise<void> {
  const { startMs, endMs } = options;
  const ordersOut = new LineWriter(files.orders);
  const itemsOut = new LineWriter(files.items);
  const paymentsOut = new LineWriter(files.payments);
  const refundsOut = new LineWriter(files.refunds);
  const cancellationsOut = new LineWriter(files.cancellations);
  const accidentalOut = new LineWriter(files.accidentalTruth);
  const lateOut = new LineWriter(files.lateScratch);
  await ordersOut.write(ORDER_HEADER.join(','));
  await itemsOut.write(ITEM_HEADER.join(','));
  await paymentsOut.write(PAYMENT_HEADER.join(','));
  await refundsOut.write(REFUND_HEADER.join(','));
  await cancellationsOut.write(CANCELLATION_HEADER.join(','));
  const byCategory = new Map<string, Product[]>();
  for (const p of PRODUCTS) byCategory.set(p.category, [...(byCategory.get(p.category) ?? []), p]);
  let orderSeq = 0;
  let paymentSeq = 0;
  let refundSeq = 0;
  for (const plan of plans) {
    const times = Array.from({ length: plan.orderCount }, () => seasonalTime(rng, plan.signupMs, plan.activeUntilMs)).sort((a, b) => a - b);
    for (const orderedMs of times) {
      orderSeq += 1;
      const orderId = `O${String(orderSeq).padStart(8, '0')}`;
      // Bounded, so memory still follows customers, not orders.
      plan.recentOrders = [...(plan.recentOrders ?? []).slice(-3), { id: orderId, orderedMs }];
      // Now and then a friend orders under this account: their basket, their shipping contact.
      let buyer = plan;
      if (plans.length > 1 && rng.chance(ACCIDENTAL_ORDER_RATE)) {
        const friend = plans[rng.int(0, plans.length - 1)]!;
        if (friend.personId !== plan.personId) {
          buyer = friend;
          await accidentalOut.write(
            JSON.stringify({
              order_id: orderId,
              account_customer_id: plan.id,
              account_person_id: plan.personId,
              actual_person_id: friend.personId,
              actual_customer_id: friend.id,
            }),
          );
          truth.identity.accidentalOrders += 1;
        }
      }
      const lineCount = rng.weighted([
        [1, 55],
        [2, 28],
        [3, 12],
        [4, 5],
      ] as const);
      let grossCents = 0;
      for (let line = 1; line <= lineCount; line++) {
        const product = rng.chance(0.7) ? rng.pick(byCategory.get(rng.pick(buyer.preferredCategories))!) : rng.pick(PRODUCTS);
        const quantity = rng.weighted([
          [1, 80],
          [2, 15],
          [3, 5],
        ] as const);
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
      const netCents = grossCents - discountCents;
      const ageDays = (endMs - orderedMs) / DAY_MS;
      const status = ageDays < 3 ? 'paid' : ageDays < 10 ? 'shipped' : rng.chance(0.04) ? 'cancelled' : 'completed';
      const row = (rowStatus: string, updatedMs: number) =>
        csvLine([
          orderId,
          plan.id,
          formatShopTimestamp(orderedMs),
          rowStatus,
          'CNY',
          formatCents(discountCents),
          formatShopTimestamp(updatedMs),
          buyer.name,
          phoneAt(buyer, orderedMs),
          buyer.city,
          buyer.address,
        ]);
      const firstUpdateMs = orderedMs + rng.int(0, HOUR_MS);
      const original = row(status, firstUpdateMs);

      // Payments: usually one; sometimes a failed attempt first.
      const method =
        buyer.locale === 'zh'
          ? rng.weighted([
              ['alipay', 45],
              ['wechat_pay', 40],
              ['unionpay', 10],
              ['points', 5],
            ] as const)
          : rng.weighted([
              ['card', 80],
              ['alipay', 10],
              ['cash_on_delivery', 10],
            ] as const);
      const paidMs = orderedMs + rng.int(10_000, 600_000);
      if (rng.chance(0.03)) {
        paymentSeq += 1;
        await paymentsOut.write(
          csvLine([
            `PAY${String(paymentSeq).padStart(9, '0')}`,
            orderId,
            method,
            formatCents(netCents),
            'failed',
            formatShopTimestamp(paidMs - 60_000),
            formatShopTimestamp(paidMs - 60_000),
          ]),
        );
        truth.counts.payments += 1;
      }
      paymentSeq += 1;
      await paymentsOut.write(
        csvLine([
          `PAY${String(paymentSeq).padStart(9, '0')}`,
          orderId,
          method,
          formatCents(netCents),
          status === 'cancelled' ? 'reversed' : 'succeeded',
          formatShopTimestamp(paidMs),
          formatShopTimestamp(status === 'cancelled' ? firstUpdateMs : paidMs),
        ]),
      );
      truth.counts.payments += 1;

      if (status === 'cancelled') {
        await cancellationsOut.write(
          csvLine([
            orderId,
            formatShopTimestamp(firstUpdateMs),
            rng.weighted([
              ['customer', 70],
              ['merchant', 20],
              ['system', 10],
            ] as const),
            buyer.locale === 'zh'
              ? rng.pick(['不想要了', '拍错了', '缺货'])
              : rng.pick(['changed my mind', 'ordered by mistake', 'out of stock']),
            formatShopTimestamp(firstUpdateMs),
          ]),
        );
        truth.counts.cancellations += 1;
      }
      if (status === 'completed' && rng.chance(0.04)) {
        // A refund recorded later: the export carries both versions; the newest must win.
        const refundMs = Math.min(endMs, orderedMs + rng.int(5, 30) * DAY_MS);
        const refund = row('refunded', refundMs);
        refundSeq += 1;
        await refundsOut.write(
          csvLine([
            `R${String(refundSeq).padStart(8, '0')}`,
            orderId,
            formatCents(netCents),
            rng.weighted([
              ['return', 50],
              ['damaged', 15],
              ['not_as_described', 20],
              ['late_delivery', 10],
              ['dispute', 5],
            ] as const),
            'paid',
            formatShopTimestamp(Math.max(firstUpdateMs, refundMs - 2 * DAY_MS)),
            formatShopTimestamp(refundMs),
          ]),
        );
        truth.counts.refunds += 1;
        if (rng.chance(0.5)) {
          await ordersOut.write(refund); // out of order: the newer version comes first
          await ordersOut.write(original);
        } else {
          await ordersOut.write(original);
          await lateOut.write(refund); // late-arriving: at the end of the export
        }
      } else {
        await ordersOut.write(original);
        if (rng.chance(0.01)) await ordersOut.write(original); // exact duplicate row
      }
      truth.counts.orders += 1;
    }
    options.onProgress?.(orderSeq, options.orders);
  }
  await lateOut.close();
  for await (const line of readline.createInterface({ input: fs.createReadStream(files.lateScratch, 'utf8'), crlfDelay: Infinity })) {
    await ordersOut.write(line);
  }
  fs.rmSync(files.lateScratch);
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
        plan.id,
        defect === 1 ? '31/02/2025 25:61' : formatShopTimestamp(startMs + rng.next() * (endMs - startMs)),
        defect === 2 ? 'teleported' : 'completed',
        // An empty customer_id is a valid guest checkout now, so this junk row's defect is its currency.
        defect === 0 ? 'RMB' : 'CNY',
        '0.00',
        formatShopTimestamp(endMs),
        plan.name,
        plan.phone,
        plan.city,
        plan.address,
      ]),
    );
    truth.malformed.orders.push(orderId);
  }
  await Promise.all([
    ordersOut.close(),
    itemsOut.close(),
    paymentsOut.close(),
    refundsOut.close(),
    cancellationsOut.close(),
    accidentalOut.close(),
  ]);
}
