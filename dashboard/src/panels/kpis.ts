import type { Query } from '@cubejs-client/core';
import { load, members, num } from '../cube.ts';
import {
  CHURN_RISK_BAND,
  KPI_CARDS,
  RFM_AT_RISK_SEGMENT,
  kpiCompareQuery,
  kpiGroups,
  kpiSource,
  kpiTrendQuery,
  type KpiCard,
  type KpiSource,
  type Selection,
} from '../queries.ts';
import { chartIn, BAD, GOOD, PALETTE } from '../charts.ts';
import { changeOf, escapeHtml, formatChange, formatValue } from '../format.ts';
import { t, type StringKey } from '../i18n.ts';
import { showClvModelCaption } from './clv-model.ts';
import { errorText } from './panel.ts';

/**
 * KPI cards beyond revenue: the cards, their candidate sources and their queries are in
 * queries.ts (KPI_CARDS, kpiGroups, kpiCompareQuery, kpiTrendQuery); this module draws them.
 */
interface ResolvedCard {
  card: KpiCard;
  source: KpiSource | undefined;
  element: HTMLElement;
}

let resolved: ResolvedCard[] = [];

export function createKpiCards(container: HTMLElement): void {
  container.innerHTML = '';
  resolved = KPI_CARDS.map((card) => {
    const source = kpiSource(card, members());
    const label = card.label as StringKey;
    const element = document.createElement('article');
    element.className = 'kpi';
    element.dataset.kpi = card.id;
    element.dataset.state = 'loading';
    element.innerHTML = `
      <div class="kpi-label" data-i18n="${label}">${escapeHtml(t(label))}</div>
      <div class="kpi-value">–</div>
      <div class="kpi-change"><span class="kpi-delta"></span> <span class="kpi-prev"></span></div>
      <div class="kpi-spark"></div>
      <div class="kpi-note"></div>
      <div class="kpi-model" hidden></div>`;
    container.appendChild(element);
    return { card, source, element };
  });
}

export async function renderKpiCards(selection: Selection): Promise<void> {
  for (const item of resolved) {
    if (item.source) {
      item.element.dataset.state = 'loading';
      continue;
    }
    item.element.dataset.state = 'unavailable';
    item.element.querySelector('.kpi-note')!.textContent = t('notInModel');
  }
  const byCard = new Map(resolved.map((item) => [item.card.id, item]));
  await Promise.all(
    kpiGroups(members()).map((group) =>
      renderGroup(
        group.cards.map((card) => byCard.get(card.id)!),
        group.sources,
        selection,
      ),
    ),
  );
}

async function renderGroup(items: ResolvedCard[], sources: KpiSource[], selection: Selection): Promise<void> {
  const query = kpiCompareQuery(sources, selection);
  const trend = kpiTrendQuery(sources, selection);
  try {
    const [compared, series] = await Promise.all([load(query), trend ? load(trend) : Promise.resolve(null)]);
    const periods = sources[0]!.time ? compared.decompose() : [compared];
    const current = periods[0]?.rawData()[0] as Record<string, unknown> | undefined;
    const previous = periods[1]?.rawData()[0] as Record<string, unknown> | undefined;
    const trendRows = (series?.rawData() ?? []) as Record<string, unknown>[];
    await Promise.all(
      items.map((item) => {
        const measure = item.source!.measure;
        const value = num(current?.[measure]);
        const before = previous ? num(previous[measure]) : null;
        const points = trendRows.map((row) => num(row[measure]));
        return drawCard(item, { value, before, points, query, snapshot: !item.source!.time });
      }),
    );
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
): Promise<void> {
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
  if (source!.segments?.includes(RFM_AT_RISK_SEGMENT)) notes.push(t('rfmAtRisk'));
  if (source!.filters?.some((f) => 'member' in f && f.member === CHURN_RISK_BAND)) notes.push(t('churnHigh'));
  element.querySelector('.kpi-note')!.textContent = notes.join(' · ');
  const captioned = showClvModelCaption(element.querySelector<HTMLElement>('.kpi-model')!, Boolean(source!.fromClvModel));
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
  return captioned;
}
