import { describe, expect, it } from 'vitest';
import { orderItemRecord, orderRecord } from '../../pipelines/extract/orders/order-records.ts';
import { customerRecord } from '../../pipelines/extract/profiles/customer-records.ts';
import { describeIssues } from '../../pipelines/extract/record-schema.ts';

describe('record schemas', () => {
  it('normalises timestamps with an offset to UTC and rejects ones without a zone or impossible dates', () => {
    const base = {
      order_id: 'O1',
      customer_id: 'C1',
      status: 'paid',
      currency: 'CNY',
      discount_amount: '0',
      updated_at: '2025-01-01T00:00:00Z',
    };
    const ok = orderRecord.validator.safeParse({ ...base, ordered_at: '2025-02-01T07:30:00+08:00' });
    expect(ok.success && ok.data.ordered_at).toBe('2025-01-31T23:30:00.000Z');
    for (const bad of ['2025-02-01 07:30:00', '31/02/2025 25:61', '2025-02-30T25:00:00Z']) {
      const result = orderRecord.validator.safeParse({ ...base, ordered_at: bad });
      expect(result.success, bad).toBe(false);
    }
  });

  it('accepts amounts with at most two decimals, prices with at most four, and explains every failing field with its value', () => {
    const result = orderItemRecord.validator.safeParse({ order_id: 'O1', line_no: '1', sku: 'S', quantity: 'two', unit_price: '1.99999' });
    expect(result.success).toBe(false);
    const reason = describeIssues(result.error!, { quantity: 'two', unit_price: '1.99999' });
    expect(reason).toContain('quantity:');
    expect(reason).toContain('(got "two")');
    expect(reason).toContain('unit_price: expected a price with at most 4 decimals (got "1.99999")');
    const price = orderItemRecord.validator.safeParse({ order_id: 'O1', line_no: '1', sku: 'S', quantity: '1000', unit_price: '0.001' });
    expect(price.success && price.data.unit_price).toBe('0.001');
    const base = {
      order_id: 'O1',
      customer_id: 'C1',
      ordered_at: '2025-01-01T00:00:00Z',
      status: 'paid',
      currency: 'CNY',
      updated_at: '2025-01-01T00:00:00Z',
    };
    const discount = orderRecord.validator.safeParse({ ...base, discount_amount: '1.999' });
    expect(discount.success).toBe(false);
    expect(describeIssues(discount.error!, { discount_amount: '1.999' })).toBe(
      'discount_amount: expected an amount with at most 2 decimals (got "1.999")',
    );
  });

  it('takes any ISO 4217 currency and a missing customer_id as a guest checkout', () => {
    const base = {
      order_id: 'O1',
      ordered_at: '2025-01-01T00:00:00Z',
      status: 'paid',
      discount_amount: '0',
      updated_at: '2025-01-01T00:00:00Z',
    };
    const gbp = orderRecord.validator.safeParse({ ...base, customer_id: '', currency: 'GBP' });
    expect(gbp.success && [gbp.data.customer_id, gbp.data.currency]).toEqual([null, 'GBP']);
    const rmb = orderRecord.validator.safeParse({ ...base, customer_id: 'C1', currency: 'RMB' });
    expect(describeIssues(rmb.error!, { currency: 'RMB' })).toBe(
      'currency: not an ISO 4217 currency code (three capital letters, e.g. CNY, USD, GBP) (got "RMB")',
    );
  });

  it('reads booleans and empty strings the way CSV and NDJSON exports write them', () => {
    const result = customerRecord.validator.parse({
      customer_id: 'C1',
      full_name: '',
      email: '',
      phone: '+86 138 0000 0000',
      signup_at: '2025-01-01T00:00:00+08:00',
      membership_tier: 'gold',
      marketing_consent: 'false',
      updated_at: '2025-01-01T00:00:00+08:00',
    });
    expect(result).toMatchObject({ full_name: null, email: null, marketing_consent: false });
  });
});
