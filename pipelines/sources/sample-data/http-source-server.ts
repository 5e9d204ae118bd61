import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import { readCsvRecords } from '../../extract/readers/csv-records.ts';
import { readNdjsonRecords } from '../../extract/readers/ndjson-records.ts';
import { LANDING_FILES } from './landing-layout.ts';
import { SeededRandom } from './random.ts';
import { atomFeed, jsonFeed, rssFeed, type SamplePost } from './sample-feeds.ts';

/**
 * Serves a generated landing folder over HTTP on 127.0.0.1, the way a shop's systems would expose
 * it: the orders as a paginated JSON API (cursor or page pagination, one list per resource) and
 * the opinion posts as JSON Feed 1.1, RSS 2.0, Atom and a plain JSON page API. An optional
 * misbehaviour mode makes it fail the way real servers do: a seeded share of requests time out
 * (the server stalls), answer 500, answer 429 with Retry-After, or send a truncated page (body cut
 * short, or a page whose declared count disagrees with its items, or a connection dropped
 * mid-body). Each URL misbehaves at most `failuresPerUrl` times, so a client that retries always
 * gets through: tests are deterministic. The data is held in memory (fine for sample sizes; not a
 * 10-million-order server).
 *
 *   GET /api/{orders,order_items,payments,refunds,cancellations}?limit=N[&cursor=C]
 *   GET /api/{...}?page=P&per_page=N
 *   GET /feeds/posts.json | /feeds/posts.rss | /feeds/posts.atom   (?lang=zh|en)
 *   GET /api/posts?page=P&per_page=N      -> { data: [post records], next: url | null }
 */
export type Misbehaviour = 'timeout' | 'error500' | 'rate429' | 'truncate';

export interface MisbehaviourOptions {
  /** Share of URLs (0..1) that misbehave on their first request(s). */
  rate: number;
  seed?: number;
  kinds?: Misbehaviour[];
  /** How many times a misbehaving URL fails before it answers properly. */
  failuresPerUrl?: number;
  /** Retry-After sent with 429 (seconds). */
  retryAfterSeconds?: number;
  /** How long a "timeout" stalls before the connection is dropped. */
  stallMs?: number;
}

export interface SampleServerOptions {
  landingDir: string;
  port?: number;
  host?: string;
  /** Require `Authorization: Bearer <token>` (401 otherwise). */
  token?: string;
  misbehave?: MisbehaviourOptions;
}

export interface RequestLogEntry {
  at: number;
  method: string;
  url: string;
  status: number;
  misbehaviour: Misbehaviour | null;
}

export interface SampleSourceServer {
  url: string;
  port: number;
  /** Every request answered (or dropped), in order. */
  requests: RequestLogEntry[];
  /** While true every request answers 503 (an outage), for resume tests. */
  outage: { on: boolean; afterRequests?: number };
  counts: Record<string, number>;
  close(): Promise<void>;
}

const ORDER_RESOURCES: Record<string, string> = {
  orders: LANDING_FILES.orders,
  order_items: LANDING_FILES.orderItems,
  payments: LANDING_FILES.payments,
  refunds: LANDING_FILES.refunds,
  cancellations: LANDING_FILES.cancellations,
};

/** A CSV row as an API item: its fields (strings, as exported), or its raw text when unparseable. */
async function loadCsv(file: string, landingDir: string): Promise<unknown[]> {
  const items: unknown[] = [];
  if (!fs.existsSync(file)) return items;
  for await (const record of readCsvRecords(file, landingDir)) items.push(record.fields ?? record.rawText);
  return items;
}

async function loadPosts(landingDir: string): Promise<SamplePost[]> {
  const file = path.join(landingDir, LANDING_FILES.posts);
  const posts: SamplePost[] = [];
  if (!fs.existsSync(file)) return posts;
  for await (const record of readNdjsonRecords(file, landingDir)) if (record.fields) posts.push(record.fields);
  return posts;
}

const encodeCursor = (offset: number) => Buffer.from(`o:${offset}`).toString('base64url');
function decodeCursor(cursor: string | null): number | null {
  if (cursor === null) return 0;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^o:(\d+)$/.exec(text);
  return match ? Number(match[1]) : null;
}

/** A stable 32-bit hash, so whether a URL misbehaves depends only on the seed and the URL. */
function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

export async function startSampleSourceServer(options: SampleServerOptions): Promise<SampleSourceServer> {
  const landingDir = path.resolve(options.landingDir);
  if (!fs.existsSync(landingDir)) throw new Error(`landing folder not found: ${landingDir} (run \`crm generate\` first)`);
  const resources = new Map<string, unknown[]>();
  for (const [name, file] of Object.entries(ORDER_RESOURCES)) resources.set(name, await loadCsv(path.join(landingDir, file), landingDir));
  const posts = await loadPosts(landingDir);

  const misbehave = options.misbehave;
  const kinds = misbehave?.kinds ?? ['timeout', 'error500', 'rate429', 'truncate'];
  const failuresPerUrl = misbehave?.failuresPerUrl ?? 1;
  const failuresSoFar = new Map<string, number>();
  const requests: RequestLogEntry[] = [];
  const outage: SampleSourceServer['outage'] = { on: false };

  /** The misbehaviour this request gets, if any (seeded by URL; at most failuresPerUrl per URL). */
  function pickMisbehaviour(url: string): Misbehaviour | null {
    if (!misbehave || misbehave.rate <= 0) return null;
    const rng = new SeededRandom(hash(`${misbehave.seed ?? 1}:${url}`));
    if (rng.next() >= misbehave.rate) return null;
    const used = failuresSoFar.get(url) ?? 0;
    if (used >= failuresPerUrl) return null;
    failuresSoFar.set(url, used + 1);
    return kinds[Math.floor(rng.next() * kinds.length)]!;
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const log = (status: number, misbehaviour: Misbehaviour | null) =>
      requests.push({ at: Date.now(), method: req.method ?? 'GET', url: `${url.pathname}${url.search}`, status, misbehaviour });
    const send = (status: number, type: string, body: string, extra: Record<string, string> = {}) => {
      log(status, null);
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'application/json', JSON.stringify({ error: 'only GET' }));
    if (outage.afterRequests !== undefined && requests.length >= outage.afterRequests) outage.on = true;
    if (outage.on) return send(503, 'application/json', JSON.stringify({ error: 'outage' }));
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      return send(401, 'application/json', JSON.stringify({ error: 'missing or wrong bearer token' }), { 'www-authenticate': 'Bearer' });
    }

    const answer = routeRequest(url);
    if (!answer) return send(404, 'application/json', JSON.stringify({ error: `no such resource: ${url.pathname}` }));
    if (answer.status !== 200) return send(answer.status, 'application/json', answer.body);

    const trouble = pickMisbehaviour(`${url.pathname}${url.search}`);
    if (trouble === 'timeout') {
      log(0, trouble);
      // Stall: the client's timeout fires first; the socket is dropped later (or on close()).
      const timer = setTimeout(() => req.socket.destroy(), misbehave?.stallMs ?? 5_000);
      req.socket.once('close', () => clearTimeout(timer));
      return;
    }
    if (trouble === 'error500') {
      log(500, trouble);
      res.writeHead(500, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: 'internal error (sample misbehaviour)' }));
    }
    if (trouble === 'rate429') {
      log(429, trouble);
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(misbehave?.retryAfterSeconds ?? 1) });
      return res.end(JSON.stringify({ error: 'slow down' }));
    }
    if (trouble === 'truncate') {
      log(200, trouble);
      const variant = hash(url.toString()) % 3;
      if (variant === 1 && answer.page) {
        // A page that lies: declares its full count but lost its last item on the way.
        const cut = JSON.stringify({ ...answer.page, data: answer.page.data.slice(0, -1) });
        res.writeHead(200, { 'content-type': answer.type, 'content-length': Buffer.byteLength(cut) });
        return res.end(cut);
      }
      const bytes = Buffer.from(answer.body);
      const cutAt = Math.max(1, Math.floor(bytes.length * 0.6));
      if (variant === 2) {
        // Declares the full length, then the connection drops mid-body.
        res.writeHead(200, { 'content-type': answer.type, 'content-length': bytes.length });
        res.write(bytes.subarray(0, cutAt), () => res.destroy());
        return;
      }
      // A body cut short with a matching length: only the content shows it is incomplete.
      res.writeHead(200, { 'content-type': answer.type, 'content-length': cutAt });
      return res.end(bytes.subarray(0, cutAt));
    }
    send(200, answer.type, answer.body);
  });

  interface Answer {
    status: number;
    type: string;
    body: string;
    page?: { data: unknown[]; count: number } & Record<string, unknown>;
  }

  function routeRequest(url: URL): Answer | null {
    const base = `http://${options.host ?? '127.0.0.1'}:${port}`;
    const match = /^\/api\/([a-z_]+)$/.exec(url.pathname);
    if (match && match[1] === 'posts') {
      const perPage = clampInt(url.searchParams.get('per_page'), 100, 1, 1_000);
      const pageNo = clampInt(url.searchParams.get('page'), 1, 1, 1e9);
      const data = filterLang(posts, url).slice((pageNo - 1) * perPage, pageNo * perPage);
      const more = pageNo * perPage < filterLang(posts, url).length;
      const next = more
        ? `${base}/api/posts?page=${pageNo + 1}&per_page=${perPage}${url.searchParams.get('lang') ? `&lang=${url.searchParams.get('lang')}` : ''}`
        : null;
      const page = { data, next, count: data.length };
      return { status: 200, type: 'application/json', body: JSON.stringify(page), page };
    }
    if (match && resources.has(match[1]!)) {
      const items = resources.get(match[1]!)!;
      if (url.searchParams.has('page')) {
        const perPage = clampInt(url.searchParams.get('per_page'), 100, 1, 10_000);
        const pageNo = clampInt(url.searchParams.get('page'), 1, 1, 1e9);
        const data = items.slice((pageNo - 1) * perPage, pageNo * perPage);
        const page = { data, page: pageNo, total_pages: Math.ceil(items.length / perPage), count: data.length };
        return { status: 200, type: 'application/json', body: JSON.stringify(page), page };
      }
      const limit = clampInt(url.searchParams.get('limit'), 100, 1, 10_000);
      const offset = decodeCursor(url.searchParams.get('cursor'));
      if (offset === null) return { status: 400, type: 'application/json', body: JSON.stringify({ error: 'bad cursor' }) };
      const data = items.slice(offset, offset + limit);
      const end = Math.min(items.length, offset + limit);
      // Stripe-style: a cursor is always returned, has_more says whether to follow it now.
      const page = { data, next_cursor: encodeCursor(Math.max(end, offset)), has_more: end < items.length, count: data.length };
      return { status: 200, type: 'application/json', body: JSON.stringify(page), page };
    }
    const selected = filterLang(posts, url);
    if (url.pathname === '/feeds/posts.json')
      return { status: 200, type: 'application/feed+json', body: jsonFeed(selected, base, url.pathname) };
    if (url.pathname === '/feeds/posts.rss')
      return { status: 200, type: 'application/rss+xml; charset=utf-8', body: rssFeed(selected, base) };
    if (url.pathname === '/feeds/posts.atom')
      return { status: 200, type: 'application/atom+xml; charset=utf-8', body: atomFeed(selected, base, url.pathname) };
    return null;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const counts = Object.fromEntries([...[...resources].map(([k, v]) => [k, v.length] as const), ['posts', posts.length]]);
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    requests,
    outage,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function filterLang(posts: SamplePost[], url: URL): SamplePost[] {
  const lang = url.searchParams.get('lang');
  return lang ? posts.filter((p) => p.lang === lang) : posts;
}

function clampInt(raw: string | null, fallback: number, min: number, max: number): number {
  const value = raw === null ? fallback : Number(raw);
  return Number.isInteger(value) ? Math.min(max, Math.max(min, value)) : fallback;
}
