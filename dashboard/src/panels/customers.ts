import { load, members, num } from '../cube.ts';
import { cohortQuery, predictedQuery, rfmQuery, type Selection } from '../queries.ts';
import { chartIn, MUTED, PALETTE } from '../charts.ts';
import { formatValue } from '../format.ts';
import { t, tValue } from '../i18n.ts';
import { showClvModelCaption } from './clv-model.ts';
import { errorText, setState } from './panel.ts';

/**
 * Customer panels: cohort retention heatmap, RFM segments, predicted value distribution (queries in
 * queries.ts). The RFM and predicted-value panels are snapshots of every customer as of the data's
 * last day (all brands): the selected period and brand do not apply to them, and they say so.
 */

// ---------------------------------------------------------------- cohort retention

export async function renderCohorts(section: HTMLElement, selection: Selection): Promise<void> {
  const built = cohortQuery(selection, members());
  if (!built) return setState(section, 'unavailable');
  const { members: m, query } = built;
  section.dataset.query = JSON.stringify(query);
  try {
    const rows = (await load(query)).rawData() as Record<string, unknown>[];
    const cohortKey = `${m.cohort}.month`;
    const cohorts = [...new Set(rows.map((r) => String(r[cohortKey]).slice(0, 7)))];
    const sizes = new Map(rows.filter((r) => m.size && num(r[m.size])).map((r) => [String(r[cohortKey]).slice(0, 7), num(r[m.size!])]));
    const offsets = [...new Set(rows.map((r) => Number(r[m.offset])))].filter((o) => Number.isFinite(o)).sort((a, b) => a - b);
    const cells = rows
      .map((r) => [offsets.indexOf(Number(r[m.offset])), cohorts.indexOf(String(r[cohortKey]).slice(0, 7)), num(r[m.rate])] as const)
      .filter((c) => c[0] >= 0 && c[2] !== null)
      .map((c) => [c[0], c[1], Math.round(c[2]! * 1000) / 10]);
    if (!cells.length) return setState(section, 'empty');
    const note = section.querySelector('.panel-note');
    if (note) note.textContent = t('allBrandsOnly');
    setState(section, 'ready', { points: cells.length });
    chartIn(section.querySelector<HTMLElement>('.chart')!).setOption(
      {
        animation: false,
        tooltip: {
          position: 'top',
          formatter: (p: { value: number[] }) =>
            `${t('cohort')} ${cohorts[p.value[1]!]} · +${offsets[p.value[0]!]} · ${t('retention')} ${p.value[2]}%`,
        },
        grid: { left: 8, right: 16, top: 8, bottom: 64, containLabel: true },
        xAxis: {
          type: 'category',
          data: offsets.map(String),
          name: t('monthsSinceFirst'),
          nameLocation: 'middle',
          nameGap: 26,
          splitArea: { show: true },
          axisLabel: { color: MUTED },
        },
        yAxis: {
          type: 'category',
          data: cohorts,
          inverse: true,
          splitArea: { show: true },
          axisLabel: { color: MUTED, fontSize: 10, formatter: (c: string) => (sizes.get(c) ? `${c}  n=${sizes.get(c)}` : c) },
        },
        visualMap: {
          min: 0,
          max: Math.max(...cells.filter((c) => c[0] !== 0 || offsets[0] !== 0).map((c) => c[2]!), 1),
          calculable: false,
          orient: 'horizontal',
          left: 'center',
          bottom: 0,
          itemHeight: 120,
          itemWidth: 10,
          text: ['%', ''],
          inRange: { color: ['#eef4ff', '#9cc0ff', '#2f6fed', '#163c8c'] },
        },
        series: [
          {
            type: 'heatmap',
            data: cells,
            label: { show: offsets.length <= 13, fontSize: 9, formatter: (p: { value: number[] }) => `${Math.round(p.value[2]!)}` },
          },
        ],
      },
      true,
    );
  } catch (error) {
    setState(section, 'error', { message: errorText(error) });
  }
}

// ---------------------------------------------------------------- RFM segments

export async function renderRfm(section: HTMLElement, selection: Selection): Promise<void> {
  const built = rfmQuery(selection, members());
  if (!built) return setState(section, 'unavailable');
  const { members: m, query } = built;
  const segment = m.segment;
  section.dataset.query = JSON.stringify(query);
  try {
    const rows = ((await load(query)).rawData() as Record<string, unknown>[]).filter((r) => r[segment] !== null);
    if (!rows.length) return setState(section, 'empty');
    const note = section.querySelector('.panel-note');
    if (note) note.textContent = t('allCustomersSnapshot');
    const names = rows.map((r) => (segment.endsWith('rfm_total') ? `${t('rfmTotal')} ${r[segment]}` : tValue('seg_', String(r[segment]))));
    setState(section, 'ready', { points: rows.length });
    chartIn(section.querySelector<HTMLElement>('.chart')!).setOption(
      {
        animation: false,
        color: PALETTE,
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        legend: { top: 0, textStyle: { color: MUTED } },
        grid: { left: 8, right: 56, top: 32, bottom: 8, containLabel: true },
        xAxis: [
          { type: 'value', name: t('customers'), position: 'top', show: false },
          { type: 'value', show: false },
        ],
        yAxis: { type: 'category', data: names, inverse: true, axisLabel: { color: MUTED } },
        series: [
          {
            name: t('customers'),
            type: 'bar',
            xAxisIndex: 0,
            data: rows.map((r) => num(r[m.count])),
            label: { show: true, position: 'right', fontSize: 10 },
            barGap: '10%',
          },
          {
            name: t('lifetimeRevenue'),
            type: 'bar',
            xAxisIndex: 1,
            data: rows.map((r) => num(r[m.revenue])),
            label: {
              show: true,
              position: 'right',
              fontSize: 10,
              formatter: (p: { value: number }) => formatValue(p.value, 'currency', { compact: true }),
            },
          },
        ],
      },
      true,
    );
  } catch (error) {
    setState(section, 'error', { message: errorText(error) });
  }
}

// ---------------------------------------------------------------- predicted value

/** Equal-width buckets over [0, p95]; the long tail goes into the last bucket ("≥ from"). */
export function histogram(values: { value: number; count: number }[], buckets = 12): { from: number; to: number; count: number }[] {
  if (!values.length) return [];
  const sorted = [...values].sort((a, b) => a.value - b.value);
  const total = sorted.reduce((n, v) => n + v.count, 0);
  let seen = 0;
  let top = sorted[sorted.length - 1]!.value;
  for (const v of sorted) {
    seen += v.count;
    if (seen >= total * 0.95) {
      top = v.value;
      break;
    }
  }
  const low = Math.min(0, sorted[0]!.value);
  const magnitude = 10 ** Math.floor(Math.log10(Math.max((top - low) / buckets, 1)));
  const width = Math.ceil((top - low) / buckets / magnitude) * magnitude || 1;
  const result = Array.from({ length: buckets }, (_, i) => ({ from: low + i * width, to: low + (i + 1) * width, count: 0 }));
  for (const v of sorted) result[Math.min(buckets - 1, Math.max(0, Math.floor((v.value - low) / width)))]!.count += v.count;
  return result;
}

/** dbt's bands (each row: a band's lower edge and its customers), each running to the next edge; the last is open. */
export function bands(rows: { value: number; count: number }[]): { from: number; to: number; count: number }[] {
  const sorted = [...rows].sort((a, b) => a.value - b.value);
  return sorted.map((r, i) => ({ from: r.value, to: sorted[i + 1]?.value ?? Infinity, count: r.count }));
}

export async function renderPredicted(section: HTMLElement, selection: Selection): Promise<void> {
  const built = predictedQuery(selection, members());
  if (!built) return setState(section, 'unavailable');
  const { members: m, query } = built;
  const sub = section.querySelector<HTMLElement>('.panel-sub');
  if (sub) {
    sub.dataset.i18n = m.fallback ? 'panel_predicted_fallback' : 'panel_predicted_sub';
    sub.textContent = t(sub.dataset.i18n as 'panel_predicted_sub');
  }
  section.dataset.member = m.value;
  section.dataset.query = JSON.stringify(query);
  // Lifetime revenue standing in for the prediction follows no model: no caption then.
  const caption = section.querySelector<HTMLElement>('.panel-model') ?? section.querySelector('.panel-head')!.appendChild(modelCaption());
  const captioned = showClvModelCaption(caption, !m.fallback);
  try {
    const rows = (await load(query)).rawData() as Record<string, unknown>[];
    const values = rows
      .map((r) => ({ value: num(r[m.value]), count: num(r[m.count]) ?? 0 }))
      .filter((v): v is { value: number; count: number } => v.value !== null);
    const buckets = m.banded ? bands(values) : histogram(values);
    if (!buckets.length) return setState(section, 'empty');
    const note = section.querySelector('.panel-note');
    if (note) note.textContent = t('allCustomersSnapshot');
    setState(section, 'ready', { points: buckets.length });
    const label = (b: { from: number; to: number }, i: number) =>
      i === buckets.length - 1
        ? `≥ ${formatValue(b.from, 'currency', { compact: true })}`
        : `${formatValue(b.from, 'currency', { compact: true })}–${formatValue(b.to, 'currency', { compact: true })}`;
    chartIn(section.querySelector<HTMLElement>('.chart')!).setOption(
      {
        animation: false,
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        grid: { left: 8, right: 8, top: 32, bottom: 8, containLabel: true },
        xAxis: { type: 'category', data: buckets.map(label), axisLabel: { color: MUTED, rotate: 30, fontSize: 10 } },
        yAxis: { type: 'value', name: t('customers'), axisLabel: { color: MUTED } },
        series: [
          {
            name: t('customers'),
            type: 'bar',
            data: buckets.map((b) => b.count),
            itemStyle: { color: PALETTE[3], borderRadius: [3, 3, 0, 0] },
            barCategoryGap: '12%',
          },
        ],
      },
      true,
    );
  } catch (error) {
    setState(section, 'error', { message: errorText(error) });
  } finally {
    await captioned;
  }
}

function modelCaption(): HTMLElement {
  const caption = document.createElement('p');
  caption.className = 'panel-model';
  caption.hidden = true;
  return caption;
}
