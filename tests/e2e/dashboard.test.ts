import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { startApiServer, type RunningApiServer } from '../../api/server.ts';
import { ensureDashboardBuilt } from '../../dashboard/build.ts';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { LANDING_FILES } from '../../pipelines/sources/sample-data/landing-layout.ts';
import { runPipeline } from '../../cli/pipeline.ts';
import { ensureChromium } from '../support/chromium.ts';

/**
 * The executive dashboard in real headless Chromium (Debian's, driven by playwright-core): a
 * generated shop goes through the pipeline, the API serves the production build at /dashboard/ and
 * Cube's REST API; the page must load with no console errors, draw every panel from data, follow
 * the filters, and show on its KPI cards exactly what /cubejs-api/v1/load answers for the same
 * queries. Screenshots land in test-artifacts/dashboard/ for a person to look at.
 */
const SECRET = 'e2e-dashboard-secret-0123456789abcdef';
const ARTIFACTS = path.resolve('test-artifacts', 'dashboard');
// A burst of negative posts about one brand on one day, on top of the generated (uniform) posts,
// so that dbt's spike rule has something to flag inside the dashboard's default 90-day window.
const SPIKE_DAY = '2025-12-10';
const SPIKE_BRAND = 'Aurora';
const SPIKE_POSTS = 9;

// The callbacks given to page.evaluate/$$eval run in the browser: these minimal shapes type them
// without adding the DOM library to the Node build.
interface BrowserElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  innerText: string;
  querySelector(selector: string): BrowserElement | null;
}
declare const document: { body: BrowserElement; querySelector(selector: string): BrowserElement | null };
type HTMLElement = BrowserElement;

let workDir: string;
let api: RunningApiServer;
let browser: Browser;
let page: Page;
let token: string;
const consoleErrors: string[] = [];
const foreignRequests: string[] = [];
const failedResponses: string[] = [];

function spikePosts(): string {
  return (
    Array.from({ length: SPIKE_POSTS }, (_, i) =>
      JSON.stringify({
        post_id: `SPIKE${String(i + 1).padStart(4, '0')}`,
        platform: 'weibo',
        author_handle: `spike_author_${i}`,
        // 10:00-14:00 in Shanghai: the same calendar day in UTC (opinion_daily's days are UTC days).
        published_at: `${SPIKE_DAY}T${String(10 + (i % 5)).padStart(2, '0')}:${String(i * 3).padStart(2, '0')}:00+08:00`,
        lang: 'zh',
        text: i % 2 ? '质量太差了，退货也很麻烦' : '客服不回复，非常失望',
        rating: 1,
        brand: SPIKE_BRAND,
        product: null,
      }),
    ).join('\n') + '\n'
  );
}

beforeAll(async () => {
  const executablePath = ensureChromium();
  const build = await ensureDashboardBuilt();
  process.stderr.write(`dashboard build: ${build.built ? `built in ${build.seconds.toFixed(1)} s` : 'up to date'} (${build.outDir})\n`);

  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-dashboard-'));
  const landingDir = path.join(workDir, 'landing');
  const warehousePath = path.join(workDir, 'warehouse', 'crm.duckdb');
  await generateSampleData({
    ...DEFAULT_GENERATE_OPTIONS,
    outDir: landingDir,
    seed: 21,
    customers: 400,
    orders: 4_000,
    malformedRate: 0.005,
  });
  fs.appendFileSync(path.join(landingDir, LANDING_FILES.posts), spikePosts());
  const run = await runPipeline({ warehousePath, landingDir, interactive: false });
  expect(run.published).toBe(true);

  // As `crm serve` starts it: queries that name no zone are read in the shop's (config shop.timezone).
  api = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0, host: '127.0.0.1', defaultTimezone: 'Asia/Shanghai' });
  token = await signDevToken(SECRET, { sub: 'e2e-executive', role: 'executive' }, { expiresIn: '1h' });
  // Chromium's sandbox needs user namespaces that a root container does not grant.
  browser = await chromium.launch({ executablePath, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 }, deviceScaleFactor: 1, locale: 'en-US' });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`pageerror: ${error.message}`));
  page.on('request', (request) => {
    if (!request.url().startsWith(api.url) && !request.url().startsWith('data:')) foreignRequests.push(request.url());
  });
  page.on('response', (response) => {
    if (response.status() >= 400) failedResponses.push(`${response.status()} ${response.url()}`);
  });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  process.stderr.write(`dashboard screenshots: ${ARTIFACTS}\n`);
});

async function renders(): Promise<number> {
  return Number((await page.locator('body').getAttribute('data-renders')) ?? 0);
}

/** Waits until the page finished the render after `previous` (body[data-ready] and a new count). */
async function waitForRender(previous: number): Promise<void> {
  try {
    await page.waitForFunction((n) => document.body.dataset.ready === 'true' && Number(document.body.dataset.renders ?? 0) > n, previous, {
      timeout: 60_000,
    });
  } catch (error) {
    const state = await page.evaluate(
      () => `ready=${document.body.dataset.ready} renders=${document.body.dataset.renders}: ${document.body.innerText.slice(0, 400)}`,
    );
    throw new Error(`the dashboard did not finish rendering (${state}); console errors: ${consoleErrors.join(' | ')}`, { cause: error });
  }
}

async function screenshot(name: string): Promise<string> {
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

interface Card {
  id: string;
  state: string;
  measure: string;
  query: string;
  value: string;
  previous: string;
  points: number;
  text: string;
  delta: string;
  note: string;
}

async function cards(): Promise<Card[]> {
  return page.$$eval('[data-kpi]', (elements) =>
    elements.map((e) => {
      const el = e as HTMLElement;
      return {
        id: el.dataset.kpi ?? '',
        state: el.dataset.state ?? '',
        measure: el.dataset.measure ?? '',
        query: el.dataset.query ?? '',
        value: el.dataset.value ?? '',
        previous: el.dataset.previous ?? '',
        points: Number(el.dataset.points ?? 0),
        text: el.querySelector('.kpi-value')?.textContent ?? '',
        delta: el.querySelector('.kpi-delta')?.textContent ?? '',
        note: el.querySelector('.kpi-note')?.textContent ?? '',
      };
    }),
  );
}

async function panels(): Promise<Record<string, { state: string; points: number }>> {
  return Object.fromEntries(
    await page.$$eval('section[data-panel]', (elements) =>
      elements.map(
        (e) =>
          [
            (e as HTMLElement).dataset.panel!,
            { state: (e as HTMLElement).dataset.state ?? '', points: Number((e as HTMLElement).dataset.points ?? 0) },
          ] as const,
      ),
    ),
  );
}

/** The API's answer to a card's query, sent as @cubejs-client/core sends it (queryType multi). */
async function apiFigures(query: string, measure: string): Promise<{ current: number | null; previous: number | null }> {
  const response = await fetch(`${api.url}/cubejs-api/v1/load`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: JSON.parse(query), queryType: 'multi' }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { results: { data: Record<string, unknown>[] }[] };
  const value = (i: number) => {
    const raw = body.results[i]?.data[0]?.[measure];
    return raw === undefined || raw === null ? null : Number(raw);
  };
  return { current: value(0), previous: body.results.length > 1 ? value(1) : null };
}

/**
 * The number a card displays, read back from its text ("¥895,571", "95.6%", "3.86", "1.2K") with the
 * precision shown, so it can be compared with the API's figure independently of the page's code.
 */
function displayed(text: string): { value: number; tolerance: number } {
  const clean = text.replace(/[^\d.,%KMB万亿-]/g, '').replace(/,/g, '');
  const match = /(-?\d+(?:\.(\d+))?)\s*(%|K|M|B|万|亿)?/.exec(clean);
  if (!match) throw new Error(`no number in "${text}"`);
  const scale = { '%': 0.01, K: 1e3, M: 1e6, B: 1e9, 万: 1e4, 亿: 1e8 }[match[3] ?? ''] ?? 1;
  const decimals = match[2]?.length ?? 0;
  return { value: Number(match[1]) * scale, tolerance: 0.5 * 10 ** -decimals * scale + 1e-9 };
}

async function expectCardsEqualApi(): Promise<number> {
  let checked = 0;
  for (const card of await cards()) {
    const figures = await apiFigures(card.query, card.measure);
    // A card may honestly have nothing for a narrow slice (no rated ticket of a brand in the period):
    // then the API has nothing either, and the card says so.
    if (card.state === 'empty') {
      expect({ card: card.id, api: figures.current, text: card.text }).toEqual({ card: card.id, api: null, text: '–' });
      checked += 1;
      continue;
    }
    expect({ card: card.id, state: card.state, note: card.note }).toEqual({ card: card.id, state: 'ready', note: card.note });
    expect({ card: card.id, value: Number(card.value) }).toEqual({ card: card.id, value: figures.current });
    if (figures.previous !== null)
      expect({ card: card.id, previous: Number(card.previous) }).toEqual({ card: card.id, previous: figures.previous });
    const shown = displayed(card.text);
    expect(Math.abs(shown.value - figures.current!), `${card.id} shows "${card.text}" for ${figures.current}`).toBeLessThanOrEqual(
      shown.tolerance,
    );
    if (figures.previous !== null && figures.previous !== 0 && figures.current !== null) {
      const change = (figures.current - figures.previous) / Math.abs(figures.previous);
      const shownChange = displayed(card.delta.replace('−', '-').replace(/^.*?([+\-±]?\d)/, '$1'));
      const sign = card.delta.includes('−') ? -1 : 1;
      expect(Math.abs(sign * Math.abs(shownChange.value) - change), `${card.id} change "${card.delta}" for ${change}`).toBeLessThanOrEqual(
        shownChange.tolerance,
      );
    }
    checked += 1;
  }
  return checked;
}

/** The CLV model captions the page shows (at-risk card, predicted value panel); '' when hidden. */
async function clvCaptions(): Promise<{ at_risk: string; predicted: string }> {
  const text = async (selector: string) => {
    const element = page.locator(selector);
    return (await element.isHidden()) ? '' : ((await element.textContent()) ?? '');
  };
  return { at_risk: await text('[data-kpi="at_risk"] .kpi-model'), predicted: await text('section[data-panel="predicted"] .panel-model') };
}

/** The caption the KPI scorecard's model implies: its label and the fit day in the server's zone (the shop's). */
async function expectedClvCaption(language: 'en' | 'zh'): Promise<string> {
  const response = await fetch(`${api.url}/api/v1/kpis/scorecard?from=2025-12-01&to=2025-12-31&kpis=customers_at_risk`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { timezone: string; kpis: { model?: { label: string; fitted_at: string } | null }[] };
  expect(body.kpis).toHaveLength(1);
  const model = body.kpis[0]!.model;
  expect(model, 'the pipeline fitted a CLV model').toBeTruthy();
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: body.timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(model!.fitted_at),
  );
  return language === 'en' ? `Model: ${model!.label}, fitted ${day}` : `模型：${model!.label}，拟合于 ${day}`;
}

describe('executive dashboard in headless Chromium', () => {
  it('asks for a token when it has none, and says when the API rejects one', async () => {
    await page.goto(`${api.url}/dashboard/?lang=en`);
    await page.waitForSelector('body[data-ready="token"]');
    await page.fill('textarea[name="token"]', 'not-a-jwt');
    await page.click('.token-form button');
    await page.waitForSelector('.token-form .bad');
    expect(await page.locator('.token-form .bad').textContent()).toContain('rejected');
    // The API refused the bad token with 403: expected here, not a page error.
    failedResponses.length = 0;
    consoleErrors.length = 0;
  });

  it('loads with no console errors and draws every panel from data', async () => {
    await page.goto(`${api.url}/dashboard/?lang=en#token=${token}`);
    await waitForRender(0);
    // The token left the address bar (it stays in the tab's sessionStorage).
    expect(page.url()).not.toContain('token=');
    const all = await cards();
    expect(all.map((c) => c.id)).toEqual([
      'revenue',
      'orders',
      'active_customers',
      'repeat_rate',
      'avg_order_value',
      'satisfaction',
      'first_reply',
      'sentiment',
      'negative_share',
      'at_risk',
    ]);
    for (const card of all) {
      expect({ card: card.id, state: card.state }).toEqual({ card: card.id, state: 'ready' });
      expect(card.value).not.toBe('');
      const snapshot = !JSON.parse(card.query).timeDimensions;
      if (!snapshot) expect({ card: card.id, hasTrend: card.points > 1 }).toEqual({ card: card.id, hasTrend: true });
    }
    const drawn = await panels();
    for (const id of ['sentiment', 'mentions', 'service', 'cohorts', 'rfm', 'predicted']) {
      expect({ panel: id, state: drawn[id]?.state }).toEqual({ panel: id, state: 'ready' });
      expect(drawn[id]!.points, id).toBeGreaterThan(0);
    }
    // Every chart drew on its canvas.
    expect(await page.locator('section[data-panel] .chart canvas').count()).toBeGreaterThanOrEqual(5);
    expect(consoleErrors).toEqual([]);
    expect(failedResponses).toEqual([]);
    expect(foreignRequests).toEqual([]);
    process.stderr.write(`screenshot: ${await screenshot('dashboard-en.png')}\n`);
  });

  it("shows on every KPI card exactly the API's answer to the same Cube query", async () => {
    expect(await expectCardsEqualApi()).toBe(10);
  });

  it('captions the figures that follow the CLV model with the model and fit day the API answers', async () => {
    const expected = await expectedClvCaption('en');
    expect(expected).toMatch(/^Model: (BG\/NBD|MBG\/NBD|Pareto\/NBD), fitted \d{4}-\d{2}-\d{2}$/);
    expect(await clvCaptions()).toEqual({ at_risk: expected, predicted: expected });
    // The caption's own query, sent to /load as the page sends it, answers the same label and day.
    const query = await page.locator('[data-kpi="at_risk"] .kpi-model').getAttribute('data-query');
    const response = await fetch(`${api.url}/cubejs-api/v1/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: JSON.parse(query!) }),
    });
    const rows = ((await response.json()) as { data: Record<string, string>[] }).data;
    expect(rows).toHaveLength(1);
    expect(
      `Model: ${rows[0]!['customer_value.clv_model_label']}, fitted ${rows[0]!['customer_value.clv_fitted_at.day']!.slice(0, 10)}`,
    ).toBe(expected);
    // Cards that do not follow the model carry none.
    expect(await page.locator('[data-kpi="revenue"] .kpi-model').isHidden()).toBe(true);
  });

  it('marks the negative spike and lists its mentions on click', async () => {
    const sentiment = page.locator('section[data-panel="sentiment"]');
    const spikeDays = JSON.parse((await sentiment.getAttribute('data-spike-days')) ?? '[]') as string[];
    expect(spikeDays).toContain(SPIKE_DAY);
    const pixels = JSON.parse((await sentiment.getAttribute('data-spike-pixels')) ?? '[]') as [number, number][];
    const [x, y] = pixels[spikeDays.indexOf(SPIKE_DAY)]!;
    // Click inside the spike day's bar, just below its top.
    await sentiment.locator('.chart').click({ position: { x, y: y + 6 } });
    await page.waitForFunction((day) => {
      const el = document.querySelector('section[data-panel="mentions"]');
      return el?.dataset.day === day && el.dataset.state === 'ready';
    }, SPIKE_DAY);
    const posts = await page.$$eval('section[data-panel="mentions"] tr[data-post]', (rows) =>
      rows.map((r) => (r as HTMLElement).dataset.post),
    );
    for (let i = 1; i <= SPIKE_POSTS; i++) expect(posts).toContain(`SPIKE${String(i).padStart(4, '0')}`);
    // The table lists the day's mentions: as many as the chart counts for that day.
    const query = JSON.parse((await sentiment.getAttribute('data-query'))!);
    const response = await fetch(`${api.url}/cubejs-api/v1/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: token },
      body: JSON.stringify({ query: { ...query, timeDimensions: [{ ...query.timeDimensions[0], dateRange: [SPIKE_DAY, SPIKE_DAY] }] } }),
    });
    const day = ((await response.json()) as { data: Record<string, unknown>[] }).data[0]!;
    expect(posts.length).toBe(Number(day[query.measures[0]]));
    process.stderr.write(`screenshot: ${await screenshot('dashboard-en-spike.png')}\n`);
  });

  it('a brand filter drives the panels, and the cards still equal the API', async () => {
    const before = await cards();
    const previous = await renders();
    await page.selectOption('select[name="brand"]', SPIKE_BRAND);
    await waitForRender(previous);
    try {
      expect(new URL(page.url()).searchParams.get('brand')).toBe(SPIKE_BRAND);
      const after = await cards();
      const revenue = (list: Card[]) => Number(list.find((c) => c.id === 'revenue')!.value);
      expect(revenue(after)).toBeGreaterThan(0);
      expect(revenue(after)).toBeLessThan(revenue(before));
      for (const id of ['revenue', 'orders', 'satisfaction', 'sentiment']) {
        const card = after.find((c) => c.id === id)!;
        expect(JSON.stringify(JSON.parse(card.query).filters ?? [])).toContain(SPIKE_BRAND);
      }
      expect(after.filter((c) => c.state === 'ready').length).toBeGreaterThanOrEqual(7);
      // The RFM and predicted-value panels are snapshots of every customer: no brand filter, and they say so.
      for (const panel of ['rfm', 'predicted']) {
        const section = page.locator(`section[data-panel="${panel}"]`);
        expect(JSON.parse((await section.getAttribute('data-query'))!).filters ?? []).toEqual([]);
        expect(await section.locator('.panel-note').textContent()).toBe('all customers, all brands; not the selected period');
      }
      expect(await expectCardsEqualApi()).toBe(10);
      expect(consoleErrors).toEqual([]);
      process.stderr.write(`screenshot: ${await screenshot('dashboard-en-brand.png')}\n`);
    } finally {
      await page.selectOption('select[name="brand"]', '');
      await waitForRender(previous + 1);
    }
  });

  it('a date-range change updates the numbers', async () => {
    const before = await cards();
    const previous = await renders();
    await page.click('button[data-days="30"]');
    await waitForRender(previous);
    const url = new URL(page.url());
    const from = url.searchParams.get('from')!;
    const to = url.searchParams.get('to')!;
    expect((Date.parse(to) - Date.parse(from)) / 86_400_000).toBe(29);
    const after = await cards();
    const value = (list: Card[], id: string) => Number(list.find((c) => c.id === id)!.value);
    expect(value(after, 'orders')).toBeLessThan(value(before, 'orders'));
    expect(value(after, 'revenue')).not.toBe(value(before, 'revenue'));
    expect(await page.locator('section[data-panel="sentiment"]').getAttribute('data-days')).toBe('30');
    expect(await expectCardsEqualApi()).toBe(10);
    // A range typed into the inputs.
    await page.fill('input[name="from"]', '2025-07-01');
    await page.fill('input[name="to"]', '2025-09-30');
    const typed = await renders();
    await page.click('button[type="submit"]');
    await waitForRender(typed);
    expect(JSON.parse((await cards())[0]!.query).timeDimensions[0].compareDateRange).toEqual([
      ['2025-07-01', '2025-09-30'],
      ['2025-03-31', '2025-06-30'],
    ]);
    expect(await expectCardsEqualApi()).toBe(10);
    expect(consoleErrors).toEqual([]);
  });

  it('switches to Chinese labels with the same figures', async () => {
    const english = await cards();
    const previous = await renders();
    await page.click('button[data-lang="zh"]');
    await waitForRender(previous);
    expect(await page.locator('h1').textContent()).toContain('客户价值');
    expect(await page.locator('[data-kpi="revenue"] .kpi-label').textContent()).toBe('净收入');
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    const chinese = await cards();
    expect(chinese.map((c) => [c.id, c.value])).toEqual(english.map((c) => [c.id, c.value]));
    const captionZh = await expectedClvCaption('zh');
    expect(await clvCaptions()).toEqual({ at_risk: captionZh, predicted: captionZh });
    expect(new URL(page.url()).searchParams.get('lang')).toBe('zh');
    expect(consoleErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
    await page.goto(`${api.url}/dashboard/?lang=zh`); // token kept for the tab: the default view in Chinese
    await waitForRender(0);
    process.stderr.write(`screenshot: ${await screenshot('dashboard-zh.png')}\n`);
  });

  it('serves the build with a same-origin content security policy and long-lived hashed assets', async () => {
    const index = await fetch(`${api.url}/dashboard/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    expect(html).not.toMatch(/https?:\/\//);
    const asset = /\/dashboard\/assets\/[^"]+\.js/.exec(html)![0];
    const script = await fetch(`${api.url}${asset}`);
    expect(script.headers.get('cache-control')).toContain('immutable');
    expect(script.headers.get('content-type')).toContain('javascript');
    const redirect = await fetch(`${api.url}/dashboard?lang=zh`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([302, '/dashboard/?lang=zh']);
    expect((await fetch(`${api.url}/dashboard/../package.json`)).status).toBe(404);
  });
});
