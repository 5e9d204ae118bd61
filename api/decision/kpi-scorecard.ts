import type { z } from 'zod';
import { loadRequest, type LoadContext } from '../semantic/load-query.ts';
import { ValidationError, type ScorecardQuery, type ScorecardResponse } from './schemas.ts';

type Scorecard = z.input<typeof ScorecardResponse>;
type Request = z.output<typeof ScorecardQuery>;

/**
 * The KPIs the scorecard offers: each is a measure of the Cube model with the time dimension that
 * places it in a period. The figures come from Cube's compiler (one compareDateRange query per time
 * dimension, run in-process through the /load path), never from SQL written here. KPIs whose cube
 * is not in the model yet answer `available: false` naming the member.
 */
export interface KpiDefinition {
  id: string;
  label_en: string;
  label_zh: string;
  measure: string;
  timeDimension: string;
  format: 'currency' | 'number' | 'percent' | 'minutes' | 'score';
}

export const KPIS: readonly KpiDefinition[] = [
  { id: 'revenue', label_en: 'Net revenue', label_zh: '净收入', measure: 'orders.revenue', timeDimension: 'orders.ordered_at', format: 'currency' },
  { id: 'orders', label_en: 'Orders', label_zh: '订单数', measure: 'orders.count', timeDimension: 'orders.ordered_at', format: 'number' },
  { id: 'buyers', label_en: 'Buyers', label_zh: '购买客户数', measure: 'orders.buyer_count', timeDimension: 'orders.ordered_at', format: 'number' },
  { id: 'avg_order_value', label_en: 'Average order value', label_zh: '客单价', measure: 'orders.avg_order_value', timeDimension: 'orders.ordered_at', format: 'currency' },
  { id: 'cancel_refund_share', label_en: 'Cancelled or refunded share', label_zh: '取消/退款占比', measure: 'orders.invalid_order_share', timeDimension: 'orders.ordered_at', format: 'percent' },
  { id: 'repeat_rate', label_en: 'Repeat purchase rate', label_zh: '复购率', measure: 'customer_activity.repeat_purchase_rate', timeDimension: 'customer_activity.month', format: 'percent' },
  { id: 'new_customers', label_en: 'New customers', label_zh: '新客户数', measure: 'customer_activity.new_customers', timeDimension: 'customer_activity.month', format: 'number' },
  { id: 'avg_satisfaction', label_en: 'Satisfaction', label_zh: '满意度', measure: 'service_quality.avg_satisfaction', timeDimension: 'service_quality.day', format: 'score' },
  { id: 'first_reply_minutes', label_en: 'First reply time (median)', label_zh: '首次响应时长(中位数)', measure: 'service_quality.first_reply_minutes_median', timeDimension: 'service_quality.day', format: 'minutes' },
  { id: 'complaint_rate', label_en: 'Complaints per 1,000 orders', label_zh: '每千单投诉数', measure: 'service_quality.complaint_rate_per_1000_orders', timeDimension: 'service_quality.day', format: 'number' },
  { id: 'sentiment_index', label_en: 'Sentiment index', label_zh: '舆情情感指数', measure: 'opinion_daily.sentiment_index', timeDimension: 'opinion_daily.day', format: 'score' },
  { id: 'negative_share', label_en: 'Negative mention share', label_zh: '负面声量占比', measure: 'opinion_daily.negative_share', timeDimension: 'opinion_daily.day', format: 'percent' },
];

const DAY = 86_400_000;
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const fmt = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The period of the same length that ends the day before `from`. */
export function previousPeriod(from: string, to: string): { from: string; to: string } {
  const days = Math.round((day(to) - day(from)) / DAY) + 1;
  return { from: fmt(day(from) - days * DAY), to: fmt(day(from) - DAY) };
}

const toNumber = (value: unknown) => (value === null || value === undefined || value === '' ? null : Number(value));

export async function kpiScorecard(request: Request, context: LoadContext): Promise<Scorecard> {
  const wanted = request.kpis ? request.kpis.split(',').map((k) => k.trim()).filter(Boolean) : KPIS.map((k) => k.id);
  const unknown = wanted.filter((id) => !KPIS.some((k) => k.id === id));
  if (unknown.length) {
    throw new ValidationError([{ field: 'kpis', reason: `unknown KPI ${unknown.join(', ')}; known: ${KPIS.map((k) => k.id).join(', ')}` }]);
  }
  const chosen = KPIS.filter((k) => wanted.includes(k.id));
  const previous = previousPeriod(request.from, request.to);
  const members = context.model.members;
  const available = chosen.filter((k) => members.get(k.measure) && members.get(k.timeDimension));
  const byTime = new Map<string, KpiDefinition[]>();
  for (const k of available) byTime.set(k.timeDimension, [...(byTime.get(k.timeDimension) ?? []), k]);
  const figures = new Map<string, { current: number | null; previous: number | null }>();
  await Promise.all([...byTime].map(async ([timeDimension, kpis]) => {
    const result = await loadRequest({
      measures: kpis.map((k) => k.measure),
      timeDimensions: [{ dimension: timeDimension, compareDateRange: [[request.from, request.to], [previous.from, previous.to]] }],
      timezone: request.timezone,
    }, context);
    const [current, before] = result.results.map((r) => r.data[0] ?? {});
    for (const k of kpis) figures.set(k.id, { current: toNumber(current?.[k.measure]), previous: toNumber(before?.[k.measure]) });
  }));
  return {
    period: { from: request.from, to: request.to },
    previous_period: previous,
    timezone: request.timezone,
    kpis: chosen.map((k) => {
      const base = { id: k.id, label_en: k.label_en, label_zh: k.label_zh, measure: k.measure, format: k.format };
      const f = figures.get(k.id);
      if (!f) return { ...base, available: false, reason: `${members.get(k.measure) ? k.timeDimension : k.measure} is not in the semantic model yet`, current: null, previous: null, change: null, change_pct: null };
      const change = f.current !== null && f.previous !== null ? f.current - f.previous : null;
      const changePct = change !== null && f.previous ? change / Math.abs(f.previous) : null;
      return { ...base, available: true, ...f, change, change_pct: changePct };
    }),
  };
}
