import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { NEGATIVE_TEXT } from '../../pipelines/sources/sample-data/catalog.ts';
import { SOURCES } from '../../pipelines/extract/sources.ts';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { runDbt } from '../../pipelines/transform/dbt-cli.ts';
import { shopDay } from '../support/shop-day.ts';

/**
 * Service-quality and public-opinion marts against figures computed here from the generated
 * landing files (tickets, events, orders) and, for sentiment, from raw.opinion_posts (labels are
 * given at extraction, so the raw table is the first place they exist), never from the marts.
 * A burst of negative posts and a complaint followed by an angry post are injected into the
 * landing folder before extraction, so the spike flag and the opinion-service join have a case.
 */
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-service-opinion-'));
const landingDir = path.join(workDir, 'landing');
const warehousePath = path.join(workDir, 'wh.duckdb');
const readNdjson = <T>(file: string): T[] =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
/** Day-key arithmetic (a YYYY-MM-DD key of a UTC midnight); instants go through shopDay, the shop's day. */
const utcDay = (at: string | Date) => new Date(at).toISOString().slice(0, 10);
const DAY_MS = 86_400_000;

// The spike rule's dbt vars (dbt_project.yml defaults), re-implemented below.
const SPIKE = { baselineDays: 28, stddevs: 3, minNegative: 3, minHistoryDays: 7 };
const BURST = { day: '2025-06-15', platform: 'weibo', brand: 'Aurora', posts: 12 };
const ANGRY = { ticketId: 'T99000001', postId: 'PX0000001' };

type Row = Record<string, unknown>;
let quality: Row[];
let rates: Row[];
let opinion: Row[];
let joined: Row[];
let rawPosts: { post_id: string; platform: string | null; brand: string | null; published_at: Date; sentiment_label: string | null }[];
let angryCustomer: string;

/** Tickets and a post that the generator would not write: a burst and a complaint-then-post case. */
function injectCases() {
  const people = readNdjson<{ customer_ids: string[]; handles: string[]; wechat_ids: string[] }>(
    path.join(landingDir, '_truth', 'identities.ndjson'),
  );
  const truth = JSON.parse(fs.readFileSync(path.join(landingDir, '_truth', 'ground_truth.json'), 'utf8')) as {
    malformed: { customers: string[] };
  };
  // A one-account person whose handle resolves through their WeChat id (int_identity__handles).
  const person = people.find(
    (p) =>
      p.customer_ids.length === 1 &&
      p.handles.length === 1 &&
      p.wechat_ids.includes(`wx_${p.handles[0]}`) &&
      !truth.malformed.customers.includes(p.customer_ids[0]!),
  )!;
  angryCustomer = person.customer_ids[0]!;
  const burst = Array.from({ length: BURST.posts }, (_, i) => ({
    post_id: `PB${String(i + 1).padStart(7, '0')}`,
    platform: BURST.platform,
    author_handle: `burst_${i}`,
    published_at: `${BURST.day}T${String(9 + (i % 8)).padStart(2, '0')}:00:00+08:00`,
    lang: 'zh',
    text: NEGATIVE_TEXT.zh[i % NEGATIVE_TEXT.zh.length],
    rating: 1,
    brand: BURST.brand,
    product: null,
  }));
  const angryPost = {
    post_id: ANGRY.postId,
    platform: 'xiaohongshu',
    author_handle: person.handles[0],
    published_at: '2025-04-12T20:00:00+08:00',
    lang: 'zh',
    text: NEGATIVE_TEXT.zh[1],
    rating: 1,
    brand: 'Yunshang',
    product: null,
  };
  fs.writeFileSync(
    path.join(landingDir, 'opinion', 'posts_injected.ndjson'),
    [...burst, angryPost].map((p) => JSON.stringify(p)).join('\n') + '\n',
  );
  // An open complaint two days before the post (no events: the header is the fallback).
  const ticket = {
    ticket_id: ANGRY.ticketId,
    customer_id: angryCustomer,
    channel: 'wechat',
    category: 'complaint',
    subject: '投诉',
    created_at: '2025-04-10T09:00:00+08:00',
    first_reply_at: '2025-04-10T09:45:00+08:00',
    resolved_at: null,
    status: 'open',
    satisfaction: null,
    updated_at: '2025-04-10T09:45:00+08:00',
    order_id: null,
    agent_id: 'A001',
    lang: 'zh',
    reopened_count: 0,
  };
  fs.writeFileSync(path.join(landingDir, 'service', 'tickets_injected.ndjson'), JSON.stringify(ticket) + '\n');
}

beforeAll(async () => {
  await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: landingDir, seed: 9, customers: 400, orders: 2_500 });
  injectCases();
  for (const source of SOURCES) await extractSource(source, { warehousePath, landingDir, batchId: `t:${source.name}` });
  await runDbt({
    args: [
      'build',
      '--select',
      '+fct_service_quality_daily',
      '+fct_service_rates_daily',
      '+fct_opinion_daily',
      '+fct_opinion_service_joined',
    ],
    warehousePath,
  });
  const warehouse = await openWarehouse(warehousePath, { readOnly: true });
  const rows = async <T = Row>(sql: string) => (await warehouse.connection.runAndReadAll(sql)).getRowObjectsJS() as unknown as T[];
  quality = await rows(`select strftime(day, '%Y-%m-%d') as day, * exclude (day) from marts.fct_service_quality_daily`);
  rates = await rows(`select strftime(day, '%Y-%m-%d') as day, * exclude (day) from marts.fct_service_rates_daily`);
  opinion = await rows(`select strftime(day, '%Y-%m-%d') as day, * exclude (day) from marts.fct_opinion_daily`);
  joined = await rows(`select * from marts.fct_opinion_service_joined`);
  rawPosts = await rows(`select post_id, platform, brand, published_at, sentiment_label from raw.opinion_posts`);
  warehouse.close();
}, 600_000);

afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

interface TicketFacts {
  day: string;
  channel: string;
  category: string;
  firstReplyMinutes: number | null;
  resolutionMinutes: number | null;
}

/** Each loaded ticket's opening day and minutes, from tickets*.ndjson and ticket_events.ndjson. */
function ticketsFromFiles(): TicketFacts[] {
  const truth = JSON.parse(fs.readFileSync(path.join(landingDir, '_truth', 'ground_truth.json'), 'utf8')) as {
    malformed: { tickets: string[] };
  };
  const malformed = new Set(truth.malformed.tickets); // quarantined by the loader
  const headers = new Map<string, Record<string, string | null>>();
  for (const file of fs.readdirSync(path.join(landingDir, 'service')).filter((f) => f.startsWith('tickets'))) {
    for (const t of readNdjson<Record<string, string | null>>(path.join(landingDir, 'service', file))) {
      const seen = headers.get(t.ticket_id!);
      if (!seen || Date.parse(t.updated_at!) >= Date.parse(seen.updated_at!)) headers.set(t.ticket_id!, t);
    }
  }
  const events = new Map<string, { type: string; at: number }[]>();
  for (const e of readNdjson<{ ticket_id: string; event_type: string; occurred_at: string }>(
    path.join(landingDir, 'service', 'ticket_events.ndjson'),
  )) {
    events.set(e.ticket_id, [...(events.get(e.ticket_id) ?? []), { type: e.event_type, at: Date.parse(e.occurred_at) }]);
  }
  // dbt.datediff(minute) on DuckDB counts minute boundaries crossed.
  const minutes = (from: number, to: number) => Math.floor(to / 60_000) - Math.floor(from / 60_000);
  const facts: TicketFacts[] = [];
  for (const [id, t] of headers) {
    if (malformed.has(id)) continue;
    const log = events.get(id) ?? [];
    const at = (type: string, pick: (xs: number[]) => number) => {
      const xs = log.filter((e) => e.type === type).map((e) => e.at);
      return xs.length ? pick(xs) : null;
    };
    const opened = at('created', (xs) => Math.min(...xs)) ?? Date.parse(t.created_at!);
    const firstReply = at('first_reply', (xs) => Math.min(...xs)) ?? (t.first_reply_at ? Date.parse(t.first_reply_at) : null);
    const resolvedEvent = log
      .filter((e) => e.type === 'resolved' || e.type === 'closed')
      .reduce<number | null>((m, e) => (m === null || e.at > m ? e.at : m), null);
    const reopened = at('reopened', (xs) => Math.max(...xs));
    const resolved =
      reopened !== null && (resolvedEvent === null || reopened > resolvedEvent)
        ? null
        : (resolvedEvent ?? (t.resolved_at ? Date.parse(t.resolved_at) : null));
    facts.push({
      day: shopDay(opened),
      channel: t.channel!,
      category: t.category!,
      firstReplyMinutes: firstReply === null ? null : minutes(opened, firstReply),
      resolutionMinutes: resolved === null ? null : minutes(opened, resolved),
    });
  }
  return facts;
}

/** percentile_cont: linear interpolation between the two nearest ranks. */
function percentileCont(values: number[], fraction: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * fraction;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

/** Valid sales per shop day (Asia/Shanghai) from orders.csv (newest version per order), cancellations.csv and the truth's malformed list. */
function validOrdersPerDay(): Map<string, number> {
  const cancelled = new Set(
    (
      parse(fs.readFileSync(path.join(landingDir, 'orders', 'cancellations.csv')), { columns: true, relax_column_count: true }) as Record<
        string,
        string
      >[]
    ).map((c) => c.order_id),
  );
  const truth = JSON.parse(fs.readFileSync(path.join(landingDir, '_truth', 'ground_truth.json'), 'utf8')) as {
    malformed: { orders: string[] };
  };
  const malformed = new Set(truth.malformed.orders);
  const latest = new Map<string, Record<string, string>>();
  for (const o of parse(fs.readFileSync(path.join(landingDir, 'orders', 'orders.csv')), {
    columns: true,
    relax_column_count: true,
  }) as Record<string, string>[]) {
    const seen = latest.get(o.order_id ?? '');
    if (!seen || Date.parse(o.updated_at ?? '') >= Date.parse(seen.updated_at ?? '')) latest.set(o.order_id ?? '', o);
  }
  const perDay = new Map<string, number>();
  for (const o of latest.values()) {
    const at = Date.parse(o.ordered_at ?? '');
    if (
      ['cancelled', 'refunded'].includes(o.status ?? '') ||
      cancelled.has(o.order_id) ||
      malformed.has(o.order_id ?? '') ||
      !Number.isFinite(at)
    )
      continue;
    const day = shopDay(at);
    perDay.set(day, (perDay.get(day) ?? 0) + 1);
  }
  return perDay;
}

describe('service quality marts against the generated files', () => {
  it('ticket volume per shop day (Asia/Shanghai) and channel matches tickets*.ndjson', () => {
    const expected = new Map<string, number>();
    for (const t of ticketsFromFiles()) expected.set(`${t.day}|${t.channel}`, (expected.get(`${t.day}|${t.channel}`) ?? 0) + 1);
    const actual = new Map<string, number>();
    for (const r of quality) {
      const key = `${String(r.day)}|${String(r.channel)}`;
      if (Number(r.tickets) > 0) actual.set(key, (actual.get(key) ?? 0) + Number(r.tickets));
    }
    expect(expected.size).toBeGreaterThan(100);
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
    const busiest = [...expected.entries()].sort((a, b) => b[1] - a[1])[0]!;
    console.log(
      `[service] ${[...expected.values()].reduce((s, n) => s + n, 0)} tickets in ${expected.size} day x channel cells; busiest ${busiest[0]}: ${busiest[1]}`,
    );
  });

  it('median and p90 of first reply and resolution minutes match every day x channel x category cell', () => {
    const cells = new Map<string, TicketFacts[]>();
    for (const t of ticketsFromFiles()) {
      const key = `${t.day}|${t.channel}|${t.category}`;
      cells.set(key, [...(cells.get(key) ?? []), t]);
    }
    let compared = 0;
    for (const [key, tickets] of cells) {
      const row = quality.find((r) => `${String(r.day)}|${String(r.channel)}|${String(r.category)}` === key);
      expect(row, key).toBeDefined();
      const replies = tickets.map((t) => t.firstReplyMinutes).filter((m): m is number => m !== null);
      const resolutions = tickets.map((t) => t.resolutionMinutes).filter((m): m is number => m !== null);
      const pairs: [unknown, number | null][] = [
        [row!.first_reply_minutes_median, percentileCont(replies, 0.5)],
        [row!.first_reply_minutes_p90, percentileCont(replies, 0.9)],
        [row!.resolution_minutes_median, percentileCont(resolutions, 0.5)],
        [row!.resolution_minutes_p90, percentileCont(resolutions, 0.9)],
      ];
      for (const [actual, want] of pairs) {
        if (want === null) expect(actual, key).toBeNull();
        else expect(Number(actual), key).toBeCloseTo(want, 6);
      }
      expect(Number(row!.open_tickets), key).toBe(tickets.filter((t) => t.resolutionMinutes === null).length);
      compared += 1;
    }
    // The busiest cell, as a figure for the report.
    const [key, tickets] = [...cells.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
    console.log(
      `[service] busiest cell ${key}: ${tickets.length} tickets, median first reply ${percentileCont(
        tickets.map((t) => t.firstReplyMinutes!).filter((m) => m !== null),
        0.5,
      )} min (${compared} cells compared)`,
    );
  });

  it('the parts of the complaint, return and dispute rates per thousand valid orders match, day by day', () => {
    // The mart stores the parts; the rate is the service_rates_daily cube's ratio of their sums.
    const orders = validOrdersPerDay();
    const tickets = ticketsFromFiles();
    const count = (day: string, category: string) => tickets.filter((t) => t.day === day && t.category === category).length;
    let withOrders = 0;
    for (const r of rates) {
      const day = String(r.day);
      const valid = orders.get(day) ?? 0;
      expect(Number(r.valid_orders), day).toBe(valid);
      for (const [column, category] of [
        ['complaint_tickets', 'complaint'],
        ['return_tickets', 'return'],
        ['dispute_tickets', 'dispute'],
      ] as const) {
        expect(Number(r[column]), `${day} ${column}`).toBe(count(day, category));
      }
      if (valid > 0) withOrders += 1;
    }
    expect(withOrders).toBe(orders.size); // every day with a valid sale has a row
    const complaints = tickets.filter((t) => t.category === 'complaint').length;
    const validTotal = [...orders.values()].reduce((s, n) => s + n, 0);
    console.log(
      `[service] ${complaints} complaints / ${validTotal} valid orders = ${((1000 * complaints) / validTotal).toFixed(2)} per 1,000 over the whole period`,
    );
  });
});

describe('public opinion marts against raw.opinion_posts', () => {
  const cellKey = (day: string, platform: string, brand: string) => `${day}|${platform}|${brand}`;

  function dailyFromRaw() {
    const cells = new Map<string, { mentions: number; negative: number }>();
    for (const p of rawPosts) {
      const key = cellKey(shopDay(p.published_at), p.platform ?? 'unknown', p.brand ?? 'unknown');
      const cell = cells.get(key) ?? { mentions: 0, negative: 0 };
      cell.mentions += 1;
      if (p.sentiment_label === 'negative') cell.negative += 1;
      cells.set(key, cell);
    }
    return cells;
  }

  it('mentions and negative mentions per day x platform x brand match', () => {
    const expected = dailyFromRaw();
    const actual = new Map(
      opinion.map((r) => [
        cellKey(String(r.day), String(r.platform), String(r.brand)),
        { mentions: Number(r.mentions), negative: Number(r.negative_mentions) },
      ]),
    );
    expect(expected.size).toBeGreaterThan(100);
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
  });

  it('flags exactly the spikes the rule gives, including the injected burst', () => {
    const burst = rawPosts.filter((p) => p.post_id.startsWith('PB'));
    expect(burst.map((p) => p.sentiment_label)).toEqual(Array(BURST.posts).fill('negative'));
    // The rule, re-implemented on calendar days: mean and population stddev of the daily negative
    // counts over the 28 days before (clipped to the series' first mention; empty days are 0).
    const cells = dailyFromRaw();
    const series = new Map<string, Map<string, number>>();
    for (const [key, cell] of cells) {
      const [day, platform, brand] = key.split('|') as [string, string, string];
      const s = series.get(`${platform}|${brand}`) ?? new Map<string, number>();
      s.set(day, cell.negative);
      series.set(`${platform}|${brand}`, s);
    }
    const expectedSpikes: string[] = [];
    for (const [name, days] of series) {
      const first = Date.parse([...days.keys()].sort()[0]!);
      for (const [day, negative] of days) {
        const at = Date.parse(day);
        const baselineDays = Math.min(SPIKE.baselineDays, Math.round((at - first) / DAY_MS));
        if (baselineDays < SPIKE.minHistoryDays || negative < SPIKE.minNegative) continue;
        const window = Array.from({ length: baselineDays }, (_, i) => days.get(utcDay(new Date(at - (i + 1) * DAY_MS))) ?? 0);
        const mean = window.reduce((s, n) => s + n, 0) / baselineDays;
        const stddev = Math.sqrt(Math.max(0, window.reduce((s, n) => s + n * n, 0) / baselineDays - mean * mean));
        if (negative > mean + SPIKE.stddevs * stddev) expectedSpikes.push(`${day}|${name}`);
      }
    }
    const flagged = opinion
      .filter((r) => r.is_negative_spike === true)
      .map((r) => cellKey(String(r.day), String(r.platform), String(r.brand)));
    expect(flagged.sort()).toEqual(expectedSpikes.sort());
    expect(flagged).toContain(cellKey(BURST.day, BURST.platform, BURST.brand));
    const row = opinion.find(
      (r) => cellKey(String(r.day), String(r.platform), String(r.brand)) === cellKey(BURST.day, BURST.platform, BURST.brand),
    )!;
    console.log(
      `[opinion] burst ${BURST.day} ${BURST.platform} x ${BURST.brand}: ${String(row.negative_mentions)} negative vs baseline mean ${Number(row.baseline_negative_mean).toFixed(3)}, threshold ${Number(row.spike_threshold).toFixed(3)}; ${flagged.length} spike(s) flagged in ${opinion.length} rows`,
    );
  });

  it('joins an angry post to the open complaint its author filed two days before', () => {
    const row = joined.find((r) => r.post_id === ANGRY.postId);
    expect(row, 'the injected post resolves to its author').toBeDefined();
    expect(row).toMatchObject({
      customer_key: angryCustomer,
      is_negative: true,
      had_open_complaint_at_post: true,
      last_ticket_id: ANGRY.ticketId,
      last_ticket_category: 'complaint',
      last_ticket_open_at_post: true,
      hours_since_last_ticket: 59,
      is_negative_after_bad_service: true,
    });
    expect(Number(row!.tickets_prior_30d)).toBeGreaterThanOrEqual(1);
    // Every row is a resolved author, one per post, and never an unresolved handle.
    expect(new Set(joined.map((r) => r.post_id)).size).toBe(joined.length);
    for (const r of joined) expect(r.customer_key).not.toBeNull();
    console.log(
      `[opinion] ${joined.length} mentions by resolved customers; ${joined.filter((r) => r.is_negative_after_bad_service).length} negative after bad service`,
    );
  });
});
