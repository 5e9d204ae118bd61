import { defineRecord, field } from '../record-schema.ts';

/** Order header as a shop back-office exports it; each status change is a new row version. */
export const orderRecord = defineRecord({
  table: 'orders',
  key: ['order_id'],
  version: 'updated_at',
  fields: {
    order_id: field.id(),
    // Null or empty: a guest checkout (no account). dbt gives a guest order no person (no customer_key).
    customer_id: field.text(),
    ordered_at: field.timestamp(),
    status: field.oneOf(['paid', 'shipped', 'completed', 'cancelled', 'refunded']),
    // Any ISO 4217 code; dbt converts amounts to the reporting currency (seeds/fx_rates.csv).
    currency: field.currency(),
    discount_amount: field.nonNegativeMoney(),
    updated_at: field.timestamp(),
    // Shipping contact: who receives the parcel. It differs from the account holder when someone
    // orders under a friend's account (an "accidental transaction").
    ship_name: field.text(),
    ship_phone: field.text(),
    ship_city: field.text(),
    ship_address: field.text(),
  },
});

/** The kinds of order line (order_items.line_type); only `product` lines are sales. */
export const ORDER_LINE_TYPES = ['product', 'shipping', 'fee', 'discount', 'adjustment'] as const;

export const orderItemRecord = defineRecord({
  table: 'order_items',
  key: ['order_id', 'line_no'],
  fields: {
    order_id: field.id(),
    line_no: field.integer(1, 10_000),
    sku: field.requiredText(),
    product_name: field.text(),
    category: field.text(),
    brand: field.text(),
    quantity: field.integer(1, 100_000),
    unit_price: field.price(),
    // What the line is: only product lines are sales. Shipping, fees, discounts and adjustments
    // (postage, bank charges, manual corrections) are kept and counted, but out of revenue and item
    // counts. Empty: product.
    line_type: field.optionalOneOf(ORDER_LINE_TYPES),
  },
});

/** A payment against an order (one order may be paid in several parts). */
export const paymentRecord = defineRecord({
  table: 'order_payments',
  key: ['payment_id'],
  version: 'updated_at',
  fields: {
    payment_id: field.id(),
    order_id: field.id(),
    method: field.oneOf(['alipay', 'wechat_pay', 'unionpay', 'card', 'cash_on_delivery', 'points']),
    amount: field.nonNegativeMoney(),
    status: field.oneOf(['succeeded', 'failed', 'reversed']),
    paid_at: field.timestamp(),
    updated_at: field.timestamp(),
  },
});

/**
 * A refund or credit note: money returned after a sale (a return, a complaint, a dispute). Most
 * name the order they refund; a credit note may name none (an export whose returns are invoices of
 * their own), and then names the customer it was issued to, if any, and its currency. A refund is
 * booked when the money moved: refunded_at, else (an effective refund from a source that does not
 * state it) its updated_at (docs/dbt-models.md, refunds).
 */
export const refundRecord = defineRecord({
  table: 'order_refunds',
  key: ['refund_id'],
  version: 'updated_at',
  fields: {
    refund_id: field.id(),
    // Empty: a credit note that names no order (it still reduces sales in the period it was paid).
    order_id: field.text(),
    // The credit note's customer when no order is named (ignored for customer figures when an order is).
    customer_id: field.text(),
    // The refunded order line, when the source says which (line_no of the order, or its SKU).
    line_no: field.optionalInteger(1, 10_000),
    sku: field.text(),
    amount: field.nonNegativeMoney(),
    // Empty: the order's currency (a credit note without an order and without a currency has no
    // rate to the reporting currency and is flagged, never summed as if it were in it).
    currency: field.optionalCurrency(),
    reason: field.oneOf(['return', 'damaged', 'not_as_described', 'late_delivery', 'dispute', 'other']),
    status: field.oneOf(['requested', 'approved', 'rejected', 'paid']),
    requested_at: field.timestamp(),
    // When the money moved back to the customer (the refund's booking date).
    refunded_at: field.optionalTimestamp(),
    updated_at: field.timestamp(),
  },
});

/** An order cancelled before it shipped, with who cancelled it and why. */
export const cancellationRecord = defineRecord({
  table: 'order_cancellations',
  key: ['order_id'],
  version: 'updated_at',
  fields: {
    order_id: field.id(),
    cancelled_at: field.timestamp(),
    cancelled_by: field.oneOf(['customer', 'merchant', 'system']),
    reason: field.text(),
    updated_at: field.timestamp(),
  },
});
