// ECharts, tree-shaken: only the chart types and components the panels use go into the bundle.
import * as echarts from 'echarts/core';
import { BarChart, HeatmapChart, LineChart, PieChart } from 'echarts/charts';
import {
  GridComponent,
  LegendComponent,
  MarkPointComponent,
  TooltipComponent,
  VisualMapComponent,
  DataZoomComponent,
} from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([
  BarChart,
  HeatmapChart,
  LineChart,
  PieChart,
  GridComponent,
  LegendComponent,
  MarkPointComponent,
  TooltipComponent,
  VisualMapComponent,
  DataZoomComponent,
  CanvasRenderer,
]);

export { echarts };
export type EChartsOption = echarts.EChartsCoreOption;

export const PALETTE: string[] & Record<number, string> = [
  '#2f6fed',
  '#14a38b',
  '#f2a33a',
  '#8b5cf6',
  '#e0457b',
  '#0ea5e9',
  '#64748b',
  '#84cc16',
];
export const MUTED = '#6b7280';
export const GOOD = '#14a38b';
export const BAD = '#d64545';

const charts = new Set<echarts.ECharts>();

/** The chart drawn in `element`, created on first use (its options are replaced on each render). */
export function chartIn(element: HTMLElement): echarts.ECharts {
  const existing = echarts.getInstanceByDom(element);
  if (existing) return existing;
  const chart = echarts.init(element, undefined, { renderer: 'canvas' });
  charts.add(chart);
  return chart;
}

window.addEventListener('resize', () => charts.forEach((chart) => chart.resize()));
