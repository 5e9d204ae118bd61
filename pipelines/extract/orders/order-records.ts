import { defineRecord, field } from '../record-schema.ts';

/** Order header as a shop back-office exports it; each status change is a new row version. */
export const orderRecord = defineRecord({
  table: 'orders',
  key: ['order_id'],
  version: 'updated_at',
  fields: {
    order_id: field.id(),
    customer_id: field.id(),
    ordered_at: field.timestamp(),
    status: field.oneOf(['paid', 'shipped', 'completed', 'cancelled', 'refunded']),
    currency: field.oneOf(['CNY', 'USD', 'EUR', 'HKD']),
    discount_amount: field.nonNegativeMoney(),
    updated_at: field.timestamp(),
    ship_name: field.text(),
    ship_phone: field.text(),
    ship_city: field.text(),
  },
});

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
    unit_price: field.nonNegativeMoney(),
  },
});
