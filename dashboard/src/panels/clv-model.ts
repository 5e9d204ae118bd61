import { load, members } from '../cube.ts';
import { CLV_FITTED_DAY_KEY, clvModelQuery } from '../queries.ts';
import { t } from '../i18n.ts';

/**
 * The caption "Model: MBG/NBD, fitted 2026-12-07" under the figures that follow the CLV model's
 * predictions (the at-risk card, the predicted value panel): which repeat-purchase model the shop's
 * backtest chose and the day (shop time) its parameters were fitted. One query per render, shared
 * by every caption; no caption when the model (or the caller's token) has no such members, no
 * scoring has fitted a model yet, or the query fails (the figures themselves still show).
 */
export interface ClvModelCaption {
  label: string;
  fittedDay: string;
  query: string;
}

let pending: Promise<ClvModelCaption | null> | null = null;

/** Forget the answer: the next caption asks again (each render of the page). */
export function refreshClvModel(): void {
  pending = null;
}

function clvModel(): Promise<ClvModelCaption | null> {
  pending ??= (async () => {
    const built = clvModelQuery(members());
    if (!built) return null;
    try {
      const row = (await load(built.query)).rawData()[0] as Record<string, unknown> | undefined;
      const label = row?.[built.members.label];
      const day = row?.[CLV_FITTED_DAY_KEY];
      if (typeof label !== 'string' || !label || day === null || day === undefined) return null;
      return { label, fittedDay: String(day).slice(0, 10), query: JSON.stringify(built.query) };
    } catch {
      return null;
    }
  })();
  return pending;
}

export function captionText(model: ClvModelCaption): string {
  return t('clvModelCaption').replace('{model}', model.label).replace('{date}', model.fittedDay);
}

/** Writes the caption into `element` (hidden, empty, when there is none or `show` is false). */
export async function showClvModelCaption(element: HTMLElement, show: boolean): Promise<void> {
  const model = show ? await clvModel() : null;
  element.hidden = !model;
  element.textContent = model ? captionText(model) : '';
  if (model) {
    element.dataset.model = model.label;
    element.dataset.fittedDay = model.fittedDay;
    element.dataset.query = model.query;
  } else {
    for (const key of ['model', 'fittedDay', 'query']) delete element.dataset[key];
  }
}
