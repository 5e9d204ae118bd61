import type { Filter, Query, TimeDimensionGranularity } from '@cubejs-client/core';

/**
 * Every Cube query the dashboard sends, as pure functions of the selection (dates, brand) and the
 * members the model offers (read from /meta). The panels draw what these queries answer; the
 * semantic-query benchmark (benchmarks/dashboard-queries.ts) and the rollup test
 * (tests/e2e/pre-aggregations.test.ts) send the same queries for a fixed selection, so a change here
 * is measured and checked against the rollups. No DOM, no network, only type imports: the browser
 * bundle and Node import this file alike.
 *
 * Each panel names candidate members in order of preference; the first candidate whose members all
 * exist is used, and a panel without one says "not in the semantic model yet". Every member is a
 * view's (cube/model/views: the public surface; the cubes behind them are private).
 */
// No zone is written here: a query that names none is read in the API's default zone, the shop's
// (config shop.timezone), whose days the daily marts are built in (dbt var shop_timezone).

export interface Selection {
  from: string; // YYYY-MM-DD, inclusive
  to: string;
  brand: string | null;
}

/** What /meta offers: every visible member (and cube) name, and which of them are measures. */
export interface ModelMembers {
  names: ReadonlySet<string>;
  measures: ReadonlySet<string>;
}

interface MetaLike {
  cubes: { name: string; measures: { name: string }[]; dimensions: { name: string }[]; segments?: { name: string }[] }[];
}

/** The member set of a /meta response (Cube's client's or the semantic model's, same shape). */
export function membersOfMeta(meta: MetaLike): ModelMembers {
  const names = new Set<string>();
  const measures = new Set<string>();
  for (const cube of meta.cubes) {
    names.add(cube.name);
    for (const m of cube.measures) measures.add(m.name);
    for (const m of [...cube.measures, ...cube.dimensions, ...(cube.segments ?? [])]) names.add(m.name);
  }
  return { names, measures };
}

export function hasMembers(members: ModelMembers, ...names: (string | null | undefined)[]): boolean {
  return names.every((name) => !name || members.names.has(name));
}

/** The first candidate whose members all exist in the model. */
export function pickMembers<T>(
  members: ModelMembers,
  candidates: readonly T[],
  namesOf: (candidate: T) => (string | null | undefined)[],
): T | undefined {
  return candidates.find((candidate) => hasMembers(members, ...namesOf(candidate)));
}

// ---------------------------------------------------------------- dates

const DAY = 86_400_000;
const dayMs = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
export const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function addDays(iso: string, days: number): string {
  return isoDay(dayMs(iso) + days * DAY);
}

export function daysIn(selection: Selection): number {
  return Math.round((dayMs(selection.to) - dayMs(selection.from)) / DAY) + 1;
}

/** The period of the same length that ends the day before `from` (as the API's scorecard does). */
export function previousRange(selection: Selection): [string, string] {
  const days = daysIn(selection);
  return [isoDay(dayMs(selection.from) - days * DAY), isoDay(dayMs(selection.from) - DAY)];
}

/** The whole months a range touches, and the same number of months before them (monthly marts). */
export function monthRanges(selection: Selection): { current: [string, string]; previous: [string, string]; months: number } {
  const [fy, fm] = selection.from.split('-').map(Number) as [number, number];
  const [ty, tm] = selection.to.split('-').map(Number) as [number, number];
  const months = (ty - fy) * 12 + (tm - fm) + 1;
  const monthStart = (y: number, m: number) => isoDay(Date.UTC(y, m - 1, 1));
  const monthEnd = (y: number, m: number) => isoDay(Date.UTC(y, m, 0));
  return {
    current: [monthStart(fy, fm), monthEnd(ty, tm)],
    previous: [monthStart(fy, fm - months), monthEnd(fy, fm - 1)],
    months,
  };
}

/** Granularity of trend lines: days for six weeks or less, weeks up to ~13 months, then months. */
export function trendGranularity(selection: Selection): TimeDimensionGranularity {
  const days = daysIn(selection);
  return days <= 45 ? 'day' : days <= 400 ? 'week' : 'month';
}

/** The first day of the month of `iso` when it is one, else the first day of the next month. */
export function monthStartOnOrAfter(iso: string): string {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  return d === 1 ? iso : isoDay(Date.UTC(y, m, 1));
}

/** The last day of the month of `iso`. */
export function monthEndOf(iso: string): string {
  const [y, m] = iso.split('-').map(Number) as [number, number];
  return isoDay(Date.UTC(y, m, 0));
}

/** The whole weeks (Monday to Sunday, as DuckDB's and Cube's week) a range touches. */
export function weekRange(selection: Selection): [string, string] {
  const weekday = (iso: string) => (new Date(dayMs(iso)).getUTCDay() + 6) % 7; // Monday 0 .. Sunday 6
  return [addDays(selection.from, -weekday(selection.from)), addDays(selection.to, 6 - weekday(selection.to))];
}

/** The dashboard's default selection: the 90 days ending on the newest day with orders, all brands. */
export function defaultSelection(lastDataDay: string, brand: string | null = null): Selection {
  return { from: addDays(lastDataDay, -89), to: lastDataDay, brand };
}

export function brandFilters(brandMember: string | null | undefined, selection: Selection): Filter[] {
  return brandMember && selection.brand ? [{ member: brandMember, operator: 'equals', values: [selection.brand] }] : [];
}

/** The query in `timezone` unless it names one; without a zone it is left to the API's default (the shop's). */
export function withTimezone(query: Query, timezone?: string): Query {
  return query.timezone || !timezone ? query : { ...query, timezone };
}

const withFilters = (filters: Filter[]) => (filters.length ? { filters } : {});

// ---------------------------------------------------------------- start: newest day and brands

// Views are the public surface (the cubes behind them are private): sales figures from executive_kpis.
const ORDER_COUNT = 'executive_kpis.count';
export const ORDER_TIME = 'executive_kpis.ordered_at';
export const ORDER_BRAND = 'executive_kpis.primary_brand';
/** Customers who ordered in the period (and of the brand): customer_value's order time and brand. */
export const CUSTOMER_ORDER_TIME = 'customer_value.ordered_at';
export const CUSTOMER_ORDER_BRAND = 'customer_value.primary_brand';

/** The newest day with orders (it anchors the default range). */
export function latestDayQuery(): Query {
  return withTimezone({
    measures: [ORDER_COUNT],
    timeDimensions: [{ dimension: ORDER_TIME, granularity: 'day' }],
    order: { [ORDER_TIME]: 'desc' },
    limit: 1,
  });
}
export const LATEST_DAY_KEY = `${ORDER_TIME}.day`;

/** The brands of the brand filter, most orders first. */
export function brandsQuery(): Query {
  return withTimezone({ measures: [ORDER_COUNT], dimensions: [ORDER_BRAND], order: { [ORDER_COUNT]: 'desc' } });
}
export const BRAND_KEY = ORDER_BRAND;

// ---------------------------------------------------------------- KPI cards

/**
 * KPI cards beyond revenue. Each card names candidate sources in order of preference: the
 * purpose-built cubes when the model has them, else the fact cubes' own measures. Figures come from
 * one compareDateRange query per (time dimension, brand dimension, filters) group: the selected
 * period and the previous one of the same length, as Cube answers it; the sparkline from the same
 * measures by day/week/month.
 */
export interface KpiSource {
  measure: string;
  /** Time dimension placing the measure in a period; null: a snapshot (no comparison). */
  time: string | null;
  /** Dimension the brand filter applies to; null: the measure is for all brands. */
  brand: string | null;
  filters?: Filter[];
  /** Segments of the model the measure is read through. */
  segments?: string[];
  /** A monthly mart: the range is widened to the whole months it touches. */
  grain?: 'month';
  /** The figure follows the CLV model's predictions: the card captions the model and fit day. */
  fromClvModel?: boolean;
  /**
   * A distinct count (buyers): asked in queries of its own. No daily rollup adds distinct buyers up
   * over the range, so asked beside revenue and orders it would send those to the marts too; alone,
   * the cards beside it read the daily rollup and its trend the weekly buyers rollup.
   */
  alone?: boolean;
}

export type KpiFormat = 'currency' | 'number' | 'percent' | 'score' | 'minutes';

export interface KpiCard {
  id: string;
  /** Key of the card's label in i18n.ts. */
  label: string;
  format: KpiFormat;
  /** True when a fall is good news (response time, complaints, negative share, at-risk). */
  lowerIsBetter?: boolean;
  sources: KpiSource[];
}

export const RFM_AT_RISK_SEGMENT = 'customer_value.at_risk';
export const CHURN_RISK_BAND = 'customer_value.churn_risk_band';

export const KPI_CARDS: readonly KpiCard[] = [
  {
    id: 'revenue',
    label: 'kpi_revenue',
    format: 'currency',
    sources: [{ measure: 'executive_kpis.revenue', time: ORDER_TIME, brand: ORDER_BRAND }],
  },
  {
    id: 'orders',
    label: 'kpi_orders',
    format: 'number',
    sources: [{ measure: 'executive_kpis.valid_order_count', time: ORDER_TIME, brand: ORDER_BRAND }],
  },
  {
    id: 'active_customers',
    label: 'kpi_active_customers',
    format: 'number',
    sources: [{ measure: 'executive_kpis.buyer_count', time: ORDER_TIME, brand: ORDER_BRAND, alone: true }],
  },
  {
    id: 'repeat_rate',
    label: 'kpi_repeat_rate',
    format: 'percent',
    sources: [{ measure: 'customer_value.repeat_purchase_rate', time: 'customer_value.activity_month', brand: null, grain: 'month' }],
  },
  {
    id: 'avg_order_value',
    label: 'kpi_avg_order_value',
    format: 'currency',
    sources: [{ measure: 'executive_kpis.avg_order_value', time: ORDER_TIME, brand: ORDER_BRAND }],
  },
  {
    id: 'satisfaction',
    label: 'kpi_satisfaction',
    format: 'score',
    // service_quality (ticket grain) first: it has the brand (the daily trend is per channel and category only).
    sources: [
      { measure: 'service_quality.avg_satisfaction', time: 'service_quality.opened_at', brand: 'service_quality.brand' },
      { measure: 'service_quality_daily_trend.avg_satisfaction', time: 'service_quality_daily_trend.day', brand: null },
    ],
  },
  {
    id: 'first_reply',
    label: 'kpi_first_reply',
    format: 'minutes',
    lowerIsBetter: true,
    sources: [
      { measure: 'service_quality.median_first_reply_minutes', time: 'service_quality.opened_at', brand: 'service_quality.brand' },
      { measure: 'service_quality.avg_first_reply_minutes', time: 'service_quality.opened_at', brand: 'service_quality.brand' },
    ],
  },
  {
    id: 'sentiment',
    label: 'kpi_sentiment',
    format: 'score',
    sources: [
      { measure: 'public_opinion_daily.sentiment_index', time: 'public_opinion_daily.day', brand: 'public_opinion_daily.brand' },
      { measure: 'public_opinion.sentiment_index', time: 'public_opinion.published_at', brand: 'public_opinion.brand' },
    ],
  },
  {
    id: 'negative_share',
    label: 'kpi_negative_share',
    format: 'percent',
    lowerIsBetter: true,
    sources: [
      { measure: 'public_opinion_daily.negative_share', time: 'public_opinion_daily.day', brand: 'public_opinion_daily.brand' },
      { measure: 'public_opinion.negative_share', time: 'public_opinion.published_at', brand: 'public_opinion.brand' },
    ],
  },
  {
    id: 'at_risk',
    label: 'kpi_at_risk',
    format: 'number',
    lowerIsBetter: true,
    sources: [
      {
        measure: 'customer_value.count',
        time: null,
        brand: null,
        filters: [{ member: CHURN_RISK_BAND, operator: 'equals', values: ['high'] }],
        fromClvModel: true,
      },
      // Until churn predictions are in the model: the RFM segment "at risk" (a segment of the model).
      { measure: 'customer_value.count', time: null, brand: null, segments: [RFM_AT_RISK_SEGMENT] },
    ],
  },
];

/** The source a card reads on this model (undefined: the card says "not in the model"). */
export function kpiSource(card: KpiCard, members: ModelMembers): KpiSource | undefined {
  return pickMembers(members, card.sources, (s) => [
    s.measure,
    s.time,
    s.brand,
    ...(s.segments ?? []),
    ...(s.filters ?? []).map((f) => ('member' in f ? f.member : null)),
  ]);
}

export interface KpiGroup {
  /** Stable id of the group's queries: kpi_period / kpi_monthly / kpi_snapshot, then the first card's id after the first group of a kind. */
  id: string;
  cards: KpiCard[];
  sources: KpiSource[];
}

const groupKey = (s: KpiSource) =>
  JSON.stringify([s.time, s.brand, s.filters ?? [], s.segments ?? [], s.grain ?? 'day', s.alone ? s.measure : null]);

/** Cards sharing a time dimension, brand dimension, filters and grain: one compare and one trend query each. */
export function kpiGroups(members: ModelMembers): KpiGroup[] {
  const groups = new Map<string, { cards: KpiCard[]; sources: KpiSource[] }>();
  for (const card of KPI_CARDS) {
    const source = kpiSource(card, members);
    if (!source) continue;
    const group = groups.get(groupKey(source)) ?? { cards: [], sources: [] };
    group.cards.push(card);
    group.sources.push(source);
    groups.set(groupKey(source), group);
  }
  const seen = new Set<string>();
  return [...groups.values()].map((group) => {
    const first = group.sources[0]!;
    const kind = !first.time ? 'kpi_snapshot' : first.grain === 'month' ? 'kpi_monthly' : 'kpi_period';
    const id = seen.has(kind) ? `${kind}_${group.cards[0]!.id}` : kind;
    seen.add(kind);
    return { id, ...group };
  });
}

const segmentsOf = (s: KpiSource) => (s.segments?.length ? { segments: s.segments } : {});

/** The compare query of a group of cards: the selected period against the one before (a snapshot: one query). */
export function kpiCompareQuery(sources: KpiSource[], selection: Selection): Query {
  const first = sources[0]!;
  const filters = [...brandFilters(first.brand, selection), ...(first.filters ?? [])];
  const measures = [...new Set(sources.map((s) => s.measure))];
  if (!first.time) return withTimezone({ measures, ...segmentsOf(first), ...withFilters(filters) });
  const months = monthRanges(selection);
  return withTimezone({
    measures,
    ...segmentsOf(first),
    timeDimensions: [
      {
        dimension: first.time,
        compareDateRange:
          first.grain === 'month' ? [months.current, months.previous] : [[selection.from, selection.to], previousRange(selection)],
      },
    ],
    ...withFilters(filters),
  });
}

/**
 * The sparkline query of a group (null for a snapshot): by day/week/month, the monthly marts over the
 * 12 whole months ending with the range's (the months of the ~365 days before, as whole months, so
 * their rollups answer). By week it covers the whole weeks the range touches, so that every point is a whole week
 * (a week's distinct buyers come from a weekly rollup, which cannot answer a part of a week).
 */
export function kpiTrendQuery(sources: KpiSource[], selection: Selection): Query | null {
  const first = sources[0]!;
  if (!first.time) return null;
  const filters = [...brandFilters(first.brand, selection), ...(first.filters ?? [])];
  const monthEnd = monthRanges(selection).current[1];
  return withTimezone({
    measures: [...new Set(sources.map((s) => s.measure))],
    ...segmentsOf(first),
    timeDimensions:
      first.grain === 'month'
        ? [{ dimension: first.time, granularity: 'month', dateRange: [monthStartOnOrAfter(addDays(monthEnd, -365)), monthEnd] }]
        : [
            {
              dimension: first.time,
              granularity: trendGranularity(selection),
              dateRange: trendGranularity(selection) === 'week' ? weekRange(selection) : [selection.from, selection.to],
            },
          ],
    order: { [first.time]: 'asc' },
    ...withFilters(filters),
  });
}

// ---------------------------------------------------------------- cohort retention

export interface CohortMembers {
  cohort: string;
  offset: string;
  rate: string;
  size?: string;
}

const COHORT_CANDIDATES: CohortMembers[] = [
  {
    cohort: 'customer_value.cohort_month',
    offset: 'customer_value.months_since_first',
    rate: 'customer_value.retention_rate',
    size: 'customer_value.cohort_customers',
  },
];

/**
 * Cohorts shown: first-purchase months in the selected range, at least the 12 months ending at `to`.
 * As whole months (a cohort is its month's first day, so the same cohorts), which the cohort rollup answers.
 */
export function cohortRange(selection: Selection): [string, string] {
  const yearBefore = addDays(selection.to, -365);
  return [monthStartOnOrAfter(selection.from < yearBefore ? selection.from : yearBefore), monthEndOf(selection.to)];
}

export interface PanelQuery<M> {
  members: M;
  query: Query;
}

/** Retention by first-purchase month and months since (all brands: the cohort mart has none). */
export function cohortQuery(selection: Selection, members: ModelMembers): PanelQuery<CohortMembers> | null {
  const m = pickMembers(members, COHORT_CANDIDATES, (c) => [c.cohort, c.offset, c.rate]);
  if (!m) return null;
  const size = m.size && hasMembers(members, m.size) ? m.size : undefined;
  return {
    members: { ...m, size },
    query: withTimezone({
      measures: [m.rate, ...(size ? [size] : [])],
      dimensions: [m.offset],
      timeDimensions: [{ dimension: m.cohort, granularity: 'month', dateRange: cohortRange(selection) }],
      order: { [m.cohort]: 'asc', [m.offset]: 'asc' },
      limit: 5000,
    }),
  };
}

// ---------------------------------------------------------------- RFM segments

export interface RfmMembers {
  segment: string;
  count: string;
  revenue: string;
}

/**
 * Every customer and their lifetime revenue by RFM segment (else by RFM total), as of the data's
 * last day (dbt scores recency from it): a snapshot, all brands, the segment distribution rollup.
 * The period and brand do not apply (a customer's segment is not per period or brand; "customers
 * active in the period" joined every order of the range to its customer, which no rollup holds).
 */
export function rfmQuery(_selection: Selection, members: ModelMembers): PanelQuery<RfmMembers> | null {
  const segment = pickMembers(members, ['customer_value.rfm_segment', 'customer_value.rfm_total'], (s) => [s]);
  const m = { segment: segment ?? '', count: 'customer_value.count', revenue: 'customer_value.total_revenue' };
  if (!segment || !hasMembers(members, m.count, m.revenue)) return null;
  return {
    members: m,
    query: withTimezone({ measures: [m.count, m.revenue], dimensions: [segment], order: { [m.revenue]: 'desc' } }),
  };
}

// ---------------------------------------------------------------- predicted value

export interface PredictedMembers {
  value: string;
  count: string;
  /** True when the model has no predicted value and lifetime revenue stands in. */
  fallback: boolean;
  /** True when `value` is dbt's band (the band's lower edge), false for exact values the page bins itself. */
  banded: boolean;
}

/**
 * Every customer by predicted 365-day value band (dbt's predicted_value_365d_band, the
 * predicted-value rollup), as of the last scoring: a snapshot, all brands, like the RFM panel.
 * On a model without the band: the exact predicted value (or lifetime revenue), binned by the page.
 */
export function predictedQuery(_selection: Selection, members: ModelMembers): PanelQuery<PredictedMembers> | null {
  const count = 'customer_value.count';
  const band = 'customer_value.predicted_value_365d_band';
  if (hasMembers(members, band, count))
    return {
      members: { value: band, count, fallback: false, banded: true },
      query: withTimezone({ measures: [count], dimensions: [band], order: { [band]: 'asc' } }),
    };
  const value = pickMembers(members, ['customer_value.predicted_value_365d', 'customer_value.revenue'], (v) => [v]);
  if (!value || !hasMembers(members, count)) return null;
  return {
    members: { value, count, fallback: !value.endsWith('predicted_value_365d'), banded: false },
    query: withTimezone({ measures: [count], dimensions: [value], limit: 50000 }),
  };
}

// ---------------------------------------------------------------- the CLV model behind the predictions

export interface ClvModelMembers {
  label: string;
  fittedAt: string;
}

/** The one-row model members of customer_value (dbt's dim_clv_model), beside the figures they label. */
export const CLV_MODEL_MEMBERS: ClvModelMembers = { label: 'customer_value.clv_model_label', fittedAt: 'customer_value.clv_fitted_at' };
/** The key of the fit day in the answer (the time dimension at day granularity, in the API's default zone). */
export const CLV_FITTED_DAY_KEY = `${CLV_MODEL_MEMBERS.fittedAt}.day`;

/**
 * Which model (BG/NBD, MBG/NBD, Pareto/NBD) and fit day the predicted value and churn-risk figures
 * follow: one row, the same for every selection. Null when the model (or this caller) lacks the members.
 */
export function clvModelQuery(members: ModelMembers): PanelQuery<ClvModelMembers> | null {
  const m = CLV_MODEL_MEMBERS;
  if (!hasMembers(members, m.label, m.fittedAt)) return null;
  return {
    members: m,
    query: withTimezone({ dimensions: [m.label], timeDimensions: [{ dimension: m.fittedAt, granularity: 'day' }], limit: 1 }),
  };
}

// ---------------------------------------------------------------- service quality over time

export interface ServiceMembers {
  time: string;
  brand: string;
  firstReply: string;
  resolution: string;
  satisfaction: string;
  complaintShare: string;
}

// service_quality (service_tickets) has the brand and medians over the tickets themselves (correct at any slice).
const SERVICE_CANDIDATES: ServiceMembers[] = [
  {
    time: 'service_quality.opened_at',
    brand: 'service_quality.brand',
    firstReply: 'service_quality.median_first_reply_minutes',
    resolution: 'service_quality.median_resolution_minutes',
    satisfaction: 'service_quality.avg_satisfaction',
    complaintShare: 'service_quality.complaint_share',
  },
  {
    time: 'service_quality.opened_at',
    brand: 'service_quality.brand',
    firstReply: 'service_quality.avg_first_reply_minutes',
    resolution: 'service_quality.avg_resolution_minutes',
    satisfaction: 'service_quality.avg_satisfaction',
    complaintShare: 'service_quality.complaint_share',
  },
];

export function serviceQuery(
  selection: Selection,
  members: ModelMembers,
): (PanelQuery<ServiceMembers> & { granularity: TimeDimensionGranularity }) | null {
  const m = pickMembers(members, SERVICE_CANDIDATES, (c) => Object.values(c));
  if (!m) return null;
  const granularity = trendGranularity(selection);
  return {
    members: m,
    granularity,
    query: withTimezone({
      measures: [m.firstReply, m.resolution, m.satisfaction, m.complaintShare],
      timeDimensions: [{ dimension: m.time, granularity, dateRange: [selection.from, selection.to] }],
      order: { [m.time]: 'asc' },
      ...withFilters(brandFilters(m.brand, selection)),
    }),
  };
}

// ---------------------------------------------------------------- sentiment timeline and mentions

export interface OpinionMembers {
  /** The zone to read the days in; undefined (every candidate): the API's default, the shop's, whose days the daily mart holds. */
  timezone?: string;
  time: string;
  brand: string;
  count: string;
  negative: string;
  index: string;
  /** Negative-spike flag defined in the model (absent: no spikes marked). */
  spike?: string;
}

const OPINION_CANDIDATES: OpinionMembers[] = [
  {
    time: 'public_opinion_daily.day',
    brand: 'public_opinion_daily.brand',
    count: 'public_opinion_daily.mentions',
    negative: 'public_opinion_daily.negative_mentions',
    index: 'public_opinion_daily.sentiment_index',
    spike: 'public_opinion_daily.spike_count',
  },
  {
    time: 'public_opinion.published_at',
    brand: 'public_opinion.brand',
    count: 'public_opinion.count',
    negative: 'public_opinion.negative_count',
    index: 'public_opinion.sentiment_index',
  },
];

const opinionMembers = (members: ModelMembers) =>
  pickMembers(members, OPINION_CANDIDATES, (c) => [c.time, c.brand, c.count, c.negative, c.index, c.spike]);

/** Mentions, negative mentions and the sentiment index by day, with the spike flag (a measure, or a dimension grouped on). */
export function sentimentQuery(selection: Selection, members: ModelMembers): PanelQuery<OpinionMembers> | null {
  const m = opinionMembers(members);
  if (!m) return null;
  const spikeIsMeasure = Boolean(m.spike && members.measures.has(m.spike));
  return {
    members: m,
    query: withTimezone(
      {
        measures: [m.count, m.negative, m.index, ...(m.spike && spikeIsMeasure ? [m.spike] : [])],
        ...(m.spike && !spikeIsMeasure ? { dimensions: [m.spike] } : {}),
        timeDimensions: [{ dimension: m.time, granularity: 'day', dateRange: [selection.from, selection.to] }],
        order: { [m.time]: 'asc' },
        ...withFilters(brandFilters(m.brand, selection)),
      },
      m.timezone,
    ),
  };
}

export const MENTION_POST = 'public_opinion.post_id';
export const MENTION_TIME = 'public_opinion.published_at';
const MENTION_BRAND = 'public_opinion.brand';
const MENTION_SCORE = 'public_opinion.sentiment_score';
/** The mentions table's columns, in order, with the i18n key of each head (those the model lacks are left out). */
export const MENTION_COLUMNS = [
  { member: MENTION_TIME, label: 'col_time' },
  { member: 'public_opinion.platform', label: 'col_platform' },
  { member: MENTION_BRAND, label: 'col_brand' },
  { member: 'public_opinion.product', label: 'col_product' },
  { member: 'public_opinion.sentiment_label', label: 'col_sentiment' },
  { member: MENTION_SCORE, label: 'col_score' },
  { member: 'public_opinion.text', label: 'col_text' },
] as const;

/** One day's mentions, most negative first, in the sentiment timeline's zone (its days are that zone's). */
export function mentionsQuery(selection: Selection, members: ModelMembers, day: string): PanelQuery<{ timezone?: string }> | null {
  if (!hasMembers(members, MENTION_POST, MENTION_TIME)) return null;
  const timezone = opinionMembers(members)?.timezone;
  const columns = MENTION_COLUMNS.map((c) => c.member).filter((c) => c !== MENTION_TIME && hasMembers(members, c));
  return {
    members: timezone ? { timezone } : {},
    query: withTimezone(
      {
        dimensions: [MENTION_POST, ...columns],
        timeDimensions: [{ dimension: MENTION_TIME, granularity: 'minute', dateRange: [day, day] }],
        order: { [MENTION_SCORE]: 'asc', [MENTION_TIME]: 'asc' },
        limit: 100,
        ...withFilters(brandFilters(MENTION_BRAND, selection)),
      },
      timezone,
    ),
  };
}

// ---------------------------------------------------------------- the whole page

export interface DashboardQuery {
  /** Stable id: the panel (and the KPI group), e.g. 'kpi_period_compare', 'cohorts'. */
  id: string;
  /** The Cube query the page sends to /cubejs-api/v1/load. */
  query: Query;
}

/**
 * Every query the page sends for one selection, in the order it sends them: the start (newest day,
 * brands), the KPI cards' compare and trend queries, then the panels. The mentions table lists one
 * day's mentions; the page opens it on the worst negative spike, which depends on the answer, so
 * the day is a parameter here (default: the selection's last day).
 */
export function dashboardQueries(selection: Selection, members: ModelMembers, options: { mentionsDay?: string } = {}): DashboardQuery[] {
  const queries: DashboardQuery[] = [
    { id: 'latest_day', query: latestDayQuery() },
    { id: 'brands', query: brandsQuery() },
  ];
  for (const group of kpiGroups(members)) {
    queries.push({ id: `${group.id}_compare`, query: kpiCompareQuery(group.sources, selection) });
    const trend = kpiTrendQuery(group.sources, selection);
    if (trend) queries.push({ id: `${group.id}_trend`, query: trend });
  }
  const panels: [string, { query: Query } | null][] = [
    ['sentiment', sentimentQuery(selection, members)],
    ['mentions', mentionsQuery(selection, members, options.mentionsDay ?? selection.to)],
    ['service', serviceQuery(selection, members)],
    ['cohorts', cohortQuery(selection, members)],
    ['rfm', rfmQuery(selection, members)],
    ['predicted', predictedQuery(selection, members)],
    ['clv_model', clvModelQuery(members)],
  ];
  for (const [id, panel] of panels) if (panel) queries.push({ id, query: panel.query });
  return queries;
}
