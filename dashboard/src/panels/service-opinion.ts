import { has, load, members, num } from '../cube.ts';
import {
  MENTION_COLUMNS,
  MENTION_POST,
  MENTION_TIME,
  addDays,
  mentionsQuery,
  sentimentQuery,
  serviceQuery,
  type Selection,
} from '../queries.ts';
import { chartIn, BAD, MUTED, PALETTE } from '../charts.ts';
import { escapeHtml, formatDay, formatValue } from '../format.ts';
import { t, tValue } from '../i18n.ts';
import { errorText, setState } from './panel.ts';

// Service quality, the sentiment timeline and a day's mentions (queries in queries.ts).

// ---------------------------------------------------------------- service quality over time

export async function renderService(section: HTMLElement, selection: Selection): Promise<void> {
  const built = serviceQuery(selection, members());
  if (!built) return setState(section, 'unavailable');
  const { members: m, query, granularity } = built;
  section.dataset.query = JSON.stringify(query);
  try {
    const rows = (await load(query)).rawData() as Record<string, unknown>[];
    // A ticket has a brand only through its order: say so when a brand leaves nothing.
    if (!rows.length) return setState(section, 'empty', selection.brand ? { message: `${t('noData')} · ${t('ticketBrandNote')}` } : {});
    const x = rows.map((r) => String(r[`${m.time}.${granularity}`]).slice(0, 10));
    const line = (member: string) => rows.map((r) => num(r[member]));
    setState(section, 'ready', { points: rows.length });
    chartIn(section.querySelector<HTMLElement>('.chart')!).setOption(
      {
        animation: false,
        color: ['#2f6fed', '#64748b', '#14a38b', '#e0457b'],
        tooltip: { trigger: 'axis' },
        legend: { top: 0, textStyle: { color: MUTED } },
        grid: { left: 8, right: 52, top: 44, bottom: 8, containLabel: true },
        xAxis: { type: 'category', data: x, axisLabel: { color: MUTED, formatter: (v: string) => formatDay(v) } },
        // Minutes on a log axis: first replies take minutes to hours, resolutions days.
        yAxis: [
          {
            type: 'log',
            name: t('minutesLog'),
            nameTextStyle: { color: MUTED, align: 'left' },
            axisLabel: { color: MUTED },
            splitLine: { lineStyle: { color: '#eef0f3' } },
          },
          {
            type: 'value',
            name: t('satisfaction'),
            min: 1,
            max: 5,
            nameTextStyle: { color: MUTED },
            axisLabel: { color: MUTED },
            splitLine: { show: false },
          },
          {
            type: 'value',
            name: '%',
            min: 0,
            max: 1,
            offset: 44,
            position: 'right',
            axisLabel: { color: MUTED, formatter: (v: number) => `${Math.round(v * 100)}` },
            splitLine: { show: false },
          },
        ],
        series: [
          {
            name: t('firstReply'),
            type: 'line',
            yAxisIndex: 0,
            data: line(m.firstReply),
            smooth: true,
            connectNulls: true,
            symbol: 'none',
          },
          {
            name: t('resolution'),
            type: 'line',
            yAxisIndex: 0,
            data: line(m.resolution),
            smooth: true,
            connectNulls: true,
            symbol: 'none',
            lineStyle: { type: 'dashed' },
          },
          {
            name: t('satisfaction'),
            type: 'line',
            yAxisIndex: 1,
            data: line(m.satisfaction),
            smooth: true,
            connectNulls: true,
            symbol: 'circle',
            symbolSize: 4,
            lineStyle: { width: 3 },
          },
          {
            name: t('complaintShare'),
            type: 'bar',
            yAxisIndex: 2,
            data: line(m.complaintShare),
            tooltip: { valueFormatter: (v: number) => formatValue(v, 'percent') },
            itemStyle: { opacity: 0.3 },
          },
        ],
      },
      true,
    );
  } catch (error) {
    setState(section, 'error', { message: errorText(error) });
  }
}

// ---------------------------------------------------------------- sentiment timeline and mentions

let onDayClicked: (day: string) => void = () => {};

export function onSentimentDay(handler: (day: string) => void): void {
  onDayClicked = handler;
}

export async function renderSentiment(section: HTMLElement, selection: Selection): Promise<string[]> {
  const built = sentimentQuery(selection, members());
  if (!built) {
    setState(section, 'unavailable');
    return [];
  }
  const { members: m, query } = built;
  section.dataset.query = JSON.stringify(query);
  try {
    const found = (await load(query)).rawData() as Record<string, unknown>[];
    if (!found.length) {
      setState(section, 'empty');
      return [];
    }
    // Every day of the range on the axis; a day without a row had no mentions.
    const byDay = new Map(found.map((r) => [String(r[`${m.time}.day`]).slice(0, 10), r]));
    const days: string[] = [];
    for (let day = selection.from; day <= selection.to; day = addDays(day, 1)) days.push(day);
    const rows = days.map((day) => byDay.get(day) ?? { [m.count]: 0, [m.negative]: 0, [m.index]: null });
    section.dataset.days = String(days.length);
    const spikes = m.spike ? rows.map((r, i) => (isTrue(r[m.spike!]) ? i : -1)).filter((i) => i >= 0) : [];
    section.dataset.spikes = String(spikes.length);
    section.dataset.spikeSource = m.spike ?? '';
    const note = section.querySelector('.panel-note');
    if (note) note.textContent = m.spike ? '' : `${t('negativeSpike')}: ${t('notInModel')}`;
    setState(section, 'ready', { points: found.length });
    const chart = chartIn(section.querySelector<HTMLElement>('.chart')!);
    chart.setOption(
      {
        animation: false,
        tooltip: { trigger: 'axis' },
        legend: { top: 0, textStyle: { color: MUTED } },
        grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
        xAxis: { type: 'category', data: days, axisLabel: { color: MUTED, formatter: (v: string) => formatDay(v) } },
        yAxis: [
          { type: 'value', name: t('mentions'), axisLabel: { color: MUTED }, splitLine: { lineStyle: { color: '#eef0f3' } } },
          { type: 'value', min: -1, max: 1, axisLabel: { color: MUTED }, splitLine: { show: false } },
        ],
        series: [
          {
            name: t('otherMentions'),
            type: 'bar',
            stack: 'm',
            data: rows.map((r) => (num(r[m.count]) ?? 0) - (num(r[m.negative]) ?? 0)),
            itemStyle: { color: '#c7d7f9' },
          },
          {
            name: t('negative'),
            type: 'bar',
            stack: 'm',
            data: rows.map((r) => num(r[m.negative])),
            itemStyle: { color: '#f3a0a0' },
            markPoint: {
              symbol: 'pin',
              symbolSize: 34,
              itemStyle: { color: BAD },
              label: { fontSize: 9, color: '#fff' },
              data: spikes.map((i) => ({ name: t('negativeSpike'), coord: [i, num(rows[i]![m.count])], value: num(rows[i]![m.negative]) })),
            },
          },
          {
            name: t('sentimentIndex'),
            type: 'line',
            yAxisIndex: 1,
            data: rows.map((r) => num(r[m.index])),
            connectNulls: true,
            symbol: 'circle',
            symbolSize: 4,
            itemStyle: { color: PALETTE[1] },
            // Days without mentions have no index: the faint line only guides the eye between dots.
            lineStyle: { color: PALETTE[1], width: 1, opacity: 0.3 },
            tooltip: { valueFormatter: (v: number | null) => (v === null || v === undefined ? '–' : formatValue(v, 'score')) },
          },
        ],
      },
      true,
    );
    // A click anywhere in a day's column (bar, marker or the empty space above) opens that day.
    const zr = chart.getZr();
    zr.off('click');
    zr.on('click', (event: { offsetX: number; offsetY: number }) => {
      const point = [event.offsetX, event.offsetY];
      if (!chart.containPixel({ gridIndex: 0 }, point)) return;
      const value: unknown = chart.convertFromPixel({ xAxisIndex: 0 }, point);
      const index = Math.round(Array.isArray(value) ? Number(value[0]) : Number(value));
      const day = Number.isFinite(index) ? days[index] : undefined;
      if (day) onDayClicked(day);
    });
    // Where each spike's marker is, for a person's tooltip-less check and the browser test.
    section.dataset.spikeDays = JSON.stringify(spikes.map((i) => days[i]));
    section.dataset.spikePixels = JSON.stringify(
      spikes.map((i) => chart.convertToPixel({ xAxisIndex: 0, yAxisIndex: 0 }, [i, num(rows[i]![m.count]) ?? 0])),
    );
    // The day to open first: the worst spike, else the day with the most negative mentions.
    const worst = (spikes.length ? spikes : rows.map((_, i) => i)).reduce((a, b) =>
      (num(rows[b]![m.negative]) ?? 0) > (num(rows[a]![m.negative]) ?? 0) ? b : a,
    );
    return [days[worst]!, ...spikes.map((i) => days[i]!)];
  } catch (error) {
    setState(section, 'error', { message: errorText(error) });
    return [];
  }
}

/** A spike flag is true, or a count of flagged rows above 0. */
const isTrue = (v: unknown) => v === true || v === 'true' || (v !== null && v !== '' && Number(v) > 0);

export async function renderMentions(section: HTMLElement, selection: Selection, day: string | null): Promise<void> {
  const title = section.querySelector<HTMLElement>('h2')!;
  title.textContent = day ? `${t('panel_mentions')} ${formatDay(day)}` : t('panel_mentions');
  section.dataset.day = day ?? '';
  const table = section.querySelector<HTMLElement>('.table')!;
  if (!day) {
    table.innerHTML = '';
    return setState(section, 'empty', { message: t('panel_mentions_hint') });
  }
  const built = mentionsQuery(selection, members(), day);
  if (!built) return setState(section, 'unavailable');
  const { query } = built;
  const mentionsTimezone = built.members.timezone;
  section.dataset.query = JSON.stringify(query);
  setState(section, 'loading');
  try {
    const rows = (await load(query)).rawData() as Record<string, unknown>[];
    if (!rows.length) {
      table.innerHTML = '';
      return setState(section, 'empty');
    }
    const heads: [string, string][] = MENTION_COLUMNS.filter((c) => c.member === MENTION_TIME || has(c.member)).map((c) =>
      c.member === MENTION_TIME
        ? [`${MENTION_TIME}.minute`, mentionsTimezone === 'UTC' ? `${t('col_time')} (UTC)` : t('col_time')]
        : [c.member, t(c.label)],
    );
    const shown = heads;
    const cell = (key: string, value: unknown) => {
      if (value === null || value === undefined) return '<td class="muted">–</td>';
      if (key.endsWith('.minute')) return `<td class="nowrap">${escapeHtml(String(value).slice(11, 16))}</td>`;
      if (key.endsWith('sentiment_label'))
        return `<td><span class="pill ${escapeHtml(String(value))}">${escapeHtml(tValue('sentiment_', String(value)))}</span></td>`;
      if (key.endsWith('sentiment_score')) return `<td class="num">${escapeHtml(formatValue(Number(value), 'score'))}</td>`;
      return `<td>${escapeHtml(String(value))}</td>`;
    };
    table.innerHTML = `<table><thead><tr>${shown.map(([, label]) => `<th>${escapeHtml(label)}</th>`).join('')}</tr></thead>
      <tbody>${rows.map((r) => `<tr data-post="${escapeHtml(String(r[MENTION_POST]))}">${shown.map(([key]) => cell(key, r[key])).join('')}</tr>`).join('')}</tbody></table>`;
    setState(section, 'ready', { points: rows.length });
  } catch (error) {
    table.innerHTML = '';
    setState(section, 'error', { message: errorText(error) });
  }
}
