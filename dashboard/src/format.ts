import { lang, locale } from './i18n.ts';

/** How a figure is shown; the raw value stays on the element (data-value) for checks. */
export type Format = 'currency' | 'number' | 'percent' | 'minutes' | 'score';

export function formatValue(value: number | null, format: Format, options: { compact?: boolean } = {}): string {
  if (value === null) return '–';
  const loc = locale();
  switch (format) {
    case 'currency':
      return new Intl.NumberFormat(loc, {
        style: 'currency',
        currency: 'CNY',
        currencyDisplay: 'narrowSymbol',
        notation: options.compact ? 'compact' : 'standard',
        maximumFractionDigits: options.compact ? 1 : 0,
      }).format(value);
    case 'percent':
      return new Intl.NumberFormat(loc, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(value);
    case 'minutes':
      return new Intl.NumberFormat(loc, { maximumFractionDigits: 0 }).format(value);
    case 'score':
      return new Intl.NumberFormat(loc, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
    default:
      return new Intl.NumberFormat(loc, { notation: options.compact ? 'compact' : 'standard', maximumFractionDigits: 0 }).format(value);
  }
}

/** Relative change from previous to current (null when there is nothing to compare with). */
export function changeOf(current: number | null, previous: number | null): number | null {
  if (current === null || previous === null || previous === 0) return null;
  return (current - previous) / Math.abs(previous);
}

export function formatChange(change: number | null): string {
  if (change === null) return '';
  const sign = change > 0 ? '+' : change < 0 ? '−' : '±';
  return `${sign}${new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 1 }).format(Math.abs(change))}`;
}

export function formatDay(iso: string): string {
  const d = new Date(`${iso.slice(0, 10)}T00:00:00Z`);
  return new Intl.DateTimeFormat(locale(), {
    timeZone: 'UTC',
    month: 'short',
    day: 'numeric',
    year: lang() === 'zh' ? 'numeric' : undefined,
  }).format(d);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
