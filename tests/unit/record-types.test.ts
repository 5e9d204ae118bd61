import { describe, expect, it } from 'vitest';
import { cancellationRecord, paymentRecord, refundRecord } from '../../pipelines/extract/orders/order-records.ts';
import { customerRecord, customerVersionRecord } from '../../pipelines/extract/profiles/customer-records.ts';
import { contactRecord, ticketEventRecord } from '../../pipelines/extract/service/ticket-records.ts';

const profile = {
  customer_id: 'C1',
  full_name: '王芳',
  email: 'wf@example.cn',
  phone: '+86 138 0000 0000',
  signup_at: '2025-01-01T00:00:00+08:00',
  membership_tier: 'gold',
  marketing_consent: 'true',
  updated_at: '2025-01-01T00:00:00+08:00',
};

describe('record types: profiles, payments, refunds, cancellations, ticket events and contacts', () => {
  it('reads the subjective facet and consent flags, empty meaning unknown', () => {
    const parsed = customerRecord.validator.parse({
      ...profile,
      price_sensitivity: 'high',
      privacy_tolerance: '',
      contact_frequency_tolerance: 'weekly',
      consent_sms: 'false',
      consent_email: '',
      points_balance: '1200',
      income_band: '10k_20k',
    });
    expect(parsed).toMatchObject({
      price_sensitivity: 'high',
      privacy_tolerance: null,
      contact_frequency_tolerance: 'weekly',
      consent_sms: false,
      consent_email: null,
      points_balance: 1200,
    });
    const bad = customerRecord.validator.safeParse({ ...profile, price_sensitivity: 'extreme', consent_phone: 'maybe' });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.path[0]).sort()).toEqual(['consent_phone', 'price_sensitivity']);
    // The version history keeps every version: its key includes updated_at.
    expect(customerVersionRecord.key).toEqual(['customer_id', 'updated_at']);
    expect(Object.keys(customerVersionRecord.fields)).toEqual(Object.keys(customerRecord.fields));
  });

  it('validates payments, refunds and cancellations', () => {
    expect(
      paymentRecord.validator.safeParse({
        payment_id: 'P1',
        order_id: 'O1',
        method: 'wechat_pay',
        amount: '12.50',
        status: 'succeeded',
        paid_at: '2025-01-01T00:00:00Z',
        updated_at: '2025-01-01T00:00:00Z',
      }).success,
    ).toBe(true);
    expect(
      paymentRecord.validator
        .safeParse({
          payment_id: 'P1',
          order_id: 'O1',
          method: 'bitcoin',
          amount: '-1',
          status: 'succeeded',
          paid_at: 'x',
          updated_at: '2025-01-01T00:00:00Z',
        })
        .error!.issues.map((i) => i.path[0]),
    ).toEqual(expect.arrayContaining(['method', 'amount', 'paid_at']));
    expect(
      refundRecord.validator.safeParse({
        refund_id: 'R1',
        order_id: 'O1',
        amount: 5,
        reason: 'return',
        status: 'paid',
        requested_at: '2025-01-01T00:00:00Z',
        updated_at: '2025-01-02T00:00:00Z',
      }).success,
    ).toBe(true);
    // A credit note naming no order: its own customer, currency and date of money movement.
    const creditNote = refundRecord.validator.safeParse({
      refund_id: 'C536379',
      order_id: '',
      customer_id: '14527',
      amount: '27.50',
      currency: 'GBP',
      reason: 'return',
      status: 'paid',
      requested_at: '2010-12-01T09:41:00Z',
      refunded_at: '2010-12-01T09:41:00Z',
      updated_at: '2010-12-01T09:41:00Z',
    });
    expect(creditNote.success && [creditNote.data.order_id, creditNote.data.currency, creditNote.data.refunded_at]).toEqual([
      null,
      'GBP',
      '2010-12-01T09:41:00.000Z',
    ]);
    expect(
      refundRecord.validator
        .safeParse({
          refund_id: 'R2',
          amount: '1.00',
          currency: 'pounds',
          line_no: '0',
          reason: 'return',
          status: 'paid',
          requested_at: '2025-01-01T00:00:00Z',
          refunded_at: '2025-01-01',
          updated_at: '2025-01-01T00:00:00Z',
        })
        .error!.issues.map((i) => i.path[0]),
    ).toEqual(['line_no', 'currency', 'refunded_at']);
    expect(
      cancellationRecord.validator.safeParse({
        order_id: 'O1',
        cancelled_at: '2025-01-01T00:00:00Z',
        cancelled_by: 'nobody',
        updated_at: '2025-01-01T00:00:00Z',
      }).success,
    ).toBe(false);
  });

  it('validates ticket events and contacts across the five channels', () => {
    const event = { event_id: 'E1', ticket_id: 'T1', event_type: 'reopened', occurred_at: '2025-01-01T00:00:00+08:00' };
    expect(ticketEventRecord.validator.parse(event)).toMatchObject({ event_type: 'reopened', agent_id: null, channel: null });
    expect(ticketEventRecord.validator.safeParse({ ...event, event_type: 'escalated_to_mars' }).success).toBe(false);
    for (const channel of ['phone', 'email', 'web_chat', 'wechat', 'qq']) {
      const ok = contactRecord.validator.safeParse({
        contact_id: 'K1',
        channel,
        direction: 'inbound',
        category: 'complaint',
        started_at: '2025-01-01T00:00:00Z',
        updated_at: '2025-01-01T00:00:00Z',
      });
      expect(ok.success, channel).toBe(true);
    }
    expect(
      contactRecord.validator.safeParse({
        contact_id: 'K1',
        channel: 'fax',
        direction: 'inbound',
        category: 'complaint',
        started_at: '2025-01-01T00:00:00Z',
        updated_at: '2025-01-01T00:00:00Z',
      }).success,
    ).toBe(false);
  });
});
