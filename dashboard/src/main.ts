import './style.css';
import { connect, load, loadMeta } from './cube.ts';
import { BRAND_KEY, LATEST_DAY_KEY, addDays, brandsQuery, defaultSelection, latestDayQuery, type Selection } from './queries.ts';
import { setLang, t, lang, type Lang, type StringKey } from './i18n.ts';
import { createKpiCards, renderKpiCards } from './panels/kpis.ts';
import { renderCohorts, renderPredicted, renderRfm } from './panels/customers.ts';
import { onSentimentDay, renderMentions, renderService, renderSentiment } from './panels/service-opinion.ts';
import { panelSection } from './panels/panel.ts';
import { refreshClvModel } from './panels/clv-model.ts';

/**
 * The executive dashboard. State lives in the URL (?from=&to=&brand=&lang=) so a view can be shared;
 * the API token arrives in the URL fragment (#token=..., never sent to a server or logged), is kept
 * in sessionStorage for the tab and removed from the address bar.
 */
const TOKEN_KEY = 'crm-dashboard-token';
const app = document.querySelector<HTMLElement>('#app')!;

function takeToken(): string | null {
  const hash = new URLSearchParams(window.location.hash.slice(1));
  const fromHash = hash.get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function showTokenForm(rejected: boolean): void {
  document.body.dataset.ready = 'token';
  app.innerHTML = `
    <form class="token-form">
      <h1>${t('tokenTitle')}</h1>
      <p>${t('tokenHelp')}</p>
      ${rejected ? `<p class="bad">${t('tokenRejected')}</p>` : ''}
      <textarea name="token" rows="4" spellcheck="false" placeholder="eyJhbGciOi…"></textarea>
      <button type="submit">${t('tokenButton')}</button>
    </form>`;
  app.querySelector('form')!.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = (app.querySelector('textarea') as HTMLTextAreaElement).value.trim();
    if (value) {
      sessionStorage.setItem(TOKEN_KEY, value);
      void start();
    }
  });
}

const params = new URLSearchParams(window.location.search);
setLang(params.get('lang') === 'zh' ? 'zh' : params.get('lang') === 'en' ? 'en' : navigator.language.startsWith('zh') ? 'zh' : 'en');

let selection: Selection = { from: '', to: '', brand: null };
let lastDataDay = '';
let renderGeneration = 0;

function writeUrl(): void {
  const next = new URLSearchParams({ from: selection.from, to: selection.to, lang: lang() });
  if (selection.brand) next.set('brand', selection.brand);
  history.replaceState(null, '', `${window.location.pathname}?${next}`);
}

function layout(brands: string[]): void {
  app.innerHTML = `
    <header class="top">
      <div class="brandmark">
        <h1 data-i18n="title">${t('title')}</h1>
        <p data-i18n="subtitle">${t('subtitle')}</p>
      </div>
      <form class="filters" data-filters>
        <div class="presets">
          <button type="button" data-days="30" data-i18n="last30">${t('last30')}</button>
          <button type="button" data-days="90" data-i18n="last90">${t('last90')}</button>
          <button type="button" data-days="365" data-i18n="last365">${t('last365')}</button>
        </div>
        <label><span data-i18n="from">${t('from')}</span><input type="date" name="from" required></label>
        <label><span data-i18n="to">${t('to')}</span><input type="date" name="to" required></label>
        <label><span data-i18n="brand">${t('brand')}</span>
          <select name="brand"><option value="" data-i18n="allBrands">${t('allBrands')}</option>${brands.map((b) => `<option>${b.replace(/</g, '&lt;')}</option>`).join('')}</select>
        </label>
        <button type="submit" class="primary" data-i18n="apply">${t('apply')}</button>
        <div class="lang" role="group">
          <button type="button" data-lang="en">EN</button><button type="button" data-lang="zh">中文</button>
        </div>
      </form>
    </header>
    <main>
      <section class="kpis" data-panel="kpis"></section>
      <div class="row two-one"></div>
      <div class="row halves a"></div>
      <div class="row halves b"></div>
    </main>
    <footer data-i18n="footer">${t('footer')}</footer>`;
  const [rowSentiment, rowA, rowB] = [...app.querySelectorAll<HTMLElement>('.row')];
  rowSentiment!.append(panelSection('sentiment', 'panel_sentiment', 'panel_sentiment_sub', 'tall'), mentionsSection());
  rowA!.append(panelSection('service', 'panel_service', 'panel_service_sub'), panelSection('cohorts', 'panel_cohort', 'panel_cohort_sub'));
  rowB!.append(panelSection('rfm', 'panel_rfm', 'panel_rfm_sub'), panelSection('predicted', 'panel_predicted', 'panel_predicted_sub'));
  for (const id of ['sentiment', 'cohorts', 'rfm', 'predicted']) {
    const note = document.createElement('span');
    note.className = 'panel-note';
    app.querySelector(`[data-panel="${id}"] .panel-head`)!.appendChild(note);
  }
  createKpiCards(app.querySelector<HTMLElement>('.kpis')!);
  wireFilters();
}

function mentionsSection(): HTMLElement {
  const section = panelSection('mentions', 'panel_mentions', null, 'tall');
  section.querySelector('.chart')!.remove();
  const table = document.createElement('div');
  table.className = 'table';
  section.querySelector('.panel-body')!.prepend(table);
  return section;
}

function wireFilters(): void {
  const form = app.querySelector<HTMLFormElement>('[data-filters]')!;
  const input = (name: string) => form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
  input('from').value = selection.from;
  input('to').value = selection.to;
  input('brand').value = selection.brand ?? '';
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const from = input('from').value;
    const to = input('to').value;
    if (!from || !to || from > to) return;
    selection = { from, to, brand: input('brand').value || null };
    void renderAll();
  });
  input('brand').addEventListener('change', () => form.requestSubmit());
  for (const button of form.querySelectorAll<HTMLButtonElement>('[data-days]')) {
    button.addEventListener('click', () => {
      input('to').value = lastDataDay;
      input('from').value = addDays(lastDataDay, -Number(button.dataset.days) + 1);
      form.requestSubmit();
    });
  }
  for (const button of form.querySelectorAll<HTMLButtonElement>('[data-lang]')) {
    button.classList.toggle('active', button.dataset.lang === lang());
    button.addEventListener('click', () => {
      setLang(button.dataset.lang as Lang);
      for (const b of form.querySelectorAll<HTMLButtonElement>('[data-lang]')) b.classList.toggle('active', b.dataset.lang === lang());
      for (const el of app.querySelectorAll<HTMLElement>('[data-i18n]')) el.textContent = t(el.dataset.i18n as StringKey);
      void renderAll();
    });
  }
}

let mentionsDay: string | null = null;

/** Redraws every panel for the current selection; body[data-ready] says when all are done. */
async function renderAll(): Promise<void> {
  const generation = ++renderGeneration;
  refreshClvModel();
  writeUrl();
  document.body.dataset.ready = 'false';
  const panel = (id: string) => app.querySelector<HTMLElement>(`[data-panel="${id}"]`)!;
  const sentiment = renderSentiment(panel('sentiment'), selection).then(async (days) => {
    mentionsDay = mentionsDay && mentionsDay >= selection.from && mentionsDay <= selection.to ? mentionsDay : (days[0] ?? null);
    await renderMentions(panel('mentions'), selection, mentionsDay);
  });
  await Promise.allSettled([
    renderKpiCards(selection),
    sentiment,
    renderService(panel('service'), selection),
    renderCohorts(panel('cohorts'), selection),
    renderRfm(panel('rfm'), selection),
    renderPredicted(panel('predicted'), selection),
  ]);
  if (generation === renderGeneration) {
    document.body.dataset.ready = 'true';
    document.body.dataset.renders = String(generation);
  }
}

async function start(): Promise<void> {
  const token = takeToken();
  if (!token) return showTokenForm(false);
  connect(token);
  try {
    await loadMeta();
  } catch (error) {
    const status = (error as { response?: unknown; status?: number }).status;
    if (status === 401 || status === 403 || (error as { response?: unknown }).response) {
      sessionStorage.removeItem(TOKEN_KEY);
      return showTokenForm(true);
    }
    throw error;
  }
  // The newest day with orders anchors the default range (the last 90 days of data).
  const [latest, brandRows] = await Promise.all([load(latestDayQuery()), load(brandsQuery())]);
  lastDataDay = String((latest.rawData()[0] as Record<string, unknown> | undefined)?.[LATEST_DAY_KEY] ?? new Date().toISOString()).slice(
    0,
    10,
  );
  const brands = (brandRows.rawData() as Record<string, unknown>[])
    .map((r) => r[BRAND_KEY])
    .filter((b): b is string => typeof b === 'string' && b !== '');
  const isDay = (v: string | null): v is string => v !== null && /^\d{4}-\d{2}-\d{2}$/.test(v);
  const from = params.get('from');
  const to = params.get('to');
  selection = {
    from: isDay(from) ? from : defaultSelection(lastDataDay).from,
    to: isDay(to) ? to : lastDataDay,
    brand: params.get('brand') && brands.includes(params.get('brand')!) ? params.get('brand') : null,
  };
  layout(brands);
  onSentimentDay((day) => {
    mentionsDay = day;
    void renderMentions(app.querySelector<HTMLElement>('[data-panel="mentions"]')!, selection, day);
  });
  await renderAll();
}

// A link with a new token opened in the same tab changes only the fragment: start again with it.
window.addEventListener('hashchange', () => {
  if (new URLSearchParams(window.location.hash.slice(1)).has('token')) window.location.reload();
});

start().catch((error: unknown) => {
  document.body.dataset.ready = 'error';
  app.innerHTML = `<div class="fatal">${t('error')}: ${String((error as Error)?.message ?? error).replace(/</g, '&lt;')}</div>`;
  console.error(error);
});
