import { t, type StringKey } from '../i18n.ts';
import { escapeHtml } from '../format.ts';

/**
 * A panel owns one <section data-panel="id"> and redraws it for a selection. Its state is written
 * on the element (data-state: loading | ready | empty | unavailable | error, data-points: how many
 * data points it drew) so a person's browser and the headless test see the same thing.
 */
export type PanelState = 'loading' | 'ready' | 'empty' | 'unavailable' | 'error';

export function panelSection(id: string, title: StringKey, subtitle: StringKey | null, extraClass = ''): HTMLElement {
  const section = document.createElement('section');
  section.className = `panel ${extraClass}`.trim();
  section.dataset.panel = id;
  section.dataset.state = 'loading';
  section.innerHTML = `
    <header class="panel-head">
      <h2 data-i18n="${title}">${escapeHtml(t(title))}</h2>
      ${subtitle ? `<p class="panel-sub" data-i18n="${subtitle}">${escapeHtml(t(subtitle))}</p>` : ''}
    </header>
    <div class="panel-body"><div class="chart"></div><div class="panel-message"></div></div>`;
  return section;
}

export function setState(section: HTMLElement, state: PanelState, detail: { points?: number; message?: string } = {}): void {
  section.dataset.state = state;
  section.dataset.points = String(detail.points ?? 0);
  const message = section.querySelector<HTMLElement>('.panel-message');
  if (message) {
    const text =
      detail.message ??
      (state === 'loading'
        ? t('loading')
        : state === 'empty'
          ? t('noData')
          : state === 'unavailable'
            ? t('notInModel')
            : state === 'error'
              ? t('error')
              : '');
    message.textContent = text;
    message.hidden = state === 'ready';
  }
  const chart = section.querySelector<HTMLElement>('.chart');
  if (chart) chart.style.visibility = state === 'ready' ? 'visible' : 'hidden';
}

export function errorText(error: unknown): string {
  const response = (error as { response?: { error?: string } }).response;
  return `${t('error')}: ${response?.error ?? (error instanceof Error ? error.message : String(error))}`;
}
