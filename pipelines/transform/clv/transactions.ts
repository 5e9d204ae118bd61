/**
 * Where the CLV code reads purchases from: the warehouse's credited, valid orders (fct_orders: the
 * one definition of a sale) or, for a backtest without a warehouse, a generated landing folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Transaction } from './summary-data.ts';

/** Credited valid sales from marts.fct_orders (accidental orders are credited to nobody). */
export async function readWarehouseTransactions(connection: DuckDBConnection): Promise<Transaction[]> {
  const reader = await connection.runAndReadAll(
    `select credited_customer_key, epoch_ms(ordered_at) as at_ms, cast(net_revenue_reporting as double) as value
       from marts.fct_orders where is_valid_sale and credited_customer_key is not null`,
  );
  return reader.getRows().map(([key, at, value]) => ({ customerKey: String(key), at: Number(at), value: Number(value) }));
}

/**
 * Orders from a landing folder written by the sample generator (orders/orders.csv + order_items.csv):
 * value = item total − discount; cancelled/refunded orders and rows that do not parse are skipped
 * (the loader quarantines those; here they are simply not sales). Accounts are not merged into
 * persons: a customer here is an account (customer_id).
 */
export function readLandingTransactions(landingDir: string): { transactions: Transaction[]; skipped: number } {
  const read = (name: string) =>
    parse(fs.readFileSync(path.join(landingDir, 'orders', name)), {
      columns: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as Record<string, string>[];
  const totals = new Map<string, number>();
  for (const item of read('order_items.csv')) {
    const amount = Number(item.quantity) * Number(item.unit_price);
    if (Number.isFinite(amount)) totals.set(item.order_id!, (totals.get(item.order_id!) ?? 0) + amount);
  }
  const transactions: Transaction[] = [];
  let skipped = 0;
  for (const order of read('orders.csv')) {
    const at = Date.parse(order.ordered_at ?? '');
    const total = totals.get(order.order_id ?? '');
    const discount = Number(order.discount_amount);
    const saleStatus = order.status === 'completed' || order.status === 'paid' || order.status === 'shipped';
    if (!saleStatus || !order.customer_id || !Number.isFinite(at) || total === undefined || !Number.isFinite(discount)) {
      skipped += 1;
      continue;
    }
    transactions.push({ customerKey: order.customer_id, at, value: Math.max(0, total - discount) });
  }
  return { transactions, skipped };
}
