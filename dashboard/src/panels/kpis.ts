import type { Filter, Query } from '@cubejs-client/core';
import {
  addDays,
  brandFilters,
  has,
  load,
  monthRanges,
  num,
  pick,
  previousRange,
  trendGranularity,
  withTimezone,
  type Selection,
} from '../cube.ts';
import { chartIn, BAD, GOOD, PALETTE } from '../charts.ts';
import { changeOf, escapeHtml, formatChange, formatValue, type Format } from '../format.ts';
import { t, type StringKey } from '../i18n.ts';
import { errorText } from './panel.ts';

/**
 * KPI cards beyond revenue. Each card names candidate members in order of preference: the
 * purpose-built cubes (kpi_periods, service_quality_daily, opinion_daily, customer_triggers) when the
 * model has them, else the fact cubes' own measures. Figures come from one compareDateRange query
 * per (time dimension, brand dimension, filters) group: the selected period and the previous one of
 * the same length, as Cube answers it; the sparkline from the same measures by day/week/month.
 */
interface Source {
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
}

interface CardDefinition {
  id: string;
  label: StringKey;
  format: Format;
  /** True when a fall is good news (response time, complaints, negative share, at-risk). */
  lowerIsBetter?: boolean;
  sources: Source[];
}

export const CARDS: readonly CardDefinition[] = [
  {
    id: 'revenue',
    label: 'kpi_revenue',
    format: 'currency',
    sources: [{ measure: 'orders.revenue', time: 'orders.ordered_at', brand: 'orders.primary_brand' }],
  },
  {
    id: 'orders',
    label: 'kpi_orders',
    format: 'number',
    sources: [{ measure: 'orders.valid_order_count', time: 'orders.ordered_at', brand: 'orders.primary_brand' }],
  },
  {
    id: 'active_customers',
    label: 'kpi_active_customers',
    format: 'number',
    sources: [{ measure: 'orders.buyer_count', time: 'orders.ordered_at', brand: 'orders.primary_brand' }],
  },
  {
    id: 'repeat_rate',
    label: 'kpi_repeat_rate',
    format: 'percent',
    sources: [
      { measure: 'kpi_periods.repeat_purchase_rate', time: 'kpi_periods.period_start', brand: 'kpi_periods.brand' },
      { measure: 'customer_activity.repeat_purchase_rate', time: 'customer_activity.month', brand: null, grain: 'month' },
      { measure: 'customer_activity_monthly.repeat_purchase_rate', time: 'customer_activity_monthly.month', brand: null, grain: 'month' },
    ],
  },
  {
    id: 'avg_order_value',
    label: 'kpi_avg_order_value',
    format: 'currency',
    sources: [{ measure: 'orders.avg_order_value', time: 'orders.ordered_at', brand: 'orders.primary_brand' }],
  },
  {
    id: 'satisfaction',
    label: 'kpi_satisfaction',
    format: 'score',
    // service_tickets first: it has the brand (service_quality_daily is per channel and category only).
    sources: [
      { measure: 'service_tickets.avg_satisfaction', time: 'service_tickets.opened_at', brand: 'service_tickets.brand' },
      { measure: 'service_quality_daily.avg_satisfaction', time: 'service_quality_daily.day', brand: null },
    ],
  },
  {
    id: 'first_reply',
    label: 'kpi_first_reply',
    format: 'minutes',
    lowerIsBetter: true,
    sources: [
      { measure: 'service_tickets.median_first_reply_minutes', time: 'service_tickets.opened_at', brand: 'service_tickets.brand' },
      { measure: 'service_tickets.avg_first_reply_minutes', time: 'service_tickets.opened_at', brand: 'service_tickets.brand' },
    ],
  },
  {
    id: 'sentiment',
    label: 'kpi_sentiment',
    format: 'score',
    sources: [
      { measure: 'opinion_daily.sentiment_index', time: 'opinion_daily.day', brand: 'opinion_daily.brand' },
      { measure: 'opinion_mentions.sentiment_index', time: 'opinion_mentions.published_at', brand: 'opinion_mentions.brand' },
    ],
  },
  {
    id: 'negative_share',
    label: 'kpi_negative_share',
    format: 'percent',
    lowerIsBetter: true,
    sources: [
      { measure: 'opinion_daily.negative_share', time: 'opinion_daily.day', brand: 'opinion_daily.brand' },
      { measure: 'opinion_mentions.negative_share', time: 'opinion_mentions.published_at', brand: 'opinion_mentions.brand' },
    ],
  },
  {
    id: 'at_risk',
    label: 'kpi_at_risk',
    format: 'number',
    lowerIsBetter: true,
    sources: [
      {
        measure: 'customers.count',
        time: null,
        brand: null,
        filters: [{ member: 'customers.churn_risk_band', operator: 'equals', values: ['high'] }],
      },
      // Until churn predictions are in the model: the RFM segment "at risk" (a segment of the model).
      { measure: 'customers.count', time: null, brand: null, segments: ['customers.at_risk'] },
    ],
  },
];

interface ResolvedCard {
  card: CardDefinition;
  source: Source | undefined;
  element: HTMLElement;
}

let resolved: ResolvedCard[] = [];

export function createKpiCards(container: HTMLElement): void {
  container.innerHTML = '';
  resolved = CARDS.map((card) => {
    const source = pick(card.sources, (s) => [
      s.measure,
      s.time,
      s.brand,
      ...(s.segments ?? []),
      ...(s.filters ?? []).map((f) => ('member' in f ? f.member : null)),
    ]);
    const element = document.createElement('article');
    element.className = 'kpi';
    element.dataset.kpi = card.id;
    element.dataset.state = 'loading';
    element.innerHTML = `
      <div class="kpi-label" data-i18n="${card.label}">${escapeHtml(t(card.label))}</div>
      <div class="kpi-value">–</div>
      <div class="kpi-change"><span class="kpi-delta"></span> <span class="kpi-prev"></span></div>
      <div class="kpi-spark"></div>
      <div class="kpi-note"></div>`;
    container.appendChild(element);
    return { card, source, element };
  });
}

const groupKey = (s: Source) => JSON.stringify([s.time, s.brand, s.filters ?? [], s.segments ?? [], s.grain ?? 'day']);
const segmentsOf = (s: Source) => (s.segments?.length ? { segments: s.segments } : {});

/** The compare query of a group of cards sharing a time dimension, brand dimension and filters. */
export function compareQuery(sources: Source[], selection: Selection): Query {
  const first = sources[0]!;
  const filters = [...brandFilters(first.brand, selection), ...(first.filters ?? [])];
  const measures = [...new Set(sources.map((s) => s.measure))];
  if (!first.time) return withTimezone({ measures, ...segmentsOf(first), ...(filters.length ? { filters } : {}) });
  return withTimezone({
    measures,
    ...segmentsOf(first),
    timeDimensions: [
      {
        dimension: first.time,
        compareDateRange:
          first.grain === 'month'
            ? [monthRanges(selection).current, monthRanges(selection).previous]
            : [[selection.from, selection.to], previousRange(selection)],
      },
    ],
    ...(filters.length ? { filters } : {}),
  });
}

function trendQuery(sources: Source[], selection: Selection): Query | null {
  const first = sources[0]!;
  if (!first.time) return null;
  const filters = [...brandFilters(first.brand, selection), ...(first.filters ?? [])];
  return withTimezone({
    measures: [...new Set(sources.map((s) => s.measure))],
    ...segmentsOf(first),
    timeDimensions:
      first.grain === 'month'
        ? [
            {
              dimension: first.time,
              granularity: 'month',
              dateRange: [addDays(monthRanges(selection).current[1], -365), monthRanges(selection).current[1]],
            },
          ]
        : [{ dimension: first.time, granularity: trendGranularity(selection), dateRange: [selection.from, selection.to] }],
    order: { [first.time]: 'asc' },
    ...(filters.length ? { filters } : {}),
  });
}

export async function renderKpiCards(selection: Selection): Promise<void> {
  const groups = new Map<string, ResolvedCard[]>();
  for (const item of resolved) {
    if (!item.source) {
      item.element.dataset.state = 'unavailable';
      item.element.querySelector('.kpi-note')!.textContent = t('notInModel');
      continue;
    }
    item.element.dataset.state = 'loading';
    const key = groupKey(item.source);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  await Promise.all([...groups.values()].map((items) => renderGroup(items, selection)));
}

async function renderGroup(items: ResolvedCard[], selection: Selection): Promise<void> {
  const sources = items.map((i) => i.source!);
  const query = compareQuery(sources, selection);
  const trend = trendQuery(sources, selection);
  try {
    const [compared, series] = await Promise.all([load(query), trend ? load(trend) : Promise.resolve(null)]);
    const periods = sources[0]!.time ? compared.decompose() : [compared];
    const current = periods[0]?.rawData()[0] as Record<string, unknown> | undefined;
    const previous = periods[1]?.rawData()[0] as Record<string, unknown> | undefined;
    const trendRows = (series?.rawData() ?? []) as Record<string, unknown>[];
    for (const item of items) {
      const measure = item.source!.measure;
      const value = num(current?.[measure]);
      const before = previous ? num(previous[measure]) : null;
      const points = trendRows.map((row) => num(row[measure]));
      drawCard(item, { value, before, points, query, snapshot: !item.source!.time });
    }
  } catch (error) {
    for (const item of items) {
      item.element.dataset.state = 'error';
      item.element.querySelector('.kpi-note')!.textContent = errorText(error);
    }
  }
}

function drawCard(
  item: ResolvedCard,
  data: { value: number | null; before: number | null; points: (number | null)[]; query: Query; snapshot: boolean },
): void {
  const { card, element, source } = item;
  element.dataset.measure = source!.measure;
  element.dataset.query = JSON.stringify(data.query);
  element.dataset.value = data.value === null ? '' : String(data.value);
  element.dataset.previous = data.before === null ? '' : String(data.before);
  element.dataset.points = String(data.points.filter((p) => p !== null).length);
  element.querySelector('.kpi-value')!.textContent = formatValue(data.value, card.format);
  const change = changeOf(data.value, data.before);
  const delta = element.querySelector<HTMLElement>('.kpi-delta')!;
  delta.textContent = data.snapshot
    ? t('snapshot')
    : change === null
      ? t('noChange')
      : `${change > 0 ? '▲' : change < 0 ? '▼' : '■'} ${formatChange(change)}`;
  const good = change === null || change === 0 ? null : change > 0 !== Boolean(card.lowerIsBetter);
  delta.className = `kpi-delta ${good === null ? '' : good ? 'good' : 'bad'}`;
  element.querySelector('.kpi-prev')!.textContent =
    data.snapshot || data.before === null ? '' : `${t('previous')} ${formatValue(data.before, card.format, { compact: true })}`;
  const notes: string[] = [];
  if (data.value === null) notes.push(t('noData'));
  if (!source!.brand) notes.push(t('allBrandsOnly'));
  if (source!.grain === 'month') notes.push(t('wholeMonths'));
  if (source!.segments?.includes('customers.at_risk')) notes.push(t('rfmAtRisk'));
  if (source!.filters?.some((f) => 'member' in f && f.member === 'customers.churn_risk_band')) notes.push(t('churnHigh'));
  element.querySelector('.kpi-note')!.textContent = notes.join(' · ');
  element.dataset.state = data.value === null ? 'empty' : 'ready';
  const spark = element.querySelector<HTMLElement>('.kpi-spark')!;
  spark.style.visibility = data.points.length > 1 ? 'visible' : 'hidden';
  if (data.points.length > 1) {
    const color = good === false ? BAD : good === true ? GOOD : PALETTE[0];
    chartIn(spark).setOption(
      {
        animation: false,
        grid: { left: 0, right: 0, top: 4, bottom: 0 },
        xAxis: { type: 'category', show: false, boundaryGap: false, data: data.points.map((_, i) => i) },
        yAxis: { type: 'value', show: false, scale: true },
        series: [
          {
            type: 'line',
            data: data.points,
            smooth: true,
            connectNulls: true,
            symbol: 'none',
            lineStyle: { width: 2, color },
            areaStyle: { color, opacity: 0.12 },
          },
        ],
      },
      true,
    );
  }
}

export function kpiMembersAvailable(): boolean {
  return has('orders.revenue');
}
