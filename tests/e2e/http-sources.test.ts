import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { startSampleSourceServer, type SampleSourceServer } from '../../pipelines/sources/sample-data/http-source-server.ts';
import type { GroundTruth } from '../../pipelines/sources/sample-data/landing-layout.ts';
import { httpOrdersSource, SHOP_API_RESOURCES, type HttpOrdersConfig } from '../../pipelines/extract/http/http-orders-source.ts';
import { opinionFeedSource } from '../../pipelines/extract/opinion/opinion-feed-source.ts';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { findSource } from '../../pipelines/extract/sources.ts';
import { SourceUnavailableError } from '../../pipelines/extract/source-contract.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { projectRoot } from '../../shared/paths.ts';

/**
 * The HTTP orders API source and the opinion feed source against real servers on 127.0.0.1 (the
 * sample-data server, serving the generated shop) that misbehave on purpose: stalls past the
 * client's timeout, 500s, 429 with Retry-After, truncated pages. The reference is the same
 * generated files loaded by the file-drop sources: the API and feeds must produce the same raw rows,
 * each exactly once, resume from the committed cursor after an outage, and change nothing when
 * re-run.
 */
let workDir: string;
let landingDir: string;
let referencePath: string;
let truth: GroundTruth;
let warehouseCount = 0;
const servers: SampleSourceServer[] = [];

const LINEAGE = ['_source_file', '_source_line', '_batch_id', '_loaded_at'];
const ORDER_TABLES = SHOP_API_RESOURCES.map((r) => ({ table: r.record.table, key: r.record.key }));
/** Short timeouts and delays: the misbehaving server is local, the test must stay fast. */
const FAST: HttpOrdersConfig['fetch'] = { timeoutMs: 400, retries: 4, minDelayMs: 10, maxDelayMs: 80 };

const newWarehouse = () => path.join(workDir, `wh-${++warehouseCount}.duckdb`);

async function query(warehousePath: string, sql: string): Promise<unknown[][]> {
  const wh = await openWarehouse(warehousePath);
  try {
    return (await wh.connection.runAndReadAll(sql)).getRows();
  } finally {
    wh.close();
  }
}

/** A table's rows as JSON text, ordered by key; lineage columns left out unless asked for. */
async function snapshot(warehousePath: string, table: string, key: readonly string[], withLineage = false): Promise<string[]> {
  const exclude = withLineage ? '' : ` EXCLUDE (${LINEAGE.join(', ')})`;
  const rows = await query(
    warehousePath,
    `SELECT to_json(t)::VARCHAR FROM (SELECT *${exclude} FROM raw.${table}) t ORDER BY ${key.join(', ')}`,
  );
  return rows.map((r) => String(r[0]));
}

/** The first row of a query (the test fails if there is none). */
async function firstRow(warehousePath: string, sql: string): Promise<unknown[]> {
  const rows = await query(warehousePath, sql);
  expect(rows.length, sql).toBeGreaterThan(0);
  return rows[0]!;
}

async function quarantineKeys(warehousePath: string, source: string): Promise<string[]> {
  const rows = await query(
    warehousePath,
    `SELECT raw_table || ':' || coalesce(record_key, '?') FROM raw._quarantine WHERE source = '${source}' ORDER BY 1`,
  );
  return rows.map((r) => String(r[0]));
}

/** A port that was free a moment ago: nothing listens there now. */
async function freePort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function serve(options: Partial<Parameters<typeof startSampleSourceServer>[0]> = {}): Promise<SampleSourceServer> {
  const server = await startSampleSourceServer({ landingDir, ...options });
  servers.push(server);
  return server;
}

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-httpsrc-'));
  landingDir = path.join(workDir, 'landing');
  truth = await generateSampleData({
    ...DEFAULT_GENERATE_OPTIONS,
    outDir: landingDir,
    seed: 11,
    customers: 60,
    orders: 400,
    malformedRate: 0.04,
  });
  referencePath = path.join(workDir, 'reference.duckdb');
  await extractSource(findSource('orders'), { warehousePath: referencePath, landingDir, batchId: 'ref-orders' });
  await extractSource(findSource('opinion_posts'), { warehousePath: referencePath, landingDir, batchId: 'ref-posts' });
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  fs.rmSync(workDir, { recursive: true, force: true });
});

describe('HTTP orders API source', () => {
  it('loads every order exactly once through stalls, 500s, 429 Retry-After and truncated pages; a re-run changes nothing', async () => {
    const server = await serve({ misbehave: { rate: 0.5, seed: 5, stallMs: 1_500, retryAfterSeconds: 1 } });
    const warehousePath = newWarehouse();
    const source = httpOrdersSource({ name: 'orders_http', baseUrl: `${server.url}/api`, pageSize: 40, pagesPerBatch: 4, fetch: FAST });
    const first = await extractSource(source, { warehousePath, landingDir, batchId: 'h1' });

    // The server really misbehaved, in every way, and the client got through each time.
    const kinds = new Set(server.requests.filter((r) => r.misbehaviour).map((r) => r.misbehaviour));
    expect([...kinds].sort()).toEqual(['error500', 'rate429', 'timeout', 'truncate']);
    // 429: the retry of that URL came no sooner than Retry-After (1 s) allowed.
    for (const [index, limited] of server.requests.entries()) {
      if (limited.misbehaviour !== 'rate429') continue;
      const retry = server.requests.slice(index + 1).find((r) => r.url === limited.url);
      expect(retry, `retry of ${limited.url}`).toBeDefined();
      expect(retry!.at - limited.at).toBeGreaterThanOrEqual(950);
    }
    expect(first.notes[0]).toMatch(/^\d+ batches committed$/);

    // Same rows as the file drops: nothing lost, nothing twice, malformed rows quarantined.
    for (const { table, key } of ORDER_TABLES) {
      const [rows, distinct] = await firstRow(
        warehousePath,
        `SELECT count(*)::INT, count(DISTINCT (${key.join(', ')}))::INT FROM raw.${table}`,
      );
      expect(rows, table).toBe(distinct);
      expect(await snapshot(warehousePath, table, key), table).toEqual(await snapshot(referencePath, table, key));
    }
    expect(await query(warehousePath, `SELECT count(*)::INT FROM raw.orders`)).toEqual([[truth.counts.orders]]);
    const quarantined = await quarantineKeys(warehousePath, 'orders_http');
    expect(quarantined).toEqual(await quarantineKeys(referencePath, 'orders'));
    for (const orderId of truth.malformed.orders) expect(quarantined).toContain(`orders:${orderId}`);
    const [location] = await firstRow(
      warehousePath,
      `SELECT location FROM raw._quarantine WHERE source = 'orders_http' AND raw_table = 'orders' LIMIT 1`,
    );
    expect(String(location)).toMatch(/^GET \/api\/orders\?limit=40(&cursor=[\w-]+)?#\d+$/);

    // Re-run: the last page of each resource is asked again (anything new?), nothing changes.
    const before = await Promise.all(ORDER_TABLES.map(({ table, key }) => snapshot(warehousePath, table, key, true)));
    const second = await extractSource(source, { warehousePath, landingDir, batchId: 'h2' });
    expect(second.tables.every((t) => t.inserted === 0 && t.updated === 0)).toBe(true);
    expect(await Promise.all(ORDER_TABLES.map(({ table, key }) => snapshot(warehousePath, table, key, true)))).toEqual(before);
  });

  it('page-based pagination gives the same tables', async () => {
    const server = await serve();
    const warehousePath = newWarehouse();
    const source = httpOrdersSource({ name: 'orders_http', baseUrl: `${server.url}/api/`, pagination: 'page', pageSize: 70, fetch: FAST });
    await extractSource(source, { warehousePath, landingDir, batchId: 'p1' });
    for (const { table, key } of ORDER_TABLES)
      expect(await snapshot(warehousePath, table, key), table).toEqual(await snapshot(referencePath, table, key));
    expect(server.requests.every((r) => /[?&]page=\d+&per_page=70$/.test(r.url))).toBe(true);
  });

  it('after an outage mid-way, the next run resumes from the committed cursor without duplicates', async () => {
    const server = await serve();
    const warehousePath = newWarehouse();
    const source = httpOrdersSource({
      name: 'orders_http',
      baseUrl: `${server.url}/api`,
      pageSize: 40,
      pagesPerBatch: 2,
      fetch: { ...FAST, retries: 1 },
    });
    // Requests 1-6 answer (3 batches of 2 pages commit), then the server is down.
    server.outage.afterRequests = 6;
    // The failing page is the first of batch 4 (fetched when the batch opens, before it writes).
    await expect(extractSource(source, { warehousePath, landingDir, batchId: 'o1' })).rejects.toThrow(
      /^orders_http: (cannot read|GET) http:\/\/127\.0\.0\.1:\d+\/api\/orders\?limit=40&cursor=\S+(:| failed:) HTTP 503$/,
    );

    const [stateText, batchId] = await firstRow(
      warehousePath,
      `SELECT state, batch_id FROM raw._source_state WHERE source = 'orders_http'`,
    );
    const state = JSON.parse(String(stateText));
    const committedCursor = Buffer.from('o:240').toString('base64url');
    expect(batchId).toBe('o1#3');
    expect(state).toMatchObject({
      position: 0,
      pagination: 'cursor',
      resources: { orders: { next: committedCursor, records: 240, pages: 6 } },
    });
    const loaded = (await query(warehousePath, `SELECT count(*)::INT FROM raw.orders`))[0]![0] as number;
    expect(loaded).toBeGreaterThan(200);
    expect(loaded).toBeLessThan(truth.counts.orders);

    server.outage.on = false;
    delete server.outage.afterRequests;
    const seen = server.requests.length;
    await extractSource(source, { warehousePath, landingDir, batchId: 'o2' });
    // The first request after the outage asks for the committed cursor, not for page one.
    expect(server.requests[seen]!.url).toBe(`/api/orders?limit=40&cursor=${committedCursor}`);
    expect(server.requests.slice(seen).some((r) => r.url === '/api/orders?limit=40')).toBe(false);
    for (const { table, key } of ORDER_TABLES)
      expect(await snapshot(warehousePath, table, key), table).toEqual(await snapshot(referencePath, table, key));
  });

  it('an unreachable server, a bad URL or a refused token fail with one line naming the source, and write nothing', async () => {
    const deadPort = await freePort();
    const warehousePath = newWarehouse();
    const attempt = (config: Partial<HttpOrdersConfig>) =>
      extractSource(httpOrdersSource({ name: 'orders_http', baseUrl: '', fetch: { ...FAST, retries: 1 }, ...config }), {
        warehousePath,
        landingDir,
        batchId: 'x',
      });

    const unreachable = await attempt({ baseUrl: `http://127.0.0.1:${deadPort}/api` }).catch((e: unknown) => e);
    expect(unreachable).toBeInstanceOf(SourceUnavailableError);
    expect((unreachable as Error).message).toMatch(
      new RegExp(`^orders_http: cannot read http://127\\.0\\.0\\.1:${deadPort}/api/orders\\?limit=500: ECONNREFUSED`),
    );
    expect((unreachable as Error).message).not.toContain('\n');

    await expect(attempt({ baseUrl: 'not a url' })).rejects.toThrow(/^orders_http: bad URL "not a url"/);
    await expect(attempt({ baseUrl: 'ftp://127.0.0.1/api' })).rejects.toThrow(/^orders_http: bad URL .*only http and https/);

    const guarded = await serve({ token: 'right-token' });
    await expect(attempt({ baseUrl: `${guarded.url}/api`, token: 'wrong-token' })).rejects.toThrow(
      /^orders_http: cannot read .*: HTTP 401 Unauthorized \(check CRM_ORDERS_API_TOKEN\)$/,
    );
    expect(fs.existsSync(warehousePath)).toBe(false);

    const allowed = await attempt({ baseUrl: `${guarded.url}/api`, token: 'right-token' });
    expect(allowed.tables.find((t) => t.table === 'orders')!.inserted).toBe(truth.counts.orders);
  });
});

describe('opinion feed source', () => {
  const FEEDS = [
    { name: 'json-feed', path: '/feeds/posts.json' },
    { name: 'rss', path: '/feeds/posts.rss' },
    { name: 'atom', path: '/feeds/posts.atom' },
    { name: 'json-api', path: '/api/posts?per_page=20' },
  ];
  /** Columns every feed format carries; url, title and source_feed differ from the file drop's by design. */
  const POST_COLUMNS =
    'post_id, platform, author_handle, published_at, lang, text, rating, brand, product, sentiment_score, sentiment_label, scorer, scorer_version';

  it('RSS, Atom, JSON Feed and a JSON page API (zh + en) load each post once, scored, with bad items quarantined; a re-run changes nothing', async () => {
    const server = await serve({ misbehave: { rate: 0.6, seed: 2, stallMs: 1_500, retryAfterSeconds: 1 } });
    const warehousePath = newWarehouse();
    const source = opinionFeedSource({
      name: 'opinion_feeds',
      feeds: FEEDS.map((f) => ({ name: f.name, url: `${server.url}${f.path}` })),
      fetch: FAST,
    });
    const first = await extractSource(source, { warehousePath, landingDir, batchId: 'f1' });
    expect(server.requests.some((r) => r.misbehaviour !== null)).toBe(true);
    expect(first.notes).toEqual([
      `json-feed (json-feed): ${truth.counts.posts} item(s) in 1 page(s)`,
      `rss (rss): ${truth.counts.posts} item(s) in 1 page(s)`,
      `atom (atom): ${truth.counts.posts} item(s) in 1 page(s)`,
      `json-api (json): ${truth.counts.posts} item(s) in ${Math.ceil(truth.counts.posts / 20)} page(s)`,
    ]);

    // Four feeds carry the same posts: one row per post id, equal to the file drop's, scored.
    const feedRows = await query(
      warehousePath,
      `SELECT to_json(t)::VARCHAR FROM (SELECT ${POST_COLUMNS} FROM raw.opinion_posts) t ORDER BY 1`,
    );
    const fileRows = await query(
      referencePath,
      `SELECT to_json(t)::VARCHAR FROM (SELECT ${POST_COLUMNS} FROM raw.opinion_posts) t ORDER BY 1`,
    );
    expect(feedRows).toEqual(fileRows);
    expect(feedRows.length).toBe(truth.counts.posts - truth.malformed.posts.length);
    const [unscored, langs] = await firstRow(
      warehousePath,
      `SELECT count(*) FILTER (WHERE sentiment_label IS NULL OR scorer IS NULL)::INT, string_agg(DISTINCT lang, ',' ORDER BY lang) FROM raw.opinion_posts`,
    );
    expect(unscored).toBe(0);
    expect(langs).toBe('en,zh');
    const [feedName, url] = await firstRow(warehousePath, `SELECT source_feed, url FROM raw.opinion_posts ORDER BY post_id LIMIT 1`);
    expect(FEEDS.map((f) => f.name)).toContain(feedName);
    expect(String(url)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/posts\/P\d+$/);

    // Each malformed post (no platform) is quarantined once per feed it came through, with its place.
    expect(truth.malformed.posts.length).toBeGreaterThan(0);
    const rejected = await query(
      warehousePath,
      `SELECT record_key, location, reason FROM raw._quarantine WHERE source = 'opinion_feeds' ORDER BY location`,
    );
    expect(rejected.length).toBe(truth.malformed.posts.length * FEEDS.length);
    expect(new Set(rejected.map((r) => String(r[0])))).toEqual(new Set(truth.malformed.posts));
    for (const [key, location, reason] of rejected) {
      expect(String(location)).toMatch(new RegExp(`^GET /(feeds/posts\\.(json|rss|atom)|api/posts\\?[^#]+)#\\d+ \\(id ${key}\\)$`));
      expect(String(reason)).toMatch(/^platform: /);
    }

    const before = await snapshot(warehousePath, 'opinion_posts', ['post_id'], true);
    const second = await extractSource(source, { warehousePath, landingDir, batchId: 'f2' });
    expect(second.tables[0]).toMatchObject({ inserted: 0, updated: 0 });
    expect(await snapshot(warehousePath, 'opinion_posts', ['post_id'], true)).toEqual(before);
    expect((await query(warehousePath, `SELECT count(*)::INT FROM raw._quarantine WHERE source = 'opinion_feeds'`))[0]![0]).toBe(
      rejected.length,
    );
  });

  it('an unreachable feed fails the source with one line naming the feed', async () => {
    const warehousePath = newWarehouse();
    const deadPort = await freePort();
    const source = opinionFeedSource({
      name: 'opinion_feeds',
      feeds: [{ name: 'brand-reviews', url: `http://127.0.0.1:${deadPort}/reviews.rss` }],
      fetch: { ...FAST, retries: 1 },
    });
    await expect(extractSource(source, { warehousePath, landingDir, batchId: 'u1' })).rejects.toThrow(
      new RegExp(`^opinion_feeds: feed brand-reviews: cannot read http://127\\.0\\.0\\.1:${deadPort}/reviews\\.rss: ECONNREFUSED[^\\n]*$`),
    );
    expect(fs.existsSync(warehousePath)).toBe(false);
  });
});

describe('CLI', () => {
  const tsx = path.join(projectRoot, 'node_modules', '.bin', 'tsx');

  it('`crm serve-sample-sources --port 0 --json` serves the landing folder; `crm extract orders_http opinion_feeds` loads from it; an unreachable API is one stderr line and exit 1', async () => {
    const child = spawn(
      tsx,
      ['cli/crm.ts', 'serve-sample-sources', '--landing', landingDir, '--port', '0', '--json', '--misbehave', '0.3', '--stall-ms', '1000'],
      {
        cwd: projectRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let out = '';
      const info = await new Promise<{ url: string; ordersApi: string; feeds: string[]; counts: Record<string, number> }>(
        (resolve, reject) => {
          child.stdout.on('data', (chunk: Buffer) => {
            out += chunk.toString();
            try {
              resolve(JSON.parse(out));
            } catch {
              // not the whole document yet
            }
          });
          child.on('exit', (code) => reject(new Error(`serve-sample-sources exited ${code} before printing its URL`)));
        },
      );
      expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(info.counts.posts).toBe(truth.counts.posts);

      const warehousePath = path.join(workDir, 'cli.duckdb');
      const env = {
        ...process.env,
        CI: 'true',
        CRM_LANDING_DIR: landingDir,
        CRM_WAREHOUSE_PATH: warehousePath,
        CRM_ORDERS_API_URL: info.ordersApi,
        CRM_ORDERS_API_TIMEOUT_MS: '500',
        CRM_OPINION_FEEDS: `${info.url}/feeds/posts.atom,${info.url}/feeds/posts.json`,
      };
      const run = spawnSync(tsx, ['cli/crm.ts', 'extract', 'orders_http', 'opinion_feeds', '--json'], {
        cwd: projectRoot,
        encoding: 'utf8',
        env,
      });
      expect(run.status, run.stderr).toBe(0);
      const summary = JSON.parse(run.stdout) as { extracts: { source: string; tables: { table: string; inserted: number }[] }[] };
      expect(summary.extracts.map((e) => e.source)).toEqual(['orders_http', 'opinion_feeds']);
      expect(summary.extracts[0]!.tables.find((t) => t.table === 'orders')!.inserted).toBe(truth.counts.orders);
      expect(summary.extracts[1]!.tables[0]!.inserted).toBe(truth.counts.posts - truth.malformed.posts.length);

      const down = spawnSync(tsx, ['cli/crm.ts', 'extract', 'orders_http'], {
        cwd: projectRoot,
        encoding: 'utf8',
        env: { ...env, CRM_ORDERS_API_URL: `http://127.0.0.1:${await freePort()}/api`, CRM_ORDERS_API_RETRIES: '0' },
      });
      expect(down.status).toBe(1);
      expect(down.stderr.trim().split('\n').at(-1)).toMatch(
        /orders_http: cannot read http:\/\/127\.0\.0\.1:\d+\/api\/orders\?limit=500: ECONNREFUSED/,
      );
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
