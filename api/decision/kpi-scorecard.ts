import type { z } from 'zod';
import { loadRequest, type LoadContext } from '../../semantic/load-query.ts';
import { ValidationError, type ScorecardQuery, type ScorecardResponse } from './schemas.ts';

type Scorecard = z.input<typeof ScorecardResponse>;
/** The query with its time zone resolved (the caller's, else the server's default). */
type Request = z.output<typeof ScorecardQuery> & { timezone: string };

/**
 * The KPIs the scorecard offers: each is a member of the executive_kpis view (the public surface;
 * the cubes behind it are private) with the view's time dimension that places it in a period. The
 * figures come from Cube's compiler (one compareDateRange query per time dimension, run in-process
 * through the /load path, so the same member checks and access policies as a REST caller), never
 * from SQL written here. KPIs whose member is not in the model yet answer `available: false`
 * naming the member.
 */
export interface KpiDefinition {
  id: string;
  label_en: string;
  label_zh: string;
  measure: string;
  timeDimension: string;
  /** Segments the query needs (kpi_periods holds every day three times: pick one grain). */
  segments?: string[];
  format: 'currency' | 'number' | 'percent' | 'minutes' | 'score';
  /** The figure follows the CLV model's predictions: the row says which model and fit (`model`). */
  fromClvModel?: boolean;
}

export const KPIS: readonly KpiDefinition[] = [
  {
    id: 'revenue',
    label_en: 'Net revenue',
    label_zh: '净收入',
    measure: 'executive_kpis.revenue',
    timeDimension: 'executive_kpis.ordered_at',
    format: 'currency',
  },
  {
    id: 'orders',
    label_en: 'Orders',
    label_zh: '订单数',
    measure: 'executive_kpis.count',
    timeDimension: 'executive_kpis.ordered_at',
    format: 'number',
  },
  {
    id: 'buyers',
    label_en: 'Buyers',
    label_zh: '购买客户数',
    measure: 'executive_kpis.buyer_count',
    timeDimension: 'executive_kpis.ordered_at',
    format: 'number',
  },
  {
    id: 'avg_order_value',
    label_en: 'Average order value',
    label_zh: '客单价',
    measure: 'executive_kpis.avg_order_value',
    timeDimension: 'executive_kpis.ordered_at',
    format: 'currency',
  },
  {
    id: 'cancel_refund_share',
    label_en: 'Cancelled or refunded share',
    label_zh: '取消/退款占比',
    measure: 'executive_kpis.invalid_order_share',
    timeDimension: 'executive_kpis.ordered_at',
    format: 'percent',
  },
  // KPIs beyond revenue: executive_kpis' kpi_periods_* members, the kpi_periods cube's, which defines each ratio once over the
  // additive parts of marts.fct_kpi_periods (nothing is divided here, see macros/kpi_definitions.sql).
  // Daily rows re-aggregate exactly over any range of whole days (sums and ratios of sums);
  // retention and repeat rate are defined per calendar month: the months that start in the range.
  {
    id: 'repeat_rate',
    label_en: 'Repeat purchase rate (monthly)',
    label_zh: '复购率(月)',
    measure: 'executive_kpis.kpi_periods_repeat_rate',
    timeDimension: 'executive_kpis.kpi_periods_period_start',
    segments: ['executive_kpis.kpi_periods_monthly'],
    format: 'percent',
  },
  {
    id: 'retention_rate',
    label_en: 'Customer retention (month over month)',
    label_zh: '客户留存率(环比月)',
    measure: 'executive_kpis.kpi_periods_retention_rate',
    timeDimension: 'executive_kpis.kpi_periods_period_start',
    segments: ['executive_kpis.kpi_periods_monthly'],
    format: 'percent',
  },
  {
    id: 'new_customers',
    label_en: 'New customers',
    label_zh: '新客户数',
    measure: 'executive_kpis.kpi_periods_new_customers',
    timeDimension: 'executive_kpis.kpi_periods_period_start',
    segments: ['executive_kpis.kpi_periods_daily'],
    format: 'number',
  },
  {
    id: 'customers_at_risk',
    label_en: 'Customers at high churn risk (as of today)',
    label_zh: '高流失风险客户数(当前)',
    measure: 'executive_kpis.kpi_periods_customers_at_risk',
    timeDimension: 'executive_kpis.kpi_periods_period_start',
    segments: ['executive_kpis.kpi_periods_daily'],
    format: 'number',
    // customer_value.churn_risk_band = 'high', from the chosen model's P(purchase in 90 days).
    fromClvModel: true,
  },
  {
    id: 'avg_satisfaction',
    label_en: 'Satisfaction',
    label_zh: '满意度',
    measure: 'executive_kpis.kpi_periods_satisfaction',
    timeDimension: 'executive_kpis.kpi_periods_period_start',
    segments: ['executive_kpis.kpi_periods_daily'],
    format: 'score',
  },
  {
    id: 'first_reply_minutes',
    label_en: 'First reply time (median)',
    label_zh: '首次响应时长(中位数)',
    measure: 'executive_kpis.service_tickets_median_first_reply_minutes',
    timeDimension: 'executive_kpis.service_tickets_opened_at',
    format: 'minutes',
  },
  {
    id: 'complaint_rate',
    label_en: 'Complaints per 1,000 orders',
    label_zh: '每千单投诉数',
    measure: 'executive_kpis.kpi_periods_complaint_rate_per_1000_orders',
    timeDimension: 'executive_kpis.kpi_periods_period_start',
    segments: ['executive_kpis.kpi_periods_daily'],
    format: 'number',
  },
  {
    id: 'return_rate',
    label_en: 'Returns per 1,000 orders',
    label_zh: '每千单退货数',
    measure: 'executive_kpis.kpi_periods_return_rate_per_1000_orders',
    timeDimension: 'executive_kpis.kpi_periods_period_start',
    segments: ['executive_kpis.kpi_periods_daily'],
    format: 'number',
  },
  {
    id: 'sentiment_index',
    label_en: 'Sentiment index',
    label_zh: '舆情情感指数',
    measure: 'executive_kpis.opinion_daily_sentiment_index',
    timeDimension: 'executive_kpis.opinion_daily_day',
    format: 'score',
  },
  {
    id: 'negative_share',
    label_en: 'Negative mention share',
    label_zh: '负面声量占比',
    measure: 'executive_kpis.opinion_daily_negative_share',
    timeDimension: 'executive_kpis.opinion_daily_day',
    format: 'percent',
  },
];

const DAY = 86_400_000;
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const fmt = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The period of the same length that ends the day before `from`. */
export function previousPeriod(from: string, to: string): { from: string; to: string } {
  const days = Math.round((day(to) - day(from)) / DAY) + 1;
  return { from: fmt(day(from) - days * DAY), to: fmt(day(from) - DAY) };
}

/** The one-row CLV model members of executive_kpis (the clv_model cube's, dbt's dim_clv_model). */
export const CLV_MODEL_MEMBERS = {
  name: 'executive_kpis.clv_model_name',
  label: 'executive_kpis.clv_model_label',
  fittedAt: 'executive_kpis.clv_fitted_at',
} as const;

type ClvModel = { name: string; label: string; fitted_at: string } | null;

/** A table the published warehouse lacks (the model is newer than the warehouse), from the load error. */
const missingTable = (error: unknown) => /Table with name (\S+) does not exist/.exec(String((error as Error).message))?.[1];

/**
 * The CLV model in use, through the same /load path and the caller's security context as the
 * figures: null when the model has no such members, the warehouse no mart yet, or no scoring fitted
 * one (no row, or a run without a model: fitted_at null). A time dimension in `dimensions` is read
 * as stored, UTC wall time: it is answered as an ISO instant.
 */
async function clvModelInUse(context: LoadContext, timezone: string): Promise<ClvModel> {
  const { name, label, fittedAt } = CLV_MODEL_MEMBERS;
  if (![name, label, fittedAt].every((m) => context.model.members.get(m))) return null;
  let result;
  try {
    result = await loadRequest({ dimensions: [name, label, fittedAt], limit: 1, timezone }, context);
  } catch (error) {
    if (missingTable(error)) return null;
    throw error;
  }
  const row = result.results[0]?.data[0];
  const fitted = row?.[fittedAt];
  if (!row || fitted === null || fitted === undefined || row[name] == null) return null;
  const text = String(fitted);
  const instant = new Date(/(Z|[+-]\d\d:?\d\d)$/.test(text) ? text : `${text}Z`);
  return { name: String(row[name]), label: String(row[label] ?? row[name]), fitted_at: instant.toISOString() };
}

const toNumber = (value: unknown) => (value === null || value === undefined || value === '' ? null : Number(value));

export async function kpiScorecard(request: Request, context: LoadContext): Promise<Scorecard> {
  const wanted = request.kpis
    ? request.kpis
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean)
    : KPIS.map((k) => k.id);
  const unknown = wanted.filter((id) => !KPIS.some((k) => k.id === id));
  if (unknown.length) {
    throw new ValidationError([{ field: 'kpis', reason: `unknown KPI ${unknown.join(', ')}; known: ${KPIS.map((k) => k.id).join(', ')}` }]);
  }
  const chosen = KPIS.filter((k) => wanted.includes(k.id));
  const previous = previousPeriod(request.from, request.to);
  const members = context.model.members;
  const available = chosen.filter((k) => members.get(k.measure) && members.get(k.timeDimension));
  // One query per time dimension and segment list.
  const byTime = new Map<string, KpiDefinition[]>();
  for (const k of available) {
    const key = JSON.stringify([k.timeDimension, k.segments ?? []]);
    byTime.set(key, [...(byTime.get(key) ?? []), k]);
  }
  const figures = new Map<string, { current: number | null; previous: number | null }>();
  const missingMart = new Map<string, string>();
  let clvModel: ClvModel = null;
  const clvModelRead = chosen.some((k) => k.fromClvModel)
    ? clvModelInUse(context, request.timezone).then((model) => {
        clvModel = model;
      })
    : Promise.resolve();
  await Promise.all([
    clvModelRead,
    ...[...byTime.values()].map(async (kpis) => {
      const { timeDimension, segments } = kpis[0]!;
      let result;
      try {
        result = await loadRequest(
          {
            measures: kpis.map((k) => k.measure),
            timeDimensions: [
              {
                dimension: timeDimension,
                compareDateRange: [
                  [request.from, request.to],
                  [previous.from, previous.to],
                ],
              },
            ],
            ...(segments?.length ? { segments } : {}),
            timezone: request.timezone,
          },
          context,
        );
      } catch (error) {
        // The cube is in the model but this warehouse was built before its mart existed.
        const table = missingTable(error);
        if (!table) throw error;
        for (const k of kpis) missingMart.set(k.id, `the published warehouse has no ${table} mart yet`);
        return;
      }
      const [current, before] = result.results.map((r) => r.data[0] ?? {});
      for (const k of kpis) figures.set(k.id, { current: toNumber(current?.[k.measure]), previous: toNumber(before?.[k.measure]) });
    }),
  ]);
  return {
    period: { from: request.from, to: request.to },
    previous_period: previous,
    timezone: request.timezone,
    kpis: chosen.map((k) => {
      const base = {
        id: k.id,
        label_en: k.label_en,
        label_zh: k.label_zh,
        measure: k.measure,
        format: k.format,
        ...(k.fromClvModel ? { model: clvModel } : {}),
      };
      const f = figures.get(k.id);
      const missing = missingMart.get(k.id);
      if (missing) return { ...base, available: false, reason: missing, current: null, previous: null, change: null, change_pct: null };
      if (!f)
        return {
          ...base,
          available: false,
          reason: `${members.get(k.measure) ? k.timeDimension : k.measure} is not in the semantic model yet`,
          current: null,
          previous: null,
          change: null,
          change_pct: null,
        };
      const change = f.current !== null && f.previous !== null ? f.current - f.previous : null;
      const changePct = change !== null && f.previous ? change / Math.abs(f.previous) : null;
      return { ...base, available: true, ...f, change, change_pct: changePct };
    }),
  };
}
