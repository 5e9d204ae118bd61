import { TICKET_CATEGORIES, TICKET_CHANNELS } from './catalog.ts';
import { formatShopTimestamp } from './formats.ts';
import { LineWriter } from './line-writer.ts';
import { phoneAt, type CustomerPlan } from './people.ts';
import type { SeededRandom } from './random.ts';
import type { GroundTruth } from './landing-layout.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

const SUBJECTS: Record<(typeof TICKET_CATEGORIES)[number], { zh: string; en: string }> = {
  pre_sale_inquiry: { zh: '请问这款有货吗？尺码怎么选', en: 'Is this in stock? Which size should I pick?' },
  in_sale: { zh: '订单付款后能改地址吗', en: 'Can I change the address after paying?' },
  after_sale: { zh: '衣服洗后缩水了', en: 'The sweater shrank after washing' },
  return: { zh: '申请退货，尺码不合适', en: 'I would like to return this, wrong size' },
  complaint: { zh: '投诉：物流太慢，客服不回复', en: 'Complaint: slow delivery and no reply from support' },
  dispute: { zh: '退款金额不对，要求平台介入', en: 'Refund amount is wrong, opening a dispute' },
  praise: { zh: '客服很耐心，点赞', en: 'Your agent was very helpful, thank you' },
};

/** The contact point a customer uses on a channel: an identity clue for matching. */
function contactPoint(plan: CustomerPlan, channel: string, atMs: number): string | null {
  switch (channel) {
    case 'phone':
      return phoneAt(plan, atMs);
    case 'email':
      return plan.change?.email && atMs >= plan.change.atMs ? plan.change.email : plan.email;
    case 'wechat':
      return plan.wechatId;
    case 'qq':
      return plan.qqId;
    default:
      return null;
  }
}

/**
 * The order a ticket is about: the account's latest order placed before the ticket, for the
 * categories that concern an order (pre-sale questions and praise do not). Chosen without drawing
 * from the random stream, so the rest of the sample stays the same for a seed.
 */
function aboutOrder(plan: CustomerPlan, category: string, createdMs: number): string | null {
  if (category === 'pre_sale_inquiry' || category === 'praise') return null;
  const before = (plan.recentOrders ?? []).filter((o) => o.orderedMs <= createdMs);
  return before.at(-1)?.id ?? null;
}

/**
 * Service logs: tickets (with satisfaction), each ticket's event history (created, first reply,
 * reassigned, resolved, reopened, rated) and the individual contacts across channels, plus
 * contacts with no ticket (quick pre-sale questions). Streamed per customer.
 */
export async function writeService(
  files: { tickets: string; events: string; contacts: string },
  plans: CustomerPlan[],
  rng: SeededRandom,
  options: { malformedRate: number; endMs: number },
  truth: GroundTruth,
): Promise<void> {
  const { endMs } = options;
  const ticketsOut = new LineWriter(files.tickets);
  const eventsOut = new LineWriter(files.events);
  const contactsOut = new LineWriter(files.contacts);
  let seq = 0;
  let eventSeq = 0;
  let contactSeq = 0;
  const event = async (ticketId: string, type: string, ms: number, agent: string | null, extra: Record<string, unknown> = {}) => {
    eventSeq += 1;
    await eventsOut.write(
      JSON.stringify({
        event_id: `E${String(eventSeq).padStart(9, '0')}`,
        ticket_id: ticketId,
        event_type: type,
        occurred_at: formatShopTimestamp(ms),
        agent_id: agent,
        channel: null,
        satisfaction: null,
        note: null,
        ...extra,
      }),
    );
    truth.counts.ticketEvents += 1;
  };
  const contact = async (
    plan: CustomerPlan,
    ticketId: string | null,
    channel: string,
    direction: string,
    category: string,
    ms: number,
    agent: string,
  ) => {
    contactSeq += 1;
    await contactsOut.write(
      JSON.stringify({
        contact_id: `K${String(contactSeq).padStart(9, '0')}`,
        ticket_id: ticketId,
        customer_id: plan.id,
        channel,
        direction,
        category,
        started_at: formatShopTimestamp(ms),
        handle_seconds: Math.round(60 + rng.exponential(300)),
        agent_id: agent,
        contact_point: contactPoint(plan, channel, ms),
        lang: plan.locale,
        summary: SUBJECTS[category as keyof typeof SUBJECTS][plan.locale],
        updated_at: formatShopTimestamp(ms),
      }),
    );
    truth.counts.contacts += 1;
  };
  for (const plan of plans) {
    const ticketCount = rng.chance(0.35) ? rng.int(1, 3) : 0;
    for (let t = 0; t < ticketCount; t++) {
      seq += 1;
      const ticketId = `T${String(seq).padStart(8, '0')}`;
      const createdMs = plan.signupMs + rng.next() * (endMs - plan.signupMs);
      const firstReplyMs = createdMs + rng.exponential(4) * HOUR_MS;
      const resolved = endMs - createdMs > 2 * DAY_MS || rng.chance(0.5);
      const resolvedMs = resolved ? Math.max(firstReplyMs, Math.min(endMs, firstReplyMs + rng.exponential(30) * HOUR_MS)) : null;
      const category = rng.pick(TICKET_CATEGORIES);
      const channel = plan.locale === 'zh' ? rng.pick(TICKET_CHANNELS) : rng.pick(['phone', 'email', 'web_chat'] as const);
      const agent = `A${String(rng.int(1, 40)).padStart(3, '0')}`;
      const reassigned = rng.chance(0.2);
      const reopened = resolvedMs !== null && rng.chance(0.08);
      const finalResolvedMs = reopened && resolvedMs !== null ? Math.min(endMs, resolvedMs + rng.exponential(24) * HOUR_MS) : resolvedMs;
      const satisfaction = resolvedMs !== null && rng.chance(0.6) ? rng.int(category === 'complaint' || reopened ? 1 : 3, 5) : null;
      const record: Record<string, unknown> = {
        ticket_id: ticketId,
        customer_id: plan.id,
        channel,
        category,
        subject: SUBJECTS[category][plan.locale],
        created_at: formatShopTimestamp(createdMs),
        first_reply_at: firstReplyMs <= endMs ? formatShopTimestamp(firstReplyMs) : null,
        resolved_at: finalResolvedMs === null ? null : formatShopTimestamp(finalResolvedMs),
        status: finalResolvedMs === null ? 'open' : 'resolved',
        satisfaction,
        updated_at: formatShopTimestamp(finalResolvedMs ?? createdMs),
        order_id: aboutOrder(plan, category, createdMs),
        agent_id: agent,
        lang: plan.locale,
        reopened_count: reopened ? 1 : 0,
      };
      if (rng.chance(options.malformedRate)) {
        record.satisfaction = 9; // outside the 1..5 scale
        truth.malformed.tickets.push(ticketId);
      }
      await ticketsOut.write(JSON.stringify(record));
      truth.counts.tickets += 1;

      await event(ticketId, 'created', createdMs, null, { channel });
      await contact(plan, ticketId, channel, 'inbound', category, createdMs, agent);
      if (firstReplyMs <= endMs) {
        await event(ticketId, 'first_reply', firstReplyMs, agent);
        await contact(plan, ticketId, channel, 'outbound', category, firstReplyMs, agent);
      }
      if (reassigned && resolvedMs !== null) {
        const toAgent = `A${String(rng.int(1, 40)).padStart(3, '0')}`;
        await event(ticketId, 'reassigned', firstReplyMs + (resolvedMs - firstReplyMs) / 2, toAgent, { note: `from ${agent}` });
      }
      if (resolvedMs !== null) await event(ticketId, 'resolved', resolvedMs, agent);
      if (reopened && finalResolvedMs !== null) {
        await event(ticketId, 'reopened', resolvedMs! + (finalResolvedMs - resolvedMs!) / 3, null);
        await contact(plan, ticketId, channel, 'inbound', category, resolvedMs! + (finalResolvedMs - resolvedMs!) / 3, agent);
        await event(ticketId, 'resolved', finalResolvedMs, agent);
      }
      if (satisfaction !== null && finalResolvedMs !== null && typeof record.satisfaction === 'number' && record.satisfaction <= 5) {
        await event(ticketId, 'rated', finalResolvedMs, null, { satisfaction });
      }
    }
    // Quick pre-sale questions answered on the spot: a contact, no ticket.
    if (rng.chance(0.15)) {
      const ms = plan.signupMs + rng.next() * (endMs - plan.signupMs);
      const channel = plan.locale === 'zh' ? rng.pick(['wechat', 'qq', 'web_chat'] as const) : 'web_chat';
      await contact(plan, null, channel, 'inbound', 'pre_sale_inquiry', ms, `A${String(rng.int(1, 40)).padStart(3, '0')}`);
    }
  }
  await Promise.all([ticketsOut.close(), eventsOut.close(), contactsOut.close()]);
}
